/// One CUDA C translation unit of the CUDA backend, compiled at run time by NVRTC.
public struct KernelSource: Sendable {
    /// Program name (the log's file name is `name.cu`).
    public let name: String
    /// The `extern "C" __global__` functions it defines, as the driver will look them up.
    public let entries: [String]
    /// The kernels, written against `prelude`.
    public let code: String

    public init(name: String, entries: [String], code: String) {
        self.name = name
        self.entries = entries
        self.code = code
    }

    /// What NVRTC compiles: the shared prelude, then the kernels.
    public var fullCode: String { Self.prelude + "\n#line 1 \"\(name).cu\"\n" + code }

    /// Every kernel source of the backend.
    public static let all: [KernelSource] = [
        elementwise, reductions, rows, rmsNorm, rope, loss, optimizers, attention, attentionBackward, decode,
    ]

    /// The kernel that defines `entry`, if any.
    public static func source(defining entry: String) -> KernelSource? {
        all.first { $0.entries.contains(entry) }
    }

    /// Helpers every source may use. bf16 and f16 are carried as their 16 bits (NVRTC has no
    /// cuda_bf16.h without a CUDA toolkit), widened exactly and narrowed round-to-nearest-even
    /// as `HalfPrecision` does on the CPU, so the two backends round identically.
    ///
    /// The error word (int[4]: code, op-specific index, value, unused) is how kernels report bad
    /// operands (a token id outside the vocabulary) without a host synchronisation: the first
    /// report wins and the backend reads it at the next synchronising call.
    public static let prelude = #"""
    typedef unsigned short bf16;
    typedef unsigned short f16;
    #ifndef TAILOR_DYNAMIC_SHARED
    #define TAILOR_DYNAMIC_SHARED(type, name) \
        extern __shared__ __align__(16) unsigned char tailor_dynamic_shared_bytes[]; \
        type *name = reinterpret_cast<type *>(tailor_dynamic_shared_bytes)
    #endif
    #define TAILOR_INFINITY __uint_as_float(0x7f800000u)
    // A grid-stride loop: this thread's elements i of 0..<n.
    #define TAILOR_FOR_EACH(i, n) \
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

    __device__ __forceinline__ float bf16_to_float(bf16 v) { return __uint_as_float(((unsigned int)v) << 16); }

    __device__ __forceinline__ bf16 float_to_bf16(float f) {
        unsigned int u = __float_as_uint(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
        u += 0x7fffu + ((u >> 16) & 1u);
        return (bf16)(u >> 16);
    }

    __device__ __forceinline__ float f16_to_float(f16 h) {
        unsigned int sign = ((unsigned int)h & 0x8000u) << 16, exponent = ((unsigned int)h >> 10) & 0x1fu, mantissa = (unsigned int)h & 0x3ffu;
        if (exponent == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (mantissa << 13));
        if (exponent == 0) {
            float value = (float)mantissa * 5.9604644775390625e-8f;  // 2^-24
            return sign ? -value : value;
        }
        return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }

    __device__ __forceinline__ f16 float_to_f16(float f) {
        unsigned int u = __float_as_uint(f), sign = (u >> 16) & 0x8000u, magnitude = u & 0x7fffffffu;
        if (magnitude > 0x7f800000u) return (f16)(sign | 0x7e00u);
        if (magnitude >= 0x477ff000u) return (f16)(sign | 0x7c00u);  // rounds to infinity
        if (magnitude < 0x38800000u) {  // subnormal half (or zero): round to a multiple of 2^-24
            float scaled = __uint_as_float(magnitude) * 16777216.0f;  // exact
            float rounded = rintf(scaled);
            return (f16)(sign | (unsigned int)rounded);
        }
        unsigned int rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
        return (f16)(sign | ((rounded - 0x38000000u) >> 13));
    }

    // The element `i` of a floating-point operand of dtype code `dtype` (0 f32, 1 bf16, 2 f16).
    __device__ __forceinline__ float load_as_float(const void *base, long long i, int dtype) {
        if (dtype == 1) return bf16_to_float(((const bf16 *)base)[i]);
        if (dtype == 2) return f16_to_float(((const f16 *)base)[i]);
        return ((const float *)base)[i];
    }

    __device__ __forceinline__ float warp_sum(float v) {
        for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
        return v;
    }

    __device__ __forceinline__ float warp_max(float v) {
        for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
        return v;
    }

    // Puts each warp's `reduced` (the same in all its lanes) in scratch[warp], visible to the whole
    // block; returns the number of warps. The barrier first lets a previous use of scratch finish.
    __device__ __forceinline__ int block_publish(float reduced, float *scratch) {
        __syncthreads();
        if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = reduced;
        __syncthreads();
        return (int)(blockDim.x >> 5);
    }

    // The sum (max) of `v` over the block (blockDim.x a multiple of 32, at most 1024), returned to
    // every thread. `scratch` is 32 floats of shared memory; every thread of the block must call it.
    __device__ __forceinline__ float block_sum(float v, float *scratch) {
        int warps = block_publish(warp_sum(v), scratch);
        float total = 0.0f;
        for (int w = 0; w < warps; w++) total += scratch[w];
        return total;
    }

    __device__ __forceinline__ float block_max(float v, float *scratch) {
        int warps = block_publish(warp_max(v), scratch);
        float best = -TAILOR_INFINITY;
        for (int w = 0; w < warps; w++) best = fmaxf(best, scratch[w]);
        return best;
    }

    // Records the first bad operand: code (1 + the op's check number), index, value.
    __device__ __forceinline__ void report_error(int *error, int code, int index, int value) {
        if (atomicCAS(error, 0, code) == 0) {
            error[1] = index;
            error[2] = value;
        }
    }

    """#
}
