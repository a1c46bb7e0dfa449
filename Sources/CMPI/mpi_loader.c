#include "tailor_mpi.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <time.h>

// Open MPI's handles are pointers to globals of libmpi (mpi.h's OMPI_PREDEFINED_GLOBAL), requests
// are pointers, MPI_STATUS_IGNORE is NULL and MPI_THREAD_SERIALIZED is 2. The entry points are
// declared here by their standard C signatures with those handle types.
typedef void *handle_t;
#define THREAD_SERIALIZED 2
#define IN_PLACE ((void *)1)

static struct {
    void *library;
    int (*init_thread)(int *, char ***, int, int *);
    int (*initialized)(int *);
    int (*finalize)(void);
    int (*abort)(handle_t, int);
    int (*comm_rank)(handle_t, int *);
    int (*comm_size)(handle_t, int *);
    int (*error_string)(int, char *, int *);
    int (*library_version)(char *, int *);
    int (*iallreduce)(const void *, void *, int, handle_t, handle_t, handle_t, handle_t *);
    int (*iallgatherv)(const void *, int, handle_t, void *, const int *, const int *, handle_t, handle_t, handle_t *);
    int (*iallgather)(const void *, int, handle_t, void *, int, handle_t, handle_t, handle_t *);
    int (*ibcast)(void *, int, handle_t, int, handle_t, handle_t *);
    int (*ibarrier)(handle_t, handle_t *);
    int (*ireduce)(const void *, void *, int, handle_t, handle_t, int, handle_t, handle_t *);
    int (*test)(handle_t *, int *, void *);
    int (*isend)(const void *, int, handle_t, int, int, handle_t, handle_t *);
    int (*irecv)(void *, int, handle_t, int, int, handle_t, handle_t *);
    int (*cancel)(handle_t *);
    int (*wait)(handle_t *, void *);
    handle_t comm_world, type_float, type_double, type_byte, type_int64, op_sum;
} mpi;

// Arrivals: before each collective every rank sends rank 0 the collective's number (a small
// eager message, tag ARRIVAL_TAG), and rank 0 keeps the last number each rank sent; so when a
// collective times out, rank 0 names the ranks that never reached it.
#define ARRIVAL_TAG 0x7a11
#define SEND_SLOTS 64
static struct {
    int rank, size;
    int64_t sequence;
    // rank 0: one posted receive per rank and the last number each sent
    handle_t *receives;
    int64_t *incoming, *last;
    // other ranks: sends in flight
    handle_t sends[SEND_SLOTS];
    int64_t outgoing[SEND_SLOTS];
} arrivals;

static char mpi_error[1024];
static char mpi_version[512];
static char mpi_code_text[512];

const char *tailor_mpi_error(void) { return mpi_error; }
const char *tailor_mpi_library_version(void) { return mpi_version; }

#define MPI_RESOLVE(field, name)                                                                \
    do {                                                                                        \
        *(void **)&mpi.field = dlsym(mpi.library, name);                                        \
        if (!mpi.field) {                                                                       \
            snprintf(mpi_error, sizeof mpi_error, "%s lacks %s (Tailor speaks Open MPI's ABI)", \
                     path, name);                                                               \
            dlclose(mpi.library);                                                               \
            mpi.library = NULL;                                                                 \
            return 0;                                                                           \
        }                                                                                       \
    } while (0)

int tailor_mpi_load(const char *path) {
    if (mpi.library) return 1;
    // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols through the global scope.
    if (!(mpi.library = dlopen(path, RTLD_NOW | RTLD_GLOBAL))) {
        snprintf(mpi_error, sizeof mpi_error, "cannot load %s: %s", path, dlerror());
        return 0;
    }
    MPI_RESOLVE(init_thread, "MPI_Init_thread");
    MPI_RESOLVE(initialized, "MPI_Initialized");
    MPI_RESOLVE(finalize, "MPI_Finalize");
    MPI_RESOLVE(abort, "MPI_Abort");
    MPI_RESOLVE(comm_rank, "MPI_Comm_rank");
    MPI_RESOLVE(comm_size, "MPI_Comm_size");
    MPI_RESOLVE(error_string, "MPI_Error_string");
    MPI_RESOLVE(library_version, "MPI_Get_library_version");
    MPI_RESOLVE(iallreduce, "MPI_Iallreduce");
    MPI_RESOLVE(iallgatherv, "MPI_Iallgatherv");
    MPI_RESOLVE(iallgather, "MPI_Iallgather");
    MPI_RESOLVE(ibcast, "MPI_Ibcast");
    MPI_RESOLVE(ibarrier, "MPI_Ibarrier");
    MPI_RESOLVE(ireduce, "MPI_Ireduce");
    MPI_RESOLVE(test, "MPI_Test");
    MPI_RESOLVE(isend, "MPI_Isend");
    MPI_RESOLVE(irecv, "MPI_Irecv");
    MPI_RESOLVE(cancel, "MPI_Cancel");
    MPI_RESOLVE(wait, "MPI_Wait");
    MPI_RESOLVE(comm_world, "ompi_mpi_comm_world");
    MPI_RESOLVE(type_float, "ompi_mpi_float");
    MPI_RESOLVE(type_double, "ompi_mpi_double");
    MPI_RESOLVE(type_byte, "ompi_mpi_byte");
    MPI_RESOLVE(type_int64, "ompi_mpi_int64_t");
    MPI_RESOLVE(op_sum, "ompi_mpi_op_sum");
    int length = 0;
    if (mpi.library_version(mpi_version, &length) != 0) snprintf(mpi_version, sizeof mpi_version, "unknown");
    // The text ends with a newline and build details after the first comma; keep the first line.
    char *end = strpbrk(mpi_version, "\n,");
    if (end) *end = 0;
    return 1;
}

