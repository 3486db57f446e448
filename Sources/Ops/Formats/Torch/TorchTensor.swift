/// A torch storage: one flat buffer that one or several tensors view.
///
/// A class on purpose: tensors that view the same storage hold the same object, which is how
/// sharing survives a load/save round trip.
///
/// Two kinds exist, as in torch: a typed storage (`torch.BFloat16Storage`, elements of `dtype`),
/// and an untyped one (`torch.storage.UntypedStorage`, raw bytes, `dtype` is `u8`), which torch
/// uses for the dtypes without a legacy storage class (float8, uint16/32/64); tensors on it carry
/// their own dtype (`_rebuild_tensor_v3`).
public final class TorchStorage {
    /// The storage's key in the checkpoint it was read from (`data/<key>`).
    public let key: String
    /// The element type; `u8` for an untyped storage.
    public let dtype: DType
    /// Number of elements (bytes for an untyped storage).
    public let numel: Int
    /// The device tag recorded by torch (`cpu`, `cuda:0`); data is always read to the host.
    public let location: String
    /// All elements as a 1-D lazy tensor over the file's bytes.
    public let data: Tensor
    /// Pickled as `torch.storage.UntypedStorage` (numel counts bytes) rather than a typed class.
    public let isUntyped: Bool

    public init(key: String, dtype: DType, numel: Int, location: String, data: Tensor) {
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.location = location
        self.data = data
        self.isUntyped = false
    }

    /// An untyped storage of `byteCount` bytes (`data` is a 1-D `u8` tensor over them).
    public init(untypedKey key: String, byteCount: Int, location: String, data: Tensor) {
        self.key = key
        self.dtype = .u8
        self.numel = byteCount
        self.location = location
        self.data = data
        self.isUntyped = true
    }

    public var byteCount: Int { numel * dtype.size }

    /// Whether it must be pickled as an `UntypedStorage`: it was read as one, or its dtype has no
    /// legacy storage class.
    var picklesUntyped: Bool { isUntyped || dtype.storageName == nil }
}

/// A torch tensor inside a pickled object: the lazy element expression plus what torch records
/// about it (autograd flag, Parameter-ness, and the storage view it was loaded from).
public struct TorchTensor {
    /// The elements (a lazy view into the checkpoint, or any expression for new tensors).
    public let tensor: Tensor
    /// The storage this tensor views, when it was loaded and not modified; nil for new tensors,
    /// which are written as compact storages of their own.
    public let storage: TorchStorage?
    /// Offset into `storage`, in elements of the tensor's dtype.
    public let storageOffset: Int
    /// Strides into `storage`, in elements of the tensor's dtype (contiguous for new tensors).
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

    /// A view of a loaded storage; checks that every element lies inside it. `dtype` is the
    /// tensor's element type when it differs from the storage's (a `_rebuild_tensor_v3` view of
    /// an untyped storage); `offset` and `stride` count elements of that type, as in torch.
    public init(storage: TorchStorage, offset: Int, shape: [Int], stride: [Int], dtype: DType? = nil, requiresGrad: Bool = false) throws {
        let dtype = dtype ?? storage.dtype
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
            // Bounds in bytes: the tensor's dtype may differ from the storage's.
            let (end, o1) = offset.addingReportingOverflow(last + 1)
            let (endBytes, o2) = end.multipliedReportingOverflow(by: dtype.size)
            guard !o1, !o2, endBytes <= storage.byteCount else {
                let has = dtype == storage.dtype ? "\(storage.numel) elements" : "\(storage.byteCount) bytes (\(storage.byteCount / dtype.size) \(dtype.rawValue) elements)"
                throw OpsError.format(path: "data/\(storage.key)",
                    message: "storage too small for the tensor: \(dtype.rawValue) size \(shape) stride \(stride) at offset \(offset) needs \(o1 ? "more than Int.max" : String(end)) elements, the storage has \(has)")
            }
        }
        if numel == 0 {
            self.tensor = .zeros(dtype, shape)
        } else {
            guard case let .view(store, byteOffset, _) = storage.data.node else {
                throw OpsError.invalid("storage '\(storage.key)' is not backed by file bytes")
            }
            self.tensor = try Tensor.view(store: store, byteOffset: byteOffset + offset * dtype.size, dtype: dtype, shape: shape, strides: stride)
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
