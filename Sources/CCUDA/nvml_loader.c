#include "tailor_cuda.h"

#include <dlfcn.h>
#include <stdio.h>

// Entry points of libnvidia-ml.so.1 (NVML, the NVIDIA driver's management library), by their ABI
// names. nvmlUtilization_t is two unsigned ints (gpu, memory), in percent over the driver's sample period.
typedef int (*nvml_init_fn)(void);
typedef int (*nvml_handle_by_pci_fn)(const char *, void **);
typedef int (*nvml_utilization_fn)(void *, unsigned *);
typedef const char *(*nvml_error_string_fn)(int);

static struct {
    void *handle;
    nvml_init_fn init;
    nvml_handle_by_pci_fn handle_by_pci;
    nvml_utilization_fn utilization;
    nvml_error_string_fn error_string;
} nvml;

static char nvml_error[1024];

const char *tailor_nvml_error(void) { return nvml_error; }

#define NVML_RESOLVE(field, name)                                                              \
    do {                                                                                       \
        *(void **)&nvml.field = dlsym(nvml.handle, name);                                      \
        if (!nvml.field) {                                                                     \
            snprintf(nvml_error, sizeof nvml_error, "%s lacks the entry point %s", path, name); \
            dlclose(nvml.handle);                                                              \
            nvml.handle = NULL;                                                                \
            return 0;                                                                          \
        }                                                                                      \
    } while (0)

int tailor_nvml_load(const char *path) {
    if (nvml.handle) return 1;
    if (!(nvml.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        snprintf(nvml_error, sizeof nvml_error, "cannot load %s: %s", path, dlerror());
        return 0;
    }
    NVML_RESOLVE(init, "nvmlInit_v2");
    NVML_RESOLVE(handle_by_pci, "nvmlDeviceGetHandleByPciBusId_v2");
    NVML_RESOLVE(utilization, "nvmlDeviceGetUtilizationRates");
    NVML_RESOLVE(error_string, "nvmlErrorString");
    int result = nvml.init();
    if (result != 0) {
        snprintf(nvml_error, sizeof nvml_error, "nvmlInit_v2: %s (%d)", nvml.error_string(result), result);
        dlclose(nvml.handle);
        nvml.handle = NULL;
        return 0;
    }
    return 1;
}

int tailor_nvml_device_by_pci(const char *bus_id, void **device) {
    if (!nvml.handle) return -1;
    return nvml.handle_by_pci(bus_id, device);
}

int tailor_nvml_utilization(void *device, unsigned *gpu_percent, unsigned *memory_percent) {
    if (!nvml.handle) return -1;
    unsigned rates[2] = {0, 0};
    int result = nvml.utilization(device, rates);
    if (result == 0) {
        *gpu_percent = rates[0];
        *memory_percent = rates[1];
    }
    return result;
}

const char *tailor_nvml_result_string(int result) {
    if (!nvml.handle) return "NVML not loaded";
    const char *text = nvml.error_string(result);
    return text ? text : "unknown NVML error";
}
