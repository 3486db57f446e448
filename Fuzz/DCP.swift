// libFuzzer entry point: a DCP `.metadata` file on untrusted bytes: the code-free pickle
// interpreter, the mapping of torch's classes to DCPMetadata, the chunk coverage check of every
// tensor entry, and an encode/decode round trip that must give the same metadata. Any input must
// decode or throw; a trap, sanitizer report, hang or huge allocation is a bug.
import Ops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    guard let root = try? PickleReader(buffer, path: "<fuzz>/.metadata").read(),
          let metadata = try? DCPMetadata.decode(root, path: "<fuzz>/.metadata") else { return 0 }
    for e in metadata.entries {
        guard let t = e.tensor else { continue }
        _ = try? DCPChunkLayout.check(t.chunks, size: t.size, fqn: e.fqn, path: "<fuzz>")
    }
    guard let bytes = try? metadata.encode() else { return 0 }
    guard let again = try? DCPMetadata.decode(PickleReader.read(bytes), path: "<fuzz>/.metadata.again") else {
        fatalError("our own encoding of a decoded .metadata does not decode")
    }
    if again != metadata { fatalError("encode/decode round trip changed the metadata") }
    return 0
}
