/// torch's `.data/serialization_id`, computed exactly as PyTorchStreamWriter does, so a file we
/// write is byte-identical to torch's for the same content.
///
/// The id is two zero-padded 20-digit numbers: a hash combined over the record names in the
/// iteration order of the writer's `std::unordered_set<std::string>` (libstdc++), then a hash
/// combined over the records' CRC-32s in writing order. Both depend only on content, never on
/// time or randomness. The set's iteration order is reproduced by simulating libstdc++'s
/// hashtable (bucket growth and node insertion), which is deterministic.
public enum TorchSerializationID {
    /// `names` are the record names without the archive prefix (`data.pkl`, `data/0`, ...), in
    /// writing order; `crcs` the CRC-32s of the non-empty ones (torch picks them up from data
    /// descriptors, which empty entries do not have).
    public static func compute(names: [String], crcs: [UInt32]) -> String {
        var crcHash: UInt64 = 0
        for c in crcs { crcHash = combine(crcHash, UInt64(c)) }
        var nameHash: UInt64 = 0
        for h in unorderedSetOrder(names.map { hashBytes(Array($0.utf8)) }) { nameHash = combine(nameHash, h) }
        return pad20(nameHash) + pad20(crcHash)
    }

    static func pad20(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 20 - s.count)) + s
    }

    /// c10::hash_combine.
    static func combine(_ seed: UInt64, _ value: UInt64) -> UInt64 {
        seed ^ (value &+ 0x9e37_79b9 &+ (seed << 6) &+ (seed >> 2))
    }

    /// libstdc++ `std::_Hash_bytes` (64-bit), the hash of `std::hash<std::string>`.
    static func hashBytes(_ b: [UInt8], seed: UInt64 = 0xc70f_6907) -> UInt64 {
        let mul: UInt64 = (0xc6a4_a793 << 32) &+ 0x5bd1_e995
        func shiftMix(_ v: UInt64) -> UInt64 { v ^ (v >> 47) }
        func load(_ from: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in stride(from: n - 1, through: 0, by: -1) { v = (v << 8) | UInt64(b[from + i]) }
            return v
        }
        let aligned = b.count & ~7
        var hash = seed ^ (UInt64(b.count) &* mul)
        var p = 0
        while p < aligned {
            let data = shiftMix(load(p, 8) &* mul) &* mul
            hash ^= data
            hash = hash &* mul
            p += 8
        }
        if b.count & 7 != 0 {
            hash ^= load(aligned, b.count & 7)
            hash = hash &* mul
        }
        hash = shiftMix(hash) &* mul
        return shiftMix(hash)
    }

    /// Bucket counts libstdc++'s prime rehash policy goes through as elements are inserted one by
    /// one (max load factor 1): it rehashes when the element count would exceed the bucket count.
    static let bucketGrowth: [Int] = [13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043, 85229,
                                      172933, 351061, 712697, 1447153, 2938679, 5967347]

    /// The iteration order of a libstdc++ unordered_set after inserting hashes in this order.
    static func unorderedSetOrder(_ hashes: [UInt64]) -> [UInt64] {
        let empty = -2, sentinel = -1
        var next = [Int](repeating: -1, count: hashes.count)
        var beginNext = -1
        var buckets = [empty]
        var bucketCount = 1
        var growthIndex = 0
        func nextOf(_ node: Int) -> Int { node == sentinel ? beginNext : next[node] }
        func setNext(_ node: Int, _ value: Int) { if node == sentinel { beginNext = value } else { next[node] = value } }
        for (i, h) in hashes.enumerated() {
            let count = i + 1
            if count > (bucketCount == 1 ? 0 : bucketCount) {
                let n = growthIndex < bucketGrowth.count ? bucketGrowth[growthIndex] : bucketCount * 2 + 1
                growthIndex += 1
                var newBuckets = [Int](repeating: empty, count: n)
                var p = beginNext
                beginNext = -1
                var beginBucket = 0
                while p != -1 {
                    let after = next[p]
                    let b = Int(hashes[p] % UInt64(n))
                    if newBuckets[b] == empty {
                        next[p] = beginNext
                        beginNext = p
                        newBuckets[b] = sentinel
                        if next[p] != -1 { newBuckets[beginBucket] = p }
                        beginBucket = b
                    } else {
                        let before = newBuckets[b]
                        next[p] = nextOf(before)
                        setNext(before, p)
                    }
                    p = after
                }
                buckets = newBuckets
                bucketCount = n
            }
            let b = Int(h % UInt64(bucketCount))
            if buckets[b] != empty {
                let before = buckets[b]
                next[i] = nextOf(before)
                setNext(before, i)
            } else {
                next[i] = beginNext
                beginNext = i
                if next[i] != -1 { buckets[Int(hashes[next[i]] % UInt64(bucketCount))] = i }
                buckets[b] = sentinel
            }
        }
        var order: [UInt64] = []
        order.reserveCapacity(hashes.count)
        var p = beginNext
        while p != -1 { order.append(hashes[p]); p = next[p] }
        return order
    }
}
