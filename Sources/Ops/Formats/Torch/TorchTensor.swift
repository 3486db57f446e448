/// A torch storage: one flat typed buffer that one or several tensors view.
///
/// A class on purpose: tensors that view the same storage hold the same object, which is how
/// sharing survives a load/save round trip.
public final class TorchStorage {
    /// The storage's key in the checkpoint it was read from (`data/<key>`).
    public let key: String
    public let dtype: DType
    /// Number of elements.
    public let numel: Int
    /// The device tag recorded by torch (`cpu`, `cuda:0`); data is always read to the host.
    public let location: String
    /// All elements as a 1-D lazy tensor over the file's bytes.
    public let data: Tensor

    public init(key: String, dtype: DType, numel: Int, location: String, data: Tensor) {
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.location = location
        self.data = data
    }

    public var byteCount: Int { numel * dtype.size }
}

/// A torch tensor inside a pickled object: the lazy element expression plus what torch records
/// about it (autograd flag, Parameter-ness, and the storage view it was loaded from).
public struct TorchTensor {
    /// The elements (a lazy view into the checkpoint, or any expression for new tensors).
    public let tensor: Tensor
    /// The storage this tensor views, when it was loaded and not modified; nil for new tensors,
    /// which are written as compact storages of their own.
    public let storage: TorchStorage?
    /// Offset (in elements) into `storage`.
    public let storageOffset: Int
    /// Element strides into `storage` (contiguous strides for new tensors).
    public let stride: [Int]
    public var requiresGrad: Bool
    /// Pickled as `torch.nn.Parameter` (through `torch._utils._rebuild_parameter`).
    public var isParameter: Bool

    /// A new tensor to be saved (it gets its own contiguous storage).
    public init(_ tensor: Tensor, requiresGrad: Bool = false, isParameter: Bool = false) {
        self.tensor = tensor
        self.storage = nil
        self.storageOffset = 0
        self.stride = TorchTensor.contiguousStrides(tensor.shape)
        self.requiresGrad = requiresGrad
        self.isParameter = isParameter
    }

    /// A view of a loaded storage; checks that every element lies inside it.
    public init(storage: TorchStorage, offset: Int, shape: [Int], stride: [Int], requiresGrad: Bool = false) throws {
        let what = "tensor on storage '\(storage.key)'"
        guard shape.count == stride.count, shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw OpsError.format(path: storage.data.description, message: "\(what): invalid size \(shape) / stride \(stride) / offset \(offset)")
        }
        var numel = 1
        var last = 0
        for (d, s) in zip(shape, stride) {
            let (n, o1) = numel.multipliedReportingOverflow(by: d)
            let (step, o2) = (d == 0 ? 0 : d - 1).multipliedReportingOverflow(by: s)
            let (l, o3) = last.addingReportingOverflow(step)
            guard !o1, !o2, !o3 else {
                throw OpsError.format(path: storage.key, message: "\(what): size \(shape) / stride \(stride) overflow")
            }
            numel = n
            last = l
        }
        if numel > 0 {
            let (end, o) = offset.addingReportingOverflow(last + 1)
            guard !o, end <= storage.numel else {
                throw OpsError.format(path: "data/\(storage.key)",
                    message: "storage too small for the tensor: \(storage.dtype.rawValue) size \(shape) stride \(stride) at offset \(offset) needs \(offset + last + 1) elements, the storage has \(storage.numel)")
            }
        }
        if numel == 0 {
            self.tensor = .zeros(storage.dtype, shape)
        } else {
            guard case let .view(store, byteOffset, _) = storage.data.node else {
                throw OpsError.invalid("storage '\(storage.key)' is not backed by file bytes")
            }
            self.tensor = try Tensor.view(store: store, byteOffset: byteOffset + offset * storage.dtype.size, dtype: storage.dtype, shape: shape, strides: stride)
        }
        self.storage = storage
        self.storageOffset = offset
        self.stride = stride
        self.requiresGrad = requiresGrad
        self.isParameter = false
    }

    /// torch's contiguous strides: like row-major strides, but a dimension of size 0 counts as 1
    /// (a `[3, 0]` tensor has strides `(1, 1)`).
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= max(shape[i], 1)
        }
        return strides
    }

    public var dtype: DType { tensor.dtype }
    public var shape: [Int] { tensor.shape }
    /// The storage key it was loaded from, if any.
    public var storageKey: String? { storage?.key }
}
