import Foundation
import XCTest
@testable import Ops

/// Malformed DCP checkpoints fail with errors naming the file and the entry; the checks torch
/// lacks (coverage, item bounds, dtype and size against the metadata) are made.
final class DCPErrorTests: XCTestCase {
    var dir = ""

    /// A writable copy of a fixture's checkpoint directory.
    func copy(_ fixture: String) throws -> String {
        dir = try STFixtures.temporaryDirectory(self) + "/ckpt"
        try FileManager.default.copyItem(atPath: DCPFixtures.path(fixture), toPath: dir)
        for f in try FileManager.default.subpathsOfDirectory(atPath: dir) {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/" + f)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)
        return dir
    }

    /// The error's text with the copy's path replaced by `DIR`.
    func message(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
            return ""
        } catch {
            return "\(error)".replacingOccurrences(of: dir, with: "DIR")
        }
    }

    /// Rewrites `.metadata` after `edit`.
    func editMetadata(_ edit: (inout DCPMetadata) -> Void) throws {
        var m = try DCPMetadata.read(dir + "/.metadata")
        edit(&m)
        try Data(try m.encode()).write(to: URL(fileURLWithPath: dir + "/.metadata"))
    }

    func truncate(_ name: String, to size: Int) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/" + name))
        try h.truncate(atOffset: UInt64(size))
        try h.close()
    }

    func testTruncatedMetadata() throws {
        _ = try copy("handmade_minimal")
        try truncate(".metadata", to: 3054)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: cannot read the DCP metadata pickle (3054 bytes, truncated or corrupt): pickle byte offset 3054: pickle ends without a STOP opcode (truncated)")
        try truncate(".metadata", to: 1000)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: cannot read the DCP metadata pickle (1000 bytes, truncated or corrupt): pickle byte offset 959: unterminated text operand (no newline)")
        try truncate(".metadata", to: 0)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: is empty: not a DCP metadata pickle (an interrupted save leaves .metadata.tmp behind and no .metadata)")
    }

    func testItemPastEndOfFile() throws {
        _ = try copy("handmade_minimal")
        try truncate("__0_0.distcp", to: 5000)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/__0_0.distcp: the item of entry 'model.e' (offset 4490, length 1577) lies outside the file (5000 bytes): the file is truncated or .metadata is wrong")
    }

    func testMissingDataFile() throws {
        _ = try copy("torch_sharded/iter_0000010")
        try FileManager.default.removeItem(atPath: dir + "/__1_1.distcp")
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/__1_1.distcp: data file of entry 'model.embed.weight' (named in .metadata): cannot open: No such file or directory")
    }

    func testOverlappingChunksAndGaps() throws {
        _ = try copy("torch_sharded/iter_0000010")
        // Chunk 1 of embed.weight moved up one row: rows 2..3 overlap chunk 0, row 4 is left out.
        try editMetadata { m in
            let i = m.entries.firstIndex { $0.fqn == "model.embed.weight" }!
            guard case var .tensor(t) = m.entries[i].kind else { return }
            t.chunks[1].offsets = [2, 0]
            m.entries[i].kind = .tensor(t)
            let s = m.storage.firstIndex { $0.key == DCPStorageKey(fqn: "model.embed.weight", offsets: [3, 0]) }!
            m.storage[s].key.offsets = [2, 0]
        }
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: entry 'model.embed.weight': chunks 0 (offsets [0, 0], sizes [3, 4]) and 1 (offsets [2, 0], sizes [2, 4]) overlap")
        // Chunk 1 shrunk to one row: row 4 is in no chunk.
        try editMetadata { m in
            let i = m.entries.firstIndex { $0.fqn == "model.embed.weight" }!
            guard case var .tensor(t) = m.entries[i].kind else { return }
            t.chunks[1] = DCPChunk(offsets: [3, 0], sizes: [1, 4])
            m.entries[i].kind = .tensor(t)
            let s = m.storage.firstIndex { $0.key.fqn == "model.embed.weight" && $0.indexHint == 1 }!
            m.storage[s].key.offsets = [3, 0]
        }
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: entry 'model.embed.weight': the chunks cover 16 of the tensor's 20 elements (size [5, 4]): a gap, e.g. the element at [4, 0] would be left uninitialised")
        // A chunk outside the tensor.
        try editMetadata { m in
            let i = m.entries.firstIndex { $0.fqn == "model.embed.weight" }!
            guard case var .tensor(t) = m.entries[i].kind else { return }
            t.chunks[1] = DCPChunk(offsets: [3, 0], sizes: [3, 4])
            m.entries[i].kind = .tensor(t)
        }
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: entry 'model.embed.weight': chunk 1 (offsets [3, 0], sizes [3, 4]) lies outside the tensor (size [5, 4])")
    }

    func testChunkWithoutItem() throws {
        _ = try copy("handmade_minimal")
        try editMetadata { m in m.storage.removeAll { $0.key == DCPStorageKey(fqn: "model.e", offsets: [3, 0]) } }
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: entry 'model.e': chunk 1 (offsets [3, 0]) has no item in storage_data")
    }

    func testDTypeAndSizeMismatchBetweenMetadataAndItem() throws {
        _ = try copy("handmade_minimal")
        try editMetadata { m in
            let i = m.entries.firstIndex { $0.fqn == "model.w" }!
            guard case var .tensor(t) = m.entries[i].kind else { return }
            t.properties.dtypeName = "float16"
            m.entries[i].kind = .tensor(t)
        }
        let c = try DCPCheckpoint.load(dir)
        XCTAssertEqual(message { _ = try c.tensor("model.w") },
                       "DIR/__0_0.distcp (item of 'model.w at [0, 0]' at offset 24, 1577 bytes): holds a float32 tensor but .metadata says float16")
        try editMetadata { m in
            let i = m.entries.firstIndex { $0.fqn == "model.wt" }!
            guard case var .tensor(t) = m.entries[i].kind else { return }
            t.size = [4, 3]
            t.chunks[0].sizes = [4, 3]
            m.entries[i].kind = .tensor(t)
        }
        let d = try DCPCheckpoint.load(dir)
        XCTAssertEqual(message { _ = try d.tensor("model.wt") },
                       "DIR/__0_0.distcp (item of 'model.wt at [0, 0]' at offset 2910, 1556 bytes): holds a tensor of shape [3, 4] but .metadata gives the chunk sizes [4, 3]")
        // A bytes entry read as a tensor item and the other way round.
        XCTAssertEqual(message { _ = try d.value("model.w") }, "DIR/.metadata: entry 'model.w' is a tensor, not a bytes value")
    }

    func testCorruptItemAndUnsafeFileName() throws {
        _ = try copy("handmade_minimal")
        // Zero the item's end (its central directory) in place.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/__0_0.distcp"))
        try h.seek(toOffset: UInt64(1625 + 1261 - 200))
        h.write(Data(count: 200))
        try h.close()
        let c = try DCPCheckpoint.load(dir)
        XCTAssertEqual(message { _ = try c.value("checkpoint_version") },
                       "DIR/__0_0.distcp (item of 'checkpoint_version' at offset 1625, 1261 bytes): zip archive is truncated or corrupt: it starts like a zip but has no end of central directory record")
        try editMetadata { m in m.storage[0].file = "../elsewhere.distcp" }
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(dir) },
                       "DIR/.metadata: entry 'model.w': data file name '../elsewhere.distcp' is not a plain name inside the checkpoint directory")
    }

    func testLocations() throws {
        let base = try STFixtures.temporaryDirectory(self)
        dir = base
        try FileManager.default.createDirectory(atPath: base + "/iter_0000007", withIntermediateDirectories: true)
        try "abc\n".write(toFile: base + "/latest_checkpointed_iteration.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(base) },
                       "DIR/latest_checkpointed_iteration.txt: expected 'release' or an iteration number, found 'abc\n'")
        try " 7 \n".write(toFile: base + "/latest_checkpointed_iteration.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(base) },
                       "DIR/iter_0000007: the tracker names 'iter_0000007', which holds no .metadata: not a DCP checkpoint")
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(base + "/iter_0000007") },
                       "DIR/iter_0000007: is not a DCP checkpoint: no .metadata and no latest_checkpointed_iteration.txt")
        try Data().write(to: URL(fileURLWithPath: base + "/iter_0000007/.metadata.tmp"))
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(base + "/iter_0000007") },
                       "DIR/iter_0000007: holds .metadata.tmp but no .metadata: the save was interrupted before it finished")
        // The tracker names the copy of a real checkpoint: found.
        try FileManager.default.removeItem(atPath: base + "/iter_0000007")
        try FileManager.default.copyItem(atPath: DCPFixtures.path("handmade_minimal"), toPath: base + "/iter_0000007")
        XCTAssertEqual(try DCPCheckpoint.load(base).location.iteration, .iteration(7))
        XCTAssertTrue(DCPLocation.isDCP(base))
        XCTAssertTrue(DCPLocation.isDCP(base + "/iter_0000007"))
        XCTAssertFalse(DCPLocation.isDCP(TorchFixtures.shared.path))
    }

    func testNotAMetadataObject() throws {
        let base = try STFixtures.temporaryDirectory(self)
        dir = base
        let (bytes, _) = try PickleWriter.pickle(.dict(PickleDict(strings: [("a", .int(1))])))
        try Data(bytes).write(to: URL(fileURLWithPath: base + "/.metadata"))
        XCTAssertEqual(message { _ = try DCPCheckpoint.load(base) },
                       "DIR/.metadata: the root object is dict, expected torch.distributed.checkpoint.metadata.Metadata")
    }
}
