import Foundation

/// Element types a checkpoint can hold, with their names in both file formats.
///
/// One enum serves safetensors (`BF16`), torch (`torch.bfloat16`) and torch's legacy storage classes
/// (`BFloat16Storage`), so a format reader never invents its own table.
public enum DType: String, CaseIterable, Sendable, Codable {
    case f64, f32, f16, bf16, i64, i32, i16, i8, u8, bool, f8e4m3, f8e5m2, u16, u32, u64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }

    /// The name in a safetensors header.
    public var safetensorsName: String {
        switch self {
        case .f64: return "F64"
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .i64: return "I64"
        case .i32: return "I32"
        case .i16: return "I16"
        case .i8: return "I8"
        case .u8: return "U8"
        case .bool: return "BOOL"
        case .f8e4m3: return "F8_E4M3"
        case .f8e5m2: return "F8_E5M2"
        case .u16: return "U16"
        case .u32: return "U32"
        case .u64: return "U64"
        }
    }

    /// The attribute of the `torch` module naming this dtype (`torch.bfloat16` -> `bfloat16`).
    public var torchName: String {
        switch self {
        case .f64: return "float64"
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .i64: return "int64"
        case .i32: return "int32"
        case .i16: return "int16"
        case .i8: return "int8"
        case .u8: return "uint8"
        case .bool: return "bool"
        case .f8e4m3: return "float8_e4m3fn"
        case .f8e5m2: return "float8_e5m2"
        case .u16: return "uint16"
        case .u32: return "uint32"
        case .u64: return "uint64"
        }
    }

    /// The legacy storage class torch pickles for this dtype (`torch.BFloat16Storage`); nil for
    /// the dtypes torch added later (float8, uint16/32/64), which it pickles as a byte
    /// `torch.storage.UntypedStorage` rebuilt by `torch._utils._rebuild_tensor_v3` with the dtype.
    public var storageName: String? {
        switch self {
        case .f64: return "DoubleStorage"
        case .f32: return "FloatStorage"
        case .f16: return "HalfStorage"
        case .bf16: return "BFloat16Storage"
        case .i64: return "LongStorage"
        case .i32: return "IntStorage"
        case .i16: return "ShortStorage"
        case .i8: return "CharStorage"
        case .u8: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .f8e4m3, .f8e5m2, .u16, .u32, .u64: return nil
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2: return true
        default: return false
        }
    }

    public init?(safetensorsName: String) {
        guard let t = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = t
    }

    /// Accepts the canonical torch names and torch's aliases (`float`, `half`, `long`, ...).
    public init?(torchName: String) {
        let aliases: [String: DType] = [
            "double": .f64, "float": .f32, "half": .f16, "long": .i64, "int": .i32, "short": .i16,
        ]
        if let t = aliases[torchName] { self = t; return }
        guard let t = DType.allCases.first(where: { $0.torchName == torchName }) else { return nil }
        self = t
    }

    public init?(storageName: String) {
        guard let t = DType.allCases.first(where: { $0.storageName == storageName }) else { return nil }
        self = t
    }

    /// Accepts any of the spellings above, for user input (`--dtype bf16`, `BF16`, `bfloat16`).
    public init?(anyName: String) {
        if let t = DType(rawValue: anyName.lowercased()) { self = t; return }
        if let t = DType(safetensorsName: anyName.uppercased()) { self = t; return }
        if let t = DType(torchName: anyName.replacingOccurrences(of: "torch.", with: "")) { self = t; return }
        if let t = DType(storageName: anyName.replacingOccurrences(of: "torch.", with: "")) { self = t; return }
        return nil
    }
}
