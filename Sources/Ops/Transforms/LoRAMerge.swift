import Foundation

/// Merges LoRA adapters into base weights: for every adapter pair `<layer>.lora_A.default.weight`
/// `A [r, in]` and `<layer>.lora_B.default.weight` `B [out, r]` whose layer is targeted, the base
/// tensor `<layer>.weight` `W [out, in]` becomes
///
///     W' = round_to(W.dtype, f32(W) + f32(scaling) · (f32(B) @ f32(A)))
///
/// computed in f32 and rounded once (bf16 and f16 round to nearest even), as MindSpeed-MM's
/// `merge_lora_safetensors_to_base.py` does it on the device (except that it always stores bf16;
/// here the base dtype is kept). Other tensors are unchanged. The merged tensors are lazy: each is
/// computed band by band while it is written (`ComputedRows`), so memory holds one band and the
/// adapter's A of the tensor being written, never the model.
///
/// Targets: every layer with a `lora_A` entry, or only those whose name contains one of
/// `targets` (substring, as the reference). Unlike the reference, a targeted pair that cannot be
/// merged is an error, not silently skipped: a missing B, a base tensor missing (usually a prefix
/// that differs between adapter and base) or of another shape.
public struct LoRAMerge {
    public static let suffixA = ".lora_A.default.weight"
    public static let suffixB = ".lora_B.default.weight"

    public let adapter: TensorMap
    public let scaling: Double
    public let targets: [String]?
    /// Where the adapter came from, for messages.
    public let source: String

    public init(adapter: TensorMap, scaling: Double, targets: [String]? = nil, source: String = "the adapter") throws {
        guard scaling.isFinite else { throw OpsError.invalid("LoRA merge: scaling must be a finite number, got \(scaling)") }
        self.adapter = adapter
        self.scaling = scaling
        self.targets = targets
        self.source = source
    }

    /// The targeted layers, in adapter order.
    public func layers() -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        for name in adapter.names where name.contains(Self.suffixA) {
            guard let cut = name.range(of: ".lora_") else { continue }
            let layer = String(name[..<cut.lowerBound])
            if let targets, !targets.contains(where: { layer.contains($0) }) { continue }
            if seen.insert(layer).inserted { out.append(layer) }
        }
        return out
    }

    public func apply(_ base: TensorMap) throws -> TensorMap {
        let layers = layers()
        guard !layers.isEmpty else {
            let what = targets.map { "matching the target modules \($0)" } ?? "(no '*\(Self.suffixA)' entries)"
            throw OpsError.invalid("LoRA merge: \(source) has no LoRA pair \(what); check the adapter file and --lora_target_modules")
        }
        var out = base
        for layer in layers {
            let aName = layer + Self.suffixA, bName = layer + Self.suffixB, wName = layer + ".weight"
            guard let a = adapter[aName] else { throw OpsError.tensor(name: aName, message: "is not in \(source)") }
            guard let b = adapter[bName] else {
                throw OpsError.tensor(name: bName, message: "is missing from \(source), which has '\(aName)': a LoRA pair needs both A and B")
            }
            guard let w = base[wName] else {
                throw OpsError.tensor(name: wName, message: "is not in the base checkpoint, but \(source) has the LoRA pair '\(layer).lora_{A,B}': the adapter's names must be the base's names plus .lora_A/B.default.weight (check the prefix, or limit the targets)")
            }
            out[wName] = try Self.merged(w, a: a, b: b, scaling: scaling, name: wName)
        }
        return out
    }

    static let floats: Set<DType> = [.bf16, .f16, .f32]

    /// `W + scaling · B @ A` as a lazy tensor of W's dtype.
    public static func merged(_ w: Tensor, a: Tensor, b: Tensor, scaling: Double, name: String) throws -> Tensor {
        guard w.rank == 2, a.rank == 2, b.rank == 2 else {
            throw OpsError.tensor(name: name, message: "LoRA merge needs 2-D tensors: base \(w), A \(a), B \(b)")
        }
        let rows = w.shape[0], cols = w.shape[1], r = a.shape[0]
        guard a.shape[1] == cols, b.shape[0] == rows, b.shape[1] == r else {
            throw OpsError.tensor(name: name, message: "is \(w), but LoRA A is \(a) and B is \(b): expected A [r, \(cols)] and B [\(rows), r]")
        }
        for (t, what) in [(w, "the base tensor"), (a, "LoRA A"), (b, "LoRA B")] where !floats.contains(t.dtype) {
            throw OpsError.tensor(name: name, message: "\(what) is \(t.dtype.rawValue); the LoRA merge supports bf16, f16 and f32")
        }
        let dtype = w.dtype
        let s = Float(scaling)
        // A is read once per merged tensor, when its first band is computed (r x in floats).
        let aCache = LazyFloats { try floats(of: a) }
        let computed = ComputedRows(rows: rows, cols: cols, dtype: dtype, sources: [w, a, b]) { range, out in
            let aF = try aCache.get()
            let n = range.count
            let wBand = try floats(of: w.slice(dim: 0, start: range.lowerBound, count: n))
            let bBand = try floats(of: b.slice(dim: 0, start: range.lowerBound, count: n))
            var p = [Float](repeating: 0, count: n * cols)
            matmul(bBand, aF, into: &p, rows: n, inner: r, cols: cols)
            for i in 0..<(n * cols) {
                let v = wBand[i] + s * p[i]
                switch dtype {
                case .bf16: out.storeBytes(of: Cast.bf16(fromBits: v.bitPattern), toByteOffset: i * 2, as: UInt16.self)
                case .f16: out.storeBytes(of: Float16(v).bitPattern, toByteOffset: i * 2, as: UInt16.self)
                default: out.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
                }
            }
        }
        return computed.tensor
    }

    /// A tensor's elements as f32 (exact for bf16 and f16).
    static func floats(of t: Tensor) throws -> [Float] {
        let bytes = try t.cast(to: .f32).materialize()
        return bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
    }

    /// `c[rows, cols] = a[rows, inner] @ b[inner, cols]` in f32, blocked over columns so a block
    /// of `b` stays in cache while every row uses it. Each element sums its products in order
    /// k = 0, 1, ... (the first product starts the sum, so signs of zero are those of a plain
    /// dot product).
    static func matmul(_ a: [Float], _ b: [Float], into c: inout [Float], rows: Int, inner: Int, cols: Int) {
        guard inner > 0 else { return }
        let block = 512
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    var j0 = 0
                    while j0 < cols {
                        let j1 = min(cols, j0 + block)
                        for i in 0..<rows {
                            let crow = cp.baseAddress! + i * cols
                            let arow = ap.baseAddress! + i * inner
                            let a0 = arow[0]
                            let b0 = bp.baseAddress!
                            for j in j0..<j1 { crow[j] = a0 * b0[j] }
                            var k = 1
                            while k < inner {
                                let ak = arow[k]
                                let bk = bp.baseAddress! + k * cols
                                for j in j0..<j1 { crow[j] += ak * bk[j] }
                                k += 1
                            }
                        }
                        j0 = j1
                    }
                }
            }
        }
    }
}

/// A value computed on first use and kept (thread-safe: shards may be written concurrently).
final class LazyFloats: @unchecked Sendable {
    private let make: () throws -> [Float]
    private var value: [Float]?
    private let lock = NSLock()

    init(_ make: @escaping () throws -> [Float]) { self.make = make }

    func get() throws -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let v = try make()
        value = v
        return v
    }
}
