import Foundation
import XCTest
@testable import Ops

/// Saving: torch's byte layout, round trips, zip structure.
final class TorchSaveTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("torch-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func out(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// A golden file written by torch.save, loaded and saved again, is byte-identical.
    func testGoldenResaveIsByteIdentical() throws {
        let root = TorchFixtures.golden("")
        let files = FileManager.default.enumerator(atPath: root)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".pt") }.sorted()
        XCTAssertEqual(files.count, 33)  // the first 4 goldens (15 files) and the second wave (18)
        for rank in files {
            let source = TorchFixtures.golden(rank)
            let value = try TorchCheckpoint.load(source)
            let target = out("model_optim_rng.pt")
            try TorchCheckpoint.save(value, to: target)
            let a = try Data(contentsOf: URL(fileURLWithPath: source)), b = try Data(contentsOf: URL(fileURLWithPath: target))
            XCTAssertEqual(a.count, b.count, rank)
            XCTAssertTrue(a == b, "\(rank): re-saved file differs from torch's")
        }
    }

    /// A plain dict of new tensors gives torch's data.pkl bytes (compared with a golden file).
    func testPlainDictPickleMatchesTorch() throws {
        let source = TorchFixtures.golden("qwen2vl_tp1_pp1/release/mp_rank_00/model_optim_rng.pt")
        let value = try TorchCheckpoint.load(source)
        // Rebuild the same content from "new" tensors (no storage information).
        var model = PickleDict()
        for (k, v) in value["model"]!.dictValue!.items { model.items.append((k, .tensor(TorchTensor(v.tensorValue!.tensor)))) }
        let fresh = PickleValue.dict(PickleDict([(.string("model"), .dict(model)), (.string("checkpoint_version"), .float(3.0))]))
        let target = out("model_optim_rng.pt")
        try TorchCheckpoint.save(fresh, to: target)
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: source)) == Data(contentsOf: URL(fileURLWithPath: target)))
    }

    /// Every torch fixture survives load -> save -> load: same paths, types, values, tensors
    /// (bytes, views, flags) and storage sharing; the written zip is torch-shaped and its CRCs check.
    func testFixtureRoundTrips() throws {
        for name in ["dtypes", "views", "protocol4", "megatron_ckpt"] {
            let first = try TorchCheckpoint.load(TorchFixtures.torch("\(name).pt"))
            let keep = ProcessInfo.processInfo.environment["TORCH_TEST_KEEP_DIR"]
            let target = keep.map { "\($0)/\(name).pt" } ?? out("\(name).pt")
            try TorchCheckpoint.save(first, to: target)
            let second = try TorchCheckpoint.load(target, verifyCRC: true)
            let a = Flattened(first), b = Flattened(second)
            XCTAssertEqual(a.tensorOrder, b.tensorOrder, name)
            XCTAssertEqual(Set(a.nodes.keys), Set(b.nodes.keys), name)
            for (path, node) in a.nodes {
                XCTAssertEqual(node.type, b.nodes[path]?.type, "\(name):\(path)")
                XCTAssertEqual(node.value.description, b.nodes[path]?.value.description, "\(name):\(path)")
            }
            var pairing: [ObjectIdentifier: ObjectIdentifier] = [:]
            for path in a.tensorOrder {
                let x = a.tensors[path]!, y = b.tensors[path]!
                XCTAssertEqual(x.dtype, y.dtype, path)
                XCTAssertEqual(x.shape, y.shape, path)
                XCTAssertEqual(x.requiresGrad, y.requiresGrad, path)
                XCTAssertEqual(x.isParameter, y.isParameter, path)
                XCTAssertEqual(try x.tensor.sha256(), try y.tensor.sha256(), path)
                // A storage shared before is shared after (and nothing else is).
                if let sx = x.storage, let sy = y.storage, sx.numel > 0 {
                    let shared = a.tensors.values.filter { $0.storage === sx }.count > 1
                    if shared {
                        if let p = pairing[ObjectIdentifier(sx)] { XCTAssertEqual(p, ObjectIdentifier(sy), path) }
                        pairing[ObjectIdentifier(sx)] = ObjectIdentifier(sy)
                        XCTAssertEqual(x.stride, y.stride, path)
                        XCTAssertEqual(x.storageOffset, y.storageOffset, path)
                    } else {
                        XCTAssertEqual(y.storageOffset, 0, path)
                        XCTAssertEqual(y.stride, TorchTensor.contiguousStrides(y.shape), path)
                    }
                }
            }
            try checkTorchZipLayout(target, stem: name)
        }
    }

    /// Entry order and names as torch writes them, data 64-byte aligned, records' contents.
    func checkTorchZipLayout(_ path: String, stem: String) throws {
        let zip = try ZipArchive(path: path)
        let names = zip.entries.map(\.name)
        XCTAssertEqual(Array(names.prefix(4)), ["\(stem)/data.pkl", "\(stem)/.format_version", "\(stem)/.storage_alignment", "\(stem)/byteorder"])
        XCTAssertEqual(Array(names.suffix(2)), ["\(stem)/version", "\(stem)/.data/serialization_id"])
        let data = names.dropFirst(4).dropLast(2)
        XCTAssertEqual(Array(data), (0..<data.count).map { "\(stem)/data/\($0)" })
        for e in zip.entries {
            XCTAssertEqual(e.dataOffset % 64, 0, e.name)
            XCTAssertEqual(e.flags, e.size == 0 ? 0x0800 : 0x0808, e.name)
            try zip.verifyCRC(e)
        }
        func text(_ n: String) throws -> String { String(decoding: try zip.data(zip.entry(named: "\(stem)/\(n)")!), as: UTF8.self) }
        XCTAssertEqual(try text(".format_version"), "1")
        XCTAssertEqual(try text(".storage_alignment"), "64")
        XCTAssertEqual(try text("byteorder"), "little")
        XCTAssertEqual(try text("version"), "3\n")
        XCTAssertEqual(try text(".data/serialization_id").count, 40)
    }

    /// Where the source was written by torch from a plain dict, our bytes are torch's bytes.
    func testDtypesResaveIsByteIdentical() throws {
        let source = TorchFixtures.torch("dtypes.pt")
        let target = ProcessInfo.processInfo.environment["KEEP_DTYPES"] ?? out("dtypes.pt")
        try TorchCheckpoint.save(try TorchCheckpoint.load(source), to: target)
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: source)) == Data(contentsOf: URL(fileURLWithPath: target)))
    }

    /// New tensors built lazily (slices, transposes, casts) are written compact and read back equal.
    func testLazyExpressionsAreStreamedCompact() throws {
        var bytes: [UInt8] = []
        for i in 0..<24 { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { bytes += $0 } }
        let base = try Tensor.fromBytes(bytes, dtype: .f32, shape: [4, 6])
        let t = try base.slice(dim: 1, start: 1, count: 3).transposed()
        let c = try base.cast(to: .bf16)
        let tied = TorchTensor(base)
        let root = PickleValue.dict(PickleDict(strings: [
            ("t", .tensor(TorchTensor(t))), ("c", .tensor(TorchTensor(c, requiresGrad: true, isParameter: true))),
            ("tied_a", .tensor(tied)), ("tied_b", .tensor(tied)), ("n", .int(-5_000_000_000)), ("big", .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 1])),
            ("s", .set([.int(1), .string("x")])), ("b", .bytes([0, 255, 10])), ("e", .bytes([])),
            ("dev", .device("cuda:1")), ("size", .size([2, 3])), ("dt", .dtype(.bf16)),
        ]))
        let target = out("lazy.pt")
        try TorchCheckpoint.save(root, to: target)
        let back = try TorchCheckpoint.load(target, verifyCRC: true)
        let bt = back["t"]!.tensorValue!
        XCTAssertEqual(bt.shape, [3, 4])
        XCTAssertEqual(bt.stride, [4, 1])
        XCTAssertEqual(try bt.tensor.materialize(), try t.materialize())
        let bc = back["c"]!.tensorValue!
        XCTAssertTrue(bc.isParameter && bc.requiresGrad)
        XCTAssertEqual(try bc.tensor.materialize(), try c.materialize())
        XCTAssertTrue(back["tied_a"]!.tensorValue!.storage === back["tied_b"]!.tensorValue!.storage)
        XCTAssertEqual(back["n"]!.intValue, -5_000_000_000)
        guard case let .bigInt(b)? = back["big"] else { return XCTFail("big int") }
        XCTAssertEqual(b, [0, 0, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(back["s"]!.description, "{1, 'x'}")
        guard case let .bytes(bb)? = back["b"], case let .bytes(eb)? = back["e"] else { return XCTFail("bytes") }
        XCTAssertEqual(bb, [0, 255, 10])
        XCTAssertEqual(eb, [])
        XCTAssertEqual(back["dev"]!.description, "device('cuda:1')")
        XCTAssertEqual(back["size"]!.description, "torch.Size([2, 3])")
        XCTAssertEqual(back["dt"]!.description, "torch.bfloat16")
        try checkTorchZipLayout(target, stem: "lazy")
    }
}
