#include "tailor_dnnl.h"
#include "tailor_cpu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The few oneDNN 2.x C API types and constants used here (oneapi/dnnl/dnnl_types.h). Descriptors
// are filled by the library; Tailor only passes their addresses, so they live in buffers larger
// than oneDNN 2.x's structs (696 and 2800 bytes in 2.6).
typedef void *dnnl_handle;
typedef int64_t dnnl_dims[12];
typedef struct { int arg; dnnl_handle memory; } dnnl_exec_arg;
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } dnnl_version_info;
typedef struct { _Alignas(64) unsigned char bytes[2048]; } memory_desc_buffer;
typedef struct { _Alignas(64) unsigned char bytes[8192]; } op_desc_buffer;

enum { dnnl_success = 0, dnnl_cpu_engine = 1, dnnl_in_order = 1, dnnl_bf16_type = 2, dnnl_f32_type = 3, dnnl_u8_type = 6,
       dnnl_impl_info_str = 8, dnnl_scratchpad_md = 136, arg_src = 1, arg_dst = 17, arg_weights = 33,
       arg_scratchpad = 80, scratchpad_user = 1 };

typedef int (*engine_create_fn)(dnnl_handle *, int, size_t);
typedef int (*stream_create_fn)(dnnl_handle *, dnnl_handle, unsigned);
typedef int (*stream_wait_fn)(dnnl_handle);
typedef int (*md_init_fn)(void *, int, const int64_t *, int, const int64_t *);
typedef int (*matmul_desc_init_fn)(void *, const void *, const void *, const void *, const void *);
typedef int (*attr_create_fn)(dnnl_handle *);
typedef int (*attr_destroy_fn)(dnnl_handle);
typedef int (*attr_output_scales_fn)(dnnl_handle, int64_t, int, const float *);
typedef int (*post_ops_create_fn)(dnnl_handle *);
typedef int (*post_ops_destroy_fn)(dnnl_handle);
typedef int (*post_ops_sum_fn)(dnnl_handle, float);
typedef int (*attr_post_ops_fn)(dnnl_handle, dnnl_handle);
typedef int (*attr_scratchpad_fn)(dnnl_handle, int);
typedef const void *(*pd_query_md_fn)(dnnl_handle, int, int);
typedef size_t (*md_size_fn)(const void *);
typedef int (*pd_create_fn)(dnnl_handle *, const void *, dnnl_handle, dnnl_handle, dnnl_handle);
typedef int (*pd_destroy_fn)(dnnl_handle);
typedef int (*pd_query_fn)(dnnl_handle, int, int, void *);
typedef int (*primitive_create_fn)(dnnl_handle *, dnnl_handle);
typedef int (*primitive_execute_fn)(dnnl_handle, dnnl_handle, int, const dnnl_exec_arg *);
typedef int (*memory_create_fn)(dnnl_handle *, const void *, dnnl_handle, void *);
typedef int (*memory_destroy_fn)(dnnl_handle);
typedef const dnnl_version_info *(*version_fn)(void);
typedef void (*omp_threads_fn)(int);

