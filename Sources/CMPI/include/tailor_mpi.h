#ifndef TAILOR_MPI_H
#define TAILOR_MPI_H

#include <stdint.h>

// Open MPI's libmpi, loaded with dlopen at run time so a build without MPI still starts (and a
// process not started by mpirun never touches it). Only Open MPI's ABI is spoken: its handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of globals the library exports.
//
// Every collective is started non-blocking and then polled until it completes or `timeout_s`
// seconds pass, so a rank that died or hangs is reported instead of hanging the others.
// Return values: 0 done, TAILOR_MPI_TIMEOUT when the deadline passed (the operation is still
// pending: abort the job), or MPI's error code (`tailor_mpi_error_string` names it).

#define TAILOR_MPI_TIMEOUT (-1)

/// 1 when `path` loaded and has every entry point used here; 0 otherwise (`tailor_mpi_error` says why).
int tailor_mpi_load(const char *path);
/// Why the last load or call failed.
const char *tailor_mpi_error(void);
/// The library's own version text (MPI_Get_library_version), after a load.
const char *tailor_mpi_library_version(void);

/// MPI_Init_thread(MPI_THREAD_SERIALIZED) on MPI_COMM_WORLD; sets this process's rank and the world size.
int tailor_mpi_init(int *rank, int *size);
int tailor_mpi_finalize(void);
/// MPI_Abort on MPI_COMM_WORLD: ends every rank of the job.
void tailor_mpi_abort(int code);
/// MPI_Error_string of `code`.
const char *tailor_mpi_error_string(int code);

/// In-place sums over every rank.
int tailor_mpi_allreduce_sum_f32(float *data, int64_t count, double timeout_s);
int tailor_mpi_allreduce_sum_f64(double *data, int64_t count, double timeout_s);
/// In-place sum over every rank into `root`'s `data` (the others' are left as they were).
int tailor_mpi_reduce_sum_f32(float *data, int64_t count, int root, double timeout_s);
/// `send_count` bytes from each rank, gathered in rank order: `recv` holds Σ counts bytes, rank r's at `displs[r]`.
int tailor_mpi_allgatherv_bytes(const void *send, int send_count, void *recv, const int *counts, const int *displs, double timeout_s);
/// One int64 from each rank, in rank order (`recv` has one slot per rank).
int tailor_mpi_allgather_i64(int64_t value, int64_t *recv, double timeout_s);
/// `count` bytes from `root` to every rank.
int tailor_mpi_bcast_bytes(void *data, int64_t count, int root, double timeout_s);
int tailor_mpi_barrier(double timeout_s);

/// On rank 0 after a timeout: the ranks (up to `capacity`) that never reached the collective now
/// waited for, numbered `*sequence` among the run's collectives. Returns their count; -1 on other ranks.
int tailor_mpi_missing_ranks(int *ranks, int capacity, int64_t *sequence);

#endif
