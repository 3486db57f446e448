import Foundation
import XCTest
@testable import Ops

/// The DCP writer: the hand-made minimal form (protocol-2 `.metadata`, 5-item properties, no
/// StorageMeta), items laid out as torch.save writes them, deterministic bytes, atomic output, and
/// round trips of every fixture through it.
final class DCPWriterTests: XCTestCase {
    /// Every entry of a checkpoint, as entries to write again (tensors merged, values unpickled,
    /// planner paths kept).
    func entries(_ c: DCPCheckpoint, fileOf: (String) -> Int = { _ in 0 }) throws -> [DCPWriteEntry] {
        try c.entries.map { e in
            let value: DCPWriteEntry.Value = e.tensor == nil ? .bytes(try c.value(e.fqn)) : .tensor(try c.tensor(e.fqn))
            return DCPWriteEntry(fqn: e.fqn, value: value, path: c.plannerPath(e.fqn), file: fileOf(e.fqn))
        }
    }

    /// Our DCP of each fixture's entries reads back identical: same entries in the same order,
    /// planner paths, dtypes, shapes and SHA-256 of every tensor, equal values.
    func testRoundTripOfEveryFixture() throws {
        let dir = try STFixtures.temporaryDirectory(self)
        for name in ["torch_basic", "torch_objects", "torch_sharded", "handmade_minimal", "ref_generic_qwen2vl", "ref_qwen3vl_moe"] {
            let expected = try DCPFixtures.expected(name)
            let source = try DCPCheckpoint.load(DCPFixtures.path(expected["checkpoint_dir"]!.description))
            let out = dir + "/" + name
            let written = try DCPCheckpoint.save(try entries(source), to: out)
            let back = try DCPCheckpoint.load(out)
            XCTAssertEqual(back.metadata, written, name)
            XCTAssertEqual(back.entries.map(\.fqn), source.entries.map(\.fqn), name)
            XCTAssertEqual(back.metadata.plannerPaths, source.metadata.plannerPaths, name)
            for e in source.entries {
                if e.tensor == nil {
                    XCTAssertEqual(try back.value(e.fqn).description, try source.value(e.fqn).description, "\(name) \(e.fqn)")
                    continue
                }
                let (a, b) = (try source.tensor(e.fqn), try back.tensor(e.fqn))
                XCTAssertEqual(b.dtype, a.dtype, "\(name) \(e.fqn)")
                XCTAssertEqual(b.shape, a.shape, "\(name) \(e.fqn)")
                XCTAssertEqual(try DCPFixtures.sha256(b), try DCPFixtures.sha256(a), "\(name) \(e.fqn)")
                XCTAssertEqual(back.metadata.entry(e.fqn)?.tensor?.chunks, [DCPChunk(offsets: a.shape.map { _ in 0 }, sizes: a.shape)])
            }
        }
    }