static struct {
    engine_create_fn engine_create;
    stream_create_fn stream_create;
    stream_wait_fn stream_wait;
    md_init_fn md_init;
    matmul_desc_init_fn matmul_desc_init;
    attr_create_fn attr_create;
    attr_destroy_fn attr_destroy;
    attr_output_scales_fn attr_output_scales;
    post_ops_create_fn post_ops_create;
    post_ops_destroy_fn post_ops_destroy;
    post_ops_sum_fn post_ops_sum;
    attr_post_ops_fn attr_post_ops;
    attr_scratchpad_fn attr_scratchpad;
    pd_query_md_fn pd_query_md;
    md_size_fn md_size;
    pd_create_fn pd_create;
    pd_destroy_fn pd_destroy;
    pd_query_fn pd_query;
    primitive_create_fn primitive_create;
    primitive_execute_fn primitive_execute;
    pd_destroy_fn primitive_destroy;
    memory_create_fn memory_create;
    memory_destroy_fn memory_destroy;
    version_fn version;
    omp_threads_fn omp_set_num_threads;
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int available = 0;
static dnnl_handle engine = NULL;
static char error_text[1024] = "";
static char library_path[256] = "";
static char version_text[32] = "";
static char kernel_name[128] = "";

/// One product shape with its primitive and memory descriptors. oneDNN's own primitive cache
/// would also serve, but its lookup hashes whole descriptors on every call; decode-sized
/// products are short enough for that to show.
typedef struct {
    int used, transA, transB, m, n, k, lda, ldb, ldc;
    /// Calls executing the primitive now; an entry is evicted only when none is.
    int running;
    float alpha, beta;
    dnnl_handle primitive;
    size_t scratchpad_bytes;
    memory_desc_buffer a, b, c, scratchpad;
} cache_entry;

enum { cache_size = 128 };
static cache_entry cache[cache_size];
static int cache_next = 0;
// Guards the cache. Execution runs outside it: every primitive is made single-threaded with a
// user-managed scratchpad, and each calling thread passes its own, so Tailor's workers can run
// the pieces of one product (or different products) at the same time.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int resolve_all(void *h) {
#define RESOLVE(field, symbol)                                                                                         \
    do {                                                                                                               \
        *(void **)&api.field = dlsym(h, symbol);                                                                       \
        if (!api.field) {                                                                                              \
            snprintf(error_text, sizeof(error_text), "%s lacks %s (Tailor uses the oneDNN 2.x C API)", library_path,   \
                     symbol);                                                                                          \
            return 0;                                                                                                  \
        }                                                                                                              \
    } while (0)
    RESOLVE(engine_create, "dnnl_engine_create");
    RESOLVE(stream_create, "dnnl_stream_create");
    RESOLVE(stream_wait, "dnnl_stream_wait");
    RESOLVE(md_init, "dnnl_memory_desc_init_by_strides");
    RESOLVE(matmul_desc_init, "dnnl_matmul_desc_init");
    RESOLVE(attr_create, "dnnl_primitive_attr_create");
    RESOLVE(attr_destroy, "dnnl_primitive_attr_destroy");
    RESOLVE(attr_output_scales, "dnnl_primitive_attr_set_output_scales");
    RESOLVE(post_ops_create, "dnnl_post_ops_create");
    RESOLVE(post_ops_destroy, "dnnl_post_ops_destroy");
    RESOLVE(post_ops_sum, "dnnl_post_ops_append_sum");
    RESOLVE(attr_post_ops, "dnnl_primitive_attr_set_post_ops");
    RESOLVE(attr_scratchpad, "dnnl_primitive_attr_set_scratchpad_mode");
    RESOLVE(pd_query_md, "dnnl_primitive_desc_query_md");
    RESOLVE(md_size, "dnnl_memory_desc_get_size");
    RESOLVE(pd_create, "dnnl_primitive_desc_create");
    RESOLVE(pd_destroy, "dnnl_primitive_desc_destroy");
    RESOLVE(pd_query, "dnnl_primitive_desc_query");
    RESOLVE(primitive_create, "dnnl_primitive_create");
    RESOLVE(primitive_execute, "dnnl_primitive_execute");
    RESOLVE(primitive_destroy, "dnnl_primitive_destroy");
    RESOLVE(memory_create, "dnnl_memory_create");
    RESOLVE(memory_destroy, "dnnl_memory_destroy");
    RESOLVE(version, "dnnl_version");
#undef RESOLVE
    // libgomp comes in with oneDNN's OpenMP build; its thread count is set per call.
    *(void **)&api.omp_set_num_threads = dlsym(h, "omp_set_num_threads");
    return 1;
}

