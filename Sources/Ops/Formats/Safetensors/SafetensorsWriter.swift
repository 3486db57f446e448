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
        let ordered = layoutOrder(tensors)
        let head = header(for: ordered, metadata: metadata)
        let file = try OutputFile(creating: path)
        try file.write(head)
        for (name, t) in ordered {
            let before = file.offset
            try file.write(t)
            guard file.offset - before == t.byteCount else {
                throw OpsError.tensor(name: name, message: "wrote \(file.offset - before) bytes for \(t), expected \(t.byteCount) (internal error)")
            }
        }
        let size = file.offset
        try file.close()
        guard chmod(path, 0o640) == 0 else {
            throw OpsError.io(path: path, message: "cannot set mode 0640: \(String(cString: strerror(errno)))")
        }
        return size
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
