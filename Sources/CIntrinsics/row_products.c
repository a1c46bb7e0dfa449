// Row-invariant bf16 products (see include/tailor_row_products.h). Every output c[i, j] is one
// accumulator register: VDPBF16PS over k in steps of 32 in order (a masked step with zeros for the
// rest), then one fixed horizontal sum. The blocking below only interleaves independent
// accumulators, so no output depends on how many rows or columns share a call.
#include "tailor_row_products.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TAILOR_ROWS_TARGET "avx512f,avx512bw,avx512bf16"
#define TAILOR_ROWS_MAX 4  // rows and columns of one register block
// Output columns whose weight rows stay in L2 while every block of rows passes (16, 32 and 128 measured
// within noise of 64 at 8–64 rows: scripts/bench/bench_row_products.sh).
#define TAILOR_ROWS_PANEL 64

int tailor_row_products_x86(void) { return 1; }

// The 16 lane sums of a 4 × 4 block at once, every one by the same tree (lane l + l+8, then + l+4,
// + l+2, + l+1): sums[col * 4 + r] = Σ lanes of acc[r][col]. Padding accumulators are zeros, so a
// partial block's outputs are summed exactly as a full block's.
static inline __attribute__((always_inline, target(TAILOR_ROWS_TARGET))) void row_block_sums(
    __m512 acc[TAILOR_ROWS_MAX][TAILOR_ROWS_MAX], float *sums) {
    __m512 a[16], halves[8], quarters[4], pairs[2];
    for (int i = 0; i < 16; i++) a[i] = acc[i / 4][i % 4];
    // [a 8 partials | b 8 partials]: the 256-bit halves of a and b added.
    for (int i = 0; i < 8; i++) {
        const __m512 low = _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44);   // a.q0 a.q1 b.q0 b.q1
        const __m512 high = _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE);  // a.q2 a.q3 b.q2 b.q3
        halves[i] = _mm512_add_ps(low, high);
    }
    // [a 4 | b 4 | c 4 | d 4]: the 128-bit quarters of each half added.
    for (int i = 0; i < 4; i++) {
        const __m512 even = _mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], 0x88);  // q0 q2 of each
        const __m512 odd = _mm512_shuffle_f32x4(halves[2 * i], halves[2 * i + 1], 0xDD);   // q1 q3 of each
        quarters[i] = _mm512_add_ps(even, odd);
    }
    // Per 128-bit lane j: [acc j 2 partials | acc 4+j 2 partials], then one sum each of 4 accumulators.
    for (int i = 0; i < 2; i++) {
        const __m512 front = _mm512_shuffle_ps(quarters[2 * i], quarters[2 * i + 1], 0x44);  // e0 e1 | f0 f1
        const __m512 back = _mm512_shuffle_ps(quarters[2 * i], quarters[2 * i + 1], 0xEE);   // e2 e3 | f2 f3
        pairs[i] = _mm512_add_ps(front, back);
    }
    const __m512 even = _mm512_shuffle_ps(pairs[0], pairs[1], 0x88);  // e0 f0 | g0 h0 per lane
    const __m512 odd = _mm512_shuffle_ps(pairs[0], pairs[1], 0xDD);   // e1 f1 | g1 h1 per lane
    _mm512_storeu_ps(sums, _mm512_add_ps(even, odd));
}

