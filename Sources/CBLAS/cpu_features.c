#include "tailor_cpu.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int request_amx_permission(void) {
#if defined(__linux__)
    // ARCH_GET_XCOMP_PERM 0x1022, ARCH_REQ_XCOMP_PERM 0x1023, XFEATURE_XTILEDATA 18.
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) return 0;
    unsigned long long bits = 0;
    if (syscall(SYS_arch_prctl, 0x1022, &bits) != 0) return 0;
    return (bits >> 18) & 1;
#else
    return 0;
#endif
}
#endif

static TailorCPUFeatures features;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void) {
    memset(&features, 0, sizeof(features));
#if defined(__x86_64__) || defined(__i386__)
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    features.is_x86 = 1;
    unsigned int max_leaf = a;
    memcpy(features.vendor + 0, &b, 4);
    memcpy(features.vendor + 4, &d, 4);
    memcpy(features.vendor + 8, &c, 4);
    features.vendor[12] = 0;

    __get_cpuid(1, &a, &b, &c, &d);
    int base_family = (a >> 8) & 0xF, base_model = (a >> 4) & 0xF;
    features.family = base_family == 0xF ? base_family + ((a >> 20) & 0xFF) : base_family;
    features.model = (base_family == 0x6 || base_family == 0xF) ? base_model | (((a >> 16) & 0xF) << 4) : base_model;
    features.stepping = a & 0xF;
    features.sse42 = (c >> 20) & 1;
    int osxsave = (c >> 27) & 1;
    int cpu_avx = (c >> 28) & 1;
    int cpu_fma = (c >> 12) & 1;
    int cpu_f16c = (c >> 29) & 1;

    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int ymm_state = (xcr0 & 0x6) == 0x6;             // SSE + AVX state
    int zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0; // opmask, ZMM_Hi256, Hi16_ZMM
    int tile_state = (xcr0 & 0x60000) == 0x60000;    // XTILECFG, XTILEDATA

    features.avx = cpu_avx && ymm_state;
    features.fma = cpu_fma && ymm_state;
    features.f16c = cpu_f16c && ymm_state;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        features.avx2 = ((b >> 5) & 1) && ymm_state;
        features.avx512f = ((b >> 16) & 1) && zmm_state;
        features.avx512dq = ((b >> 17) & 1) && zmm_state;
        features.avx512bw = ((b >> 30) & 1) && zmm_state;
        features.avx512vl = ((b >> 31) & 1) && zmm_state;
        features.avx512_vnni = ((c >> 11) & 1) && zmm_state;
        int amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
        unsigned int sub_leaves = a;
        if (sub_leaves >= 1) {
            unsigned int a1, b1, c1, d1;
            __cpuid_count(7, 1, a1, b1, c1, d1);
            features.avx512_bf16 = ((a1 >> 5) & 1) && zmm_state;
        }
        features.amx_tile = amx_tile && tile_state;
        features.amx_bf16 = amx_bf16 && tile_state;
        features.amx_int8 = amx_int8 && tile_state;
        if (features.amx_tile) features.amx_permitted = request_amx_permission();
    }

    __get_cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        unsigned int words[12];
        for (unsigned int leaf = 0; leaf < 3; leaf++) {
            __get_cpuid(0x80000002 + leaf, &words[leaf * 4], &words[leaf * 4 + 1], &words[leaf * 4 + 2], &words[leaf * 4 + 3]);
        }
        memcpy(features.brand, words, 48);
        features.brand[48] = 0;
    }
#endif
}

const TailorCPUFeatures *tailor_cpu_features(void) {
    pthread_once(&once, detect);
    return &features;
}
