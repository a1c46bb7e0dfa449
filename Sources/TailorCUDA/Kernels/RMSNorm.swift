extension KernelSource {
    /// RMSNorm forward, one block per row: out = x · rstd · weight with rstd = 1/√(mean(x²) + eps),
    /// rstd kept for the backward. The twin of CPUReference.rmsNormForward.
    public static let rmsNorm = KernelSource(name: "rmsnorm", entries: ["tailor_rmsnorm_forward_f32"], code: #"""
    // x, out [rows, cols]; weight [cols]; rstd [rows]. blockDim.x is a multiple of 32, at most 1024.
    extern "C" __global__ void tailor_rmsnorm_forward_f32(const float *x, const float *weight, float *out, float *rstd,
                                                          int cols, float eps) {
        const float *row = x + (long long)blockIdx.x * cols;
        float sum = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += row[c] * row[c];
        for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, offset);
        __shared__ float partial[32];
        if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = sum;
        __syncthreads();
        if (threadIdx.x < 32) {
            sum = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : 0.0f;
            for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, offset);
            if (threadIdx.x == 0) partial[0] = rsqrtf(sum / cols + eps);
        }
        __syncthreads();
        float r = partial[0];
        if (threadIdx.x == 0) rstd[blockIdx.x] = r;
        float *o = out + (long long)blockIdx.x * cols;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) o[c] = row[c] * r * weight[c];
    }
    """#)
}
