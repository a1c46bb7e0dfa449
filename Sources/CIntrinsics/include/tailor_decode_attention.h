// Decode attention's two products for one (token, kv head): the scores of the query heads that share
// the kv head over its cached keys, and their probability-weighted sum of the cached values. Each
// cached key and value row is loaded once for the whole group of query heads. One copy per
// instruction set, compiled with that set as a function target (the rest of the binary stays
// baseline x86-64); the caller picks one from cpuid (TailorTensor's CPUFeatures). The softmax
// between the two runs on the caller's side.
//
// Shapes: q [group, d] (contiguous), keys and values: `length` rows of d floats, `row_stride` floats
// apart; scores and probs [group, length]; out [group, d]. d must be a multiple of 16 (AVX-512) or 8
// (AVX2); group at most TAILOR_DECODE_MAX_GROUP.
#ifndef TAILOR_DECODE_ATTENTION_H
#define TAILOR_DECODE_ATTENTION_H

#define TAILOR_DECODE_MAX_GROUP 8

/// 1 when this build holds the x86-64 kernels below (they are absent on other architectures).
int tailor_decode_attention_x86(void);

/// scores[g, j] = scale · q[g] · keys[j].
void tailor_decode_scores_avx512(const float *q, const float *keys, long row_stride, long length, int group, int d,
                                 float scale, float *scores);
/// out[g] = Σ_j probs[g, j] · values[j].
void tailor_decode_values_avx512(const float *probs, const float *values, long row_stride, long length, int group,
                                 int d, float *out);
void tailor_decode_scores_avx2(const float *q, const float *keys, long row_stride, long length, int group, int d,
                               float scale, float *scores);
void tailor_decode_values_avx2(const float *probs, const float *values, long row_stride, long length, int group,
                               int d, float *out);

#endif
