// libFuzzer entry point: the JSON reader (config.json, index files, safetensors headers).
// Any input must parse or throw; a parsed value must survive a write/read round trip unchanged.
import Ops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONReader.parse(bytes) else { return 0 }
    for writer in [JSONWriter(), JSONWriter(layout: .compact, ensureASCII: false)] {
        let encoded = writer.encode(value)
        let again: Value
        do { again = try JSONReader.parse(encoded) } catch {
            fatalError("writer output does not parse back: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
        }
        precondition(sameValue(value, again), "round trip changed the value:\n\(value)\n\(again)")
    }
    return 0
}

/// Equality that treats NaN as equal to NaN (the reader may accept NaN like Python's json).
func sameValue(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case let (.float(x), .float(y)): return x == y || (x.isNaN && y.isNaN)
    case let (.list(x), .list(y)): return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
    case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && sameValue($0.1, $1.1) }
    default: return a == b
    }
}
