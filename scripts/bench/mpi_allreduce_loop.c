// The peer of `tailor bench allreduce`: a plain blocking MPI_Allreduce (in place, floats, sum) loop
// on the same sizes, printing the slowest rank's median per size, algbw and busbw as nccl-tests do.
// Debian ships no OSU benchmarks; scripts/bench/bench_mpi.sh builds this with mpicc.
//   mpicc -O2 -o /tmp/mpi_allreduce_loop scripts/bench/mpi_allreduce_loop.c
//   mpirun -np 2 /tmp/mpi_allreduce_loop 20 1024 16384 262144 4194304 16777216
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int iterations = argc > 1 ? atoi(argv[1]) : 20, warmup = 3;
    if (rank == 0) printf("floats        bytes    median µs   algbw GB/s   busbw GB/s\n");
    for (int arg = 2; arg < argc; arg++) {
        long floats = atol(argv[arg]);
        float *buffer = malloc(sizeof(float) * (size_t)floats);
        double *times = malloc(sizeof(double) * (size_t)iterations);
        for (int i = 0; i < warmup + iterations; i++) {
            for (long j = 0; j < floats; j++) buffer[j] = (float)(rank + 1);
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, buffer, (int)floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            if (i >= warmup) times[i - warmup] = MPI_Wtime() - start;
        }
        float expected = (float)(size * (size + 1) / 2);
        for (long j = 0; j < floats; j++)
            if (buffer[j] != expected) { fprintf(stderr, "rank %d: wrong sum\n", rank); MPI_Abort(MPI_COMM_WORLD, 1); }
        qsort(times, (size_t)iterations, sizeof(double), compare);
        double median = times[iterations / 2], slowest;
        MPI_Allreduce(&median, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        double bytes = 4.0 * (double)floats, algbw = bytes / slowest / 1e9;
        if (rank == 0) printf("%-10ld %10.0f %12.1f %12.3f %12.3f\n", floats, bytes, slowest * 1e6, algbw, algbw * 2 * (size - 1) / size);
        free(buffer);
        free(times);
    }
    MPI_Finalize();
    return 0;
}
