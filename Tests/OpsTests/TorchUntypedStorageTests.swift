import Foundation
import XCTest
@testable import Ops

/// Files torch 2.x writes for the dtypes without a legacy storage class (float8, uint16/32/64):
/// `torch.storage.UntypedStorage` persistent ids (numel in bytes) rebuilt by
/// `torch._utils._rebuild_tensor_v3` with the dtype. Tests/Corpus/torch_untyped holds files real
/// torch wrote (make_files.py regenerates them) and expected.json with what torch reports.
final class TorchUntypedStorageTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("torch-untyped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpus/torch_untyped")
    }

    static func file(_ name: String) -> String { corpus.appendingPathComponent(name).path }

    struct Expected {
        var dtype: String
        var shape: [Int]
        var stride: [Int]
        var storageOffset: Int
        var storageBytes: Int
        var hex: String
    }

    static func expected(_ name: String) throws -> [String: Expected] {
        let all = try XCTUnwrap(TorchFixtures.json(file("expected.json")) as? [String: [String: [String: Any]]])
        let entries = try XCTUnwrap(all[name], "expected.json has no \(name)")
        var out: [String: Expected] = [:]
        for (path, e) in entries {
            out[path] = Expected(dtype: try XCTUnwrap(e["dtype"] as? String), shape: try XCTUnwrap(e["shape"] as? [Int]),
                                 stride: try XCTUnwrap(e["stride"] as? [Int]), storageOffset: try XCTUnwrap(e["storage_offset"] as? Int),
                                 storageBytes: try XCTUnwrap(e["storage_bytes"] as? Int), hex: try XCTUnwrap(e["hex"] as? String))
        }
        return out
    }

    /// Every tensor of a torch-written file has torch's dtype, shape, stride, offset and bytes.
    func assertReadsExactly(_ name: String, line: UInt = #line) throws {
        let value = try TorchCheckpoint.load(Self.file(name), verifyCRC: true)
        let expected = try Self.expected(name)
        let tensors = value.tensors()
        XCTAssertEqual(tensors.map(\.path).sorted(), expected.keys.sorted(), name, line: line)
        for (path, t) in tensors {
            guard let e = expected[path] else { continue }
            let at = "\(name): \(path)"
            XCTAssertEqual(t.dtype.torchName, e.dtype, at, line: line)
            XCTAssertEqual(t.shape, e.shape, at, line: line)
            XCTAssertEqual(t.stride, e.stride, at, line: line)
            XCTAssertEqual(t.storageOffset, e.storageOffset, at, line: line)
            XCTAssertEqual(t.storage?.byteCount, e.storageBytes, at, line: line)
            XCTAssertEqual(try t.tensor.materialize().map { String(format: "%02x", $0) }.joined(), e.hex, at, line: line)
        }
    }

    func testReadsFloat8AndUnsignedTensorsTorchWrote() throws {
        try assertReadsExactly("untyped.pt")
        try assertReadsExactly("contiguous.pt")
        try assertReadsExactly("bare.pt")
        // A bare UntypedStorage is the same object the tensor on it views.
        let bare = try TorchCheckpoint.load(Self.file("bare.pt"))
        guard case let .storage(s)? = bare["s"], case let .storage(ts)? = bare["ts"] else { return XCTFail("no bare storages") }
        XCTAssertTrue(s === bare["t"]?.tensorValue?.storage)
        XCTAssertEqual([s.isUntyped, ts.isUntyped], [true, false])
        XCTAssertEqual([s.numel, ts.numel], [6, 3])
        XCTAssertEqual(try s.data.materialize(), [1, 0, 2, 0, 255, 255])
    }

    /// The persistent id of an untyped storage counts bytes; views of it count elements of their
    /// own dtype, and share the one storage object.
    func testUntypedStorageIsBytesSharedByItsViews() throws {
        let value = try TorchCheckpoint.load(Self.file("untyped.pt"))
        let u16 = try XCTUnwrap(value["u16"]?.tensorValue), rows = try XCTUnwrap(value["u16_rows"]?.tensorValue)
        let col = try XCTUnwrap(value["u16_col"]?.tensorValue)
        let storage = try XCTUnwrap(u16.storage)
        XCTAssertTrue(storage.isUntyped)
        XCTAssertEqual(storage.dtype, .u8)
        XCTAssertEqual(storage.numel, 40)
        XCTAssertTrue(rows.storage === storage && col.storage === storage)
        XCTAssertEqual(rows.storageOffset, 5)
        XCTAssertEqual(col.storageOffset, 2)
        XCTAssertEqual(col.stride, [5])
        XCTAssertEqual(try u16.tensor.materialize().count, 40)
        // bf16 keeps its typed storage; the Parameter wraps a v3 tensor.
        let bf16 = try XCTUnwrap(value["bf16"]?.tensorValue)
        XCTAssertEqual(bf16.storage?.isUntyped, false)
        XCTAssertEqual(bf16.storage?.dtype, .bf16)
        let param = try XCTUnwrap(value["param"]?.tensorValue)
        XCTAssertTrue(param.isParameter)
        XCTAssertEqual(param.dtype, .f8e4m3)
        XCTAssertEqual(param.storage?.isUntyped, true)
    }

    /// Reading a torch file and saving it again gives torch's bytes: same pickle (v3 + untyped
    /// storages next to v2 + typed bf16), same storages, same serialization id.
    func testResaveIsByteIdenticalToTorch() throws {
        for name in ["untyped.pt", "contiguous.pt", "bare.pt"] {
            let value = try TorchCheckpoint.load(Self.file(name))
            let out = tmp.appendingPathComponent(name).path
            try TorchCheckpoint.save(value, to: out)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: Self.file(name))), name)
        }
    }

    /// New tensors (not loaded from a file) of every untyped dtype are pickled as torch pickles
    /// them: building contiguous.pt's content from bytes gives torch's file byte for byte.
    func testWriterPicklesNewTensorsLikeTorch() throws {
        func t(_ dtype: DType, _ bytes: Range<Int>, _ shape: [Int]) throws -> PickleValue {
            .tensor(TorchTensor(try Tensor.fromBytes(bytes.map { UInt8($0) }, dtype: dtype, shape: shape)))
        }
        let root = PickleValue.dict(PickleDict(strings: [
            ("e4m3", try t(.f8e4m3, 0..<12, [3, 4])),
            ("bf16", try t(.bf16, 0..<8, [2, 2])),
            ("e5m2", try t(.f8e5m2, 0..<5, [5])),
            ("u16", try t(.u16, 0..<12, [2, 3])),
            ("u32", try t(.u32, 0..<8, [2])),
            ("u64", try t(.u64, 0..<16, [2, 1])),
            ("e4m3_again", try t(.f8e4m3, 12..<14, [2])),
        ]))
        let out = tmp.appendingPathComponent("contiguous.pt").path
        try TorchCheckpoint.save(root, to: out)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: Self.file("contiguous.pt"))))
    }

    /// The pickle of a float8 tensor is exactly torch's: `_rebuild_tensor_v3`, an UntypedStorage
    /// persistent id with the byte count, and the dtype global last.
    func testFloat8PickleOpcodes() throws {
        let tensor = try Tensor.fromBytes(Array(0..<6), dtype: .u16, shape: [3])
        let (bytes, storages) = try PickleWriter.pickle(.tensor(TorchTensor(tensor)))
        var expected: [UInt8] = [0x80, 2]
        func global(_ m: String, _ n: String) { expected += [0x63] + Array("\(m)\n\(n)\n".utf8) }
        func string(_ s: String) { expected += [0x58, UInt8(s.utf8.count), 0, 0, 0] + Array(s.utf8) }
        func put(_ i: UInt8) { expected += [0x71, i] }
        global("torch._utils", "_rebuild_tensor_v3"); put(0)
        expected += [0x28, 0x28]
        string("storage"); put(1)
        global("torch.storage", "UntypedStorage"); put(2)
        string("0"); put(3)
        string("cpu"); put(4)
        expected += [0x4B, 6, 0x74]; put(5)           // numel 6 bytes, TUPLE
        expected += [0x51, 0x4B, 0]                   // BINPERSID, offset 0
        expected += [0x4B, 3, 0x85]; put(6)            // size (3,)
        expected += [0x4B, 1, 0x85]; put(7)            // stride (1,)
        expected += [0x89]                             // requires_grad False
        global("collections", "OrderedDict"); put(8)
        expected += [0x29, 0x52]; put(9)               // OrderedDict()
        global("torch", "uint16"); put(10)
        expected += [0x74]; put(11)
        expected += [0x52]; put(12)
        expected += [0x2E]
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(storages.map(\.key), ["0"])
        XCTAssertEqual(storages.map(\.numel), [3])
    }

    /// A dtype torch has and we do not (float8_e4m3fnuz) fails with a clear error naming it.
    func testUnsupportedDTypeIsAClearError() {
        XCTAssertThrowsError(try TorchCheckpoint.load(Self.file("fnuz.pt"))) { error in
            guard case let OpsError.unsupported(message) = error else { return XCTFail("not .unsupported: \(error)") }
            XCTAssertTrue(message.contains("fnuz.pt:fnuz/data.pkl: pickle byte offset"), message)
            XCTAssertTrue(message.contains("tensor dtype torch.float8_e4m3fnuz is not supported"), message)
            XCTAssertTrue(message.contains("torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16"), message)
        }
    }

    /// A v3 tensor reaching past its untyped storage's bytes is refused (bounds in bytes).
    func testViewPastUntypedStorageIsRefused() throws {
        let data = try Tensor.fromBytes(Array(0..<6), dtype: .u8, shape: [6])
        let storage = TorchStorage(untypedKey: "0", byteCount: 6, location: "cpu", data: data)
        XCTAssertNoThrow(try TorchTensor(storage: storage, offset: 1, shape: [2], stride: [1], dtype: .u16))
        XCTAssertThrowsError(try TorchTensor(storage: storage, offset: 1, shape: [3], stride: [1], dtype: .u16)) { error in
            XCTAssertTrue("\(error)".contains("needs 4 elements, the storage has 6 bytes (3 u16 elements)"), "\(error)")
        }
        let t = try TorchTensor(storage: storage, offset: 1, shape: [2], stride: [1], dtype: .u16)
        XCTAssertEqual(try t.tensor.materialize(), [2, 3, 4, 5])
    }

    /// The new dtypes' names in every spelling.
    func testUnsignedDTypeNames() {
        XCTAssertEqual([DType.u16, .u32, .u64].map(\.size), [2, 4, 8])
        XCTAssertEqual([DType.u16, .u32, .u64].map(\.safetensorsName), ["U16", "U32", "U64"])
        XCTAssertEqual([DType.u16, .u32, .u64].map(\.torchName), ["uint16", "uint32", "uint64"])
        XCTAssertEqual(DType(anyName: "torch.uint32"), .u32)
        XCTAssertEqual(DType(anyName: "U64"), .u64)
        XCTAssertNil(DType.f8e4m3.storageName)
        XCTAssertNil(DType(storageName: "Float8_e4m3fnStorage"))
        XCTAssertEqual(DType.bf16.storageName, "BFloat16Storage")
    }
}
