/// How one of the tiled attention kernels splits its work, for heads up to `maxHeadDim` wide.
///
/// Every tiled kernel runs `warps` warps per block. A block holds `blockRows` "stationary" rows in
/// shared memory (query rows for the forward and dq, key/value rows for dk/dv), `rowsPerWarp` of
/// them owned by each warp, and streams tiles of `streamRows` rows of the other side through a
/// shared buffer. A lane pairs with one streamed row: `lanesPerKey` lanes split its dot products
/// (each a 1/lanesPerKey part of the head, summed with shuffles), and each lane accumulates the
/// output dimensions lane, lane + 32, ... of its warp's rows in registers. Shared memory depends on
/// the head dimension only, never on the token count (no [T, T] scores anywhere), and stays within
/// the 48 KiB a block may use without opting in to more, for every head dimension up to 256.
public struct AttentionTiling: Sendable, Equatable {
    public enum Kernel: String, Sendable {
        /// Forward: a block per (query tile, head); keys and values stream.
        case forward
        /// dq: a block per (query tile, head); keys and values stream.
        case backwardQuery = "backward_query"
        /// dk and dv: a block per (key tile, kv head); queries and output gradients of the
        /// head group stream, so dk and dv are written once, with no atomics.
        case backwardKeyValue = "backward_key_value"
    }

    public static let warps = 4
    public static let threads = 32 * warps

    public let kernel: Kernel
    public let maxHeadDim: Int
    public let rowsPerWarp: Int
    public let lanesPerKey: Int

    /// The kernel's entry point.
    public var entry: String { "tailor_attention_\(kernel.rawValue)_d\(maxHeadDim)_f32" }
    /// Stationary rows per block (query rows for .forward and .backwardQuery, keys for .backwardKeyValue).
    public var blockRows: Int { Self.warps * rowsPerWarp }
    /// Rows per streamed tile.
    public var streamRows: Int { 32 / lanesPerKey }

    /// Dynamic shared memory of one block, as the kernel lays it out (floats): stationary tiles
    /// [blockRows][padded], streamed tiles [streamRows][padded + 4] (padding spreads the lanes'
    /// float4 reads over the banks), per-warp weights [blockRows][streamRows], and for dk/dv the
    /// streamed rows' lse, D and sequence start.
    public func sharedBytes(headDim: Int) -> Int {
        let unit = 4 * lanesPerKey
        let padded = (headDim + unit - 1) / unit * unit
        let stream = streamRows * (padded + 4), weights = blockRows * streamRows
        let floats: Int
        switch kernel {
        case .forward: floats = blockRows * padded + stream + weights
        case .backwardQuery: floats = 2 * blockRows * padded + stream + weights
        case .backwardKeyValue: floats = 2 * blockRows * padded + 2 * stream + 2 * weights + 3 * streamRows
        }
        return floats * 4
    }

    /// Every tiling the kernels are instantiated with, narrowest heads first.
    public static let all: [AttentionTiling] = [
        AttentionTiling(kernel: .forward, maxHeadDim: 64, rowsPerWarp: 4, lanesPerKey: 1),
        AttentionTiling(kernel: .forward, maxHeadDim: 128, rowsPerWarp: 4, lanesPerKey: 1),
        AttentionTiling(kernel: .forward, maxHeadDim: 256, rowsPerWarp: 4, lanesPerKey: 2),
        AttentionTiling(kernel: .backwardQuery, maxHeadDim: 64, rowsPerWarp: 4, lanesPerKey: 1),
        AttentionTiling(kernel: .backwardQuery, maxHeadDim: 128, rowsPerWarp: 4, lanesPerKey: 1),
        AttentionTiling(kernel: .backwardQuery, maxHeadDim: 256, rowsPerWarp: 4, lanesPerKey: 4),
        AttentionTiling(kernel: .backwardKeyValue, maxHeadDim: 64, rowsPerWarp: 4, lanesPerKey: 1),
        AttentionTiling(kernel: .backwardKeyValue, maxHeadDim: 128, rowsPerWarp: 4, lanesPerKey: 2),
        AttentionTiling(kernel: .backwardKeyValue, maxHeadDim: 256, rowsPerWarp: 2, lanesPerKey: 4),
    ]

