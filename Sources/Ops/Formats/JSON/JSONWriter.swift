/// A deterministic JSON writer whose output is byte-identical to Python's `json.dumps` (and, in
/// compact mode without `ensureASCII`, to Rust's `serde_json::to_string`).
///
/// Byte identity matters because `model.safetensors.index.json` and safetensors headers written by
/// the Hugging Face tools must be reproduced exactly, so a converted checkpoint hashes the same as
/// the original.
public struct JSONWriter {
    public enum Layout: Equatable {
        /// `separators=(",", ":")`, one line: safetensors headers.
        case compact
        /// Python's default `json.dumps(v)`: `", "` and `": "`, one line.
        case spaced
        /// `json.dumps(v, indent: n)`: one item per line, `","` and `": "`.
        case indented(Int)
    }

    public var layout: Layout
    /// Escapes every character outside printable ASCII as `\uXXXX` (Python's default).
    public var ensureASCII: Bool
    /// Sorts object keys by code point, as `sort_keys=True`.
    public var sortKeys: Bool

    public init(layout: Layout = .spaced, ensureASCII: Bool = true, sortKeys: Bool = false) {
        self.layout = layout
        self.ensureASCII = ensureASCII
        self.sortKeys = sortKeys
    }

    /// The JSON text of `value`, as UTF-8 bytes (no trailing newline).
    public func encode(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        write(value, level: 0, into: &out)
        return out
    }

    public func string(_ value: Value) -> String { String(decoding: encode(value), as: UTF8.self) }

    private func write(_ v: Value, level: Int, into out: inout [UInt8]) {
        switch v {
        case .null: out += Array("null".utf8)
        case let .bool(b): out += Array((b ? "true" : "false").utf8)
        case let .int(i): out += Array(String(i).utf8)
        case let .float(d): out += Array(JSONWriter.pythonFloat(d).utf8)
        case let .string(s): writeString(s, into: &out)
        case let .list(items):
            if items.isEmpty { out += Array("[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, into: &out)
                write(item, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out.append(UInt8(ascii: "]"))
        case let .dict(pairs):
            if pairs.isEmpty { out += Array("{}".utf8); return }
            let ordered = sortKeys ? pairs.sorted { JSONWriter.codePointLess($0.0, $1.0) } : pairs
            out.append(UInt8(ascii: "{"))
            for (i, (k, item)) in ordered.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, into: &out)
                writeString(k, into: &out)
                out += keySeparator
                write(item, level: level + 1, into: &out)
            }
            newline(level, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private var itemSeparator: [UInt8] { layout == .spaced ? [0x2C, 0x20] : [0x2C] }
    private var keySeparator: [UInt8] { layout == .compact ? [0x3A] : [0x3A, 0x20] }

    private func newline(_ level: Int, into out: inout [UInt8]) {
        guard case let .indented(n) = layout else { return }
        out.append(0x0A)
        out += [UInt8](repeating: 0x20, count: n * level)
    }

    private func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for u in s.unicodeScalars {
            switch u.value {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0..<0x20: escape(u.value, into: &out)
            case 0x20..<0x7F: out.append(UInt8(u.value))
            default:
                if !ensureASCII {
                    out += Array(String(u).utf8)
                } else if u.value < 0x10000 {
                    escape(u.value, into: &out)
                } else {
                    let v = u.value - 0x10000
                    escape(0xD800 + (v >> 10), into: &out)
                    escape(0xDC00 + (v & 0x3FF), into: &out)
                }
            }
        }
        out.append(0x22)
    }

    private func escape(_ unit: UInt32, into out: inout [UInt8]) {
        out += [0x5C, UInt8(ascii: "u")]
        out += Array((hex2(UInt8(unit >> 8)) + hex2(UInt8(unit & 0xFF))).utf8)
    }

    /// Python's `float.__repr__`: shortest round-trip digits, exponent form below 1e-4 and from
    /// 1e16 on, `NaN` / `Infinity` as `json` writes them. Swift's `description` follows the same
    /// rules for finite values.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return d.description
    }

    /// Orders strings by Unicode code point (Python's `str` order), not by Swift's `<`.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        var ia = a.unicodeScalars.makeIterator(), ib = b.unicodeScalars.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case let (x?, y?): if x != y { return x.value < y.value }
            }
        }
    }
}
