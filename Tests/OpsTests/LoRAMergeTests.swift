import Foundation
import XCTest
@testable import Ops

/// The LoRA merge without Python: W' = round(f32(W) + s·(B @ A)) on values whose products and
/// sums are exact (so any summation order gives the same f32), bf16 round-to-nearest-even at
/// exact ties, f16 and f32 bases, the lazy row bands and views of the computed tensor, and the
/// errors for pairs that cannot merge.
final class LoRAMergeTests: XCTestCase {
    func f32(_ v: [Float], _ shape: [Int]) throws -> Tensor {
        var b: [UInt8] = []
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { b.append(contentsOf: $0) } }
        return try Tensor.fromBytes(b, dtype: .f32, shape: shape)
    }

    func bf16(_ v: [Float], _ shape: [Int]) throws -> Tensor {
        try f32(v, shape).cast(to: .bf16).computedCopy()
    }

    func values(_ t: Tensor) throws -> [Float] {
        let b = try t.cast(to: .f32).materialize()
        return b.withUnsafeBytes { r in (0..<(b.count / 4)).map { r.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    /// Exact reference in Double (exact for these inputs), rounded once to `dtype`.
    func reference(_ w: [Float], _ a: [Float], _ b: [Float], rows: Int, cols: Int, r: Int, s: Double, dtype: DType) throws -> [UInt8] {
        var out: [Float] = []
        for i in 0..<rows {
            for j in 0..<cols {
                var p = 0.0
                for k in 0..<r { p += Double(b[i * r + k]) * Double(a[k * cols + j]) }
                out.append(Float(Double(w[i * cols + j]) + s * p))
            }
        }
        return try f32(out, [rows, cols]).cast(to: dtype).materialize()
    }

    func testMergedEqualsTheExactComputationForEachDtype() throws {
        let (rows, cols, r) = (7, 300, 3)
        var g = SystemRandomNumberGenerator()
        func small(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int.random(in: -16...16, using: &g)) / 8 } }
        let a = small(r * cols), b = small(rows * r), w = small(rows * cols)
        for dtype in [DType.bf16, .f16, .f32] {
            for s in [2.0, 0.5, 1.0] {
                let wt = try f32(w, [rows, cols]).cast(to: dtype).computedCopy()
                let got = try LoRAMerge.merged(wt, a: try f32(a, [r, cols]), b: try bf16(b, [rows, r]), scaling: s, name: "w")
                XCTAssertEqual(got.dtype, dtype)
                XCTAssertEqual(got.shape, [rows, cols])
                XCTAssertEqual(try got.materialize(), try reference(try values(wt), a, b, rows: rows, cols: cols, r: r, s: s, dtype: dtype), "\(dtype) s=\(s)")
            }
        }
    }

    func testBF16RoundsOnceToNearestEven() throws {
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1.0078125: even (1.0) wins; 1 + 3·2^-8
        // lies halfway between 1.0078125 (odd) and 1.015625 (even): up; just below and above a
        // half step round down and up.
        let w = try bf16([1, 1, 1, 1], [1, 4])
        let a = try f32([0.00390625, 0.01171875, 0.0029296875, 0.0048828125], [1, 4])
        let b = try f32([1], [1, 1])
        let got = try values(try LoRAMerge.merged(w, a: a, b: b, scaling: 1, name: "w"))
        XCTAssertEqual(got, [1.0, 1.015625, 1.0, 1.0078125])
    }

    func testRowBandsAndViewsOfTheComputedTensor() throws {
        let (rows, cols, r) = (2000, 300, 2)   // 1.2 MB in f32: more than one band
        let w = try f32((0..<(rows * cols)).map { Float($0 % 97) }, [rows, cols])
        let a = try f32((0..<(r * cols)).map { Float($0 % 5) }, [r, cols])
        let b = try f32((0..<(rows * r)).map { Float($0 % 3) }, [rows, r])
        let m = try LoRAMerge.merged(w, a: a, b: b, scaling: 0.25, name: "w")
        let full = try m.materialize()
        let copy = try m.computedCopy()
        XCTAssertEqual(try m.slice(dim: 0, start: 1500, count: 300).materialize(), try copy.slice(dim: 0, start: 1500, count: 300).materialize())
        XCTAssertEqual(try m.slice(dim: 1, start: 7, count: 11).materialize(), try copy.slice(dim: 1, start: 7, count: 11).materialize())
        XCTAssertEqual(try m.transposed(0, 1).materialize(), try copy.transposed(0, 1).materialize())
        XCTAssertEqual(try m.cast(to: .bf16).materialize(), try copy.cast(to: .bf16).materialize())
        XCTAssertEqual(full.count, rows * cols * 4)
    }

    func testApplyTargetsAndErrors() throws {
        let w = try bf16([Float](repeating: 1, count: 8), [2, 4])
        let base = TensorMap([("m.q.weight", w), ("m.v.weight", w), ("m.norm.weight", try bf16([1, 1, 1, 1], [4]))])
        let a = try f32([Float](repeating: 0.5, count: 4), [1, 4]), b = try f32([1, 1], [2, 1])
        let adapter = TensorMap([("m.q.lora_A.default.weight", a), ("m.q.lora_B.default.weight", b),
                                 ("m.v.lora_A.default.weight", a), ("m.v.lora_B.default.weight", b)])
        // Auto-detected targets: both; with targets: only q.
        let all = try LoRAMerge(adapter: adapter, scaling: 2).apply(base)
        XCTAssertEqual(try values(all["m.v.weight"]!), [Float](repeating: 2, count: 8))
        XCTAssertEqual(all.names, base.names)
        XCTAssertEqual(try all["m.norm.weight"]!.materialize(), try base["m.norm.weight"]!.materialize())
        let q = try LoRAMerge(adapter: adapter, scaling: 2, targets: ["q"]).apply(base)
        XCTAssertEqual(try values(q["m.q.weight"]!), [Float](repeating: 2, count: 8))
        XCTAssertEqual(try q["m.v.weight"]!.materialize(), try w.materialize())

        func fails(_ adapter: TensorMap, _ base: TensorMap, targets: [String]? = nil, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try LoRAMerge(adapter: adapter, scaling: 1, targets: targets, source: "lora.safetensors").apply(base), line: line) { e in
                XCTAssertTrue("\(e)".contains(text), "\(e)", line: line)
            }
        }
        var noB = adapter
        noB["m.v.lora_B.default.weight"] = nil
        fails(noB, base, "'m.v.lora_B.default.weight': is missing from lora.safetensors")
        fails(TensorMap([("x.q.lora_A.default.weight", a), ("x.q.lora_B.default.weight", b)]), base, "'x.q.weight': is not in the base checkpoint")
        fails(adapter, base, targets: ["k_proj"], "no LoRA pair matching the target modules")
        fails(TensorMap([("m.q.lora_A.default.weight", try f32([1, 2, 3], [1, 3])), ("m.q.lora_B.default.weight", b)]), base, "expected A [r, 4]")
        let ints = TensorMap([("m.q.weight", Tensor.zeros(.i64, [2, 4]))])
        fails(adapter, ints, targets: ["q"], "the LoRA merge supports bf16, f16 and f32")
    }

    func testMatmulIsTheSumOfProductsInOrder() {
        // c = a @ b for a 3x2 and 2x5, with a column block boundary inside (block is 512).
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, -1, 2, 0.5, 3, 1, 0, -2, 4]
        var c = [Float](repeating: .nan, count: 15)
        LoRAMerge.matmul(a, b, into: &c, rows: 3, inner: 2, cols: 5)
        XCTAssertEqual(c, [7, 2, -1, -2, 8.5, 15, 4, -3, -2, 17.5, 23, 6, -5, -2, 26.5])
    }
}
