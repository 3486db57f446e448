// libFuzzer entry point: the YAML reader (configuration files) and the flow-value reader
// (command-line and environment values). Any input must parse or throw a YAMLError.
import CLI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? YAMLReader.readDocument(text, file: "fuzz.yaml")
    _ = try? YAMLReader.readFlowValue(text, label: "--fuzz")
    return 0
}
