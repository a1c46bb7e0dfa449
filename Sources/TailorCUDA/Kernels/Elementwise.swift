extension KernelSource {
    /// Elementwise kernels on f32 and bf16 (fp32 arithmetic), one thread per element.
    /// Twins of CPUReference's add, scale and swiglu. bf16 is carried as its 16 bits (NVRTC has
    /// no cuda_bf16.h without a CUDA toolkit), widened exactly and narrowed round-to-nearest-even
    /// as HalfPrecision does on the CPU.
    public static let elementwise = KernelSource(name: "elementwise", entries: [
        "tailor_add_f32", "tailor_scale_f32", "tailor_swiglu_forward_f32", "tailor_swiglu_forward_bf16",
    ], code: #"""
    typedef unsigned short bf16;

    __device__ __forceinline__ float bf16_to_float(bf16 v) { return __uint_as_float(((unsigned int)v) << 16); }

    __device__ __forceinline__ bf16 float_to_bf16(float f) {
        unsigned int u = __float_as_uint(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
        u += 0x7fffu + ((u >> 16) & 1u);
        return (bf16)(u >> 16);
    }

    // out[i] = a[i] + b[i]
    extern "C" __global__ void tailor_add_f32(const float *a, const float *b, float *out, long long n) {
        long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) out[i] = a[i] + b[i];
    }

    // x[i] *= factor
    extern "C" __global__ void tailor_scale_f32(float *x, float factor, long long n) {
        long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) x[i] *= factor;
    }

    __device__ __forceinline__ float silu(float g) { return g / (1.0f + expf(-g)); }

    // out[i] = silu(gate[i]) * up[i]
    extern "C" __global__ void tailor_swiglu_forward_f32(const float *gate, const float *up, float *out, long long n) {
        long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) out[i] = silu(gate[i]) * up[i];
    }

    extern "C" __global__ void tailor_swiglu_forward_bf16(const bf16 *gate, const bf16 *up, bf16 *out, long long n) {
        long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) out[i] = float_to_bf16(silu(bf16_to_float(gate[i])) * bf16_to_float(up[i]));
    }
    """#)
}
