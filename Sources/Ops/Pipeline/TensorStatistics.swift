/// Min, max, mean and the first values of a tensor, streamed (for `show` in the REPL).
public struct TensorStatistics {
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity
    public private(set) var mean = 0.0
    public private(set) var first: [Double] = []

    public init(_ t: Tensor, firstCount: Int = 8) throws {
        var sum = 0.0
        var n = 0
        let size = t.dtype.size
        try t.forEachRun { run in
            switch run {
            case let .zeros(bytes):
                let k = bytes / size
                min = Swift.min(min, 0); max = Swift.max(max, 0)
                while first.count < firstCount && first.count < n + k { first.append(0) }
                n += k
            case let .bytes(b):
                for i in 0..<(b.count / size) {
                    let v = Cast.value(b.baseAddress!, i, t.dtype)
                    if first.count < firstCount { first.append(v) }
                    if v < min { min = v }
                    if v > max { max = v }
                    sum += v
                }
                n += b.count / size
            }
        }
        mean = n > 0 ? sum / Double(n) : 0
        if n == 0 { min = 0; max = 0 }
    }
}
