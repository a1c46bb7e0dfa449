#include "tailor_cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// Entry points of libcuda.so.1 (the driver API) and libcublas.so.13, by their ABI names
// (the _v2 symbols cuda.h maps the plain names to). Types are spelled as plain C types.
typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_driver_version_fn)(int *);
typedef int (*cu_device_get_count_fn)(int *);
typedef int (*cu_device_get_fn)(int *, int);
typedef int (*cu_device_get_name_fn)(char *, int, int);
typedef int (*cu_device_get_attribute_fn)(int *, int, int);
typedef int (*cu_primary_ctx_retain_fn)(void **, int);
typedef int (*cu_ctx_set_current_fn)(void *);
typedef int (*cu_stream_create_fn)(void **, unsigned);
typedef int (*cu_stream_synchronize_fn)(void *);
typedef int (*cu_mem_alloc_fn)(unsigned long long *, size_t);
typedef int (*cu_mem_free_fn)(unsigned long long);
typedef int (*cu_mem_get_info_fn)(size_t *, size_t *);
typedef int (*cu_memcpy_htod_async_fn)(unsigned long long, const void *, size_t, void *);
typedef int (*cu_memcpy_dtoh_async_fn)(void *, unsigned long long, size_t, void *);
typedef int (*cu_memcpy_dtod_async_fn)(unsigned long long, unsigned long long, size_t, void *);
typedef int (*cu_memset_d8_async_fn)(unsigned long long, unsigned char, size_t, void *);
typedef int (*cu_module_load_data_fn)(void **, const void *);
typedef int (*cu_module_get_function_fn)(void **, void *, const char *);
typedef int (*cu_launch_kernel_fn)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **);
typedef int (*cu_get_error_string_fn)(int, const char **);
typedef int (*cu_func_set_attribute_fn)(void *, int, int);

typedef int (*cublas_create_fn)(void **);
typedef int (*cublas_set_stream_fn)(void *, void *);
typedef int (*cublas_gemm_strided_batched_ex_fn)(void *, int, int, int, int, int, const void *, const void *, int, int, long long,
                                                 const void *, int, int, long long, const void *, void *, int, int, long long, int, int, int);
typedef const char *(*cublas_status_string_fn)(int);

static struct {
    void *handle;
    cu_init_fn init;
    cu_driver_version_fn driver_version;
    cu_device_get_count_fn device_get_count;
    cu_device_get_fn device_get;
    cu_device_get_name_fn device_get_name;
    cu_device_get_attribute_fn device_get_attribute;
    cu_primary_ctx_retain_fn primary_ctx_retain;
    cu_ctx_set_current_fn ctx_set_current;
    cu_stream_create_fn stream_create;
    cu_stream_synchronize_fn stream_synchronize;
    cu_mem_alloc_fn mem_alloc;
    cu_mem_free_fn mem_free;
    cu_mem_get_info_fn mem_get_info;
    cu_memcpy_htod_async_fn memcpy_htod_async;
    cu_memcpy_dtoh_async_fn memcpy_dtoh_async;
    cu_memcpy_dtod_async_fn memcpy_dtod_async;
    cu_memset_d8_async_fn memset_d8_async;
    cu_module_load_data_fn module_load_data;
    cu_module_get_function_fn module_get_function;
    cu_launch_kernel_fn launch_kernel;
    cu_get_error_string_fn get_error_string;
    cu_func_set_attribute_fn func_set_attribute;
} cu;

static struct {
    void *handle;
    cublas_create_fn create;
    cublas_set_stream_fn set_stream;
    cublas_gemm_strided_batched_ex_fn gemm;
    cublas_status_string_fn status_string;
} blas;

static char error_text[2048];

const char *tailor_cuda_error(void) { return error_text; }

#define RESOLVE(table, field, name)                                                          \
    do {                                                                                     \
        *(void **)&table.field = dlsym(table.handle, name);                                  \
        if (!table.field) {                                                                  \
            snprintf(error_text, sizeof error_text, "%s lacks the entry point %s", path, name); \
            dlclose(table.handle);                                                           \
            table.handle = NULL;                                                             \
            return 0;                                                                        \
        }                                                                                    \
    } while (0)

// dlopen, saying why in error_text when it fails.
static void *open_library(const char *path) {
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) snprintf(error_text, sizeof error_text, "cannot load %s: %s", path, dlerror());
    return handle;
}

