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
    /// llama.cpp's block quantizations (`GGMLBlockType`): a frozen weight kept as a GGUF file stores it, each row
    /// a whole number of blocks (a `CPUStorage` of the file's bytes, `CPUBackend+GGMLBlocks`). Read only as a GEMM's `b` operand, by `gatherRows` or by
    /// `download` (decoded).
    case q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K

    /// Bytes per element; 0 for the block-quantized types, whose elements take no whole number of
    /// bytes: a tensor of those counts its storage's bytes (codes plus scales, `Tensor.byteCount`).
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8: return 1
        case .nf4, .fp4, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 0
        }
    }

    /// Whether elements are stored in blocks with shared scales (`nf4`, `fp4`, the ggml block types).
    public var isBlockQuantized: Bool { fourBitFormat != nil || ggmlBlockType != nil }

    /// The llama.cpp block type of `q4_0` ... `q6_K` (a switch: every tensor view and product asks it).
    public var ggmlBlockType: GGMLBlockType? {
        switch self {
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_K: return .q2_K
        case .q3_K: return .q3_K
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        default: return nil
        }
    }

    /// The dtype of a llama.cpp block type (the inverse of `ggmlBlockType`).
    public init(_ block: GGMLBlockType) {
        switch block {
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .q5_0: self = .q5_0
        case .q5_1: self = .q5_1
        case .q8_0: self = .q8_0
        case .q2_K: self = .q2_K
        case .q3_K: self = .q3_K
        case .q4_K: self = .q4_K
        case .q5_K: self = .q5_K
        case .q6_K: self = .q6_K
        }
    }

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
        default: return false
        }
    }

    /// torch's name of the dtype (config.json's `dtype`): float32, float16, bfloat16, int32, int64, uint8
    /// (the block-quantized types are stored in uint8, as bitsandbytes stores its 4-bit ones).
    public var torchName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .i32: return "int32"
        case .i64: return "int64"
        default: return "uint8"
        }
    }

    public var description: String { rawValue }
}
