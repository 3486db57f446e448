// libFuzzer entry point: a torch.save checkpoint from untrusted bytes — the zip directory parser,
// entry reads and CRC checks, then TorchCheckpoint.load (data.pkl + storages) and the tensor walk.
// Any input must load or throw a typed error; a trap, sanitizer report, hang or huge allocation is a bug.
import Ops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let store = ByteStore(bytes: UnsafeBufferPointer(start: data, count: size), name: "<fuzz>.pt")
    guard let archive = try? ZipArchive(store: store) else { return 0 }
    for entry in archive.entries {
        _ = archive.entry(named: entry.name)
        guard let bytes = try? archive.data(entry) else { continue }
        precondition(bytes.count == entry.size, "entry \(entry.name) read \(bytes.count) of \(entry.size) bytes")
        _ = try? archive.verifyCRC(entry)
    }
    guard let root = try? TorchCheckpoint.load(archive: archive) else { return 0 }
    _ = root.tensors()
    return 0
}
