// NVRTC, CUDA driver and cuBLAS entry points, resolved with dlopen at run time (DESIGN.md: CCUDA).
//
// Nothing CUDA is linked: the package builds and its tests run on machines without CUDA, and a
// missing library is reported, not a crash. Functions return the library's result code (0 is
// success); tailor_cu_result_string / tailor_cublas_status_string describe the others.
#ifndef TAILOR_CUDA_H
#define TAILOR_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libnvrtc from `path`, or from the usual sonames when `path` is NULL. Returns 1 when the
/// entry points are available, 0 otherwise (then tailor_nvrtc_error() says what was tried).
int tailor_nvrtc_load(const char *path);

/// A description of the last load failure (empty when loaded).
const char *tailor_nvrtc_error(void);

/// nvrtcVersion. Precondition: tailor_nvrtc_load returned 1.
int tailor_nvrtc_version(int *major, int *minor);

/// Compiles the CUDA C `source` (program `name`) with `options` to PTX.
/// Returns 0 and sets *ptx to a malloc'd NUL-terminated string on success; otherwise returns
/// NVRTC's non-zero result and sets *log to its malloc'd compile log (or NULL). The caller frees
/// both with free(). Precondition: tailor_nvrtc_load returned 1.
int tailor_nvrtc_compile(const char *source, const char *name, const char *const *options, int option_count,
                         char **ptx, char **log);

/// nvrtcGetErrorString of a result.
const char *tailor_nvrtc_result_string(int result);

// MARK: CUDA driver (libcuda.so.1) and cuBLAS (libcublas.so.13)

#include <stddef.h>

/// Loads the driver library at `path`. Returns 1 when every entry point resolved, 0 otherwise
/// (then tailor_cuda_error() says what was missing).
int tailor_cuda_driver_load(const char *path);
/// Loads cuBLAS from `path` (1 on success, as above).
int tailor_cublas_load(const char *path);
/// The last load failure of the driver or cuBLAS.
const char *tailor_cuda_error(void);

int tailor_cu_init(void);
int tailor_cu_driver_version(int *version);
int tailor_cu_device_count(int *count);
int tailor_cu_device_get(int *device, int ordinal);
int tailor_cu_device_name(char *name, int length, int device);
int tailor_cu_device_attribute(int *value, int attribute, int device);
int tailor_cu_primary_context(void **context, int device);
int tailor_cu_set_context(void *context);
/// A non-blocking stream.
int tailor_cu_stream_create(void **stream);
int tailor_cu_stream_synchronize(void *stream);
int tailor_cu_mem_alloc(unsigned long long *address, size_t bytes);
int tailor_cu_mem_free(unsigned long long address);
int tailor_cu_mem_info(size_t *free_bytes, size_t *total_bytes);
/// Queued on `stream`; the host buffer may be reused on return (pageable memory is staged).
int tailor_cu_copy_to_device(unsigned long long dst, const void *src, size_t bytes, void *stream);
/// Queued on `stream`, then waits for the stream.
int tailor_cu_copy_to_host(void *dst, unsigned long long src, size_t bytes, void *stream);
int tailor_cu_copy_on_device(unsigned long long dst, unsigned long long src, size_t bytes, void *stream);
int tailor_cu_set_bytes(unsigned long long dst, unsigned char value, size_t bytes, void *stream);
/// Loads a PTX (NUL-terminated) or cubin image.
int tailor_cu_module_load(void **module, const char *image);
int tailor_cu_module_function(void **function, void *module, const char *name);
int tailor_cu_launch(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                     unsigned shared_bytes, void *stream, void **arguments);
/// Lets `function` use `bytes` of dynamic shared memory (needed above 48 KiB).
int tailor_cu_allow_shared_bytes(void *function, int bytes);
const char *tailor_cu_result_string(int result);

/// cublasCreate, bound to `stream`.
int tailor_cublas_create(void **handle, void *stream);
/// cublasGemmStridedBatchedEx (column-major) with f32 C and CUBLAS_COMPUTE_32F. Data type codes
/// are cudaDataType's: 0 CUDA_R_32F, 2 CUDA_R_16F, 14 CUDA_R_16BF. Operation codes: 0 N, 1 T.
int tailor_cublas_gemm(void *handle, int transa, int transb, int m, int n, int k, const float *alpha, const void *a, int atype,
                       int lda, long long stride_a, const void *b, int btype, int ldb, long long stride_b, const float *beta, void *c,
                       int ldc, long long stride_c, int batch);
const char *tailor_cublas_status_string(int status);

/// NVML (libnvidia-ml.so.1), for the GPU's utilisation: dlopen and nvmlInit_v2; 1 on success, else 0
/// with the reason in tailor_nvml_error().
int tailor_nvml_load(const char *path);
const char *tailor_nvml_error(void);
/// nvmlDeviceGetHandleByPciBusId_v2 ("00000000:01:00.0"); NVML's result code (0 success).
int tailor_nvml_device_by_pci(const char *bus_id, void **device);
/// nvmlDeviceGetUtilizationRates: percent of the last sample period the GPU ran a kernel, and read or wrote memory.
int tailor_nvml_utilization(void *device, unsigned *gpu_percent, unsigned *memory_percent);
const char *tailor_nvml_result_string(int result);

#ifdef __cplusplus
}
#endif

#endif
