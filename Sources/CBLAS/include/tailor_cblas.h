// OpenBLAS entry points, resolved with dlopen at run time.
//
// The library is not linked: a binary that never runs a CPU GEMM (a CUDA-only run on a machine
// without OpenBLAS) still starts. `tailor_cblas_load` tries the usual sonames and reports what
// was looked for when none is found. Before loading, the kernel family is chosen from cpuid
// (tailor_cpu.h) and handed to OpenBLAS as OPENBLAS_CORETYPE; TAILOR_BLAS_CORETYPE forces one
// (a core name, or `library` for the library's own detection).
#ifndef TAILOR_CBLAS_H
#define TAILOR_CBLAS_H

#ifdef __cplusplus
extern "C" {
#endif

enum TailorCblasOrder { TailorCblasRowMajor = 101, TailorCblasColMajor = 102 };
enum TailorCblasTranspose { TailorCblasNoTrans = 111, TailorCblasTrans = 112 };

/// Loads OpenBLAS once. Returns 1 when the GEMM entry point is available, 0 otherwise.
/// On failure `tailor_cblas_error()` describes what was tried.
int tailor_cblas_load(void);

/// A static description of the last load failure (empty when loaded).
const char *tailor_cblas_error(void);

/// The library path that was loaded (empty when none).
const char *tailor_cblas_library(void);

/// openblas_get_config() of the loaded library (empty when it lacks it).
const char *tailor_cblas_config(void);

/// openblas_get_corename(): the kernel family the library runs.
const char *tailor_cblas_core(void);

/// The core Tailor asked for (OPENBLAS_CORETYPE while loading; empty when the library chose).
const char *tailor_cblas_chosen_core(void);

/// Why that core: the cpuid features, TAILOR_BLAS_CORETYPE, or the library's own detection.
const char *tailor_cblas_core_reason(void);

/// An OPENBLAS_CORETYPE from the environment that Tailor's choice replaced (empty when none).
const char *tailor_cblas_replaced_core(void);

/// cblas_sgemm. Precondition: tailor_cblas_load() returned 1.
void tailor_cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc);

/// openblas_set_num_threads when the library has it; a no-op otherwise.
void tailor_cblas_set_num_threads(int n);

/// openblas_get_num_threads, or 1 when the library lacks it.
int tailor_cblas_get_num_threads(void);

/// 1 when the loaded library also carries the LAPACK routines below (OpenBLAS builds do; a
/// BLAS-only library does not), 0 otherwise.
int tailor_lapack_available(void);

/// The first LAPACK symbol the loaded library lacks (empty when all are there).
const char *tailor_lapack_missing(void);

/// LAPACK sgesdd (singular value decomposition, divide and conquer), column-major.
/// Precondition: tailor_lapack_available() returned 1. lwork = -1 asks for the workspace size in work[0].
void tailor_lapack_sgesdd(const char *jobz, int m, int n, float *a, int lda, float *s, float *u, int ldu, float *vt,
                          int ldvt, float *work, int lwork, int *iwork, int *info);

/// LAPACK sgeqrf (Householder QR: R above the diagonal, the reflectors below it and in tau), column-major.
void tailor_lapack_sgeqrf(int m, int n, float *a, int lda, float *tau, float *work, int lwork, int *info);

/// LAPACK sorgqr (the first n columns of Q from sgeqrf's k reflectors), column-major.
void tailor_lapack_sorgqr(int m, int n, int k, float *a, int lda, const float *tau, float *work, int lwork, int *info);

#ifdef __cplusplus
}
#endif
#endif
