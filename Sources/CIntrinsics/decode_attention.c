// Decode attention's products per (token, kv head), one copy per instruction set (see
// include/tailor_decode_attention.h). Each body is written once as an always-inline function of a
// constant group size, so the compiler keeps one accumulator register per query head; a switch
// picks the instance.
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

// ---- AVX-512 (F): 16 floats a register ----

static inline __attribute__((always_inline, target("avx512f"))) void
scores512(const float *q, const float *keys, long row_stride, long length, const int group, int d, float scale,
          float *scores) {
    for (long j = 0; j < length; j++) {
        const float *k = keys + j * row_stride;
        __m512 acc[TAILOR_DECODE_MAX_GROUP];
        for (int g = 0; g < group; g++) acc[g] = _mm512_setzero_ps();
        for (int c = 0; c < d; c += 16) {
            __m512 key = _mm512_loadu_ps(k + c);
            for (int g = 0; g < group; g++) acc[g] = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * d + c), key, acc[g]);
        }
        for (int g = 0; g < group; g++) scores[g * length + j] = scale * _mm512_reduce_add_ps(acc[g]);
    }
}

static inline __attribute__((always_inline, target("avx512f"))) void
values512(const float *probs, const float *values, long row_stride, long length, const int group, int d, float *out) {
    for (int c = 0; c < d; c += 16) {
        __m512 acc[TAILOR_DECODE_MAX_GROUP];
        for (int g = 0; g < group; g++) acc[g] = _mm512_setzero_ps();
        for (long j = 0; j < length; j++) {
            __m512 value = _mm512_loadu_ps(values + j * row_stride + c);
            for (int g = 0; g < group; g++) acc[g] = _mm512_fmadd_ps(_mm512_set1_ps(probs[g * length + j]), value, acc[g]);
        }
        for (int g = 0; g < group; g++) _mm512_storeu_ps(out + g * d + c, acc[g]);
    }
}

__attribute__((target("avx512f"))) void tailor_decode_scores_avx512(const float *q, const float *keys, long row_stride,
                                                                    long length, int group, int d, float scale,
                                                                    float *scores) {
#define TAILOR_CALL(G) scores512(q, keys, row_stride, length, G, d, scale, scores)
    TAILOR_GROUP_SWITCH(TAILOR_CALL)
#undef TAILOR_CALL
}

__attribute__((target("avx512f"))) void tailor_decode_values_avx512(const float *probs, const float *values,
                                                                    long row_stride, long length, int group, int d,
                                                                    float *out) {
#define TAILOR_CALL(G) values512(probs, values, row_stride, length, G, d, out)
    TAILOR_GROUP_SWITCH(TAILOR_CALL)
#undef TAILOR_CALL
}

// ---- AVX2 + FMA: 8 floats a register ----

static inline __attribute__((always_inline, target("avx2,fma"))) float sum256(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

static inline __attribute__((always_inline, target("avx2,fma"))) void
scores256(const float *q, const float *keys, long row_stride, long length, const int group, int d, float scale,
          float *scores) {
    for (long j = 0; j < length; j++) {
        const float *k = keys + j * row_stride;
        __m256 acc[TAILOR_DECODE_MAX_GROUP];
        for (int g = 0; g < group; g++) acc[g] = _mm256_setzero_ps();
        for (int c = 0; c < d; c += 8) {
            __m256 key = _mm256_loadu_ps(k + c);
            for (int g = 0; g < group; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + g * d + c), key, acc[g]);
        }
        for (int g = 0; g < group; g++) scores[g * length + j] = scale * sum256(acc[g]);
    }
}

static inline __attribute__((always_inline, target("avx2,fma"))) void
values256(const float *probs, const float *values, long row_stride, long length, const int group, int d, float *out) {
    for (int c = 0; c < d; c += 8) {
        __m256 acc[TAILOR_DECODE_MAX_GROUP];
        for (int g = 0; g < group; g++) acc[g] = _mm256_setzero_ps();
        for (long j = 0; j < length; j++) {
            __m256 value = _mm256_loadu_ps(values + j * row_stride + c);
            for (int g = 0; g < group; g++) acc[g] = _mm256_fmadd_ps(_mm256_set1_ps(probs[g * length + j]), value, acc[g]);
        }
        for (int g = 0; g < group; g++) _mm256_storeu_ps(out + g * d + c, acc[g]);
    }
}

__attribute__((target("avx2,fma"))) void tailor_decode_scores_avx2(const float *q, const float *keys, long row_stride,
                                                                   long length, int group, int d, float scale,
                                                                   float *scores) {
#define TAILOR_CALL(G) scores256(q, keys, row_stride, length, G, d, scale, scores)
    TAILOR_GROUP_SWITCH(TAILOR_CALL)
#undef TAILOR_CALL
}

__attribute__((target("avx2,fma"))) void tailor_decode_values_avx2(const float *probs, const float *values,
                                                                   long row_stride, long length, int group, int d,
                                                                   float *out) {
#define TAILOR_CALL(G) values256(probs, values, row_stride, length, G, d, out)
    TAILOR_GROUP_SWITCH(TAILOR_CALL)
#undef TAILOR_CALL
}

#else

int tailor_decode_attention_x86(void) { return 0; }

#endif
