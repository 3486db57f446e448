/// One stored item of a DCP data file: a complete `torch.save` archive at `[offset, offset +
/// length)`, parsed from that byte range alone (its zip offsets are relative to its start) by the
/// same zip and torch readers as a `.pt` file. Nothing is copied: tensors view the mapped file.
struct DCPItem {
    let item: DCPStorageItem
    /// The data file it lies in, mapped.
    let file: ByteStore

    /// The window's name in messages: the file, the item's place and whose item it is.
    var name: String { "\(file.name) (item of '\(item.key)' at offset \(item.offset), \(item.length) bytes)" }

    /// The unpickled value (a tensor for a chunk; anything for a bytes entry).
    func load() throws -> PickleValue {
        let window = try ByteStore(slice: file, offset: item.offset, count: item.length, name: name)
        return try TorchCheckpoint.load(archive: ZipArchive(store: window))
    }

    /// The chunk tensor, checked against what `.metadata` says (dtype and the chunk's sizes):
    /// torch itself would cast or fail later with a less precise message.
    func tensor(dtype: DType, sizes: [Int]) throws -> TorchTensor {
        let value = try load()
        guard case let .tensor(t) = value else {
            throw OpsError.format(path: name, message: "holds a \(value.typeName), not a tensor, but .metadata lists a tensor chunk here")
        }
        guard t.dtype == dtype else {
            throw OpsError.format(path: name, message: "holds a \(t.dtype.torchName) tensor but .metadata says \(dtype.torchName)")
        }
        guard t.shape == sizes else {
            throw OpsError.format(path: name, message: "holds a tensor of shape \(t.shape) but .metadata gives the chunk sizes \(sizes)")
        }
        return t
    }
}
