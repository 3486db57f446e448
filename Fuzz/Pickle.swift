// libFuzzer entry point: the code-free pickle interpreter on untrusted bytes (a checkpoint's
// data.pkl), with a persistent-id loader shaped like TorchCheckpoint's so the torch rebuild
// calls run too, then the tensor walk. Any input must decode or throw; a trap, sanitizer report,
// hang or huge allocation is a bug.
import Ops

/// Storages are lazy zeros capped at 1 Mi elements, as an archive entry in a small file would be.
func fuzzPersistentLoad(_ pid: PickleValue) throws -> PickleValue {
    struct Refused: Error {}
    guard case let .tuple(t) = pid, t.count == 5, t[0].stringValue == "storage",
          case let .global(_, typeName) = t[1],
          let key = t[2].stringValue, let location = t[3].stringValue,
          let numel = t[4].intValue, numel >= 0, numel <= 1 << 20 else { throw Refused() }
    if typeName == "UntypedStorage" {
        return .storage(TorchStorage(untypedKey: key, byteCount: numel, location: location, data: Tensor.zeros(.u8, [numel])))
    }
    guard let dtype = DType(storageName: typeName) else { throw Refused() }
    return .storage(TorchStorage(key: key, dtype: dtype, numel: numel, location: location,
                                 data: Tensor.zeros(dtype, [numel])))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? PickleReader(buffer, path: "<fuzz>.pkl", persistentLoad: fuzzPersistentLoad).read() else { return 0 }
    _ = value.tensors()
    _ = value.description
    return 0
}
