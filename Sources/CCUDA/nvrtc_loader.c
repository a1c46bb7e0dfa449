#include "tailor_cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TailorNvrtcProgram *nvrtc_program;
typedef int (*version_fn)(int *, int *);
typedef int (*create_fn)(nvrtc_program *, const char *, const char *, int, const char *const *, const char *const *);
typedef int (*compile_fn)(nvrtc_program, int, const char *const *);
typedef int (*size_fn)(nvrtc_program, size_t *);
typedef int (*text_fn)(nvrtc_program, char *);
typedef int (*destroy_fn)(nvrtc_program *);
typedef const char *(*error_string_fn)(int);

static void *handle;
static version_fn version_ptr;
static create_fn create_ptr;
static compile_fn compile_ptr;
static size_fn ptx_size_ptr, log_size_ptr;
static text_fn ptx_ptr, log_ptr;
static destroy_fn destroy_ptr;
static error_string_fn error_string_ptr;
static char error_text[1024];

int tailor_nvrtc_load(const char *path) {
    if (handle) return 1;
    const char *names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
    if (path) {
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) snprintf(error_text, sizeof error_text, "cannot load %s: %s", path, dlerror());
    } else {
        for (size_t i = 0; i < sizeof names / sizeof names[0] && !handle; i++) handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!handle) snprintf(error_text, sizeof error_text, "none of libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so is on the library path");
    }
    if (!handle) return 0;
    version_ptr = (version_fn)dlsym(handle, "nvrtcVersion");
    create_ptr = (create_fn)dlsym(handle, "nvrtcCreateProgram");
    compile_ptr = (compile_fn)dlsym(handle, "nvrtcCompileProgram");
    ptx_size_ptr = (size_fn)dlsym(handle, "nvrtcGetPTXSize");
    ptx_ptr = (text_fn)dlsym(handle, "nvrtcGetPTX");
    log_size_ptr = (size_fn)dlsym(handle, "nvrtcGetProgramLogSize");
    log_ptr = (text_fn)dlsym(handle, "nvrtcGetProgramLog");
    destroy_ptr = (destroy_fn)dlsym(handle, "nvrtcDestroyProgram");
    error_string_ptr = (error_string_fn)dlsym(handle, "nvrtcGetErrorString");
    if (!version_ptr || !create_ptr || !compile_ptr || !ptx_size_ptr || !ptx_ptr || !log_size_ptr || !log_ptr ||
        !destroy_ptr || !error_string_ptr) {
        snprintf(error_text, sizeof error_text, "%s lacks NVRTC entry points", path ? path : "libnvrtc");
        dlclose(handle);
        handle = NULL;
        return 0;
    }
    // libnvrtc opens libnvrtc-builtins.so.MAJOR.MINOR by name when it compiles; load it from the
    // same folder first (a pip wheel's folder is not on the library path).
    if (path) {
        int major = 0, minor = 0;
        const char *slash = strrchr(path, '/');
        if (slash && version_ptr(&major, &minor) == 0) {
            char builtins[4096];
            snprintf(builtins, sizeof builtins, "%.*s/libnvrtc-builtins.so.%d.%d", (int)(slash - path), path, major, minor);
            dlopen(builtins, RTLD_NOW | RTLD_GLOBAL);
        }
    }
    error_text[0] = 0;
    return 1;
}

const char *tailor_nvrtc_error(void) { return error_text; }

int tailor_nvrtc_version(int *major, int *minor) { return version_ptr(major, minor); }

const char *tailor_nvrtc_result_string(int result) { return error_string_ptr ? error_string_ptr(result) : "NVRTC not loaded"; }

/// A malloc'd copy of the program's text from `size` and `get`, or NULL.
static char *program_text(nvrtc_program program, size_fn size, text_fn get) {
    size_t n = 0;
    if (size(program, &n) != 0 || n == 0) return NULL;
    char *text = malloc(n + 1);
    if (!text) return NULL;
    if (get(program, text) != 0) { free(text); return NULL; }
    text[n] = 0;
    return text;
}

int tailor_nvrtc_compile(const char *source, const char *name, const char *const *options, int option_count,
                         char **ptx, char **log) {
    *ptx = NULL;
    *log = NULL;
    nvrtc_program program = NULL;
    int result = create_ptr(&program, source, name, 0, NULL, NULL);
    if (result != 0) return result;
    result = compile_ptr(program, option_count, options);
    if (result == 0) {
        *ptx = program_text(program, ptx_size_ptr, ptx_ptr);
        if (!*ptx) result = -1;
    } else {
        *log = program_text(program, log_size_ptr, log_ptr);
    }
    destroy_ptr(&program);
    return result;
}
