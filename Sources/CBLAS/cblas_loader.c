#include "tailor_cblas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm_ptr = NULL;
static set_threads_fn set_threads_ptr = NULL;
static get_threads_fn get_threads_ptr = NULL;
static char error_text[1024] = "";
static char library_path[512] = "";

static void load_once(void) {
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
    for (size_t i = 0; i < count; i++) {
        if (candidates[i] == NULL || candidates[i][0] == 0) continue;
        void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) continue;
        sgemm_fn fn = (sgemm_fn)dlsym(handle, "cblas_sgemm");
        if (fn == NULL) {
            dlclose(handle);
            continue;
        }
        sgemm_ptr = fn;
        set_threads_ptr = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
        get_threads_ptr = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
        snprintf(library_path, sizeof(library_path), "%s", candidates[i]);
        return;
    }
    snprintf(error_text, sizeof(error_text),
             "OpenBLAS was not found (tried $TAILOR_BLAS_LIBRARY, libopenblas.so.0, libopenblas.so, "
             "/usr/lib/<arch>-linux-gnu/libopenblas.so.0). Install it with "
             "`apt-get install -y libopenblas-dev` or set TAILOR_BLAS_LIBRARY to its path.");
}

int tailor_cblas_load(void) {
    pthread_once(&once, load_once);
    return sgemm_ptr != NULL;
}

const char *tailor_cblas_error(void) { return error_text; }

const char *tailor_cblas_library(void) { return library_path; }

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
