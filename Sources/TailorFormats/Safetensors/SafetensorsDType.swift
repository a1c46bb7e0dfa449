import TailorTensor

/// The element types of the safetensors format, spelled as in the header (`"BF16"`, `"F8_E4M3"` ...).
///
/// Declared in the order of the reference Rust implementation's `Dtype` enum; `SafetensorsWriter`
/// uses that order (descending) to lay tensors out exactly as `safetensors.torch.save_file` does.
public enum SafetensorsDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL"
    /// 4-bit float (E2M1), two values per byte.
    case f4 = "F4"
    /// 6-bit floats, four values per three bytes.
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element.
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Bytes per element, rounded up: 1 for the sub-byte types `F4`/`F6_*`, whose byte counts must be
    /// computed from `bitSize` (see `byteCount(elements:)`).
    public var byteSize: Int { (bitSize + 7) / 8 }

    /// Bytes that `elements` values occupy, or nil when they do not fill whole bytes (sub-byte types)
    /// or the count overflows.
    public func byteCount(elements: Int) -> Int? {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitSize)
        guard !overflow, elements >= 0, bits % 8 == 0 else { return nil }
        return bits / 8
    }

    /// The matching TailorTensor element type, when one exists.
    public var tensorDType: DType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .i32: return .i32
        case .i64: return .i64
        case .u8: return .u8
        default: return nil
        }
    }

    /// The safetensors dtype holding a TailorTensor element type, or nil when the format has none.
    public init?(_ dtype: DType) {
        guard let match = SafetensorsDType.allCases.first(where: { $0.tensorDType == dtype }) else { return nil }
        self = match
    }

    /// Position in the reference implementation's ordering (declaration order).
    var rank: Int { SafetensorsDType.allCases.firstIndex(of: self) ?? 0 }

    public var description: String { rawValue }
}