    /// The widest head the tiled kernels take.
    public static let maxHeadDim = 256

    /// The tiling `kernel` runs heads of `headDim` with (nil above `maxHeadDim`).
    public static func tiling(_ kernel: Kernel, headDim: Int) -> AttentionTiling? {
        all.first { $0.kernel == kernel && headDim <= $0.maxHeadDim }
    }

    static func tilings(_ kernel: Kernel) -> [AttentionTiling] { all.filter { $0.kernel == kernel } }

    /// The extern "C" entry that instantiates the kernel's template with this tiling.
    var wrapper: String {
        let template = "<\(maxHeadDim / 32), \(lanesPerKey), \(rowsPerWarp)>"
        let head = "extern \"C\" __global__ void __launch_bounds__(\(Self.threads)) \(entry)"
        switch kernel {
        case .forward:
            return """
            \(head)(const float *q, const float *k, const float *v, const int *seqStart, float *out, float *lse,
                    int tokens, int heads, int kvHeads, int headDim, float scale) {
                attention_forward\(template)(q, k, v, seqStart, out, lse, tokens, heads, kvHeads, headDim, scale);
            }

            """
        case .backwardQuery:
            return """
            \(head)(const float *dOut, const float *q, const float *k, const float *v, const float *lse, const float *delta,
                    const int *seqStart, float *dq, int tokens, int heads, int kvHeads, int headDim, float scale) {
                attention_backward_query\(template)(dOut, q, k, v, lse, delta, seqStart, dq, tokens, heads, kvHeads, headDim, scale);
            }

            """
        case .backwardKeyValue:
            return """
            \(head)(const float *dOut, const float *q, const float *k, const float *v, const float *lse, const float *delta,
                    const int *seqStart, float *dk, float *dv, int tokens, int heads, int kvHeads, int headDim, float scale) {
                attention_backward_key_value\(template)(dOut, q, k, v, lse, delta, seqStart, dk, dv, tokens, heads, kvHeads, headDim, scale);
            }

            """
        }
    }
}