// c[r, col] for r < ROWS, col < COLS: x rows `ldx` apart, weight rows `ldw` apart, c rows `ldc` apart.
static inline __attribute__((always_inline, target(TAILOR_ROWS_TARGET))) void row_block_bf16(
    const uint16_t *x, long ldx, const uint16_t *w, long ldw, long k, const int ROWS, const int COLS, float *c,
    long ldc, float alpha, float beta) {
    __m512 acc[TAILOR_ROWS_MAX][TAILOR_ROWS_MAX];
    for (int r = 0; r < ROWS; r++)
        for (int col = 0; col < COLS; col++) acc[r][col] = _mm512_setzero_ps();
    long kk = 0;
    for (; kk + 32 <= k; kk += 32) {
        __m512i wv[TAILOR_ROWS_MAX];
        for (int col = 0; col < COLS; col++) {
            wv[col] = _mm512_loadu_si512((const void *)(w + col * ldw + kk));
            // The hardware prefetchers stop at page boundaries; a hint 2 KB ahead keeps decoding's
            // single pass over the weights streaming (as CPUFast.dotBF16 does).
            if (ROWS == 1) _mm_prefetch((const char *)(w + col * ldw + kk + 1024), _MM_HINT_T0);
        }
        for (int r = 0; r < ROWS; r++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512((const void *)(x + r * ldx + kk));
            for (int col = 0; col < COLS; col++) acc[r][col] = _mm512_dpbf16_ps(acc[r][col], xv, (__m512bh)wv[col]);
        }
    }
    if (kk < k) {
        const __mmask32 mask = (__mmask32)((1ull << (k - kk)) - 1);
        __m512i wv[TAILOR_ROWS_MAX];
        for (int col = 0; col < COLS; col++) wv[col] = _mm512_maskz_loadu_epi16(mask, (const void *)(w + col * ldw + kk));
        for (int r = 0; r < ROWS; r++) {
            __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(mask, (const void *)(x + r * ldx + kk));
            for (int col = 0; col < COLS; col++) acc[r][col] = _mm512_dpbf16_ps(acc[r][col], xv, (__m512bh)wv[col]);
        }
    }
    for (int r = 0; r < ROWS; r++)
        for (int col = COLS; col < TAILOR_ROWS_MAX; col++) acc[r][col] = _mm512_setzero_ps();
    for (int r = ROWS; r < TAILOR_ROWS_MAX; r++)
        for (int col = 0; col < TAILOR_ROWS_MAX; col++) acc[r][col] = _mm512_setzero_ps();
    float sums[TAILOR_ROWS_MAX * TAILOR_ROWS_MAX];
    row_block_sums(acc, sums);
    for (int r = 0; r < ROWS; r++)
        for (int col = 0; col < COLS; col++) {
            const float sum = sums[col * TAILOR_ROWS_MAX + r];
            float *out = c + r * ldc + col;
            *out = beta == 0 ? alpha * sum : alpha * sum + beta * *out;
        }
}

#define TAILOR_ROWS_CASE(R, C)                                                  \
    case (R - 1) * TAILOR_ROWS_MAX + (C - 1):                                   \
        row_block_bf16(xr, k, wc, k, k, R, C, cc, ldc, alpha, beta);            \
        break;
#define TAILOR_ROWS_CASES(R) TAILOR_ROWS_CASE(R, 1) TAILOR_ROWS_CASE(R, 2) TAILOR_ROWS_CASE(R, 3) TAILOR_ROWS_CASE(R, 4)

__attribute__((target(TAILOR_ROWS_TARGET))) void tailor_row_products_bf16(const uint16_t *x, long m, long k,
                                                                          const uint16_t *w, long n_begin,
                                                                          long n_end, float *c, long ldc,
                                                                          float alpha, float beta) {
    for (long j0 = n_begin; j0 < n_end; j0 += TAILOR_ROWS_PANEL) {
        const long j1 = j0 + TAILOR_ROWS_PANEL < n_end ? j0 + TAILOR_ROWS_PANEL : n_end;
        for (long i = 0; i < m; i += TAILOR_ROWS_MAX) {
            const int rows = m - i < TAILOR_ROWS_MAX ? (int)(m - i) : TAILOR_ROWS_MAX;
            const uint16_t *xr = x + i * k;
            for (long j = j0; j < j1; j += TAILOR_ROWS_MAX) {
                const int cols = j1 - j < TAILOR_ROWS_MAX ? (int)(j1 - j) : TAILOR_ROWS_MAX;
                const uint16_t *wc = w + j * k;
                float *cc = c + i * ldc + j;
                switch ((rows - 1) * TAILOR_ROWS_MAX + (cols - 1)) {
                    TAILOR_ROWS_CASES(1)
                    TAILOR_ROWS_CASES(2)
                    TAILOR_ROWS_CASES(3)
                    TAILOR_ROWS_CASES(4)
                }
            }
        }
    }
}

#else

int tailor_row_products_x86(void) { return 0; }

void tailor_row_products_bf16(const uint16_t *x, long m, long k, const uint16_t *w, long n_begin, long n_end,
                              float *c, long ldc, float alpha, float beta) {
    (void)x, (void)m, (void)k, (void)w, (void)n_begin, (void)n_end, (void)c, (void)ldc, (void)alpha, (void)beta;
}

#endif
