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
    /// Raw bytes (quantized blocks such as NF4 live here later).
    case u8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8: return 1
        }
    }

    /// Whether values of this type are floating point (and so can be widened to `Float`).
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16: return true
        case .i32, .i64, .u8: return false
        }
    }

    public var description: String { rawValue }
}
