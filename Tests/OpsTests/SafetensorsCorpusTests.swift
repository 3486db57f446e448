import Foundation
import XCTest
@testable import Ops

/// One test per malformed file of Tests/Corpus/safetensors (made by its make_corpus.py): each must
/// fail with a clear error naming the file and the problem, never trap.
final class SafetensorsCorpusTests: XCTestCase {
    func fileError(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let path = STFixtures.corpus + "/" + name
        do {
            _ = try SafetensorsFile(path: path)
            XCTFail("\(name) loaded without error", file: file, line: line)
            return ""
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.contains(name), "error does not name the file: \(text)", file: file, line: line)
            return text
        }
    }

    func directoryError(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try HFCheckpoint.load(STFixtures.corpus + "/" + name)
            XCTFail("\(name) loaded without error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func assertContains(_ text: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(text.contains(fragment), "«\(text)» does not contain «\(fragment)»", file: file, line: line)
    }

    func testTooShortForHeaderLength() {
        assertContains(fileError("tiny.safetensors"), "tiny.safetensors: file is 3 bytes, shorter than the 8-byte header length; the file is truncated or not a safetensors file")
    }

    func testTruncatedData() {
        assertContains(fileError("truncated.safetensors"), "tensor 'b': data_offsets [8, 16] run past the end of the data section (11 bytes)")
    }

    func testHeaderLengthPastEnd() {
        assertContains(fileError("header_past_end.safetensors"), "declared header length 1000 bytes runs past the end of the file (15 bytes)")
    }

    func testHugeDeclaredHeaderLength() {
        assertContains(fileError("huge_header_length.safetensors"), "declared header length 4611686018427387904 bytes exceeds the limit of 100000000")
    }

    func testBadJSON() {
        assertContains(fileError("bad_json.safetensors"), "header is not valid JSON: line 1, column 33: expected a string key in double quotes, found '}'")
    }

    func testNonUTF8Header() {
        assertContains(fileError("non_utf8_header.safetensors"), "header is not valid UTF-8 (byte 0xe9 at header offset 5)")
    }

    func testUnknownDType() {
        assertContains(fileError("unknown_dtype.safetensors"), "tensor 'a': unknown or unsupported dtype \"F7\" (supported: F64, F32, F16, BF16")
    }

    func testOverlappingOffsets() {
        assertContains(fileError("overlapping_offsets.safetensors"), "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]")
    }

    func testOutOfRangeOffsets() {
        assertContains(fileError("out_of_range_offsets.safetensors"), "tensor 'b': data_offsets [8, 16] run past the end of the data section (12 bytes)")
    }

    func testGapInData() {
        assertContains(fileError("gap_in_data.safetensors"), "tensor 'b': gap of 4 unused bytes before data_offsets [12, 20]")
    }

    func testTrailingBytes() {
        assertContains(fileError("trailing_bytes.safetensors"), "data section has 16 bytes but the tensors cover only 8; 8 trailing bytes belong to no tensor")
    }

    func testShapeSizeMismatch() {
        assertContains(fileError("shape_size_mismatch.safetensors"), "tensor 'a': F32 shape [3] needs 12 bytes but data_offsets [0, 8] hold 8")
    }

    func testDuplicateName() {
        assertContains(fileError("duplicate_name.safetensors"), "header names tensor 'a' twice (1:55); tensor names must be unique")
    }

    func testHeaderNotAnObject() {
        assertContains(fileError("header_not_object.safetensors"), "header must be a JSON object, found a list")
    }

    func testMetadataNotStrings() {
        assertContains(fileError("metadata_not_strings.safetensors"), "__metadata__ value for \"format\" must be a string, found a int")
    }

    func testIndexNamingMissingShard() {
        let e = directoryError("index_missing_shard")
        assertContains(e, "index_missing_shard/model-00002-of-00002.safetensors: shard named by model.safetensors.index.json (for 1 tensors) is missing; download the complete checkpoint")
    }

    func testIndexEntryMissingFromShard() {
        let e = directoryError("index_missing_tensor")
        assertContains(e, "index_missing_tensor/model-00001-of-00001.safetensors: tensor 'b' listed in model.safetensors.index.json is not in this shard")
    }

    func testDuplicateTensorAcrossShards() {
        let e = directoryError("duplicate_across_shards")
        assertContains(e, "duplicate_across_shards/b.safetensors: tensor 'a' is also in a.safetensors")
    }

    func testEmptyOrMissingDirectory() throws {
        let empty = try STFixtures.temporaryDirectory(self)
        XCTAssertThrowsError(try HFCheckpoint.load(empty)) { e in
            assertContains("\(e)", "no *.safetensors file and no model.safetensors.index.json in this directory")
        }
        XCTAssertThrowsError(try HFCheckpoint.load(empty + "/nope")) { e in
            assertContains("\(e)", "nope: cannot list the directory")
        }
    }
}