    /// Items are the bytes torch.save writes for the same value: our copy of `torch_basic` has, for
    /// every contiguous tensor and for `checkpoint_version`, an item whose SHA-256 is the
    /// fixture's, and every record's data is 64-byte aligned relative to the item start.
    func testItemsAreTorchSaveBytes() throws {
        let expected = try DCPFixtures.expected("torch_basic")
        let source = try DCPCheckpoint.load(DCPFixtures.path("torch_basic"))
        let dir = try STFixtures.temporaryDirectory(self) + "/out"
        try DCPCheckpoint.save(try entries(source), to: dir)
        let back = try DCPCheckpoint.load(dir)
        guard case let .list(list)? = expected["entries"] else { return XCTFail() }
        var same = 0
        for e in list {
            let fqn = e["fqn"]!.description
            let theirs = e["kind"]?.description == "bytes" ? e["item"] : { if case let .list(c)? = e["chunks"] { return c[0]["item"] }; return nil }()
            let offsets = back.metadata.entry(fqn)?.tensor.map { $0.size.map { _ in 0 } }
            let item = try XCTUnwrap(back.storageItem(fqn, offsets: offsets))
            let ours = try DCPFixtures.sha256(file: dir + "/" + item.file, offset: item.offset, length: item.length)
            if fqn == "model.layers.0.transposed_view" {
                XCTAssertNotEqual(ours, theirs?["sha256"]?.description, "torch keeps the stride (1, 4); we write contiguous")
            } else {
                XCTAssertEqual(ours, theirs?["sha256"]?.description, fqn)
                same += 1
            }
            let window = try ByteStore(slice: ByteStore(mapping: dir + "/" + item.file), offset: item.offset, count: item.length, name: fqn)
            for r in try ZipArchive(store: window).entries { XCTAssertEqual(r.dataOffset % 64, 0, "\(fqn) \(r.name)") }
        }
        XCTAssertEqual(same, 19)
        // Bytes first, then the tensors, back to back from offset 0.
        XCTAssertEqual(back.storageItem("checkpoint_version")?.offset, 0)
        let sorted = back.metadata.storage.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) { XCTAssertEqual(a.offset + a.length, b.offset) }
    }

    /// The minimal `.metadata`: protocol 2, GLOBAL opcodes, 5-item TensorProperties, version
    /// "1.0.0", no StorageMeta, MetadataIndex with offset and index for chunks; the same bytes on
    /// every save (no path, no random id).
    func testMetadataFormAndDeterminism() throws {
        let base = try STFixtures.temporaryDirectory(self)
        let t = try Tensor.fromBytes((0..<24).map { UInt8($0) }, dtype: .f32, shape: [2, 3])
        let list: [DCPWriteEntry] = [.checkpointVersion, .tensor("model.w", t), .tensor("model.b", try t.transposed(), file: 1),
                                     DCPWriteEntry(fqn: "optimizer.param_groups.0.lr", value: .bytes(.float(1e-4)),
                                                   path: [.key("optimizer"), .key("param_groups"), .index(0), .key("lr")])]
        try DCPCheckpoint.save(list, to: base + "/a")
        try DCPCheckpoint.save(list, to: base + "/b")
        for f in [".metadata", "__0_0.distcp", "__1_0.distcp"] {
            XCTAssertEqual(try STFixtures.sha256(ofFile: base + "/a/" + f), try STFixtures.sha256(ofFile: base + "/b/" + f), f)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base + "/a").sorted(), [".metadata", "__0_0.distcp", "__1_0.distcp"])
        let bytes = try ByteStore(mapping: base + "/a/.metadata").bytes(at: 0, count: 2)
        XCTAssertEqual(bytes, [0x80, 0x02])
        let store = try ByteStore(mapping: base + "/a/.metadata")
        let root = try PickleReader(store.buffer, path: "m").read()
        guard case let .object(o) = root, case let .dict(fields)? = o.state else { return XCTFail("not a Metadata object") }
        XCTAssertEqual(fields.stringKeys, ["state_dict_metadata", "planner_data", "storage_data", "storage_meta", "version"])
        XCTAssertEqual(fields["version"]?.stringValue, "1.0.0")
        guard case .none? = fields["storage_meta"] else { return XCTFail("storage_meta is not None") }
        guard case let .object(tsm)? = fields["state_dict_metadata"]?["model.w"], case let .object(props)? = tsm.attributes?["properties"],
              case let .tuple(state)? = props.state else { return XCTFail("no TensorProperties") }
        XCTAssertEqual(state.count, 5)
        XCTAssertEqual(props.construction.isNewObj, true)
        let m = try DCPMetadata.read(base + "/a/.metadata")
        XCTAssertEqual(m.storage.map(\.file), ["__0_0.distcp", "__0_0.distcp", "__1_0.distcp", "__0_0.distcp"])
        XCTAssertEqual(m.storage.map(\.indexHint), [nil, 0, 0, nil])
        XCTAssertEqual(m.storage[1].key.offsets, [0, 0])
        XCTAssertNil(m.storage[0].key.offsets)
        XCTAssertEqual(m.plannerPaths["model.w"], [.key("model"), .key("w")])
        // The transposed input is written contiguous: read back, its bytes are the row-major ones.
        let back = try DCPCheckpoint.load(base + "/a")
        XCTAssertEqual(try back.chunks("model.b")[0].tensor.stride, [2, 1])
        XCTAssertEqual(try back.tensor("model.b").materialize(), try t.transposed().materialize())
    }

    /// Decoding what we encode gives the same metadata, for every fixture's `.metadata` (a
    /// torch StorageMeta comes back with its path as a str).
    func testMetadataEncodeDecode() throws {
        for dir in ["torch_basic", "torch_objects", "torch_sharded/iter_0000010", "handmade_minimal", "ref_qwen3vl_moe/dcp/release"] {
            let m = try DCPMetadata.read(DCPFixtures.path(dir + "/.metadata"))
            let again = try DCPMetadata.decode(PickleReader.read(try m.encode()), path: dir)
            XCTAssertEqual(again, m, dir)
        }
    }

    /// A MindSpeed-MM root: tracker `release` (no newline), the checkpoint in `release/`,
    /// directories 0750 and files 0640; the reader finds it through the tracker.
    func testRootLayoutAndModes() throws {
        let out = try STFixtures.temporaryDirectory(self) + "/root"
        let t = try Tensor.fromBytes([1, 2, 3, 4], dtype: .bf16, shape: [2])
        try DCPCheckpoint.save([.checkpointVersion, .tensor("model.x", t)], to: out, layout: .root(.release))
        XCTAssertEqual(try String(contentsOfFile: out + "/latest_checkpointed_iteration.txt", encoding: .utf8), "release")
        let c = try DCPCheckpoint.load(out)
        XCTAssertEqual(c.location.iteration, .release)
        XCTAssertEqual(try c.value("checkpoint_version").description, "3.0")
        func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? Int) ?? -1 }
        XCTAssertEqual(try mode(out), 0o750)
        XCTAssertEqual(try mode(out + "/release"), 0o750)
        XCTAssertEqual(try mode(out + "/release/.metadata"), 0o640)
        XCTAssertEqual(try mode(out + "/release/__0_0.distcp"), 0o640)
        // An existing non-empty output is refused unless forced; nothing is left half written.
        XCTAssertThrowsError(try DCPCheckpoint.save([.tensor("model.x", t)], to: out))
        try DCPCheckpoint.save([.tensor("model.y", t)], to: out, force: true)
        XCTAssertEqual(try DCPCheckpoint.load(out).tensorNames, ["model.y"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/latest_checkpointed_iteration.txt"))
    }

    func testInvalidEntriesAreRefused() throws {
        let out = try STFixtures.temporaryDirectory(self) + "/x"
        let t = try Tensor.fromBytes([1, 2, 3, 4], dtype: .f32, shape: [1])
        XCTAssertThrowsError(try DCPCheckpoint.save([.tensor("model.a", t), .tensor("model.a", t)], to: out)) { e in
            XCTAssertEqual("\(e)", "DCP save: entry 'model.a' is given twice (FQNs must be unique)")
        }
        XCTAssertThrowsError(try DCPCheckpoint.save([DCPWriteEntry(fqn: "model.a", value: .tensor(t), path: [.key("model"), .key("b")])], to: out)) { e in
            XCTAssertEqual("\(e)", "DCP save: entry 'model.a' has the path [\"model\", \"b\"], which flattens to 'model.b'")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}

extension PickleObject.Construction {
    var isNewObj: Bool { if case .newobj = self { return true }; return false }
}