/// Fills the descriptors of `e` and creates its primitive, for one OpenMP thread (the calling
/// thread's). Returns a oneDNN status.
static int create_entry(cache_entry *e, const char **impl) {
    int64_t mk = e->m, kk = e->k, nk = e->n;
    dnnl_dims adims = {mk, kk}, bdims = {kk, nk}, cdims = {mk, nk};
    dnnl_dims astrides = {e->transA ? 1 : e->lda, e->transA ? e->lda : 1};
    dnnl_dims bstrides = {e->transB ? 1 : e->ldb, e->transB ? e->ldb : 1};
    dnnl_dims cstrides = {e->ldc, 1};
    int status;
    if ((status = api.md_init(e->a.bytes, 2, adims, dnnl_bf16_type, astrides))) return status;
    if ((status = api.md_init(e->b.bytes, 2, bdims, dnnl_bf16_type, bstrides))) return status;
    if ((status = api.md_init(e->c.bytes, 2, cdims, dnnl_f32_type, cstrides))) return status;
    static op_desc_buffer op;  // under `lock` (or the load's once)
    if ((status = api.matmul_desc_init(op.bytes, e->a.bytes, e->b.bytes, NULL, e->c.bytes))) return status;
    dnnl_handle attr = NULL, post_ops = NULL, pd = NULL;
    if ((status = api.attr_create(&attr))) return status;
    status = api.attr_scratchpad(attr, scratchpad_user);
    if (!status && e->alpha != 1.0f) status = api.attr_output_scales(attr, 1, 0, &e->alpha);
    if (!status && e->beta != 0.0f) {
        status = api.post_ops_create(&post_ops);
        if (!status) status = api.post_ops_sum(post_ops, e->beta);
        if (!status) status = api.attr_post_ops(attr, post_ops);
        if (post_ops) api.post_ops_destroy(post_ops);
    }
    // oneDNN plans a primitive for omp_get_max_threads() of the creating thread; Tailor's
    // workers split products themselves, so each piece is planned (and run) on one thread.
    if (api.omp_set_num_threads) api.omp_set_num_threads(1);
    if (!status) status = api.pd_create(&pd, op.bytes, attr, engine, NULL);
    api.attr_destroy(attr);
    if (status) return status;
    if (impl) {
        const char *name = NULL;
        if (api.pd_query(pd, dnnl_impl_info_str, 0, (void *)&name) == dnnl_success && name) *impl = name;
        if (*impl) snprintf(kernel_name, sizeof(kernel_name), "%s", *impl);
    }
    const void *scratch = api.pd_query_md(pd, dnnl_scratchpad_md, 0);
    e->scratchpad_bytes = scratch ? api.md_size(scratch) : 0;
    if (e->scratchpad_bytes) {
        // A plain byte buffer of that size (what oneDNN's own scratchpad descriptor describes).
        dnnl_dims sdims = {(int64_t)e->scratchpad_bytes}, sstrides = {1};
        if ((status = api.md_init(e->scratchpad.bytes, 1, sdims, dnnl_u8_type, sstrides))) {
            api.pd_destroy(pd);
            return status;
        }
    }
    status = api.primitive_create(&e->primitive, pd);
    api.pd_destroy(pd);
    return status;
}

static void load_once(void) {
    const TailorCPUFeatures *f = tailor_cpu_features();
    int amx = f->amx_tile && f->amx_bf16 && f->amx_permitted;
    if (!f->avx512_bf16 && !amx) {
        snprintf(error_text, sizeof(error_text), "this CPU has neither AMX-BF16 nor AVX512-BF16");
        return;
    }
    const char *forced = getenv("TAILOR_DNNL_LIBRARY");
    const char *names[] = {forced && *forced ? forced : "libdnnl.so.2", "libdnnl.so.2.6", "libdnnl.so"};
    void *h = NULL;
    for (size_t i = 0; i < (forced && *forced ? 1 : sizeof(names) / sizeof(*names)) && !h; i++) {
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) snprintf(library_path, sizeof(library_path), "%s", names[i]);
    }
    if (!h) {
        snprintf(error_text, sizeof(error_text),
                 "oneDNN was not found (%s; install Debian's libdnnl2: scripts/setup.sh does)",
                 forced && *forced ? forced : "libdnnl.so.2");
        return;
    }
    if (!resolve_all(h)) return;
    const dnnl_version_info *v = api.version();
    snprintf(version_text, sizeof(version_text), "%d.%d.%d", v->major, v->minor, v->patch);
    if (v->major != 2) {
        snprintf(error_text, sizeof(error_text), "%s is oneDNN %s; Tailor uses the 2.x C API", library_path, version_text);
        return;
    }
    int status;
    if ((status = api.engine_create(&engine, dnnl_cpu_engine, 0))) {
        snprintf(error_text, sizeof(error_text), "oneDNN %s could not make a CPU engine (status %d)", version_text, status);
        return;
    }
    // The probe: a product of a training step's shape. A reference (non-JIT) kernel would be
    // slower than OpenBLAS's fp32 one, so only oneDNN's bf16 brgemm / AMX kernels count.
    cache_entry *probe = &cache[0];
    *probe = (cache_entry){.used = 1, .transA = 0, .transB = 1, .m = 64, .n = 64, .k = 64, .lda = 64, .ldb = 64, .ldc = 64,
                           .alpha = 1, .beta = 0};
    const char *impl = "";
    if ((status = create_entry(probe, &impl))) {
        snprintf(error_text, sizeof(error_text), "oneDNN %s has no bf16 matmul for this CPU (status %d)", version_text, status);
        probe->used = 0;
        return;
    }
    if (!strstr(impl, "avx512_core_bf16") && !strstr(impl, "amx")) {
        snprintf(error_text, sizeof(error_text), "oneDNN %s runs bf16 matmul on '%s', not AMX or AVX512-BF16", version_text, impl);
        return;
    }
    cache_next = 1;
    available = 1;
}

