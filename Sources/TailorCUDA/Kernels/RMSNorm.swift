extension KernelSource {
    /// RMSNorm forward and backward, one block per row (blockDim.x a multiple of 32). The weight
    /// may be f32, bf16 or f16 (dtype code). Twins of CPUReference.rmsNormForward/Backward.
    public static let rmsNorm = KernelSource(name: "rmsnorm", entries: [
        "tailor_rmsnorm_forward_f32", "tailor_add_rmsnorm_forward_f32", "tailor_rmsnorm_backward_f32",
        "tailor_rmsnorm_weight_grad_f32",
    ], code: #"""
    // out = x · rstd · weight with rstd = 1/√(mean(x²) + eps); x, out [rows, cols]; rstd [rows].
    extern "C" __global__ void tailor_rmsnorm_forward_f32(const float *x, const void *weight, int weightType, float *out,
                                                          float *rstd, int cols, float eps) {
        __shared__ float scratch[32];
        const float *row = x + (long long)blockIdx.x * cols;
        float sum = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += row[c] * row[c];
        float r = rsqrtf(block_sum(sum, scratch) / cols + eps);
        if (threadIdx.x == 0) rstd[blockIdx.x] = r;
        float *o = out + (long long)blockIdx.x * cols;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = (row[c] * r) * load_as_float(weight, c, weightType);
    }

    // sum = a + b, then out = rmsnorm(sum) as above: the residual add fused with the next block's
    // norm, one read of a and b. sum may be a or b (each thread rereads only what it wrote).
    extern "C" __global__ void tailor_add_rmsnorm_forward_f32(const float *a, const float *b, float *sum, const void *weight,
                                                              int weightType, float *out, float *rstd, int cols, float eps) {
        __shared__ float scratch[32];
        long long base = (long long)blockIdx.x * cols;
        float squares = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            float s = a[base + c] + b[base + c];
            sum[base + c] = s;
            squares += s * s;
        }
        float r = rsqrtf(block_sum(squares, scratch) / cols + eps);
        if (threadIdx.x == 0) rstd[blockIdx.x] = r;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) out[base + c] = (sum[base + c] * r) * load_as_float(weight, c, weightType);
    }

    // dx = rstd·(dy·w) − x·rstd³·Σ(dy·w·x)/cols, written or (accumulate != 0) added.
    extern "C" __global__ void tailor_rmsnorm_backward_f32(const float *dOut, const float *x, const void *weight, int weightType,
                                                           const float *rstd, float *dx, int accumulate, int cols) {
        __shared__ float scratch[32];
        long long base = (long long)blockIdx.x * cols;
        float dot = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) dot += dOut[base + c] * load_as_float(weight, c, weightType) * x[base + c];
        dot = block_sum(dot, scratch);
        float r = rstd[blockIdx.x];
        float coefficient = dot * r * r * r / cols;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            float value = dOut[base + c] * load_as_float(weight, c, weightType) * r - x[base + c] * coefficient;
            dx[base + c] = accumulate ? dx[base + c] + value : value;
        }
    }

    // dWeight[c] += Σ_r dOut[r, c]·x[r, c]·rstd[r]; one thread per column, rows split over blockIdx.y.
    extern "C" __global__ void tailor_rmsnorm_weight_grad_f32(const float *dOut, const float *x, const float *rstd, float *dWeight,
                                                              int rows, int cols, int rowsPerChunk) {
        int c = blockIdx.x * blockDim.x + threadIdx.x;
        if (c >= cols) return;
        int first = blockIdx.y * rowsPerChunk, last = min(rows, first + rowsPerChunk);
        float sum = 0.0f;
        for (int r = first; r < last; r++) sum += dOut[(long long)r * cols + c] * x[(long long)r * cols + c] * rstd[r];
        if (gridDim.y == 1) dWeight[c] += sum;
        else atomicAdd(&dWeight[c], sum);
    }
    """#)
}
