import Foundation
import XCTest
@testable import Ops

/// Every fixture written by the real torch.save reads back exactly as its `.expected.json` says.
final class TorchFixtureTests: XCTestCase {
    func testDtypes() throws { try check("dtypes") }
    func testViews() throws { try check("views") }
    func testProtocol4() throws { try check("protocol4") }
    func testMegatronCheckpoint() throws { try check("megatron_ckpt") }

    func testLegacyFormatIsRejectedClearly() throws {
        XCTAssertThrowsError(try TorchCheckpoint.load(TorchFixtures.torch("legacy_format.pt"))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("legacy torch format"), message)
            XCTAssertTrue(message.contains("_use_new_zipfile_serialization=True"), message)
        }
    }

    func testZipRecordsMatchTorch() throws {
        for name in ["dtypes", "views", "protocol4", "megatron_ckpt"] {
            let expected = try TorchFixtures.json(TorchFixtures.torch("\(name).expected.json")) as! [String: Any]
            let zip = try ZipArchive(path: TorchFixtures.torch("\(name).pt"))
            let records = expected["zip_records"] as! [[String: Any]]
            XCTAssertEqual(zip.entries.map(\.name), records.map { $0["name"] as! String }, name)
            for (e, r) in zip.entries.map({ $0 }).enumerated().map({ ($0.element, records[$0.offset]) }) {
                XCTAssertEqual(e.size, r["size"] as? Int, e.name)
                XCTAssertEqual(e.dataOffset, r["data_offset"] as? Int, e.name)
                XCTAssertEqual(e.method, r["compress_type"] as? Int, e.name)
            }
            try zip.verifyAllCRCs()
        }
    }

    // MARK: - Comparison with the expected description

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let root = try TorchCheckpoint.load(TorchFixtures.torch("\(name).pt"), verifyCRC: true)
        let expected = try TorchFixtures.json(TorchFixtures.torch("\(name).expected.json")) as! [String: Any]
        let flat = Flattened(root)
        XCTAssertEqual(root.tensors().map(\.path), flat.tensorOrder, "\(name): tensor walk")
        try checkTensors(flat, expected["tensors"] as! [[String: Any]], name)
        checkObjects(flat, expected["objects"] as! [[String: Any]], name)
    }

    func checkTensors(_ flat: Flattened, _ tensors: [[String: Any]], _ name: String) throws {
        XCTAssertEqual(Set(flat.tensors.keys), Set(tensors.map { $0["path"] as! String }), "\(name): tensor paths")
        var groups: [Int: ObjectIdentifier] = [:]
        var seenStorage: [ObjectIdentifier: Int] = [:]
        for e in tensors {
            let path = e["path"] as! String
            guard let t = flat.tensors[path] else { continue }
            let where_ = "\(name):\(path)"
            XCTAssertEqual(t.dtype.torchName, e["dtype"] as? String, where_)
            XCTAssertEqual(t.shape, e["shape"] as? [Int], where_)
            XCTAssertEqual(t.stride, e["stride"] as? [Int], where_)
            XCTAssertEqual(t.storageOffset, e["storage_offset"] as? Int, where_)
            XCTAssertEqual(t.requiresGrad, e["requires_grad"] as? Bool, where_)
            XCTAssertEqual(t.isParameter, e["is_parameter"] as? Bool, where_)
            XCTAssertEqual(t.storageKey, e["storage_key"] as? String, where_)
            XCTAssertEqual(t.storage?.numel, e["storage_numel"] as? Int, where_)
            XCTAssertEqual(t.storage?.dtype.storageName, e["storage_type"] as? String, where_)
            XCTAssertEqual(t.storage?.byteCount, e["storage_nbytes"] as? Int, where_)
            XCTAssertEqual(try t.tensor.sha256(), e["sha256"] as? String, where_)
            // Shared-storage groups: same group number <=> same storage object (empty storages
            // all have a null data pointer, so Python groups them together: skip them).
            if t.storage!.numel == 0 { continue }
            let group = e["storage_group"] as! Int
            let id = ObjectIdentifier(t.storage!)
            if let g = groups[group] { XCTAssertEqual(g, id, "\(where_): should share storage with group \(group)") } else { groups[group] = id }
            if let g = seenStorage[id] { XCTAssertEqual(g, group, "\(where_): shares a storage it should not") } else { seenStorage[id] = group }
        }
    }

    func checkObjects(_ flat: Flattened, _ objects: [[String: Any]], _ name: String) {
        XCTAssertEqual(Set(flat.nodes.keys), Set(objects.map { $0["path"] as! String }), "\(name): object paths")
        for e in objects {
            let path = e["path"] as! String
            guard let node = flat.nodes[path] else { continue }
            let where_ = "\(name):\(path)"
            let type = e["type"] as! String
            XCTAssertEqual(node.type, type, where_)
            if let keys = e["keys"] as? [Any] {
                let ours: [String]
                switch node.value {
                case let .dict(d), let .orderedDict(d, _): ours = d.items.map { Flattened.keyString($0.key) }
                case let .object(o): ours = o.attributes?.items.map { Flattened.keyString($0.key) } ?? []
                default: ours = []
                }
                XCTAssertEqual(ours, keys.map { "\($0)" }, where_)
            }
            switch node.value {
            case let .list(l), let .tuple(l):
                XCTAssertEqual(l.count, e["len"] as? Int, where_)
                if let head = e["head"] as? [Int] { XCTAssertEqual(l.prefix(head.count).map(\.intValue), head.map { Optional($0) }, where_) }
                if let last = e["last"] as? Int { XCTAssertEqual(l.last?.intValue, last, where_) }
            case let .int(i): XCTAssertEqual(i, e["value"] as? Int, where_)
            case let .float(d): XCTAssertEqual(d, e["value"] as? Double, where_)
            case let .bool(b): XCTAssertEqual(b, e["value"] as? Bool, where_)
            case let .string(s): XCTAssertEqual(s, e["value"] as? String, where_)
            case .none: XCTAssertTrue(e["value"] is NSNull, where_)
            case let .bytes(b): XCTAssertEqual(b.map { String(format: "%02x", $0) }.joined(), e["value_hex"] as? String, where_)
            case let .dtype(t): XCTAssertEqual("torch.\(t.torchName)", e["repr"] as? String, where_)
            case let .object(o) where type == "_io.BytesIO":
                guard case let .tuple(state)? = o.state, case let .bytes(b)? = state.first else { return XCTFail("\(where_): BytesIO state") }
                XCTAssertEqual(b.count, e["nbytes"] as? Int, where_)
                XCTAssertEqual(TorchFixtures.sha256(b), e["sha256"] as? String, where_)
            case let .object(o) where type == "numpy.ndarray":
                guard case let .tuple(state)? = o.state, state.count == 5, case let .bytes(raw) = state[4],
                      case let .object(dtype) = state[2], case let .string(code)? = dtype.args.first else { return XCTFail("\(where_): ndarray state") }
                XCTAssertEqual(code, "u4", where_)
                XCTAssertEqual(e["dtype"] as? String, "uint32", where_)
                XCTAssertEqual(PickleReaderTestsSupport.ints(state[1]), e["shape"] as? [Int], where_)
                XCTAssertEqual(TorchFixtures.sha256(raw), e["sha256"] as? String, where_)
            default: break
            }
        }
    }
}

enum PickleReaderTestsSupport {
    static func ints(_ v: PickleValue) -> [Int]? {
        switch v {
        case let .tuple(l), let .list(l): return l.compactMap(\.intValue)
        default: return nil
        }
    }
}
