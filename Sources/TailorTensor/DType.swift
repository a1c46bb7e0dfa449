/// Element types a tensor can hold.
///
/// Activations and trainable parameters are `f32` on the CPU; frozen weights keep the dtype of the
/// file they came from (`bf16` stays `bf16`) and are widened inside each GEMM.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32
    case f16
    case bf16
    case i32
    case i64
    /// Raw bytes.
    case u8
    /// bitsandbytes' 4-bit NormalFloat blocks: a frozen weight whose storage holds packed 4-bit codes and
    /// per-block scales (`FourBitBlocks`). Read only as a GEMM's `b` operand or by `download` (dequantized).
    case nf4
    /// bitsandbytes' 4-bit float blocks (1 sign, 2 exponent, 1 mantissa bit), stored like `nf4`.
    case fp4

    /// Bytes per element; 0 for the block-quantized types, whose elements take no whole number of
    /// bytes: a tensor of those counts its storage's bytes (codes plus scales, `Tensor.byteCount`).
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8: return 1
        case .nf4, .fp4: return 0
        }
    }

    /// Whether elements are stored in blocks with shared scales (`nf4`, `fp4`).
    public var isBlockQuantized: Bool { fourBitFormat != nil }

    /// The bitsandbytes 4-bit format of `nf4` / `fp4`.
    public var fourBitFormat: FourBitFormat? {
        switch self {
        case .nf4: return .nf4
        case .fp4: return .fp4
        default: return nil
        }
    }

    /// The dtype of a bitsandbytes 4-bit format.
    public init(_ format: FourBitFormat) {
        self = format == .nf4 ? .nf4 : .fp4
    }

    /// Whether values of this type are floating point (and so can be widened to `Float`).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16: return true
        case .i32, .i64, .u8, .nf4, .fp4: return false
        }
    }

    /// torch's name of the dtype (config.json's `dtype`): float32, float16, bfloat16, int32, int64, uint8
    /// (the 4-bit types are stored in uint8, as bitsandbytes stores them).
    public var torchName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .i32: return "int32"
        case .i64: return "int64"
        case .u8, .nf4, .fp4: return "uint8"
        }
    }

    public var description: String { rawValue }
}
