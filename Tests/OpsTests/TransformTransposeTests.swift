import XCTest
import BlockTranspose
@testable import Ops

/// The blocked-transpose fast path of the run streamer gives the same bytes as index arithmetic,
/// for every element size, for stacked matrices and for bands larger than the scratch buffer.
final class TransformTransposeTests: XCTestCase {
    /// Expected row-major bytes of `t` = base (contiguous, shape `shape`) transposed at dims a, b.
    func expected(_ bytes: [UInt8], shape: [Int], size: Int, a: Int, b: Int) -> [UInt8] {
        var outShape = shape
        outShape.swapAt(a, b)
        let inStrides = Tensor.contiguousStrides(shape)
        var strides = inStrides
        strides.swapAt(a, b)
        let n = shape.reduce(1, *)
        var out = [UInt8](repeating: 0, count: n * size)
        var index = [Int](repeating: 0, count: shape.count)
        for k in 0..<n {
            var off = 0
            for d in 0..<shape.count { off += index[d] * strides[d] }
            for s in 0..<size { out[k * size + s] = bytes[off * size + s] }
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < outShape[d] { break }; index[d] = 0; d -= 1 }
        }
        return out
    }

    func check(_ dtype: DType, _ shape: [Int], a: Int, b: Int) throws {
        let n = shape.reduce(1, *) * dtype.size
        let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let t = try Tensor.fromBytes(bytes, dtype: dtype, shape: shape).transposed(a, b)
        XCTAssertEqual(try t.materialize(), expected(bytes, shape: shape, size: dtype.size, a: a, b: b), "\(dtype) \(shape) (\(a),\(b))")
    }

    /// The SSE2 kernel (what CPUs without AVX2 run) against the element-by-element transpose, on
    /// block counts that exercise both halves of the AVX2 path's 16-row pairs too.
    func testSSE2KernelMatchesTheElementTranspose() {
        for (rows, cols, tile) in [(8, 8, 64), (24, 40, 16), (256, 128, 64), (40, 264, 16)] {
            let stride = rows + 8   // source rows (the output's columns) of `rows` elements plus a gap
            let src = (0..<(cols * stride)).map { UInt16(truncatingIfNeeded: $0 &* 40_503) }
            var viaSSE2 = [UInt16](repeating: 0, count: rows * cols), viaDispatch = viaSSE2
            src.withUnsafeBytes { s in
                viaSSE2.withUnsafeMutableBytes { d in
                    block_transpose16_sse2(s.baseAddress!.assumingMemoryBound(to: UInt8.self), stride * 2, rows, cols,
                                           d.baseAddress!.assumingMemoryBound(to: UInt8.self), cols * 2, tile)
                }
                viaDispatch.withUnsafeMutableBytes { d in
                    block_transpose16(s.baseAddress!.assumingMemoryBound(to: UInt8.self), stride * 2, rows, cols,
                                      d.baseAddress!.assumingMemoryBound(to: UInt8.self), cols * 2, tile)
                }
            }
            let expected = (0..<rows).flatMap { i in (0..<cols).map { j in src[j * stride + i] } }
            XCTAssertEqual(viaSSE2, expected, "SSE2 \(rows)x\(cols)")
            XCTAssertEqual(viaDispatch, expected, "dispatched \(rows)x\(cols)")
        }
    }

    func testTransposedViewsStreamCorrectly() throws {
        for dtype in [DType.u8, .bf16, .f32, .f64] {
            try check(dtype, [3, 5], a: 0, b: 1)
            try check(dtype, [70, 130], a: 0, b: 1)      // several 64 x 64 tiles, ragged edges
            try check(dtype, [4, 3, 6], a: 1, b: 2)      // stacked experts, each transposed
            try check(dtype, [2, 3, 5, 7], a: 2, b: 3)
        }
        try check(.f32, [700, 600], a: 0, b: 1)          // output bigger than one scratch band
        // 2-byte elements go through 8 x 8 vector blocks: whole blocks, ragged edges in either
        // dimension, fewer than 8 rows or columns, bands larger than the scratch buffer, stacks,
        // several tiles of 64 source rows (short output rows) and of 16 (long ones), ragged.
        for shape in [[8, 8], [16, 24], [9, 8], [8, 9], [17, 31], [7, 64], [64, 7], [1030, 520], [3, 40, 16], [2, 24, 13],
                      [200, 136], [136, 200], [2, 264, 48], [600, 300]] {
            try check(.bf16, shape, a: shape.count - 2, b: shape.count - 1)
            try check(.f16, shape, a: shape.count - 2, b: shape.count - 1)
        }
        // A slice of a transposed expert stack (the expert split's views).
        let base = try TF.iota([3, 4, 5])
        let e1 = try base.slice(dim: 0, start: 1, count: 1).reshaped([4, 5]).transposed()
        XCTAssertEqual(try TF.values(e1), (0..<5).flatMap { c in (0..<4).map { r in Int32(20 + r * 5 + c) } })
    }

    /// Not an assertion on time (tests never do): prints the throughput of a 4 MB bf16 transpose
    /// so a regression to element-by-element streaming is visible in the log.
    func testTransposeThroughputIsReported() throws {
        let rows = 1024, cols = 2048
        let store = ByteStore(count: rows * cols * 2) { buf in
            for i in 0..<(rows * cols) { buf.storeBytes(of: UInt16(truncatingIfNeeded: i), toByteOffset: i * 2, as: UInt16.self) }
        }
        let t = try Tensor.contiguous(store, dtype: .bf16, shape: [rows, cols]).transposed()
        var total = 0
        var checksum: UInt64 = 0
        let start = Date()
        try t.forEachRun { run in
            if case let .bytes(b) = run { total += b.count; checksum &+= UInt64(b[b.count - 1]) }
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(total, rows * cols * 2)
        print("transpose bf16 \(rows)x\(cols): \(String(format: "%.1f", Double(total) / seconds / 1e6)) MB/s (checksum \(checksum))")
    }
}

