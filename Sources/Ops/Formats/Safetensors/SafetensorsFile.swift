/// One `.safetensors` file, memory-mapped and validated; its tensors are lazy views into the
/// mapping (no bytes are copied or read until a tensor is written).
///
/// Validation is as strict as the `safetensors` library's: the 8-byte little-endian header length
/// lies within the file, the header is a UTF-8 JSON object, every dtype is known, every
/// `data_offsets` pair is in bounds, and the tensors tile the data section exactly (in offset
/// order, no gap, no overlap, ending at the end of the file), each with dtype size x shape bytes.
public struct SafetensorsFile {
    /// One header entry. `begin`/`end` are relative to the start of the data section.
    public struct Entry: Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let store: ByteStore
    /// Entries in the header's order.
    public let entries: [Entry]
    /// `__metadata__`, in the header's order (nil when absent).
    public let metadata: [(String, String)]?
    /// Byte offset of the data section in the file (8 + header length).
    public let dataStart: Int

    /// The reference library refuses headers larger than this; so do we, before reading one.
    public static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        let store = try ByteStore(mapping: path)
        try self.init(store: store)
    }

    /// Parses a file already in memory (the store's name is used as the path in errors).
    public init(store: ByteStore) throws {
        let path = store.name
        self.path = path
        self.store = store
        let size = store.count
        func fail(_ message: String) -> OpsError {
            .format(path: path, message: message)
        }
        let notSafetensors = "; the file is truncated or not a safetensors file: re-download or re-export it"
        guard size >= 8 else {
            throw fail("file is \(size) bytes, shorter than the 8-byte header length\(notSafetensors)")
        }
        let declared = store.base.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(SafetensorsFile.maxHeaderBytes) else {
            throw fail("declared header length \(declared) bytes exceeds the limit of \(SafetensorsFile.maxHeaderBytes)\(notSafetensors)")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= size else {
            throw fail("declared header length \(headerLength) bytes runs past the end of the file (\(size) bytes)\(notSafetensors)")
        }
        self.dataStart = 8 + headerLength
        let header = UnsafeRawBufferPointer(start: store.base + 8, count: headerLength)
        if let bad = firstInvalidUTF8(header) {
            throw fail("header is not valid UTF-8 (byte 0x\(hex2(header[bad])) at header offset \(bad))\(notSafetensors)")
        }
        let json: Value
        do {
            json = try JSONReader.parse(buffer: header)
        } catch let e as JSONError {
            if let name = e.duplicateKey {
                throw fail("header names tensor '\(name)' twice (\(e.line):\(e.column)); tensor names must be unique: re-export the file")
            }
            throw fail("header is not valid JSON: \(e)\(notSafetensors)")
        }
        guard case let .dict(pairs) = json else {
            throw fail("header must be a JSON object, found a \(json.typeName)\(notSafetensors)")
        }

        var entries: [Entry] = []
        var metadata: [(String, String)]?
        for (name, value) in pairs {
            if name == "__metadata__" {
                metadata = try SafetensorsFile.parseMetadata(value, path: path)
                continue
            }
            entries.append(try SafetensorsFile.parseEntry(name: name, value, path: path))
        }
        try SafetensorsFile.checkTiling(entries, dataBytes: size - dataStart, path: path)
        self.entries = entries
        self.metadata = metadata
    }

    /// The tensors, in header order, as lazy views into the mapping.
    public func tensors() throws -> TensorMap {
        var map = TensorMap()
        for e in entries {
            map[e.name] = try Tensor.view(store: store, byteOffset: dataStart + e.begin, dtype: e.dtype, shape: e.shape)
        }
        return map
    }

    // MARK: - Validation

    private static func parseMetadata(_ value: Value, path: String) throws -> [(String, String)] {
        guard case let .dict(pairs) = value else {
            throw OpsError.format(path: path, message: "__metadata__ must be an object of strings, found a \(value.typeName)")
        }
        return try pairs.map { key, v in
            guard case let .string(s) = v else {
                throw OpsError.format(path: path, message: "__metadata__ value for \"\(key)\" must be a string, found a \(v.typeName)")
            }
            return (key, s)
        }
    }

    private static func parseEntry(name: String, _ value: Value, path: String) throws -> Entry {
        func fail(_ message: String) -> OpsError {
            .format(path: path, message: "tensor '\(name)': \(message); the file is corrupt: re-download or re-export it")
        }
        guard case let .dict(fields) = value else { throw fail("header entry must be an object, found a \(value.typeName)") }
        for (k, _) in fields where !["dtype", "shape", "data_offsets"].contains(k) {
            throw fail("unexpected field \"\(k)\" (expected dtype, shape, data_offsets)")
        }
        guard case let .string(dtypeName)? = value["dtype"] else { throw fail("missing or non-string \"dtype\"") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            let known = DType.allCases.map(\.safetensorsName).joined(separator: ", ")
            throw OpsError.unsupported("\(path): tensor '\(name)': unknown or unsupported dtype \"\(dtypeName)\" (supported: \(known)); re-save the checkpoint with a supported dtype")
        }
        guard case let .list(dims)? = value["shape"] else { throw fail("missing or non-list \"shape\"") }
        var shape: [Int] = []
        var numel = 1
        for d in dims {
            guard case let .int(n) = d, n >= 0 else { throw fail("shape \(Value.list(dims)) must hold non-negative integers") }
            shape.append(n)
            let (p, overflow) = numel.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail("shape \(shape) has too many elements") }
            numel = p
        }
        guard case let .list(offs)? = value["data_offsets"], offs.count == 2,
              case let .int(begin) = offs[0], case let .int(end) = offs[1], begin >= 0, end >= 0 else {
            throw fail("\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        guard end >= begin else { throw fail("data_offsets [\(begin), \(end)] end before they begin") }
        let (bytes, overflow) = numel.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == end - begin else {
            throw fail("\(dtypeName) shape \(shape) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The tensors, sorted by offset, must cover `0 ..< dataBytes` exactly once.
    private static func checkTiling(_ entries: [Entry], dataBytes: Int, path: String) throws {
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let hint = "; the file is corrupt or truncated: re-download or re-export it"
        var position = 0
        var previous: Entry?
        for e in sorted {
            if e.end > dataBytes {
                throw OpsError.format(path: path, message: "tensor '\(e.name)': data_offsets [\(e.begin), \(e.end)] run past the end of the data section (\(dataBytes) bytes)\(hint)")
            }
            if e.begin < position, let p = previous {
                throw OpsError.format(path: path, message: "tensor '\(e.name)': data_offsets [\(e.begin), \(e.end)] overlap tensor '\(p.name)' [\(p.begin), \(p.end)]\(hint)")
            }
            if e.begin > position {
                throw OpsError.format(path: path, message: "tensor '\(e.name)': gap of \(e.begin - position) unused bytes before data_offsets [\(e.begin), \(e.end)]\(hint)")
            }
            position = e.end
            previous = e
        }
        if position != dataBytes {
            throw OpsError.format(path: path, message: "data section has \(dataBytes) bytes but the tensors cover only \(position); \(dataBytes - position) trailing bytes belong to no tensor\(hint)")
        }
    }
}
