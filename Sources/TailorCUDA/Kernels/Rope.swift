extension KernelSource {
    /// Rotary embedding in place, rotate-half layout (CPUReference.rope): one thread per
    /// (token, head, i < D/2) pair. A position outside the cos/sin tables is reported (op check 1).
    public static let rope = KernelSource(name: "rope", entries: ["tailor_rope_f32"], code: #"""
    // x [tokens, heads, headDim]; positions [tokens]; cos, sin [maxPositions, headDim/2].
    extern "C" __global__ void tailor_rope_f32(float *x, const int *positions, const float *cosTable, const float *sinTable,
                                               int tokens, int heads, int headDim, int maxPositions, int inverse, int *error) {
        int half = headDim / 2;
        long long total = (long long)tokens * heads * half;
        TAILOR_FOR_EACH(t, total) {
            int i = (int)(t % half);
            long long vector = t / half;  // token * heads + head
            int n = (int)(vector / heads);
            int p = positions[n];
            if (p < 0 || p >= maxPositions) {
                report_error(error, 1, n, p);
                continue;
            }
            float c = cosTable[(long long)p * half + i], s = sinTable[(long long)p * half + i];
            if (inverse) s = -s;
            float *v = x + vector * headDim;
            float x1 = v[i], x2 = v[i + half];
            v[i] = x1 * c - x2 * s;
            v[i + half] = x2 * c + x1 * s;
        }
    }
    """#)
}
