/// Deterministic pseudo-random tensors that cost no memory per tensor.
///
/// One pool of random bf16/f32 values is filled once; every generated tensor is a lazy view (or a
/// row-wise concatenation of views) at a name-dependent offset into it. A 16 GB sample therefore
/// needs only the pool in memory, and writing it runs at copy speed.
public struct RandomPool {
    public let store: ByteStore
    public let dtype: DType

    /// `bytes` of values drawn from a seeded generator, roughly normal with standard deviation 0.02.
    public init(dtype: DType, bytes: Int, seed: UInt64) {
        self.dtype = dtype
        let n = bytes / dtype.size
        var rng = SplitMix64(seed: seed)
        store = ByteStore(count: n * dtype.size, name: "<random pool seed \(seed)>") { buf in
            for i in 0..<n {
                // Irwin-Hall: the sum of 4 uniforms is close enough to normal for test weights.
                let r = rng.next()
                let s = Float(r & 0xffff) + Float((r >> 16) & 0xffff) + Float((r >> 32) & 0xffff) + Float(r >> 48)
                let v = (s / 65536 - 2) * 0.02 * 1.732
                switch dtype {
                case .f32: buf.storeBytes(of: v.bitPattern, toByteOffset: i * 4, as: UInt32.self)
                case .f16: buf.storeBytes(of: Float16(v).bitPattern, toByteOffset: i * 2, as: UInt16.self)
                default: buf.storeBytes(of: Cast.bf16(fromBits: v.bitPattern), toByteOffset: i * 2, as: UInt16.self)
                }
            }
        }
    }

    /// A tensor of `shape` whose contents depend only on the pool and `name`.
    public func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        let size = dtype.size
        let poolElements = store.count / size
        let rowElements = shape.dropFirst().reduce(1, *)
        let rows = shape.first ?? 1
        let numel = shape.reduce(1, *)
        var h = FNV1a()
        h.add(name)
        if numel <= poolElements {
            let offset = Int(h.value % UInt64(poolElements - numel + 1))
            return try Tensor.view(store: store, byteOffset: offset * size, dtype: dtype, shape: shape)
        }
        guard rowElements <= poolElements, rowElements > 0 else {
            throw OpsError.invalid("sample tensor \(name) \(shape): a row is larger than the random pool")
        }
        let rowsPerBlock = poolElements / rowElements
        var blocks: [Tensor] = []
        var done = 0
        var k: UInt64 = 0
        while done < rows {
            let r = min(rowsPerBlock, rows - done)
            let span = r * rowElements
            let offset = Int((h.value &+ k &* 0x9E37_79B9_7F4A_7C15) % UInt64(poolElements - span + 1))
            var blockShape = shape
            blockShape[0] = r
            blocks.append(try Tensor.view(store: store, byteOffset: offset * size, dtype: dtype, shape: blockShape))
            done += r
            k += 1
        }
        return try Tensor.concat(blocks, dim: 0)
    }
}

/// SplitMix64: tiny, fast, and identical on every platform (samples and property tests must be
/// reproducible).
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a over a string: a stable per-name offset.
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
}
