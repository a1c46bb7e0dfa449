extension KernelSource {
    /// Reductions: Σx² for gradient norms (f64 accumulation, like the CPU) and column sums
    /// (bias gradients).
    public static let reductions = KernelSource(name: "reductions", entries: [
        "tailor_sum_of_squares_f32", "tailor_column_sum_f32",
    ], code: #"""
    // *total += Σ x[i]² in double. blockDim.x = 256; *total zeroed by the caller.
    extern "C" __global__ void tailor_sum_of_squares_f32(const float *x, double *total, long long n) {
        double sum = 0.0;
        TAILOR_FOR_EACH(i, n) sum += (double)x[i] * (double)x[i];
        for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
        __shared__ double partial[32];
        if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = sum;
        __syncthreads();
        if (threadIdx.x == 0) {
            double block = 0.0;
            for (int w = 0; w < (int)(blockDim.x >> 5); w++) block += partial[w];
            atomicAdd(total, block);
        }
    }

    // out[c] += Σ_r x[r, c] (x [rows, cols]); one thread per column, rows split over blockIdx.y
    // in chunks of `rowsPerChunk`, partial sums added atomically.
    extern "C" __global__ void tailor_column_sum_f32(const float *x, float *out, int rows, int cols, int rowsPerChunk) {
        int c = blockIdx.x * blockDim.x + threadIdx.x;
        if (c >= cols) return;
        int first = blockIdx.y * rowsPerChunk, last = min(rows, first + rowsPerChunk);
        float sum = 0.0f;
        for (int r = first; r < last; r++) sum += x[(long long)r * cols + c];
        if (gridDim.y == 1) out[c] += sum;
        else atomicAdd(&out[c], sum);
    }
    """#)
}
