// One thread: tailor_row_products_bf16 (the batch-invariant row kernel) against oneDNN's bf16 matmul
// (tailor_dnnl_gemm_bf16, the kernel training uses) on SmolLM2-135M's product shapes. Built and run by
// scripts/bench/bench_row_products.sh.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tailor_cpu.h"
#include "tailor_dnnl.h"
#include "tailor_row_products.h"

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Nearest-even bf16 of f (finite inputs only).
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static void fill(uint16_t *p, long count) {
    for (long i = 0; i < count; i++) p[i] = to_bf16((float)rand() / (float)RAND_MAX - 0.5f);
}

int main(void) {
    const TailorCPUFeatures *cpu = tailor_cpu_features();
    if (!tailor_row_products_x86() || !cpu->avx512_bf16 || !cpu->avx512bw) {
        printf("this CPU has no AVX512-BF16: the row kernel does not run here\n");
        return 1;
    }
    if (tailor_dnnl_load() != 1) {
        printf("oneDNN unavailable: %s\n", tailor_dnnl_error());
        return 1;
    }
    printf("oneDNN kernel %s; one thread; best of 5 rounds\n", tailor_dnnl_kernel());
    const long shapes[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};  // (n, k): q/o, gate/up, down, lm_head
    const int rows[] = {1, 4, 8, 16, 32, 64, 256, 1024};
    for (int s = 0; s < 4; s++) {
        const long n = shapes[s][0], k = shapes[s][1];
        uint16_t *w = malloc(n * k * 2);
        fill(w, n * k);
        for (int r = 0; r < 8; r++) {
            const int m = rows[r];
            if (n * m > 49152L * 64) continue;
            uint16_t *x = malloc(m * k * 2);
            fill(x, m * k);
            float *mine = calloc(m * n, 4), *theirs = calloc(m * n, 4);
            const double flops = 2.0 * m * n * k;
            const int reps = (int)fmax(3, 2e8 / flops);
            double best_mine = 1e9, best_theirs = 1e9;
            for (int round = 0; round < 5; round++) {
                double t0 = seconds();
                for (int i = 0; i < reps; i++) tailor_row_products_bf16(x, m, k, w, 0, n, mine, n, 1, 0);
                best_mine = fmin(best_mine, (seconds() - t0) / reps);
                t0 = seconds();
                for (int i = 0; i < reps; i++) tailor_dnnl_gemm_bf16(0, 1, m, (int)n, (int)k, 1, x, (int)k, w, (int)k, 0, theirs, (int)n);
                best_theirs = fmin(best_theirs, (seconds() - t0) / reps);
            }
            double largest = 0;
            for (long i = 0; i < m * n; i++) largest = fmax(largest, fabs((double)mine[i] - theirs[i]));
            printf("n %5ld k %4ld m %4d   row kernel %8.1f us %6.1f GFLOP/s   oneDNN %8.1f us %6.1f GFLOP/s   "
                   "time ratio %.2f   largest difference %.1e\n",
                   n, k, m, best_mine * 1e6, flops / best_mine / 1e9, best_theirs * 1e6, flops / best_theirs / 1e9,
                   best_mine / best_theirs, largest);
            free(x), free(mine), free(theirs);
        }
        free(w);
    }
    return 0;
}
