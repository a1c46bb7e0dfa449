// oneDNN's bf16 matrix product, resolved with dlopen at run time.
//
// bf16 products on the CPU (bf16 inputs, f32 accumulation) run on oneDNN's matmul, which picks
// AMX tiles or AVX512-BF16 from cpuid itself. The library (Debian's libdnnl2, the oneDNN 2.x C
// API) is not linked: without it, or on a CPU whose bf16 matmul oneDNN cannot run fast, Tailor
// multiplies in fp32 and says why. TAILOR_DNNL_LIBRARY names another libdnnl.so.2.
#ifndef TAILOR_DNNL_H
#define TAILOR_DNNL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads oneDNN once and creates a probe bf16 matmul. Returns 1 when bf16 products can run on
/// one of oneDNN's AMX / AVX512-BF16 kernels, 0 otherwise (`tailor_dnnl_error()` says why).
int tailor_dnnl_load(void);

/// Why bf16 products are unavailable (empty when they are available).
const char *tailor_dnnl_error(void);

/// The library path loaded (empty when none) and its version ("2.6.3").
const char *tailor_dnnl_library(void);
const char *tailor_dnnl_version(void);

/// oneDNN's name for the kernel of the probe product ("brg:avx512_core_bf16", "brg:avx512_core_amx").
const char *tailor_dnnl_kernel(void);

/// c[m, n] = alpha · op(a) · op(b) + beta · c, row-major; a and b bf16 (raw 16-bit patterns), c f32.
/// op(a) is [m, k] (a stored [k, m] with leading dimension lda when transA), op(b) is [k, n]
/// (b stored [n, k] when transB). Runs on the calling thread only; threads may call it at once
/// (Tailor's workers split a product into pieces). Returns 0 on success, or oneDNN's status code.
/// Precondition: tailor_dnnl_load() returned 1.
int tailor_dnnl_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const uint16_t *a, int lda,
                          const uint16_t *b, int ldb, float beta, float *c, int ldc);

#ifdef __cplusplus
}
#endif
#endif
