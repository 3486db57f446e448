// libFuzzer entry point: a whole `.safetensors` file from untrusted bytes.
// Built by tools/fuzz.sh against the Ops module. Any input must either parse or throw a
// typed error; a trap, sanitizer report, hang or huge allocation is a bug.
import Ops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let store = ByteStore(bytes: UnsafeBufferPointer(start: data, count: size), name: "<fuzz>")
    guard let file = try? SafetensorsFile(store: store) else { return 0 }
    // Valid headers must give views that stay inside the store.
    guard let tensors = try? file.tensors() else { return 0 }
    for e in file.entries {
        precondition(e.begin >= 0 && e.begin <= e.end && file.dataStart + e.end <= store.count, "entry \(e.name) out of bounds")
    }
    _ = tensors
    return 0
}
