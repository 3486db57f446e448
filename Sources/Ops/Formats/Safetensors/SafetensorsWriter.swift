import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files byte-identical to those of the Python `safetensors` library (0.8.0).
///
/// The library's layout, which we reproduce: tensors sorted by descending dtype rank (its `Dtype`
/// enum order, roughly alignment), then by name (bytewise); the header is compact JSON
/// (`serde_json`), `__metadata__` first, then one `{"dtype","shape","data_offsets"}` object per
/// tensor in layout order; the header is padded with spaces to a multiple of 8 bytes; data follows
/// with no padding. Tensor bytes are streamed from their (lazy) expressions, never gathered.
public enum SafetensorsWriter {
    /// The tensors in the order the library lays them out in the file.
    public static func layoutOrder<S: Sequence>(_ tensors: S) -> [(name: String, tensor: Tensor)]
    where S.Element == (name: String, tensor: Tensor) {
        tensors.sorted { a, b in
            let ra = a.tensor.dtype.safetensorsRank, rb = b.tensor.dtype.safetensorsRank
            if ra != rb { return ra > rb }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The 8-byte length prefix plus the padded header for tensors already in layout order.
    public static func header(for ordered: [(name: String, tensor: Tensor)], metadata: [(String, String)]?) -> [UInt8] {
        var pairs: [(String, Value)] = []
        if let metadata { pairs.append(("__metadata__", .dict(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for (name, t) in ordered {
            let end = offset + t.byteCount
            pairs.append((name, .dict([
                ("dtype", .string(t.dtype.safetensorsName)),
                ("shape", .list(t.shape.map { .int($0) })),
                ("data_offsets", .list([.int(offset), .int(end)])),
            ])))
            offset = end
        }
        var json = JSONWriter(layout: .compact, ensureASCII: false).encode(.dict(pairs))
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        return out + json
    }

    /// Writes `tensors` to `path` (mode 0640) and returns the file size. Names must be unique
    /// (a `TensorMap` guarantees it).
    @discardableResult
    public static func write(_ tensors: TensorMap, metadata: [(String, String)]?, to path: String) throws -> Int {
        let job = try FileJob(tensors, metadata: metadata, path: path, parts: 1)
        try job.prepare()
        for r in job.regions { try r.write() }
        return job.size
    }

    /// One safetensors file written as several independent regions, so the workers of a save can
    /// share a large file: `prepare` creates it with its header at its final size, then each
    /// region's tensors (consecutive in layout order, about equal in bytes) are written at their
    /// offsets by whoever runs `write`. The bytes do not depend on how many regions there are.
    public struct FileJob {
        public let path: String
        public let size: Int
        let head: [UInt8]
        public let regions: [Region]

        public struct Region {
            let path: String
            let offset: Int
            let tensors: [(name: String, tensor: Tensor)]
            let lock: NSLock
            public var bytes: Int { tensors.reduce(0) { $0 + $1.tensor.byteCount } }

            public func write() throws {
                let file = try OutputFile(updating: path, at: offset)
                file.sharedWriteLock = lock
                let (direct, warm) = DirectSourceReader.split(SourceReadAhead.spans(of: tensors.map(\.tensor), from: offset))
                file.directReader = direct
                file.readAhead = SourceReadAhead(spans: warm, start: offset)
                defer {
                    file.readAhead?.stop()
                    file.directReader?.stop()
                }
                for (name, t) in tensors {
                    let before = file.offset
                    try file.write(t)
                    file.readAhead?.written(upTo: file.offset)
                    guard file.offset - before == t.byteCount else {
                        throw OpsError.tensor(name: name, message: "wrote \(file.offset - before) bytes for \(t), expected \(t.byteCount) (internal error)")
                    }
                }
                try file.close()
            }
        }

        public init(_ tensors: TensorMap, metadata: [(String, String)]?, path: String, parts: Int) throws {
            let ordered = layoutOrder(tensors)
            head = header(for: ordered, metadata: metadata)
            self.path = path
            let total = ordered.reduce(0) { $0 + $1.tensor.byteCount }
            size = head.count + total
            var regions: [Region] = []
            let lock = NSLock()
            var current: [(name: String, tensor: Tensor)] = []
            var start = head.count, filled = 0
            let target = max(1, total / max(1, parts))
            for entry in ordered {
                current.append(entry)
                filled += entry.tensor.byteCount
                if filled >= target * (regions.count + 1) && regions.count < parts - 1 {
                    let bytes = current.reduce(0) { $0 + $1.tensor.byteCount }
                    regions.append(Region(path: path, offset: start, tensors: current, lock: lock))
                    start += bytes
                    current = []
                }
            }
            if !current.isEmpty || regions.isEmpty { regions.append(Region(path: path, offset: start, tensors: current, lock: lock)) }
            self.regions = regions
        }

        /// Creates the file (mode 0640) with its header, at its final size.
        public func prepare() throws {
            let file = try OutputFile(creating: path)
            try file.write(head)
            try file.setSize(size)
            try file.close()
            guard chmod(path, 0o640) == 0 else {
                throw OpsError.io(path: path, message: "cannot set mode 0640: \(String(cString: strerror(errno)))")
            }
        }
    }
}

extension DType {
    /// Position in the `safetensors` library's `Dtype` enum, which decides the layout order.
    var safetensorsRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .f8e5m2: return 6
        case .f8e4m3: return 7
        case .i16: return 11
        case .u16: return 12
        case .f16: return 13
        case .bf16: return 14
        case .i32: return 15
        case .u32: return 16
        case .f32: return 17
        case .f64: return 19
        case .i64: return 20
        case .u64: return 21
        }
    }
}
