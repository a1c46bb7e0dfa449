extension KernelSource {
    /// Softmax cross-entropy, one block per row (CPUReference.crossEntropy): the loss, and the
    /// logits replaced by gradScale·(softmax − onehot). Target −100 is ignored; any other target
    /// outside [0, vocab) is reported (op check 1) and its row zeroed.
    public static let loss = KernelSource(name: "loss", entries: ["tailor_cross_entropy_f32"], code: #"""
    extern "C" __global__ void tailor_cross_entropy_f32(float *logits, const int *targets, float *losses, float gradScale,
                                                        int vocab, int *error) {
        __shared__ float scratch[32];
        float *row = logits + (long long)blockIdx.x * vocab;
        int target = targets[blockIdx.x];
        if (target < 0 || target >= vocab) {
            if (target != -100 && threadIdx.x == 0) report_error(error, 1, blockIdx.x, target);
            for (int c = threadIdx.x; c < vocab; c += blockDim.x) row[c] = 0.0f;
            if (threadIdx.x == 0) losses[blockIdx.x] = 0.0f;
            return;
        }
        float best = -TAILOR_INFINITY;
        for (int c = threadIdx.x; c < vocab; c += blockDim.x) best = fmaxf(best, row[c]);
        best = block_max(best, scratch);
        float sum = 0.0f;
        for (int c = threadIdx.x; c < vocab; c += blockDim.x) sum += expf(row[c] - best);
        float logSumExp = best + logf(block_sum(sum, scratch));
        if (threadIdx.x == 0) losses[blockIdx.x] = logSumExp - row[target];
        __syncthreads();  // every thread has read row[target] before it is overwritten
        for (int c = threadIdx.x; c < vocab; c += blockDim.x) {
            float p = expf(row[c] - logSumExp);
            row[c] = (p - (c == target ? 1.0f : 0.0f)) * gradScale;
        }
    }
    """#)
}
