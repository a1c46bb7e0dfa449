// Decode attention's products per (token, kv head), one copy per instruction set (see
// include/tailor_decode_attention.h). The two bodies are written once, in TAILOR_DECODE_KERNELS, over a
// vector type and its intrinsics; each instance is an always-inline function of a constant group size, so
// the compiler keeps one accumulator register per query head, and a switch picks the instance.
#include "tailor_decode_attention.h"

#if defined(__x86_64__)
#include <immintrin.h>

int tailor_decode_attention_x86(void) { return 1; }

#define TAILOR_GROUP_SWITCH(call)                                                                  \
    switch (group) {                                                                               \
    case 1: call(1); break;                                                                        \
    case 2: call(2); break;                                                                        \
    case 3: call(3); break;                                                                        \
    case 4: call(4); break;                                                                        \
    case 5: call(5); break;                                                                        \
    case 6: call(6); break;                                                                        \
    case 7: call(7); break;                                                                        \
    default: call(8); break;                                                                       \
    }

// SUFFIX names the pair (tailor_decode_scores_SUFFIX, tailor_decode_values_SUFFIX); TARGET the function
// target; VEC the register type of WIDTH floats; ZERO, LOAD, FMA, SET1, STORE and SUM its intrinsics.
#define TAILOR_DECODE_KERNELS(SUFFIX, TARGET, VEC, WIDTH, ZERO, LOAD, FMA, SET1, STORE, SUM)                  \
    static inline __attribute__((always_inline, target(TARGET))) void scores_##SUFFIX(                      \
        const float *q, const float *keys, long row_stride, long length, const int group, int d, float scale, \
        float *scores) {                                                                                     \
        for (long j = 0; j < length; j++) {                                                                  \
            const float *k = keys + j * row_stride;                                                          \
            VEC acc[TAILOR_DECODE_MAX_GROUP];                                                                \
            for (int g = 0; g < group; g++) acc[g] = ZERO();                                                 \
            for (int c = 0; c < d; c += WIDTH) {                                                             \
                VEC key = LOAD(k + c);                                                                       \
                for (int g = 0; g < group; g++) acc[g] = FMA(LOAD(q + g * d + c), key, acc[g]);              \
            }                                                                                                \
            for (int g = 0; g < group; g++) scores[g * length + j] = scale * SUM(acc[g]);                    \
        }                                                                                                    \
    }                                                                                                        \
    static inline __attribute__((always_inline, target(TARGET))) void values_##SUFFIX(                      \
        const float *probs, const float *values, long row_stride, long length, const int group, int d,      \
        float *out) {                                                                                        \
        for (int c = 0; c < d; c += WIDTH) {                                                                 \
            VEC acc[TAILOR_DECODE_MAX_GROUP];                                                                \
            for (int g = 0; g < group; g++) acc[g] = ZERO();                                                 \
            for (long j = 0; j < length; j++) {                                                              \
                VEC value = LOAD(values + j * row_stride + c);                                               \
                for (int g = 0; g < group; g++) acc[g] = FMA(SET1(probs[g * length + j]), value, acc[g]);    \
            }                                                                                                \
            for (int g = 0; g < group; g++) STORE(out + g * d + c, acc[g]);                                  \
        }                                                                                                    \
    }                                                                                                        \
    __attribute__((target(TARGET))) void tailor_decode_scores_##SUFFIX(const float *q, const float *keys,   \
                                                                       long row_stride, long length,         \
                                                                       int group, int d, float scale,        \
                                                                       float *scores) {                      \
        TAILOR_GROUP_SWITCH(TAILOR_SCORES_CALL_##SUFFIX)                                                     \
    }                                                                                                        \
    __attribute__((target(TARGET))) void tailor_decode_values_##SUFFIX(const float *probs,                  \
                                                                       const float *values, long row_stride, \
                                                                       long length, int group, int d,        \
                                                                       float *out) {                         \
        TAILOR_GROUP_SWITCH(TAILOR_VALUES_CALL_##SUFFIX)                                                     \
    }

// AVX-512 (F): 16 floats a register.
#define TAILOR_SCORES_CALL_avx512(G) scores_avx512(q, keys, row_stride, length, G, d, scale, scores)
#define TAILOR_VALUES_CALL_avx512(G) values_avx512(probs, values, row_stride, length, G, d, out)
TAILOR_DECODE_KERNELS(avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_fmadd_ps,
                      _mm512_set1_ps, _mm512_storeu_ps, _mm512_reduce_add_ps)

// AVX2 + FMA: 8 floats a register.
static inline __attribute__((always_inline, target("avx2,fma"))) float tailor_sum256(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}
#define TAILOR_SCORES_CALL_avx2(G) scores_avx2(q, keys, row_stride, length, G, d, scale, scores)
#define TAILOR_VALUES_CALL_avx2(G) values_avx2(probs, values, row_stride, length, G, d, out)
TAILOR_DECODE_KERNELS(avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps,
                      _mm256_set1_ps, _mm256_storeu_ps, tailor_sum256)

#else

int tailor_decode_attention_x86(void) { return 0; }

#endif
