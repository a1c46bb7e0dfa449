#include "tailor_cblas.h"
#include "tailor_cpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_text_fn)(void);
// LAPACK (Fortran calling convention: every argument by pointer, column-major matrices).
typedef void (*sgesdd_fn)(const char *, const int *, const int *, float *, const int *, float *, float *,
                          const int *, float *, const int *, float *, const int *, int *, int *);
typedef void (*sgeqrf_fn)(const int *, const int *, float *, const int *, float *, float *, const int *, int *);
typedef void (*sorgqr_fn)(const int *, const int *, const int *, float *, const int *, const float *, float *,
                          const int *, int *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm_ptr = NULL;
static set_threads_fn set_threads_ptr = NULL;
static get_threads_fn get_threads_ptr = NULL;
static sgesdd_fn sgesdd_ptr = NULL;
static sgeqrf_fn sgeqrf_ptr = NULL;
static sorgqr_fn sorgqr_ptr = NULL;
static char error_text[1024] = "";
static char library_path[512] = "";
static char library_config[256] = "";
static char library_core[64] = "";
static char chosen_core[64] = "";
static char core_reason[256] = "";
static char replaced_core[64] = "";

/// The ISA an OpenBLAS core name needs, for refusing a forced core the CPU cannot run.
static int core_needs(const char *core, const TailorCPUFeatures *f, const char **needs) {
    static const char *avx512_cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
    static const char *avx2_cores[] = {"haswell", "zen", "skylake", "excavator"};
    char lower[64];
    size_t n = strlen(core);
    if (n >= sizeof(lower)) n = sizeof(lower) - 1;
    for (size_t i = 0; i < n; i++) lower[i] = (char)(core[i] >= 'A' && core[i] <= 'Z' ? core[i] + 32 : core[i]);
    lower[n] = 0;
    for (size_t i = 0; i < sizeof(avx512_cores) / sizeof(*avx512_cores); i++) {
        if (strcmp(lower, avx512_cores[i]) == 0) {
            *needs = "AVX-512 (F, BW, DQ, VL)";
            return f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl;
        }
    }
    for (size_t i = 0; i < sizeof(avx2_cores) / sizeof(*avx2_cores); i++) {
        if (strcmp(lower, avx2_cores[i]) == 0) {
            *needs = "AVX2 and FMA";
            return f->avx2 && f->fma;
        }
    }
    if (strcmp(lower, "sandybridge") == 0) {
        *needs = "AVX";
        return f->avx;
    }
    *needs = "";
    return 1;
}

/// OpenBLAS's kernel family for what the CPU can do (cpuid), not for a list of models: a
/// library that does not know a new CPU model otherwise falls back to its SSE3 kernels.
static const char *core_for_features(const TailorCPUFeatures *f, const char **why) {
    if (!f->is_x86) {
        *why = "not x86-64: the library's own detection";
        return NULL;
    }
    if (f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl) {
        *why = "cpuid: AVX-512 F/BW/DQ/VL";
        return "SkylakeX";
    }
    if (f->avx2 && f->fma) {
        *why = "cpuid: AVX2 + FMA";
        return "Haswell";
    }
    if (f->avx) {
        *why = "cpuid: AVX";
        return "SandyBridge";
    }
    *why = "cpuid: no AVX: the library's own detection";
    return NULL;
}

static void *resolve(void *handle, const char *name) {
    void *fn = dlsym(handle, name);
    if (fn != NULL) return fn;
    // scipy-openblas (PyPI) prefixes its symbols.
    char prefixed[128];
    snprintf(prefixed, sizeof(prefixed), "scipy_%s", name);
    return dlsym(handle, prefixed);
}

static void load_once(void) {
    const TailorCPUFeatures *features = tailor_cpu_features();
    const char *forced = getenv("TAILOR_BLAS_CORETYPE");
    const char *inherited = getenv("OPENBLAS_CORETYPE");
    const char *why = "";
    const char *core = NULL;
    int use_library_detection = 0;
    if (forced != NULL && forced[0] != 0 && strcmp(forced, "auto") != 0) {
        if (strcmp(forced, "library") == 0) {
            use_library_detection = 1;
            why = "TAILOR_BLAS_CORETYPE=library: the library's own detection (and OPENBLAS_CORETYPE)";
        } else {
            const char *needs = "";
            if (!core_needs(forced, features, &needs)) {
                snprintf(error_text, sizeof(error_text),
                         "TAILOR_BLAS_CORETYPE=%s needs %s, which this CPU (or its OS) does not offer. "
                         "Unset it to let Tailor choose from cpuid, or name a core this CPU runs (tailor doctor lists its features).",
                         forced, needs);
                return;
            }
            core = forced;
            why = "forced by TAILOR_BLAS_CORETYPE";
        }
    } else {
        core = core_for_features(features, &why);
        if (core == NULL) use_library_detection = 1;
    }
    snprintf(core_reason, sizeof(core_reason), "%s", why);
    if (core != NULL) snprintf(chosen_core, sizeof(chosen_core), "%s", core);

    // OpenBLAS reads OPENBLAS_CORETYPE while it loads: set Tailor's choice for that moment only.
    char saved[256] = "";
    int had_saved = inherited != NULL;
    if (had_saved) snprintf(saved, sizeof(saved), "%s", inherited);
    if (!use_library_detection) {
        if (had_saved && strcmp(saved, core) != 0) snprintf(replaced_core, sizeof(replaced_core), "%s", saved);
        setenv("OPENBLAS_CORETYPE", core, 1);
    }

    const char *override = getenv("TAILOR_BLAS_LIBRARY");
    const char *candidates[] = {
        override,
        "libopenblas.so.0",
        "libopenblas.so",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
        "libopenblas.dylib",
        "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    };
    size_t count = sizeof(candidates) / sizeof(candidates[0]);
    for (size_t i = 0; i < count && sgemm_ptr == NULL; i++) {
        if (candidates[i] == NULL || candidates[i][0] == 0) continue;
        void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) continue;
        sgemm_fn fn = (sgemm_fn)resolve(handle, "cblas_sgemm");
        if (fn == NULL) {
            dlclose(handle);
            continue;
        }
        sgemm_ptr = fn;
        set_threads_ptr = (set_threads_fn)resolve(handle, "openblas_set_num_threads");
        get_threads_ptr = (get_threads_fn)resolve(handle, "openblas_get_num_threads");
        sgesdd_ptr = (sgesdd_fn)resolve(handle, "sgesdd_");
        sgeqrf_ptr = (sgeqrf_fn)resolve(handle, "sgeqrf_");
        sorgqr_ptr = (sorgqr_fn)resolve(handle, "sorgqr_");
        get_text_fn config = (get_text_fn)resolve(handle, "openblas_get_config");
        get_text_fn corename = (get_text_fn)resolve(handle, "openblas_get_corename");
        if (config != NULL) snprintf(library_config, sizeof(library_config), "%s", config());
        if (corename != NULL) snprintf(library_core, sizeof(library_core), "%s", corename());
        snprintf(library_path, sizeof(library_path), "%s", candidates[i]);
    }

    if (!use_library_detection) {
        if (had_saved) setenv("OPENBLAS_CORETYPE", saved, 1);
        else unsetenv("OPENBLAS_CORETYPE");
    }
    if (sgemm_ptr == NULL) {
        snprintf(error_text, sizeof(error_text),
                 "OpenBLAS was not found (tried $TAILOR_BLAS_LIBRARY, libopenblas.so.0, libopenblas.so, "
                 "/usr/lib/<arch>-linux-gnu/libopenblas.so.0). Install it with "
                 "`apt-get install -y libopenblas-dev` or set TAILOR_BLAS_LIBRARY to its path.");
    }
}

int tailor_cblas_load(void) {
    pthread_once(&once, load_once);
    return sgemm_ptr != NULL;
}

const char *tailor_cblas_error(void) { return error_text; }

const char *tailor_cblas_library(void) { return library_path; }

const char *tailor_cblas_config(void) { return library_config; }

const char *tailor_cblas_core(void) { return library_core; }

const char *tailor_cblas_chosen_core(void) { return chosen_core; }

const char *tailor_cblas_core_reason(void) { return core_reason; }

const char *tailor_cblas_replaced_core(void) { return replaced_core; }

void tailor_cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c,
                        int ldc) {
    sgemm_ptr(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void tailor_cblas_set_num_threads(int n) {
    if (tailor_cblas_load() && set_threads_ptr != NULL) set_threads_ptr(n);
}

int tailor_cblas_get_num_threads(void) {
    if (tailor_cblas_load() && get_threads_ptr != NULL) return get_threads_ptr();
    return 1;
}

int tailor_lapack_available(void) {
    return tailor_cblas_load() && sgesdd_ptr != NULL && sgeqrf_ptr != NULL && sorgqr_ptr != NULL;
}

const char *tailor_lapack_missing(void) {
    if (!tailor_cblas_load()) return "cblas_sgemm (no OpenBLAS)";
    if (sgesdd_ptr == NULL) return "sgesdd_";
    if (sgeqrf_ptr == NULL) return "sgeqrf_";
    if (sorgqr_ptr == NULL) return "sorgqr_";
    return "";
}

void tailor_lapack_sgesdd(const char *jobz, int m, int n, float *a, int lda, float *s, float *u, int ldu, float *vt,
                          int ldvt, float *work, int lwork, int *iwork, int *info) {
    sgesdd_ptr(jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, info);
}

void tailor_lapack_sgeqrf(int m, int n, float *a, int lda, float *tau, float *work, int lwork, int *info) {
    sgeqrf_ptr(&m, &n, a, &lda, tau, work, &lwork, info);
}

void tailor_lapack_sorgqr(int m, int n, int k, float *a, int lda, const float *tau, float *work, int lwork, int *info) {
    sorgqr_ptr(&m, &n, &k, a, &lda, tau, work, &lwork, info);
}