const char *tailor_mpi_error_string(int code) {
    int length = 0;
    if (!mpi.library || mpi.error_string(code, mpi_code_text, &length) != 0)
        snprintf(mpi_code_text, sizeof mpi_code_text, "MPI error %d", code);
    return mpi_code_text;
}

int tailor_mpi_init(int *rank, int *size) {
    if (!mpi.library) return -2;
    int done = 0, provided = 0;
    mpi.initialized(&done);
    int result = 0;
    if (!done && (result = mpi.init_thread(NULL, NULL, THREAD_SERIALIZED, &provided)) != 0) return result;
    if ((result = mpi.comm_rank(mpi.comm_world, rank)) != 0) return result;
    if ((result = mpi.comm_size(mpi.comm_world, size)) != 0) return result;
    arrivals.rank = *rank;
    arrivals.size = *size;
    if (*rank == 0 && *size > 1) {
        arrivals.receives = calloc((size_t)*size, sizeof(handle_t));
        arrivals.incoming = calloc((size_t)*size, sizeof(int64_t));
        arrivals.last = calloc((size_t)*size, sizeof(int64_t));
        if (!arrivals.receives || !arrivals.incoming || !arrivals.last) return -4;
        for (int peer = 1; peer < *size; peer++) {
            if ((result = mpi.irecv(&arrivals.incoming[peer], 1, mpi.type_int64, peer, ARRIVAL_TAG, mpi.comm_world, &arrivals.receives[peer])) != 0)
                return result;
        }
    }
    return 0;
}

// Rank 0: takes in every arrival number that has come, re-posting each receive.
static void collect_arrivals(void) {
    if (arrivals.rank != 0 || !arrivals.receives) return;
    for (int peer = 1; peer < arrivals.size; peer++) {
        for (int flag = 1; flag;) {
            flag = 0;
            if (!arrivals.receives[peer] || mpi.test(&arrivals.receives[peer], &flag, NULL) != 0 || !flag) break;
            if (arrivals.incoming[peer] > arrivals.last[peer]) arrivals.last[peer] = arrivals.incoming[peer];
            arrivals.receives[peer] = NULL;
            if (mpi.irecv(&arrivals.incoming[peer], 1, mpi.type_int64, peer, ARRIVAL_TAG, mpi.comm_world, &arrivals.receives[peer]) != 0)
                arrivals.receives[peer] = NULL;
        }
    }
}

// Every collective starts here: its number goes to rank 0 (or, on rank 0, the others' are collected).
static void arrive(void) {
    arrivals.sequence++;
    if (arrivals.size < 2) return;
    if (arrivals.rank == 0) {
        collect_arrivals();
        return;
    }
    for (int slot = 0; slot < SEND_SLOTS; slot++) {
        int flag = 0;
        if (arrivals.sends[slot] && mpi.test(&arrivals.sends[slot], &flag, NULL) == 0 && flag) arrivals.sends[slot] = NULL;
    }
    for (int slot = 0; slot < SEND_SLOTS; slot++) {
        if (arrivals.sends[slot]) continue;
        arrivals.outgoing[slot] = arrivals.sequence;
        if (mpi.isend(&arrivals.outgoing[slot], 1, mpi.type_int64, 0, ARRIVAL_TAG, mpi.comm_world, &arrivals.sends[slot]) != 0)
            arrivals.sends[slot] = NULL;
        return;
    }
    // All slots busy (rank 0 is far behind): this number is skipped; a later one says as much.
}

int tailor_mpi_missing_ranks(int *ranks, int capacity, int64_t *sequence) {
    *sequence = arrivals.sequence;
    if (arrivals.rank != 0 || !arrivals.last) return -1;
    collect_arrivals();
    int count = 0;
    for (int peer = 1; peer < arrivals.size && count < capacity; peer++)
        if (arrivals.last[peer] < arrivals.sequence) ranks[count++] = peer;
    return count;
}

