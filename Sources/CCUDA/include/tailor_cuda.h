// NVRTC entry points, resolved with dlopen at run time (DESIGN.md: CCUDA).
//
// Nothing CUDA is linked: the package builds and its tests run on machines without CUDA, and a
// missing library is reported, not a crash. The CUDA driver and cuBLAS join this file when the
// CUDA backend runs kernels.
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

#ifdef __cplusplus
}
#endif

#endif
