import Foundation
import XCTest
@testable import Ops

/// Replays the inputs the fuzz targets of Fuzz/ (tools/fuzz.sh) found: each must now give a clear
/// error (or load), never a crash, hang, huge allocation or leak.
final class FuzzCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Corpus")

    func corpusBytes(_ path: String, line: UInt = #line) throws -> [UInt8] {
        let url = FuzzCorpusTests.corpus.appendingPathComponent(path)
        return [UInt8](try Data(contentsOf: url))
    }

    func assertError(_ message: String, contains fragments: [String], line: UInt = #line) {
        for f in fragments { XCTAssertTrue(message.contains(f), "'\(message)' lacks '\(f)'", line: line) }
    }

    // MARK: pickle (fuzz target `zip`: a self-referencing list leaked its boxes)

    /// Runs a pickle and returns a weak reference to the box memoized at key 0 once the machine is gone.
    func memoizedBoxAfterRun(_ bytes: [UInt8], expecting fragments: [String], line: UInt = #line) throws -> PickleBox? {
        weak var box: PickleBox?
        try bytes.withUnsafeBytes { buffer in
            var machine = PickleMachine(reader: PickleReader(buffer, path: "cycle.pkl"))
            XCTAssertThrowsError(try machine.run(), line: line) { self.assertError("\($0)", contains: fragments, line: line) }
            if case let .box(b)? = machine.memo[0] { box = b }
        }
        return box
    }

    func testSelfAppendedListThroughMemoIsFreed() throws {
        // PROTO 2, EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: l = []; l.append(l)
        let box = try memoizedBoxAfterRun([0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E], expecting: ["recursive structure"])
        XCTAssertNil(box, "the cyclic list outlived the reader (leak)")
    }

    func testSelfAppendedListThroughDupIsFreed() throws {
        // PROTO 2, EMPTY_LIST, BINPUT 0, DUP, APPEND, STOP
        let box = try memoizedBoxAfterRun([0x80, 2, 0x5D, 0x71, 0, 0x32, 0x61, 0x2E], expecting: ["recursive structure"])
        XCTAssertNil(box, "the cyclic list outlived the reader (leak)")
    }

    func testDictContainingItselfIsFreed() throws {
        // PROTO 2, EMPTY_DICT, BINPUT 0, BININT1 1, BINGET 0, SETITEM, STOP: d = {}; d[1] = d
        let box = try memoizedBoxAfterRun([0x80, 2, 0x7D, 0x71, 0, 0x4B, 1, 0x68, 0, 0x73, 0x2E], expecting: ["recursive structure"])
        XCTAssertNil(box, "the cyclic dict outlived the reader (leak)")
    }

    func testRecursiveCheckpointStillFailsClearly() throws {
        let bytes = try corpusBytes("torch/recursive_structure.pt")
        XCTAssertThrowsError(try TorchCheckpoint.load(archive: ZipArchive(store: ByteStore(bytes: bytes, name: "recursive_structure.pt")))) {
            self.assertError("\($0)", contains: ["recursive structure"])
        }
    }

    // MARK: tensor walk (fuzz target `pickle`: a 437-byte pickle of DUP and TUPLE opcodes is a tuple
    // DAG whose tree has ~2^100 nodes; the walk built a path per node and timed out)

    func testExponentialTupleDAGWalkIsBounded() throws {
        let value = try PickleReader.read(try corpusBytes("torch/fuzz-exponential-tuple-dag.pkl"), path: "fuzz-exponential-tuple-dag.pkl")
        let start = Date()
        XCTAssertTrue(value.tensors().isEmpty)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the walk must stop at its path budget")
        // A small budget stops it at once.
        let small = Date()
        XCTAssertTrue(value.tensors(maxPathBytes: 1 << 16).isEmpty)
        XCTAssertLessThan(Date().timeIntervalSince(small), 1)
    }

    func testWalkBudgetKeepsRealCheckpointsWhole() throws {
        // A budget far below the default still lists every tensor of a real checkpoint.
        let root = try TorchCheckpoint.load(TorchFixtures.torch("megatron_ckpt.pt"))
        XCTAssertEqual(root.tensors(maxPathBytes: 1 << 20).map(\.path), root.tensors().map(\.path))
        XCTAssertFalse(root.tensors().isEmpty)
    }
}
