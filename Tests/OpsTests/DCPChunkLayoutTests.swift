import XCTest
@testable import Ops

/// General box tilings: grids on several dims, uneven and empty pieces assemble lazily into the
/// global tensor; a pinwheel (no straight cut) is refused clearly.
final class DCPChunkLayoutTests: XCTestCase {
    /// The global tensor `[rows, cols]` of u8 values r * cols + c, and the piece of one box.
    func piece(_ offsets: [Int], _ sizes: [Int], cols: Int) throws -> DCPChunkLayout.Piece {
        var bytes: [UInt8] = []
        for r in 0..<sizes[0] { for c in 0..<sizes[1] { bytes.append(UInt8((offsets[0] + r) * cols + offsets[1] + c)) } }
        return .init(chunk: DCPChunk(offsets: offsets, sizes: sizes), tensor: try Tensor.fromBytes(bytes, dtype: .u8, shape: sizes))
    }

    func testGridUnevenAndEmptyPieces() throws {
        let size = [5, 7]
        let boxes: [([Int], [Int])] = [([3, 4], [2, 3]), ([0, 0], [3, 4]), ([0, 4], [3, 3]), ([3, 0], [2, 4]), ([5, 0], [0, 7]), ([3, 7], [2, 0])]
        let pieces = try boxes.map { try piece($0.0, $0.1, cols: 7) }
        try DCPChunkLayout.check(pieces.map(\.chunk), size: size, fqn: "g", path: "m")
        let t = try DCPChunkLayout.assemble(pieces, size: size, dtype: .u8, fqn: "g")
        XCTAssertEqual(try t.materialize(), (0..<35).map { UInt8($0) })
        // Columns first, then rows inside each column block (a Shard(1) x Shard(0) layout).
        let cols = try [([0, 0], [2, 3]), ([2, 0], [3, 3]), ([0, 3], [4, 4]), ([4, 3], [1, 4])].map { try piece($0.0, $0.1, cols: 7) }
        XCTAssertEqual(try DCPChunkLayout.assemble(cols, size: size, dtype: .u8, fqn: "g").materialize(), (0..<35).map { UInt8($0) })
    }

    func testPinwheelIsRefused() throws {
        // Four 2x1 / 1x2 dominoes around a centre cell of a 3x3 tensor.
        let boxes: [([Int], [Int])] = [([0, 0], [1, 2]), ([0, 2], [2, 1]), ([2, 1], [1, 2]), ([1, 0], [2, 1]), ([1, 1], [1, 1])]
        let pieces = try boxes.map { try piece($0.0, $0.1, cols: 3) }
        try DCPChunkLayout.check(pieces.map(\.chunk), size: [3, 3], fqn: "p", path: "m")
        XCTAssertThrowsError(try DCPChunkLayout.assemble(pieces, size: [3, 3], dtype: .u8, fqn: "p")) { e in
            XCTAssertEqual("\(e)", "entry 'p': its 5 chunks in the box [0, 0]..<[3, 3] cannot be separated by a straight cut (a pinwheel tiling): not supported")
        }
    }

    func testZeroDimAndEmptyTensors() throws {
        let scalar = DCPChunkLayout.Piece(chunk: DCPChunk(offsets: [], sizes: []), tensor: try Tensor.fromBytes([7], dtype: .u8, shape: []))
        try DCPChunkLayout.check([scalar.chunk], size: [], fqn: "s", path: "m")
        XCTAssertEqual(try DCPChunkLayout.assemble([scalar], size: [], dtype: .u8, fqn: "s").materialize(), [7])
        XCTAssertThrowsError(try DCPChunkLayout.check([], size: [], fqn: "s", path: "m"))
        try DCPChunkLayout.check([DCPChunk(offsets: [0, 0], sizes: [3, 0])], size: [3, 0], fqn: "e", path: "m")
        XCTAssertEqual(try DCPChunkLayout.assemble([], size: [3, 0], dtype: .bf16, fqn: "e").shape, [3, 0])
    }
}