int tailor_dnnl_load(void) {
    pthread_once(&once, load_once);
    return available;
}

const char *tailor_dnnl_error(void) { return error_text; }
const char *tailor_dnnl_library(void) { return library_path; }
const char *tailor_dnnl_version(void) { return version_text; }
const char *tailor_dnnl_kernel(void) { return kernel_name; }

static cache_entry *entry_for(int transA, int transB, int m, int n, int k, float alpha, int lda, int ldb, float beta,
                              int ldc, int *status) {
    for (int i = 0; i < cache_size; i++) {
        cache_entry *e = &cache[i];
        if (e->used && e->transA == transA && e->transB == transB && e->m == m && e->n == n && e->k == k && e->lda == lda &&
            e->ldb == ldb && e->ldc == ldc && e->alpha == alpha && e->beta == beta)
            return e;
    }
    // Evicted round-robin, skipping entries other threads are executing.
    cache_entry *e = NULL;
    for (int tries = 0; tries < cache_size && !e; tries++) {
        cache_entry *candidate = &cache[cache_next];
        cache_next = cache_next + 1 == cache_size ? 1 : cache_next + 1;  // entry 0 is the probe
        if (!candidate->running) e = candidate;
    }
    if (!e) return NULL;
    if (e->used && e->primitive) api.primitive_destroy(e->primitive);
    *e = (cache_entry){.used = 1, .transA = transA, .transB = transB, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb,
                       .ldc = ldc, .alpha = alpha, .beta = beta};
    if ((*status = create_entry(e, NULL))) {
        e->used = 0;
        return NULL;
    }
    return e;
}

/// The calling thread's scratchpad, grown as needed (never shrunk; freed with the thread).
static _Thread_local void *thread_scratch = NULL;
static _Thread_local size_t thread_scratch_bytes = 0;
static _Thread_local dnnl_handle thread_stream = NULL;  // a stream per calling thread
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static void make_scratch_key(void) { pthread_key_create(&scratch_key, free); }

static void *scratch_for(size_t bytes) {
    if (bytes <= thread_scratch_bytes) return thread_scratch;
    pthread_once(&scratch_once, make_scratch_key);
    free(thread_scratch);
    thread_scratch = aligned_alloc(64, (bytes + 63) / 64 * 64);
    thread_scratch_bytes = thread_scratch ? bytes : 0;
    pthread_setspecific(scratch_key, thread_scratch);
    return thread_scratch;
}

int tailor_dnnl_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const uint16_t *a, int lda,
                          const uint16_t *b, int ldb, float beta, float *c, int ldc) {
    if (!available) return -1;
    int status = 0;
    pthread_mutex_lock(&lock);
    cache_entry *e = entry_for(transA, transB, m, n, k, alpha, lda, ldb, beta, ldc, &status);
    if (!e) {
        pthread_mutex_unlock(&lock);
        return status ? status : -1;
    }
    dnnl_handle primitive = e->primitive, ma = NULL, mb = NULL, mc = NULL, ms = NULL;
    e->running += 1;
    size_t scratch_bytes = e->scratchpad_bytes;
    status = api.memory_create(&ma, e->a.bytes, engine, (void *)a);
    if (!status) status = api.memory_create(&mb, e->b.bytes, engine, (void *)b);
    if (!status) status = api.memory_create(&mc, e->c.bytes, engine, c);
    void *scratch = scratch_bytes ? scratch_for(scratch_bytes) : NULL;
    if (!status && scratch_bytes) status = scratch ? api.memory_create(&ms, e->scratchpad.bytes, engine, scratch) : -1;
    pthread_mutex_unlock(&lock);
    if (!status && !thread_stream) status = api.stream_create(&thread_stream, engine, dnnl_in_order);
    if (!status) {
        if (api.omp_set_num_threads) api.omp_set_num_threads(1);
        dnnl_exec_arg args[4] = {{arg_src, ma}, {arg_weights, mb}, {arg_dst, mc}, {arg_scratchpad, ms}};
        status = api.primitive_execute(primitive, thread_stream, ms ? 4 : 3, args);
        if (!status) status = api.stream_wait(thread_stream);
    }
    pthread_mutex_lock(&lock);
    e->running -= 1;
    pthread_mutex_unlock(&lock);
    if (ma) api.memory_destroy(ma);
    if (mb) api.memory_destroy(mb);
    if (mc) api.memory_destroy(mc);
    if (ms) api.memory_destroy(ms);
    return status;
}
