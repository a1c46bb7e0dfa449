extension KernelSource {
    /// Optimizer steps over f32 tensors, one thread per element, with the scalars computed on the
    /// host in double as torch computes them (CPUReference.adamw / sgd).
    public static let optimizers = KernelSource(name: "optimizers", entries: ["tailor_adamw_f32", "tailor_sgd_f32"], code: #"""
    // torch.optim.AdamW (single tensor): decoupled decay, lerp of m, bias-corrected step.
    extern "C" __global__ void tailor_adamw_f32(float *param, const float *grad, float *m, float *v, float decay,
                                                float oneMinusBeta1, float beta2, float oneMinusBeta2, float stepSize,
                                                float correction2Sqrt, float eps, long long n) {
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
            float g = grad[i];
            float p = param[i] * decay;
            float mi = fmaf(oneMinusBeta1, g - m[i], m[i]);
            float vi = v[i] * beta2 + oneMinusBeta2 * g * g;
            float denom = sqrtf(vi) / correction2Sqrt + eps;
            m[i] = mi;
            v[i] = vi;
            param[i] = p + (-stepSize) * (mi / denom);
        }
    }

    // torch.optim.SGD: coupled decay, momentum buffer (nullable) with dampening, optional Nesterov.
    extern "C" __global__ void tailor_sgd_f32(float *param, const float *grad, float *buffer, float decay, float momentum,
                                              float keep, float step, int nesterov, int initializeBuffer, long long n) {
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
            float g = grad[i];
            if (decay != 0.0f) g = fmaf(decay, param[i], g);
            if (buffer) {
                float b = initializeBuffer ? g : fmaf(keep, g, buffer[i] * momentum);
                buffer[i] = b;
                g = nesterov ? fmaf(momentum, b, g) : b;
            }
            param[i] = fmaf(step, g, param[i]);
        }
    }
    """#)
}
