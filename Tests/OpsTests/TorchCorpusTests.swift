import Foundation
import XCTest
@testable import Ops

/// Each malformed file of Tests/Corpus/torch (see make_corpus.py there) fails with a clear error,
/// never a crash or a hang.
final class TorchCorpusTests: XCTestCase {
    func expectFailure(_ file: String, _ fragments: [String], verifyCRC: Bool = false, line: UInt = #line) {
        let path = TorchFixtures.corpus.appendingPathComponent(file).path
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "missing corpus file \(file)", line: line)
        XCTAssertThrowsError(try TorchCheckpoint.load(path, verifyCRC: verifyCRC), file, line: line) { error in
            let message = "\(error)"
            for f in fragments { XCTAssertTrue(message.contains(f), "\(file): '\(message)' lacks '\(f)'", line: line) }
        }
    }

    func testTruncatedZip() { expectFailure("truncated_zip.pt", ["truncated or corrupt", "no end of central directory"]) }
    func testBadCentralDirectoryOffset() { expectFailure("bad_central_directory_offset.pt", ["central directory entry 0", "missing or corrupt"]) }
    func testCompressedEntry() { expectFailure("compressed_entry.pt", ["views/data.pkl", "is compressed (method 8)", "re-save"]) }
    func testUnknownOpcode() { expectFailure("unknown_opcode.pt", ["pickle byte offset 3", "unknown pickle opcode 0xff"]) }
    func testDeeplyNestedPickle() { expectFailure("deeply_nested.pt", ["nested deeper than 500 levels"]) }
    func testHugeDeclaredLength() { expectFailure("huge_declared_length.pt", ["BINUNICODE declares 4294967280 bytes but only 3 remain"]) }
    func testMemoGetOfMissingKey() { expectFailure("memo_get_missing.pt", ["memo key 5 is not defined"]) }
    func testRecursiveStructure() { expectFailure("recursive_structure.pt", ["recursive structure"]) }
    func testMissingStorage() { expectFailure("missing_storage.pt", ["missing storage entry 'views/data/0'"]) }
    func testStorageTooSmallForTensor() { expectFailure("storage_too_small.pt", ["storage too small for the tensor", "needs 100 elements, the storage has 24"]) }
    func testStorageEntryShorterThanDeclared() { expectFailure("storage_entry_short.pt", ["holds 40 bytes but 24 float32 elements need 96", "storage too small"]) }
    func testNotAZip() { expectFailure("not_a_zip.pt", ["not a zip archive"]) }
    func testCRCMismatch() { expectFailure("crc_mismatch.pt", ["views/data/0", "CRC-32"], verifyCRC: true) }
    func testEntryPastEnd() { expectFailure("entry_past_end.pt", ["views/data/0", "beyond the file"]) }

    func testLegacyFormat() {
        XCTAssertThrowsError(try TorchCheckpoint.load(TorchFixtures.torch("legacy_format.pt"))) { error in
            XCTAssertTrue("\(error)".contains("legacy torch format"), "\(error)")
            XCTAssertTrue("\(error)".contains("re-save it with torch.save(..., _use_new_zipfile_serialization=True)"), "\(error)")
        }
    }
}