extension KernelSource {
    /// Causal attention over packed sequences with grouped-query heads, FlashAttention style:
    /// a block per (tile of query rows, head) walks the key tiles its rows may attend (from the
    /// tile's first sequence start to its last row) with an online softmax, so no score matrix
    /// is ever stored. Writes out and lse (CPUReference.attentionForward).
    public static let attention = KernelSource(
        name: "attention", entries: AttentionTiling.tilings(.forward).map(\.entry),
        code: attentionHelpers + #"""
        // A block per (tile of BQ = 4·R query rows, head h); warp w owns rows w·R ..< w·R + R. Key tiles
        // of KT = 32/LPK rows stream through one shared buffer (keys, then values); lane pairs with key
        // lane % KT and sums a 1/LPK part of each dot product. Row n attends keys seqStart[n] ... n.
        template <int DW, int LPK, int R>
        __device__ __forceinline__ void attention_forward(const float *q, const float *k, const float *v, const int *seqStart,
                                                          float *out, float *lse, int tokens, int heads, int kvHeads, int D,
                                                          float scale) {
            constexpr int KT = 32 / LPK, BQ = attention_warps * R;
            const int Dp = attention_padded(D, LPK), ldk = Dp + 4, partLength = Dp / LPK;
            TAILOR_DYNAMIC_SHARED(float, shared);
            float *sq = shared, *skv = sq + BQ * Dp, *sp = skv + KT * ldk;
            const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, key = lane % KT, part = lane / KT;
            const int h = blockIdx.y, kvh = h / (heads / kvHeads);
            // Last tiles first: in a long sequence they have the most keys, so the short ones fill the tail.
            const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ, qEnd = min(q0 + BQ, tokens);
            const long long kvStride = (long long)kvHeads * D;

            int blockLo, lo[R], hi[R], warpLo, warpHi;
            attention_query_ranges<R>(seqStart, q0, qEnd, warp, tokens, blockLo, lo, hi, warpLo, warpHi);
            attention_load_rows(sq, Dp, BQ, Dp, q + ((long long)q0 * heads + h) * D, (long long)heads * D, qEnd - q0, D);

            float m[R], l[R], acc[R][DW];
        #pragma unroll
            for (int r = 0; r < R; r++) {
                m[r] = -TAILOR_INFINITY;
                l[r] = 0.0f;
        #pragma unroll
                for (int i = 0; i < DW; i++) acc[r][i] = 0.0f;
            }
            for (int k0 = blockLo; k0 < qEnd; k0 += KT) {
                const int rows = min(KT, qEnd - k0);
                const bool active = k0 <= warpHi && k0 + KT - 1 >= warpLo;  // warp-uniform
                const long long first = (long long)k0 * kvStride + (long long)kvh * D;
                __syncthreads();  // the previous tile's values are read
                attention_load_rows(skv, ldk, KT, Dp, k + first, kvStride, rows, D);
                __syncthreads();
                if (active) {
                    float s[R];
                    attention_dots<R, LPK>(s, sq + warp * R * Dp + part * partLength, Dp, skv + key * ldk + part * partLength, partLength);
                    const int j = k0 + key;
        #pragma unroll
                    for (int r = 0; r < R; r++) {
                        float score = j >= lo[r] && j <= hi[r] ? s[r] * scale : -TAILOR_INFINITY;
                        float mNew = fmaxf(m[r], warp_max(score));
                        float base = mNew == -TAILOR_INFINITY ? 0.0f : mNew;
                        float p = expf(score - base), alpha = expf(m[r] - base);
                        l[r] = l[r] * alpha + (part == 0 ? p : 0.0f);  // this lane's share; summed over the warp at the end
        #pragma unroll
                        for (int i = 0; i < DW; i++) acc[r][i] *= alpha;
                        m[r] = mNew;
                        if (part == 0) sp[(warp * R + r) * KT + key] = p;
                    }
                }
                __syncthreads();  // the keys are read
                attention_load_rows(skv, ldk, KT, Dp, v + first, kvStride, rows, D);
                __syncthreads();
                if (active) attention_accumulate<R, DW>(acc, sp + warp * R * KT, KT, skv, ldk, KT, lane, D);
            }
        #pragma unroll
            for (int r = 0; r < R; r++) {
                float total = warp_sum(l[r]);
                int n = q0 + warp * R + r;
                if (n < qEnd) {
                    float inverse = total > 0.0f ? 1.0f / total : 0.0f;
                    float *o = out + ((long long)n * heads + h) * D;
        #pragma unroll
                    for (int i = 0; i < DW; i++)
                        if (lane + 32 * i < D) o[lane + 32 * i] = acc[r][i] * inverse;
                    if (lane == 0) lse[(long long)n * heads + h] = total > 0.0f ? m[r] + logf(total) : -TAILOR_INFINITY;
                }
            }
        }

        """# + AttentionTiling.tilings(.forward).map(\.wrapper).joined())

    /// The gradient of `attention` in the FlashAttention-2 manner, recomputing the probabilities
    /// from lse: D = rowsum(dOut · out) first, then dk and dv per key tile (summed over the head
    /// group, written once) and dq per query tile: no score matrix and no atomics, so the result
    /// does not depend on scheduling.
    public static let attentionBackward = KernelSource(
        name: "attention_backward",
        entries: ["tailor_attention_backward_delta_f32"] + AttentionTiling.tilings(.backwardQuery).map(\.entry)
            + AttentionTiling.tilings(.backwardKeyValue).map(\.entry),
        code: attentionHelpers + #"""
        // delta[row] = Σ_d dOut[row, d]·out[row, d] over rows = tokens·heads; a warp per row.
        extern "C" __global__ void __launch_bounds__(32 * attention_warps)
        tailor_attention_backward_delta_f32(const float *dOut, const float *out, float *delta, int rows, int D) {
            const int row = blockIdx.x * attention_warps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
            float sum = 0.0f;
            if (row < rows)
                for (int d = lane; d < D; d += 32) sum += dOut[(long long)row * D + d] * out[(long long)row * D + d];
            sum = warp_sum(sum);
            if (row < rows && lane == 0) delta[row] = sum;
        }

        // dq for a tile of BQ = 4·R query rows of head h: per key tile, dP = dO·Vᵀ, P = exp(Q·Kᵀ·scale − lse),
        // dS = P·(dP − delta), dq += dS·K·scale. Values, then keys, stream through one buffer.
        template <int DW, int LPK, int R>
        __device__ __forceinline__ void attention_backward_query(const float *dOut, const float *q, const float *k, const float *v,
                                                                 const float *lse, const float *delta, const int *seqStart, float *dq,
                                                                 int tokens, int heads, int kvHeads, int D, float scale) {
            constexpr int KT = 32 / LPK, BQ = attention_warps * R;
            const int Dp = attention_padded(D, LPK), ldk = Dp + 4, partLength = Dp / LPK;
            TAILOR_DYNAMIC_SHARED(float, shared);
            float *sq = shared, *sdo = sq + BQ * Dp, *skv = sdo + BQ * Dp, *sds = skv + KT * ldk;
            const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, key = lane % KT, part = lane / KT;
            const int h = blockIdx.y, kvh = h / (heads / kvHeads);
            const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ, qEnd = min(q0 + BQ, tokens);  // last tiles first, as the forward
            const long long kvStride = (long long)kvHeads * D, rowsStart = ((long long)q0 * heads + h) * D;

            int blockLo, lo[R], hi[R], warpLo, warpHi;
            attention_query_ranges<R>(seqStart, q0, qEnd, warp, tokens, blockLo, lo, hi, warpLo, warpHi);
            float rowLse[R], rowDelta[R], acc[R][DW];
        #pragma unroll
            for (int r = 0; r < R; r++) {
                int n = q0 + warp * R + r;
                rowLse[r] = n < qEnd ? lse[(long long)n * heads + h] : 0.0f;
                rowDelta[r] = n < qEnd ? delta[(long long)n * heads + h] : 0.0f;
        #pragma unroll
                for (int i = 0; i < DW; i++) acc[r][i] = 0.0f;
            }
            attention_load_rows(sq, Dp, BQ, Dp, q + rowsStart, (long long)heads * D, qEnd - q0, D);
            attention_load_rows(sdo, Dp, BQ, Dp, dOut + rowsStart, (long long)heads * D, qEnd - q0, D);

            for (int k0 = blockLo; k0 < qEnd; k0 += KT) {
                const int rows = min(KT, qEnd - k0);
                const bool active = k0 <= warpHi && k0 + KT - 1 >= warpLo;  // warp-uniform
                const long long first = (long long)k0 * kvStride + (long long)kvh * D;
                float dp[R];
                __syncthreads();  // the previous tile's keys are read
                attention_load_rows(skv, ldk, KT, Dp, v + first, kvStride, rows, D);
                __syncthreads();
                if (active) attention_dots<R, LPK>(dp, sdo + warp * R * Dp + part * partLength, Dp, skv + key * ldk + part * partLength, partLength);
                __syncthreads();  // the values are read
                attention_load_rows(skv, ldk, KT, Dp, k + first, kvStride, rows, D);
                __syncthreads();
                if (active) {
                    float s[R];
                    attention_dots<R, LPK>(s, sq + warp * R * Dp + part * partLength, Dp, skv + key * ldk + part * partLength, partLength);
                    const int j = k0 + key;
        #pragma unroll
                    for (int r = 0; r < R; r++) {
                        float p = j >= lo[r] && j <= hi[r] ? expf(s[r] * scale - rowLse[r]) : 0.0f;
                        if (part == 0) sds[(warp * R + r) * KT + key] = p * (dp[r] - rowDelta[r]);
                    }
                    __syncwarp();
                    attention_accumulate<R, DW>(acc, sds + warp * R * KT, KT, skv, ldk, KT, lane, D);
                }
            }
        #pragma unroll
            for (int r = 0; r < R; r++) {
                int n = q0 + warp * R + r;
                if (n >= qEnd) continue;
                float *g = dq + ((long long)n * heads + h) * D;
        #pragma unroll
                for (int i = 0; i < DW; i++)
                    if (lane + 32 * i < D) g[lane + 32 * i] = acc[r][i] * scale;
            }
        }

        // dk and dv for a tile of BK = 4·R keys of kv head kvh: for each query head of the group and each
        // tile of QT = 32/LPK queries that may attend the tile (from its first key to the end of the last
        // key's sequence): P = exp(K·Qᵀ·scale − lse), dP = V·dOᵀ, dS = P·(dP − delta); dv += P·dO,
        // dk += dS·Q·scale. Queries and output gradients stream; keys and values stay.
        template <int DW, int LPK, int R>
        __device__ __forceinline__ void attention_backward_key_value(const float *dOut, const float *q, const float *k, const float *v,
                                                                     const float *lse, const float *delta, const int *seqStart,
                                                                     float *dk, float *dv, int tokens, int heads, int kvHeads, int D,
                                                                     float scale) {
            constexpr int QT = 32 / LPK, BK = attention_warps * R;
            const int Dp = attention_padded(D, LPK), ldq = Dp + 4, partLength = Dp / LPK;
            TAILOR_DYNAMIC_SHARED(float, shared);
            float *sk = shared, *sv = sk + BK * Dp, *sq = sv + BK * Dp, *sdo = sq + QT * ldq;
            float *sp = sdo + QT * ldq, *sds = sp + BK * QT, *slse = sds + BK * QT, *sdelta = slse + QT;
            int *slo = reinterpret_cast<int *>(sdelta + QT);
            const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, query = lane % QT, part = lane / QT;
            const int kvh = blockIdx.y, group = heads / kvHeads;
            const int k0 = blockIdx.x * BK, kEnd = min(k0 + BK, tokens);
            const long long kvStride = (long long)kvHeads * D, qStride = (long long)heads * D;
            const long long keysStart = (long long)k0 * kvStride + (long long)kvh * D;
            attention_load_rows(sk, Dp, BK, Dp, k + keysStart, kvStride, kEnd - k0, D);
            attention_load_rows(sv, Dp, BK, Dp, v + keysStart, kvStride, kEnd - k0, D);
            const int warpLo = k0 + warp * R, warpHi = min(warpLo + R, kEnd) - 1;  // this warp's keys (none when warpLo > warpHi)

            float dK[R][DW], dV[R][DW];
        #pragma unroll
            for (int r = 0; r < R; r++)
        #pragma unroll
                for (int i = 0; i < DW; i++) dK[r][i] = dV[r][i] = 0.0f;

            for (int g = 0; g < group; g++) {
                const int h = kvh * group + g;
                for (int j0 = k0; j0 < tokens && max(seqStart[j0], 0) < kEnd; j0 += QT) {
                    const int rows = min(QT, tokens - j0);
                    const long long queriesStart = (long long)j0 * qStride + (long long)h * D;
                    __syncthreads();  // the previous tile is read
                    attention_load_rows(sq, ldq, QT, Dp, q + queriesStart, qStride, rows, D);
                    attention_load_rows(sdo, ldq, QT, Dp, dOut + queriesStart, qStride, rows, D);
                    if ((int)threadIdx.x < QT) {
                        int j = j0 + (int)threadIdx.x;
                        bool present = j < tokens;
                        slse[threadIdx.x] = present ? lse[(long long)j * heads + h] : 0.0f;
                        sdelta[threadIdx.x] = present ? delta[(long long)j * heads + h] : 0.0f;
                        slo[threadIdx.x] = present ? max(seqStart[j], 0) : tokens;
                    }
                    __syncthreads();
                    if (warpLo <= warpHi && j0 + QT - 1 >= warpLo) {  // warp-uniform: some query of the tile comes after some key
                        float s[R], dp[R];
                        attention_dots<R, LPK>(s, sk + warp * R * Dp + part * partLength, Dp, sq + query * ldq + part * partLength, partLength);
                        attention_dots<R, LPK>(dp, sv + warp * R * Dp + part * partLength, Dp, sdo + query * ldq + part * partLength, partLength);
                        const int j = j0 + query, jLo = slo[query];
                        const float jLse = slse[query], jDelta = sdelta[query];
        #pragma unroll
                        for (int r = 0; r < R; r++) {
                            const int c = warpLo + r;
                            float p = c <= warpHi && j < tokens && jLo <= c && c <= j ? expf(s[r] * scale - jLse) : 0.0f;
                            if (part == 0) {
                                sp[(warp * R + r) * QT + query] = p;
                                sds[(warp * R + r) * QT + query] = p * (dp[r] - jDelta);
                            }
                        }
                        __syncwarp();
                        attention_accumulate<R, DW>(dV, sp + warp * R * QT, QT, sdo, ldq, QT, lane, D);
                        attention_accumulate<R, DW>(dK, sds + warp * R * QT, QT, sq, ldq, QT, lane, D);
                    }
                }
            }
        #pragma unroll
            for (int r = 0; r < R; r++) {
                const int c = warpLo + r;
                if (c > warpHi) continue;
                float *gk = dk + (long long)c * kvStride + (long long)kvh * D, *gv = dv + (long long)c * kvStride + (long long)kvh * D;
        #pragma unroll
                for (int i = 0; i < DW; i++) {
                    if (lane + 32 * i < D) {
                        gk[lane + 32 * i] = dK[r][i] * scale;
                        gv[lane + 32 * i] = dV[r][i];
                    }
                }
            }
        }

        """# + AttentionTiling.tilings(.backwardQuery).map(\.wrapper).joined()
            + AttentionTiling.tilings(.backwardKeyValue).map(\.wrapper).joined())

    /// Attention of query rows over a KV cache (CPUReference.attentionDecode), flash-decoding
    /// style: a block per (row, head, split of the cache positions); its warps take 32 positions
    /// at a time (a lane per position) with an online softmax each, then merge. With one split the
    /// block writes the output row; with more, it writes (max, sum, unnormalised row) to a scratch
    /// buffer that `tailor_attention_decode_combine_f32` merges. A slot outside 0..<slotCount (check
    /// 1) or a length outside 1...capacity (check 2) is reported and the row written as zeros.
    public static let decode = KernelSource(
        name: "decode", entries: ["tailor_attention_decode_f32", "tailor_attention_decode_combine_f32"],
        code: attentionHelpers + #"""
        constexpr int decode_dims_per_lane = 8;  // head dimension up to 256

        // q, out [N, heads, D]; kCache, vCache [slotCount, capacity, kvHeads, D]; grid (N, heads, splits).
        // Split z covers positions z·chunk ..< (z + 1)·chunk. partial [N, heads, splits, D + 2]: max, sum, row.
        extern "C" __global__ void __launch_bounds__(32 * attention_warps) tailor_attention_decode_f32(
                const float *q, const float *kCache, const float *vCache, const int *slots, const int *lengths, float *out,
                float *partial, int heads, int kvHeads, int D, int slotCount, int capacity, int chunk, int vectorKeys,
                float scale, int *error) {
            const int n = blockIdx.x, h = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
            const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
            const int Dp = attention_padded(D, 1);
            TAILOR_DYNAMIC_SHARED(float, shared);
            float *sq = shared, *sacc = sq + Dp, *sm = sacc + attention_warps * Dp, *sl = sm + attention_warps;

            const int slot = slots[n], length = lengths[n];
            const bool badSlot = slot < 0 || slot >= slotCount, badLength = length < 1 || length > capacity;
            if ((badSlot || badLength) && threadIdx.x == 0 && h == 0 && split == 0)
                report_error(error, badSlot ? 1 : 2, n, badSlot ? slot : length);
            const int begin = split * chunk, end = badSlot || badLength ? begin : min(length, begin + chunk);
            for (int d = threadIdx.x; d < Dp; d += blockDim.x) sq[d] = d < D ? q[((long long)n * heads + h) * D + d] : 0.0f;
            __syncthreads();

            const int kvh = h / (heads / kvHeads);
            const long long stride = (long long)kvHeads * D;
            const long long rowsStart = ((long long)(badSlot ? 0 : slot) * capacity * kvHeads + kvh) * D;
            const float *keys = kCache + rowsStart, *values = vCache + rowsStart;
            float m = -TAILOR_INFINITY, l = 0.0f, acc[decode_dims_per_lane];
        #pragma unroll
            for (int i = 0; i < decode_dims_per_lane; i++) acc[i] = 0.0f;
            for (int k0 = begin + warp * 32; k0 < end; k0 += attention_warps * 32) {  // warp-uniform
                const int j = k0 + lane;
                float score = -TAILOR_INFINITY;
                if (j < end) {
                    const float *row = keys + (long long)j * stride;
                    float dot = 0.0f;
                    if (vectorKeys) {
                        for (int d = 0; d < D; d += 4) dot = attention_dot4(attention_load4(row + d), attention_load4(sq + d), dot);
                    } else {
                        for (int d = 0; d < D; d++) dot += row[d] * sq[d];
                    }
                    score = dot * scale;
                }
                const float mNew = fmaxf(m, warp_max(score));  // finite: position k0 < end
                const float p = expf(score - mNew), alpha = expf(m - mNew);
                l = l * alpha + p;
                m = mNew;
        #pragma unroll
                for (int i = 0; i < decode_dims_per_lane; i++) acc[i] *= alpha;
                const int count = min(32, end - k0);
                for (int t = 0; t < 32; t++) {
                    const float pt = __shfl_sync(0xffffffffu, p, t);
                    if (t < count) {
                        const float *row = values + (long long)(k0 + t) * stride;
        #pragma unroll
                        for (int i = 0; i < decode_dims_per_lane; i++)
                            if (lane + 32 * i < D) acc[i] += pt * row[lane + 32 * i];
                    }
                }
            }
            l = warp_sum(l);
        #pragma unroll
            for (int i = 0; i < decode_dims_per_lane; i++)
                if (lane + 32 * i < D) sacc[warp * Dp + lane + 32 * i] = acc[i];
            if (lane == 0) { sm[warp] = m; sl[warp] = l; }
            __syncthreads();

            float best = -TAILOR_INFINITY;
            for (int w = 0; w < attention_warps; w++) best = fmaxf(best, sm[w]);
            const float base = best == -TAILOR_INFINITY ? 0.0f : best;
            float weight[attention_warps], total = 0.0f;
            for (int w = 0; w < attention_warps; w++) { weight[w] = expf(sm[w] - base); total += sl[w] * weight[w]; }
            float *slotOut = partial + (((long long)n * heads + h) * splits + split) * (D + 2);
            for (int d = threadIdx.x; d < D; d += blockDim.x) {
                float o = 0.0f;
                for (int w = 0; w < attention_warps; w++) o += sacc[w * Dp + d] * weight[w];
                if (splits == 1) out[((long long)n * heads + h) * D + d] = total > 0.0f ? o / total : 0.0f;
                else slotOut[2 + d] = o;
            }
            if (splits > 1 && threadIdx.x == 0) { slotOut[0] = best; slotOut[1] = total; }
        }

        // Merges the splits of one (row, head) per block: out = Σ_z e^(m_z − M)·row_z / Σ_z e^(m_z − M)·l_z.
        extern "C" __global__ void tailor_attention_decode_combine_f32(const float *partial, float *out, int D, int splits) {
            const float *parts = partial + (long long)blockIdx.x * splits * (D + 2);
            float best = -TAILOR_INFINITY;
            for (int z = 0; z < splits; z++) best = fmaxf(best, parts[(long long)z * (D + 2)]);
            const float base = best == -TAILOR_INFINITY ? 0.0f : best;
            float total = 0.0f;
            for (int z = 0; z < splits; z++) total += parts[(long long)z * (D + 2) + 1] * expf(parts[(long long)z * (D + 2)] - base);
            for (int d = threadIdx.x; d < D; d += blockDim.x) {
                float o = 0.0f;
                for (int z = 0; z < splits; z++) o += parts[(long long)z * (D + 2) + 2 + d] * expf(parts[(long long)z * (D + 2)] - base);
                out[(long long)blockIdx.x * D + d] = total > 0.0f ? o / total : 0.0f;
            }
        }

        """#)

    /// Device helpers the three attention sources share.
    static let attentionHelpers = #"""
    constexpr int attention_warps = \#(AttentionTiling.warps);  // AttentionTiling.warps: blocks are 32·attention_warps threads

    struct alignas(16) attention_float4 { float x, y, z, w; };

    __device__ __forceinline__ attention_float4 attention_load4(const float *p) { return *reinterpret_cast<const attention_float4 *>(p); }

    __device__ __forceinline__ float attention_dot4(attention_float4 a, attention_float4 b, float acc) {
        acc += a.x * b.x;
        acc += a.y * b.y;
        acc += a.z * b.z;
        acc += a.w * b.w;
        return acc;
    }

    __device__ __forceinline__ float attention_component(const attention_float4 &v, int c) {
        return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w;
    }

    // The head dimension rounded up so that each of `parts` parts of a row is a whole number of float4s.
    __device__ __forceinline__ int attention_padded(int D, int parts) { return (D + 4 * parts - 1) / (4 * parts) * (4 * parts); }

    // The keys a tile of query rows q0 ..< qEnd attends: blockLo, the first key of any of its rows;
    // for this warp's R rows, lo[r] ... hi[r] (lo > hi: a row past the tile's end) and their union
    // warpLo ... warpHi (warpHi < warpLo when the warp has no row).
    template <int R>
    __device__ __forceinline__ void attention_query_ranges(const int *seqStart, int q0, int qEnd, int warp, int tokens, int &blockLo,
                                                           int (&lo)[R], int (&hi)[R], int &warpLo, int &warpHi) {
        blockLo = qEnd;
        for (int n = q0; n < qEnd; n++) blockLo = min(blockLo, max(seqStart[n], 0));
        warpLo = tokens;
        warpHi = -1;
    #pragma unroll
        for (int r = 0; r < R; r++) {
            int n = q0 + warp * R + r;
            lo[r] = n < qEnd ? max(seqStart[n], 0) : 1;
            hi[r] = n < qEnd ? n : 0;
            if (lo[r] <= hi[r]) { warpLo = min(warpLo, lo[r]); warpHi = max(warpHi, hi[r]); }
        }
    }

    // Fills `rows` rows of `width` floats of the shared tile (row stride `stride`): row r < valid from
    // source + r·sourceStride, zeros in columns ≥ D and rows ≥ valid (so padding never holds NaN or
    // stale data). A warp per row, lanes along it: coalesced. Every thread takes part; the caller syncs.
    __device__ __forceinline__ void attention_load_rows(float *tile, int stride, int rows, int width, const float *source,
                                                        long long sourceStride, int valid, int D) {
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        for (int r = warp; r < rows; r += attention_warps)
            for (int c = lane; c < width; c += 32) tile[r * stride + c] = r < valid && c < D ? source[(long long)r * sourceStride + c] : 0.0f;
    }

    // s[r] = Σ_d rows[r·rowStride + d]·other[d] over this lane's part (`length` floats), then summed
    // over the LPK lanes (lane, lane ± 32/LPK, ...) that hold the other parts. Every lane of the warp calls it.
    template <int R, int LPK>
    __device__ __forceinline__ void attention_dots(float (&s)[R], const float *rows, int rowStride, const float *other, int length) {
    #pragma unroll
        for (int r = 0; r < R; r++) s[r] = 0.0f;
        for (int d = 0; d < length; d += 4) {
            const attention_float4 o = attention_load4(other + d);
    #pragma unroll
            for (int r = 0; r < R; r++) s[r] = attention_dot4(attention_load4(rows + r * rowStride + d), o, s[r]);
        }
    #pragma unroll
        for (int r = 0; r < R; r++)
    #pragma unroll
            for (int offset = 16; offset >= 32 / LPK; offset >>= 1) s[r] += __shfl_xor_sync(0xffffffffu, s[r], offset);
    }

    // acc[r][i] += Σ_{j < count} weights[r·weightStride + j]·tile[j·stride + lane + 32·i] for the dims
    // lane + 32·i < D this lane owns. count is a multiple of 4; the weights are 16-byte aligned.
    template <int R, int DW>
    __device__ __forceinline__ void attention_accumulate(float (&acc)[R][DW], const float *weights, int weightStride, const float *tile,
                                                         int stride, int count, int lane, int D) {
        for (int j = 0; j < count; j += 4) {
            attention_float4 w[R];
    #pragma unroll
            for (int r = 0; r < R; r++) w[r] = attention_load4(weights + r * weightStride + j);
    #pragma unroll
            for (int c = 0; c < 4; c++) {
    #pragma unroll
                for (int i = 0; i < DW; i++) {
                    if (lane + 32 * i < D) {
                        const float x = tile[(j + c) * stride + lane + 32 * i];
    #pragma unroll
                        for (int r = 0; r < R; r++) acc[r][i] += attention_component(w[r], c) * x;
                    }
                }
            }
        }
    }

    """#
}