int tailor_mpi_finalize(void) {
    if (!mpi.library) return 0;
    if (arrivals.receives) {
        for (int peer = 1; peer < arrivals.size; peer++) {
            if (!arrivals.receives[peer]) continue;
            mpi.cancel(&arrivals.receives[peer]);
            mpi.wait(&arrivals.receives[peer], NULL);
        }
    }
    for (int slot = 0; slot < SEND_SLOTS; slot++)
        if (arrivals.sends[slot]) mpi.wait(&arrivals.sends[slot], NULL);
    return mpi.finalize();
}

void tailor_mpi_abort(int code) {
    if (mpi.library) mpi.abort(mpi.comm_world, code);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Polls `request` until it completes or the deadline passes. Open MPI moves a non-blocking
// collective only inside MPI calls, so the test runs back to back (yielding the core to any other
// rank on it) for the first second, then every millisecond: a wait that long is another rank's
// slowness, where latency no longer matters.
static int wait_for(handle_t *request, double timeout_s) {
    double start = now_seconds(), deadline = start + timeout_s;
    for (int polls = 0;; polls++) {
        if ((polls & 1023) == 1023) collect_arrivals();
        int flag = 0;
        int result = mpi.test(request, &flag, NULL);
        if (result != 0) return result;
        if (flag) return 0;
        if ((polls & 63) != 63) continue;  // read the clock every 64 tests
        double now = now_seconds();
        if (now > deadline) return TAILOR_MPI_TIMEOUT;
        if (now - start > 1.0) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        } else if (now - start > 1e-3) {
            sched_yield();
        }
    }
}

// MPI counts are ints: long buffers go in pieces of at most 2^30 elements.
#define PIECE (1LL << 30)

static int allreduce_sum(void *data, int64_t count, handle_t type, size_t size, double timeout_s) {
    if (!mpi.library) return -2;
    for (int64_t offset = 0; offset < count; offset += PIECE) {
        int n = (int)(count - offset < PIECE ? count - offset : PIECE);
        handle_t request = NULL;
        arrive();
        int result = mpi.iallreduce(IN_PLACE, (char *)data + (size_t)offset * size, n, type, mpi.op_sum, mpi.comm_world, &request);
        if (result != 0 || (result = wait_for(&request, timeout_s)) != 0) return result;
    }
    return 0;
}

int tailor_mpi_allreduce_sum_f32(float *data, int64_t count, double timeout_s) {
    return allreduce_sum(data, count, mpi.type_float, sizeof(float), timeout_s);
}

int tailor_mpi_allreduce_sum_f64(double *data, int64_t count, double timeout_s) {
    return allreduce_sum(data, count, mpi.type_double, sizeof(double), timeout_s);
}

int tailor_mpi_reduce_sum_f32(float *data, int64_t count, int root, double timeout_s) {
    if (!mpi.library) return -2;
    for (int64_t offset = 0; offset < count; offset += PIECE) {
        int n = (int)(count - offset < PIECE ? count - offset : PIECE);
        handle_t request = NULL;
        float *piece = data + offset;
        arrive();
        int result = arrivals.rank == root
            ? mpi.ireduce(IN_PLACE, piece, n, mpi.type_float, mpi.op_sum, root, mpi.comm_world, &request)
            : mpi.ireduce(piece, NULL, n, mpi.type_float, mpi.op_sum, root, mpi.comm_world, &request);
        if (result != 0 || (result = wait_for(&request, timeout_s)) != 0) return result;
    }
    return 0;
}

int tailor_mpi_allgatherv_bytes(const void *send, int send_count, void *recv, const int *counts, const int *displs, double timeout_s) {
    if (!mpi.library) return -2;
    handle_t request = NULL;
    arrive();
    int result = mpi.iallgatherv(send, send_count, mpi.type_byte, recv, counts, displs, mpi.type_byte, mpi.comm_world, &request);
    return result != 0 ? result : wait_for(&request, timeout_s);
}

int tailor_mpi_allgather_i64(int64_t value, int64_t *recv, double timeout_s) {
    if (!mpi.library) return -2;
    handle_t request = NULL;
    arrive();
    int result = mpi.iallgather(&value, 1, mpi.type_int64, recv, 1, mpi.type_int64, mpi.comm_world, &request);
    return result != 0 ? result : wait_for(&request, timeout_s);
}

int tailor_mpi_bcast_bytes(void *data, int64_t count, int root, double timeout_s) {
    if (!mpi.library) return -2;
    for (int64_t offset = 0; offset < count; offset += PIECE) {
        int n = (int)(count - offset < PIECE ? count - offset : PIECE);
        handle_t request = NULL;
        arrive();
        int result = mpi.ibcast((char *)data + offset, n, mpi.type_byte, root, mpi.comm_world, &request);
        if (result != 0 || (result = wait_for(&request, timeout_s)) != 0) return result;
    }
    return 0;
}

int tailor_mpi_barrier(double timeout_s) {
    if (!mpi.library) return -2;
    handle_t request = NULL;
    arrive();
    int result = mpi.ibarrier(mpi.comm_world, &request);
    return result != 0 ? result : wait_for(&request, timeout_s);
}
