/// How a backend runs a product whose `b` operand is a bf16 frozen weight.
///
/// `.fp32` widens the weight and multiplies in f32: the parity mode, the same numbers on every
/// backend up to summation order. `.halfInputs` rounds the f32 activation to the weight's dtype
/// (round to nearest even) and multiplies 16-bit inputs with f32 accumulation: the speed mode,
/// what a peft run with `bf16=True` does (cuBLAS on a GPU; oneDNN's AMX / AVX512-BF16 kernels on
/// a CPU that has them, fp32 on one that has not).
public enum MatmulPrecision: String, Sendable, CaseIterable {
    case fp32
    case halfInputs = "bf16"
}
