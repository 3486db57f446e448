import XCTest
import PageCache
@testable import Ops
#if canImport(Glibc)
import Glibc
#endif

/// Cold input ranges of a writer's kernel copies are read straight from disk (`O_DIRECT`) into
/// block-aligned buffers; the bytes handed on must be exactly the range's, wherever it starts and
/// ends (odd offsets, across the reader's 8 MiB chunks, up to the end of the file), and ranges
/// the page cache holds are left to the kernel copy.
final class DirectSourceReaderTests: XCTestCase {
    func testColdRangesAreReadDirectlyAndExactly() throws {
        let dir = try STFixtures.temporaryDirectory(self)
        let n = (20 << 20) + 12345
        let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 11) }
        let path = dir + "/cold.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try evict(path)
        let store = try ByteStore(mapping: path)
        let fd = try XCTUnwrap(store.fileDescriptor)
        try skipWithoutDirectIO(fd)
        XCTAssertLessThan(store.cachedFraction(offset: 0, count: n), 0.5)
        let ranges = [(777, 9 << 20), ((16 << 20) - 5, (4 << 20) + 10), (n - 3000, 3000)]
        var out = 100
        let spans = ranges.map { r -> SourceReadAhead.Span in
            defer { out += r.1 }
            return SourceReadAhead.Span(store: store, fd: fd, offset: r.0, count: r.1, outputOffset: out)
        }
        let before = DirectSourceReader.totalBytesRead
        let (reader, rest) = DirectSourceReader.split(spans)
        let direct = try XCTUnwrap(reader)
        defer { direct.stop() }
        XCTAssertTrue(rest.isEmpty)
        // Only the next span, by its output offset, is handed over.
        XCTAssertFalse(try direct.copy(outputOffset: spans[1].outputOffset) { _ in XCTFail("not the next span") })
        for (span, r) in zip(spans, ranges) {
            var got: [UInt8] = []
            var pieces = 0
            XCTAssertTrue(try direct.copy(outputOffset: span.outputOffset) { got += $0; pieces += 1 })
            XCTAssertEqual(got.count, r.1)
            XCTAssertTrue(got == Array(bytes[r.0..<(r.0 + r.1)]), "range at \(r.0)")
            XCTAssertGreaterThan(pieces, 0)
        }
        XCTAssertFalse(try direct.copy(outputOffset: out) { _ in XCTFail("past the last span") })
        XCTAssertGreaterThanOrEqual(DirectSourceReader.totalBytesRead - before, ranges.reduce(0) { $0 + $1.1 })
    }

    /// A range the page cache holds is copied from there, not read again from disk.
    func testCachedRangesAreLeftToTheKernelCopy() throws {
        let dir = try STFixtures.temporaryDirectory(self)
        let n = 6 << 20
        let path = dir + "/warm.bin"
        try Data((0..<n).map { UInt8(truncatingIfNeeded: $0 >> 3) }).write(to: URL(fileURLWithPath: path))
        _ = try Data(contentsOf: URL(fileURLWithPath: path))  // in the cache
        let store = try ByteStore(mapping: path)
        let fd = try XCTUnwrap(store.fileDescriptor)
        XCTAssertGreaterThan(store.cachedFraction(offset: 4096, count: n - 4096), 0.5)
        let spans = [SourceReadAhead.Span(store: store, fd: fd, offset: 4096, count: n - 4096, outputOffset: 0)]
        let (reader, rest) = DirectSourceReader.split(spans)
        XCTAssertNil(reader)
        XCTAssertEqual(rest.map(\.offset), [4096])
    }

    /// A save whose inputs are cold (a training checkpoint read once) writes the same bytes
    /// through the direct reads as through the kernel copy: whole tensors, and the parts of a
    /// concatenation (FSDP chunks) after a small tensor written from the heap.
    func testSavingFromAColdInputWritesTheSameBytes() throws {
        let dir = try STFixtures.temporaryDirectory(self)
        let rows = 4, row = 3 << 20
        let bytes = (0..<(rows * row)).map { UInt8(truncatingIfNeeded: $0 &* 40503 >> 7) }
        let heap = try Tensor.fromBytes(bytes, dtype: .u8, shape: [rows, row])
        _ = try SafetensorsWriter.write(TensorMap([("t", heap)]), metadata: nil, to: dir + "/src.safetensors")
        let src = try XCTUnwrap(try SafetensorsFile(path: dir + "/src.safetensors").tensors()["t"])
        // After the header is parsed: its page faults read ahead several MB of the data.
        try evict(dir + "/src.safetensors")
        let (store, at) = try XCTUnwrap(src.contiguousRange)
        XCTAssertLessThan(store.cachedFraction(offset: at, count: src.byteCount), 0.1)
        try skipWithoutDirectIO(try XCTUnwrap(src.contiguousRange?.store.fileDescriptor))
        let chunks = try Tensor.concat([try src.slice(dim: 0, start: 3, count: 1), try src.slice(dim: 0, start: 0, count: 2)], dim: 0)
        let small = try Tensor.fromBytes(Array(bytes[..<1000]), dtype: .u8, shape: [1000])
        let map = TensorMap([("a.small", small), ("b.chunks", chunks), ("c.whole", try src.slice(dim: 0, start: 2, count: 1))])
        let before = DirectSourceReader.totalBytesRead
        _ = try SafetensorsWriter.write(map, metadata: [("format", "pt")], to: dir + "/out.safetensors")
        XCTAssertGreaterThanOrEqual(DirectSourceReader.totalBytesRead - before, 4 * row)
        let back = try SafetensorsFile(path: dir + "/out.safetensors").tensors()
        XCTAssertTrue(try back["b.chunks"]!.materialize() == Array(bytes[(3 * row)...]) + Array(bytes[..<(2 * row)]))
        XCTAssertTrue(try back["c.whole"]!.materialize() == Array(bytes[(2 * row)..<(3 * row)]))
        XCTAssertEqual(try back["a.small"]!.materialize(), Array(bytes[..<1000]))
        // Byte for byte the file a warm save writes.
        _ = try SafetensorsWriter.write(TensorMap(map.map { ($0.0, try Tensor.fromBytes($0.1.materialize(), dtype: .u8, shape: $0.1.shape)) }),
                                        metadata: [("format", "pt")], to: dir + "/heap.safetensors")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/out.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/heap.safetensors")))
    }

    /// Writes a file's pages to disk and drops them from the page cache, as after a reboot (pages
    /// this process has mapped stay).
    private func evict(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw XCTSkip("cannot open \(path)") }
        defer { close(fd) }
        XCTAssertEqual(fsync(fd), 0)
        XCTAssertEqual(posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED)), 0)
    }

    private func skipWithoutDirectIO(_ fd: Int32) throws {
        let direct = open_direct_read(fd)
        guard direct >= 0 else { throw XCTSkip("this file system refuses O_DIRECT") }
        close(direct)
    }
}
