// What the CPU and the operating system let Tailor use, read with cpuid and xgetbv.
//
// A feature counts only when the CPU has it and the OS saves its register state (XCR0): AVX
// needs the YMM state, AVX-512 the opmask/ZMM state, AMX the tile state, which Linux enables
// per process only after arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
#ifndef TAILOR_CPU_H
#define TAILOR_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int sse42, avx, avx2, fma, f16c;
    int avx512f, avx512bw, avx512dq, avx512vl, avx512_vnni, avx512_bf16;
    int amx_tile, amx_bf16, amx_int8;
    /// AMX tile data may be used by this process (Linux granted the permission).
    int amx_permitted;
    /// cpuid vendor, brand string, family, model and stepping (family/model with extended bits).
    char vendor[13];
    char brand[49];
    int family, model, stepping;
    /// 1 on x86-64 (cpuid answered); 0 elsewhere, where every x86 feature reads 0.
    int is_x86;
} TailorCPUFeatures;

/// The features, read once. Asks Linux for AMX tile permission the first time when the CPU
/// has AMX (a no-op elsewhere), so `amx_permitted` says whether AMX code may run.
const TailorCPUFeatures *tailor_cpu_features(void);

#ifdef __cplusplus
}
#endif
#endif
