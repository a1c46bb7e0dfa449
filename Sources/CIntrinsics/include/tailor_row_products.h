// Row-invariant bf16 products for inference: c[i, j] = alpha · Σ_k x[i, k]·w[j, k] + beta · c[i, j]
// with x and w in bf16 and f32 accumulation (AVX512-BF16's VDPBF16PS), each output summed in one
// fixed order whatever the number of rows or columns in the call, so a row's result does not depend
// on the other rows of a batch (batched serving gives each request the numbers it gets alone).
// Compiled with AVX512-BF16 as a function target; call only where cpuid reports AVX512-BF16 (TailorTensor's
// CPUFeatures) and tailor_row_products_x86() is 1.
//
// Shapes: x [m, k] (rows contiguous), w [n, k] (rows contiguous), c rows `ldc` floats apart; the call
// writes columns [n_begin, n_end) of every row, so callers split the columns across threads.
#ifndef TAILOR_ROW_PRODUCTS_H
#define TAILOR_ROW_PRODUCTS_H

#include <stdint.h>

/// 1 when this build holds the x86-64 kernel below (a no-op elsewhere).
int tailor_row_products_x86(void);

void tailor_row_products_bf16(const uint16_t *x, long m, long k, const uint16_t *w, long n_begin, long n_end,
                              float *c, long ldc, float alpha, float beta);

#endif
