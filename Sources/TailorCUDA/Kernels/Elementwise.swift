extension KernelSource {
    /// Elementwise kernels, grid-stride loops over `n` elements in fp32 arithmetic. Twins of the
    /// CPU backend's fill, copy (casts), add, axpy, scale, addBias, swiglu and dropout.
    public static let elementwise = KernelSource(name: "elementwise", entries: [
        "tailor_fill_f32", "tailor_fill_u16", "tailor_fill_i32", "tailor_cast", "tailor_add_f32", "tailor_axpy_f32",
        "tailor_scale_f32", "tailor_add_bias_f32", "tailor_swiglu_forward_f32", "tailor_swiglu_backward_f32",
        "tailor_dropout_f32",
    ], code: #"""
    extern "C" __global__ void tailor_fill_f32(float *x, float value, long long n) {
        TAILOR_FOR_EACH(i, n) x[i] = value;
    }

    // bf16 / f16: `bits` is the value already narrowed on the host.
    extern "C" __global__ void tailor_fill_u16(unsigned short *x, int bits, long long n) {
        TAILOR_FOR_EACH(i, n) x[i] = (unsigned short)bits;
    }

    extern "C" __global__ void tailor_fill_i32(int *x, int value, long long n) {
        TAILOR_FOR_EACH(i, n) x[i] = value;
    }

    // out[i] = in[i] converted; dtype codes 0 f32, 1 bf16, 2 f16, 3 i32 (i32 <-> float truncates like the CPU).
    extern "C" __global__ void tailor_cast(const void *in, int inType, void *out, int outType, long long n) {
        TAILOR_FOR_EACH(i, n) {
            float v = inType == 3 ? (float)((const int *)in)[i] : load_as_float(in, i, inType);
            if (outType == 0) ((float *)out)[i] = v;
            else if (outType == 1) ((bf16 *)out)[i] = float_to_bf16(v);
            else if (outType == 2) ((f16 *)out)[i] = float_to_f16(v);
            else ((int *)out)[i] = (int)v;
        }
    }

    // out[i] = a[i] + b[i]
    extern "C" __global__ void tailor_add_f32(const float *a, const float *b, float *out, long long n) {
        TAILOR_FOR_EACH(i, n) out[i] = a[i] + b[i];
    }

    // y[i] += alpha * x[i]
    extern "C" __global__ void tailor_axpy_f32(float alpha, const float *x, float *y, long long n) {
        TAILOR_FOR_EACH(i, n) y[i] += alpha * x[i];
    }

    // x[i] *= factor
    extern "C" __global__ void tailor_scale_f32(float *x, float factor, long long n) {
        TAILOR_FOR_EACH(i, n) x[i] *= factor;
    }

    // x[r, c] += bias[c]; x [rows, cols], bias [cols] of dtype code biasType.
    extern "C" __global__ void tailor_add_bias_f32(float *x, const void *bias, int biasType, long long cols, long long n) {
        TAILOR_FOR_EACH(i, n) x[i] += load_as_float(bias, i % cols, biasType);
    }

    __device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

    // out[i] = silu(gate[i]) * up[i]; gate and up f32 or stored bf16/f16 (dtype codes).
    extern "C" __global__ void tailor_swiglu_forward_f32(const void *gate, int gateType, const void *up, int upType,
                                                        float *out, long long n) {
        TAILOR_FOR_EACH(i, n) {
            float g = load_as_float(gate, i, gateType);
            out[i] = g * sigmoid(g) * load_as_float(up, i, upType);
        }
    }

    // dGate = dOut · up · σ(g)(1 + g(1 − σ(g))), dUp = dOut · silu(g); dGate/dUp may alias f32 gate/up.
    extern "C" __global__ void tailor_swiglu_backward_f32(const float *dOut, const void *gate, int gateType, const void *up,
                                                         int upType, float *dGate, float *dUp, long long n) {
        TAILOR_FOR_EACH(i, n) {
            float g = load_as_float(gate, i, gateType), u = load_as_float(up, i, upType), dy = dOut[i];
            float s = sigmoid(g);
            float dg = dy * u * s * (1.0f + g * (1.0f - s));
            float du = dy * g * s;
            dGate[i] = dg;
            dUp[i] = du;
        }
    }

    // SplitMix64's element `index` of the stream that starts at `seed` (SplitMix64.value on the CPU).
    __device__ __forceinline__ unsigned long long splitmix64(unsigned long long seed, unsigned long long index) {
        unsigned long long z = seed + (index + 1ull) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // out[i] = keep(i) ? x[i] * scale : 0, keep(i) when the hash's top 24 bits are >= threshold.
    extern "C" __global__ void tailor_dropout_f32(const float *x, float *out, float scale, unsigned long long threshold,
                                                 unsigned long long seed, long long n) {
        TAILOR_FOR_EACH(i, n) {
            bool keep = (splitmix64(seed, (unsigned long long)i) >> 40) >= threshold;
            out[i] = keep ? x[i] * scale : 0.0f;
        }
    }
    """#)
}
