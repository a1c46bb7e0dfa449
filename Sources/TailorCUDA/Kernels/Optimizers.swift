extension KernelSource {
    /// Optimizer steps over f32 tensors, one thread per element, with the scalars computed on the
    /// host in double as torch computes them (CPUReference.adamw / sgd).
    public static let optimizers = KernelSource(name: "optimizers", entries: [
        "tailor_adamw_multi_f32", "tailor_sgd_f32",
    ], code: #"""
    // torch.optim.AdamW on one element: decoupled decay, lerp of m, bias-corrected step.
    __device__ inline void adamw_element(float *param, const float *grad, float *m, float *v, long long i, float decay,
                                         float oneMinusBeta1, float beta2, float oneMinusBeta2, float stepSize,
                                         float correction2Sqrt, float eps) {
        float g = grad[i];
        float p = param[i] * decay;
        float mi = fmaf(oneMinusBeta1, g - m[i], m[i]);
        float vi = v[i] * beta2 + oneMinusBeta2 * g * g;
        float denom = sqrtf(vi) / correction2Sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        param[i] = p + (-stepSize) * (mi / denom);
    }

    // One parameter of a multi-tensor step. Blocks firstBlock ..< next slot's firstBlock own it,
    // `chunk` elements each. decay is 1 − lr·weight_decay, or 1 where weight decay does not apply.
    // 56 bytes, the layout CUDABackend.adamw writes.
    struct adamw_slot {
        float *param;
        const float *grad;
        float *m;
        float *v;
        long long count;
        long long firstBlock;
        float decay;
        float unused;
    };

    // torch's fused AdamW over a whole parameter list in one launch: each block finds its slot by
    // binary search over firstBlock (slots with no elements own no block) and steps its chunk.
    extern "C" __global__ void tailor_adamw_multi_f32(const adamw_slot *slots, int slotCount, long long chunk,
                                                      float oneMinusBeta1, float beta2, float oneMinusBeta2, float stepSize,
                                                      float correction2Sqrt, float eps) {
        long long block = blockIdx.x;
        int low = 0, high = slotCount - 1;
        while (low < high) {
            int middle = (low + high + 1) >> 1;
            if (slots[middle].firstBlock <= block) low = middle; else high = middle - 1;
        }
        adamw_slot slot = slots[low];
        long long begin = (block - slot.firstBlock) * chunk, end = min(begin + chunk, slot.count);
        for (long long i = begin + threadIdx.x; i < end; i += blockDim.x)
            adamw_element(slot.param, slot.grad, slot.m, slot.v, i, slot.decay, oneMinusBeta1, beta2, oneMinusBeta2, stepSize,
                          correction2Sqrt, eps);
    }

    // torch.optim.SGD: coupled decay, momentum buffer (nullable) with dampening, optional Nesterov.
    extern "C" __global__ void tailor_sgd_f32(float *param, const float *grad, float *buffer, float decay, float momentum,
                                              float keep, float step, int nesterov, int initializeBuffer, long long n) {
        TAILOR_FOR_EACH(i, n) {
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