extension TransformTransposeTests {
    /// Row-major values of concat(parts, dim: 1) computed by hand from each part's values.
    func expectedColumnConcat(_ parts: [Tensor]) throws -> [Int32] {
        let rows = parts[0].shape[0]
        let vals = try parts.map { try TF.values($0) }
        var out: [Int32] = []
        for r in 0..<rows {
            for (p, v) in zip(parts, vals) {
                let w = p.numel / rows
                out += v[(r * w)..<((r + 1) * w)]
            }
        }
        return out
    }

    func testColumnConcatOfMixedParts() throws {
        let a = try TF.iota([6, 4])                                   // contiguous, short rows
        let b = try TF.iota([5, 6], from: 100).transposed()          // transposed view [6, 5]
        let z = Tensor.zeros(.i32, [6, 3])
        let c = try Tensor.concat([TF.iota([6, 3], from: 500), TF.iota([6, 3], from: 600)], dim: 0).slice(dim: 0, start: 3, count: 6) // nested concat dim 0
        for parts in [[a, b], [b, z, a], [c, b], [a, z, c, b]] {
            let t = try Tensor.concat(parts, dim: 1)
            XCTAssertEqual(try TF.values(t), try expectedColumnConcat(parts))
            XCTAssertEqual(try TF.values(t.slice(dim: 0, start: 1, count: 4)), try expectedColumnConcat(parts.map { try $0.slice(dim: 0, start: 1, count: 4) }))
        }
        // Rank 3 (stacked experts), and bands smaller than the tensor (rows of 300 KB).
        let big = try Tensor.concat([TF.iota([7, 40_000]), TF.iota([35_000, 7], from: 1).transposed()], dim: 1)
        let vals = try TF.values(big)
        XCTAssertEqual(vals.count, 7 * 75_000)
        XCTAssertEqual(Array(vals[74_998..<75_002]), [244_987, 244_994, 40_000, 40_001])
        XCTAssertEqual(vals, try expectedColumnConcat([TF.iota([7, 40_000]), TF.iota([35_000, 7], from: 1).transposed()]))
        // 2-byte transposed parts of whole 8 x 8 blocks are transposed straight into the band
        // (a GLU merge of per-expert matrices), beside a part that is not (ragged columns).
        let bytes = (0..<(2 * 48 * 40 * 2)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 7) }
        let g = try Tensor.fromBytes(Array(bytes[0..<3840]), dtype: .bf16, shape: [48, 40]).transposed()
        let u = try Tensor.fromBytes(Array(bytes[3840...]), dtype: .bf16, shape: [48, 40]).transposed()
        let ragged = try Tensor.fromBytes(Array(bytes[0..<(40 * 6 * 2)]), dtype: .bf16, shape: [6, 40]).transposed()
        for parts in [[g, u], [g, ragged, u]] {
            let merged = try Tensor.concat(parts, dim: 1).materialize()
            let each = try parts.map { try $0.materialize() }
            var want: [UInt8] = []
            for r in 0..<40 { for (p, b) in zip(parts, each) { let w = p.shape[1] * 2; want += b[(r * w)..<((r + 1) * w)] } }
            XCTAssertEqual(merged, want, "\(parts.map(\.shape))")
        }
        let d1 = try Tensor.concat([TF.iota([2, 3, 2]), TF.iota([2, 1, 2], from: 50)], dim: 1)
        XCTAssertEqual(try TF.values(d1), [0, 1, 2, 3, 4, 5, 50, 51, 6, 7, 8, 9, 10, 11, 52, 53])
        let e = try Tensor.concat([TF.iota([2, 3, 2]), TF.iota([2, 3, 1], from: 50)], dim: 2)
        XCTAssertEqual(try TF.values(e), [0, 1, 50, 2, 3, 51, 4, 5, 52, 6, 7, 53, 8, 9, 54, 10, 11, 55])
    }
}
