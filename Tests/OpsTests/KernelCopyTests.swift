import XCTest
@testable import Ops

/// Large contiguous tensors of mapped files are copied by the kernel (sendfile); slices at odd
/// offsets, writes after buffered bytes and zip entries (which need a CRC) must all stay exact.
final class KernelCopyTests: XCTestCase {
    func testLargeContiguousSlicesOfAMappedFileAreCopiedExactly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kcopy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A 3 MiB source written through the heap path.
        let n = 3 << 20
        let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        _ = try SafetensorsWriter.write(TensorMap([("a", try Tensor.fromBytes(bytes, dtype: .u8, shape: [3, n / 3]))]), metadata: nil, to: dir + "/src.safetensors")
        let src = try SafetensorsFile(path: dir + "/src.safetensors").tensors()["a"]!
        XCTAssertNotNil(src.contiguousRange?.store.fileDescriptor)
        // Rows 1..2 (an offset inside the file) and a small tensor written before (buffered bytes).
        let big = try src.slice(dim: 0, start: 1, count: 2)
        let small = try src.slice(dim: 1, start: 5, count: 3)
        // A TP merge: the parts of a dim-0 concatenation are copied one after the other.
        let merged = try Tensor.concat([try src.slice(dim: 0, start: 2, count: 1), try src.slice(dim: 0, start: 0, count: 1)], dim: 0)
        _ = try SafetensorsWriter.write(TensorMap([("big", big), ("small", small), ("merged", merged)]), metadata: [("format", "pt")], to: dir + "/out.safetensors")
        let back = try SafetensorsFile(path: dir + "/out.safetensors").tensors()
        XCTAssertEqual(try back["big"]!.materialize(), Array(bytes[(n / 3)...]))
        XCTAssertEqual(try back["merged"]!.materialize(), Array(bytes[(2 * n / 3)...]) + Array(bytes[..<(n / 3)]))
        XCTAssertEqual(try back["small"]!.sha256(), try small.sha256())
        // Zip entries compute a CRC, so they take the streaming path; the archive must verify.
        try TorchCheckpoint.save(.dict(PickleDict(strings: [("big", .tensor(TorchTensor(big)))])), to: dir + "/out.pt")
        let archive = try ZipArchive(path: dir + "/out.pt")
        try archive.verifyAllCRCs()
        XCTAssertEqual(try TorchCheckpoint.load(dir + "/out.pt")["big"]?.tensorValue?.tensor.sha256(), try big.sha256())
    }
}