int tailor_cuda_driver_load(const char *path) {
    if (cu.handle) return 1;
    if (!(cu.handle = open_library(path))) return 0;
    RESOLVE(cu, init, "cuInit");
    RESOLVE(cu, driver_version, "cuDriverGetVersion");
    RESOLVE(cu, device_get_count, "cuDeviceGetCount");
    RESOLVE(cu, device_get, "cuDeviceGet");
    RESOLVE(cu, device_get_name, "cuDeviceGetName");
    RESOLVE(cu, device_get_attribute, "cuDeviceGetAttribute");
    RESOLVE(cu, primary_ctx_retain, "cuDevicePrimaryCtxRetain");
    RESOLVE(cu, ctx_set_current, "cuCtxSetCurrent");
    RESOLVE(cu, stream_create, "cuStreamCreate");
    RESOLVE(cu, stream_synchronize, "cuStreamSynchronize");
    RESOLVE(cu, mem_alloc, "cuMemAlloc_v2");
    RESOLVE(cu, mem_free, "cuMemFree_v2");
    RESOLVE(cu, mem_get_info, "cuMemGetInfo_v2");
    RESOLVE(cu, memcpy_htod_async, "cuMemcpyHtoDAsync_v2");
    RESOLVE(cu, memcpy_dtoh_async, "cuMemcpyDtoHAsync_v2");
    RESOLVE(cu, memcpy_dtod_async, "cuMemcpyDtoDAsync_v2");
    RESOLVE(cu, memset_d8_async, "cuMemsetD8Async");
    RESOLVE(cu, module_load_data, "cuModuleLoadData");
    RESOLVE(cu, module_get_function, "cuModuleGetFunction");
    RESOLVE(cu, launch_kernel, "cuLaunchKernel");
    RESOLVE(cu, get_error_string, "cuGetErrorString");
    RESOLVE(cu, func_set_attribute, "cuFuncSetAttribute");
    return 1;
}

int tailor_cublas_load(const char *path) {
    if (blas.handle) return 1;
    if (!(blas.handle = open_library(path))) return 0;
    RESOLVE(blas, create, "cublasCreate_v2");
    RESOLVE(blas, set_stream, "cublasSetStream_v2");
    RESOLVE(blas, gemm, "cublasGemmStridedBatchedEx");
    RESOLVE(blas, status_string, "cublasGetStatusString");
    return 1;
}

int tailor_cu_init(void) { return cu.init(0); }
int tailor_cu_driver_version(int *version) { return cu.driver_version(version); }
int tailor_cu_device_count(int *count) { return cu.device_get_count(count); }
int tailor_cu_device_get(int *device, int ordinal) { return cu.device_get(device, ordinal); }
int tailor_cu_device_name(char *name, int length, int device) { return cu.device_get_name(name, length, device); }
int tailor_cu_device_attribute(int *value, int attribute, int device) { return cu.device_get_attribute(value, attribute, device); }
int tailor_cu_primary_context(void **context, int device) { return cu.primary_ctx_retain(context, device); }
int tailor_cu_set_context(void *context) { return cu.ctx_set_current(context); }
int tailor_cu_stream_create(void **stream) { return cu.stream_create(stream, 1 /* CU_STREAM_NON_BLOCKING */); }
int tailor_cu_stream_synchronize(void *stream) { return cu.stream_synchronize(stream); }
int tailor_cu_mem_alloc(unsigned long long *address, size_t bytes) { return cu.mem_alloc(address, bytes); }
int tailor_cu_mem_free(unsigned long long address) { return cu.mem_free(address); }
int tailor_cu_mem_info(size_t *free_bytes, size_t *total_bytes) { return cu.mem_get_info(free_bytes, total_bytes); }
int tailor_cu_copy_to_device(unsigned long long dst, const void *src, size_t bytes, void *stream) {
    return cu.memcpy_htod_async(dst, src, bytes, stream);
}
int tailor_cu_copy_to_host(void *dst, unsigned long long src, size_t bytes, void *stream) {
    int result = cu.memcpy_dtoh_async(dst, src, bytes, stream);
    return result ? result : cu.stream_synchronize(stream);
}
int tailor_cu_copy_on_device(unsigned long long dst, unsigned long long src, size_t bytes, void *stream) {
    return cu.memcpy_dtod_async(dst, src, bytes, stream);
}
int tailor_cu_set_bytes(unsigned long long dst, unsigned char value, size_t bytes, void *stream) {
    return cu.memset_d8_async(dst, value, bytes, stream);
}
int tailor_cu_module_load(void **module, const char *image) { return cu.module_load_data(module, image); }
int tailor_cu_module_function(void **function, void *module, const char *name) { return cu.module_get_function(function, module, name); }
int tailor_cu_launch(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                     unsigned shared_bytes, void *stream, void **arguments) {
    return cu.launch_kernel(function, gx, gy, gz, bx, by, bz, shared_bytes, stream, arguments, NULL);
}
int tailor_cu_allow_shared_bytes(void *function, int bytes) {
    return cu.func_set_attribute(function, 8 /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */, bytes);
}
const char *tailor_cu_result_string(int result) {
    const char *text = NULL;
    if (!cu.handle || cu.get_error_string(result, &text) != 0 || !text) return "unknown CUDA driver error";
    return text;
}

int tailor_cublas_create(void **handle, void *stream) {
    int result = blas.create(handle);
    return result ? result : blas.set_stream(*handle, stream);
}
int tailor_cublas_gemm(void *handle, int transa, int transb, int m, int n, int k, const float *alpha, const void *a, int atype,
                       int lda, long long stride_a, const void *b, int btype, int ldb, long long stride_b, const float *beta, void *c,
                       int ldc, long long stride_c, int batch) {
    return blas.gemm(handle, transa, transb, m, n, k, alpha, a, atype, lda, stride_a, b, btype, ldb, stride_b, beta, c,
                     0 /* CUDA_R_32F */, ldc, stride_c, batch, 68 /* CUBLAS_COMPUTE_32F */, -1 /* CUBLAS_GEMM_DEFAULT */);
}
const char *tailor_cublas_status_string(int status) { return blas.handle ? blas.status_string(status) : "cuBLAS not loaded"; }
