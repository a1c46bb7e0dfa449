/// C++ that makes the backend's CUDA C kernel sources compile and run on the host, so their logic
/// is tested on machines without a GPU.
///
/// Each CUDA thread of a block is a fiber (ucontext) on one host thread; blocks run one after
/// another. `__syncthreads()` parks a fiber at the block barrier and a warp shuffle at a warp
/// barrier; the scheduler releases a barrier when every live thread of the block (or warp) has
/// reached it and reports divergent synchronisation (threads waiting at different barriers),
/// shuffles that read exited lanes or lanes outside the block, and out-of-range launches as
/// errors. `__shared__` variables become function statics (blocks never overlap), atomics are
/// plain read-modify-writes (fibers switch only at barriers).
///
/// What it cannot show: races between warps that real hardware would expose, the memory model,
/// and speed. The GPU checks of `tailor selftest --device cuda` cover those on a real device.
enum EmulatorPrelude {
    static let header = #"""
    #include <math.h>
    #include <cmath>
    #include <cstdint>
    #include <cstdio>
    #include <cstdlib>
    #include <cstring>
    #include <type_traits>
    #include <ucontext.h>
    #include <utility>

    struct uint3 { unsigned int x, y, z; };
    struct dim3 { unsigned int x, y, z; };

    namespace tailor_emu {
    enum State { runnable, atBlockBarrier, atWarpBarrier, finished };
    struct Fiber { ucontext_t context; uint3 index; State state; unsigned linear; char *stack; };
    static const size_t stackBytes = 256 * 1024;
    static Fiber *fibers = nullptr;
    static unsigned fiberCapacity = 0, threadCount = 0;
    static Fiber *current = nullptr;
    static ucontext_t scheduler;
    static uint3 blockIndex;
    static dim3 blockDimension, gridDimension;
    static unsigned char *dynamicShared = nullptr;
    static size_t dynamicSharedCapacity = 0;
    static uint64_t shuffleSlots[1024];
    static char message[1024];
    static bool failed = false;
    static void (*body)(void **) = nullptr;
    static void **bodyArguments = nullptr;

    static void fail(const char *what) {
        if (failed) return;
        failed = true;
        if (current)
            snprintf(message, sizeof message, "%s (block %u,%u,%u thread %u,%u,%u)", what, blockIndex.x, blockIndex.y,
                     blockIndex.z, current->index.x, current->index.y, current->index.z);
        else
            snprintf(message, sizeof message, "%s", what);
    }

    static void wait(State state) {
        current->state = state;
        swapcontext(&current->context, &scheduler);
    }

    template <typename T> static T shuffle(unsigned mask, T value, int sourceLane, bool inRange) {
        static_assert(sizeof(T) <= 8, "shuffles of at most 8 bytes");
        if (mask != 0xffffffffu) fail("the emulator supports full-warp shuffles only (mask 0xffffffff)");
        unsigned self = current->linear;
        uint64_t bits = 0;
        memcpy(&bits, &value, sizeof(T));
        shuffleSlots[self] = bits;
        wait(atWarpBarrier);
        T result = value;
        if (inRange) {
            unsigned source = (self & ~31u) + (unsigned)sourceLane;
            if (source >= threadCount) fail("warp shuffle reads a lane outside the block (block size not a multiple of 32)");
            else if (fibers[source].state == finished) fail("warp shuffle reads a lane that has exited");
            else memcpy(&result, &shuffleSlots[source], sizeof(T));
        }
        wait(atWarpBarrier);
        return result;
    }

    static void fiberMain() {
        body(bodyArguments);
        current->state = finished;
    }

    template <typename... A, size_t... I>
    static void call(void (*kernel)(A...), void **arguments, std::index_sequence<I...>) {
        kernel(*static_cast<std::remove_reference_t<A> *>(arguments[I])...);
    }
    template <typename... A> static void invoke(void (*kernel)(A...), void **arguments) {
        call(kernel, arguments, std::index_sequence_for<A...>{});
    }

    // Runs every thread of the current block to completion. Returns false on a failure.
    static bool runBlock() {
        for (unsigned t = 0; t < threadCount; t++) {
            Fiber &f = fibers[t];
            f.linear = t;
            f.index = {t % blockDimension.x, (t / blockDimension.x) % blockDimension.y, t / (blockDimension.x * blockDimension.y)};
            f.state = runnable;
            getcontext(&f.context);
            f.context.uc_stack.ss_sp = f.stack;
            f.context.uc_stack.ss_size = stackBytes;
            f.context.uc_link = &scheduler;
            makecontext(&f.context, fiberMain, 0);
        }
        for (;;) {
            for (unsigned t = 0; t < threadCount; t++) {
                if (fibers[t].state != runnable) continue;
                current = &fibers[t];
                swapcontext(&scheduler, &fibers[t].context);
                if (failed) return false;
            }
            current = nullptr;
            unsigned done = 0, atBlock = 0;
            for (unsigned t = 0; t < threadCount; t++) {
                done += fibers[t].state == finished;
                atBlock += fibers[t].state == atBlockBarrier;
            }
            if (done == threadCount) return true;
            bool released = false;
            for (unsigned w = 0; w * 32 < threadCount; w++) {
                unsigned live = 0, waiting = 0;
                for (unsigned t = w * 32; t < threadCount && t < w * 32 + 32; t++) {
                    live += fibers[t].state != finished;
                    waiting += fibers[t].state == atWarpBarrier;
                }
                if (live > 0 && waiting == live) {
                    for (unsigned t = w * 32; t < threadCount && t < w * 32 + 32; t++)
                        if (fibers[t].state == atWarpBarrier) fibers[t].state = runnable;
                    released = true;
                }
            }
            if (!released && atBlock + done == threadCount) {
                for (unsigned t = 0; t < threadCount; t++)
                    if (fibers[t].state == atBlockBarrier) fibers[t].state = runnable;
                released = true;
            }
            if (!released) {
                fail("divergent synchronisation: threads of one block wait at different barriers (__syncthreads or a shuffle in divergent code)");
                return false;
            }
        }
    }

    static int launch(void (*launcher)(void **), unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      size_t sharedBytes, void **arguments) {
        unsigned threads = bx * by * bz;
        if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) {
            fail("launch size out of range: 1...1024 threads per block, grid y and z at most 65535");
            return 1;
        }
        if (sharedBytes > 227 * 1024) { fail("more than 227 KiB of dynamic shared memory"); return 1; }
        if (threads > fiberCapacity) {
            for (unsigned t = 0; t < fiberCapacity; t++) free(fibers[t].stack);
            free(fibers);
            fibers = (Fiber *)calloc(threads, sizeof(Fiber));
            for (unsigned t = 0; t < threads; t++) fibers[t].stack = (char *)malloc(stackBytes);
            fiberCapacity = threads;
        }
        if (sharedBytes > dynamicSharedCapacity) {
            free(dynamicShared);
            dynamicShared = (unsigned char *)malloc(sharedBytes);
            dynamicSharedCapacity = sharedBytes;
        }
        if (sharedBytes) memset(dynamicShared, 0xff, sharedBytes);  // NaN: reading unwritten shared memory shows
        threadCount = threads;
        blockDimension = {bx, by, bz};
        gridDimension = {gx, gy, gz};
        body = launcher;
        bodyArguments = arguments;
        for (unsigned z = 0; z < gz; z++)
            for (unsigned y = 0; y < gy; y++)
                for (unsigned x = 0; x < gx; x++) {
                    blockIndex = {x, y, z};
                    if (!runBlock()) return 1;
                }
        return 0;
    }
    }  // namespace tailor_emu

    #define threadIdx (tailor_emu::current->index)
    #define blockIdx (tailor_emu::blockIndex)
    #define blockDim (tailor_emu::blockDimension)
    #define gridDim (tailor_emu::gridDimension)
    #define warpSize 32
    #define __global__
    #define __device__
    #define __host__
    #define __forceinline__ inline
    #define __noinline__
    #define __shared__ static
    #define __launch_bounds__(...)
    #define TAILOR_DYNAMIC_SHARED(type, name) type *name = reinterpret_cast<type *>(tailor_emu::dynamicShared)

    static inline void __syncthreads() { tailor_emu::wait(tailor_emu::atBlockBarrier); }
    static inline void __syncwarp(unsigned mask = 0xffffffffu) { tailor_emu::shuffle(mask, 0, 0, false); }
    template <typename T> static inline T __shfl_sync(unsigned mask, T v, int lane) { return tailor_emu::shuffle(mask, v, lane & 31, true); }
    template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int laneMask) {
        return tailor_emu::shuffle(mask, v, (int)((tailor_emu::current->linear & 31) ^ (unsigned)laneMask) & 31, true);
    }
    template <typename T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta) {
        int source = (int)(tailor_emu::current->linear & 31) + (int)delta;
        return tailor_emu::shuffle(mask, v, source, source < 32);
    }
    template <typename T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta) {
        int source = (int)(tailor_emu::current->linear & 31) - (int)delta;
        return tailor_emu::shuffle(mask, v, source, source >= 0);
    }
    template <typename T, typename U> static inline T atomicAdd(T *address, U value) { T old = *address; *address = old + (T)value; return old; }
    template <typename T, typename U> static inline T atomicMax(T *address, U value) { T old = *address; if ((T)value > old) *address = (T)value; return old; }
    template <typename T, typename U> static inline T atomicMin(T *address, U value) { T old = *address; if ((T)value < old) *address = (T)value; return old; }
    template <typename T, typename U> static inline T atomicExch(T *address, U value) { T old = *address; *address = (T)value; return old; }
    template <typename T, typename U, typename V> static inline T atomicCAS(T *address, U compare, V value) {
        T old = *address; if (old == (T)compare) *address = (T)value; return old;
    }
    static inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
    static inline unsigned int __float_as_uint(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
    static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
    static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
    static inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
    static inline long long __double_as_longlong(double d) { long long i; memcpy(&i, &d, 8); return i; }
    static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
    static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
    #define __expf(x) expf(x)
    #define __logf(x) logf(x)
    static inline float __fdividef(float a, float b) { return a / b; }
    static inline float __frcp_rn(float x) { return 1.0f / x; }
    static inline float __fsqrt_rn(float x) { return sqrtf(x); }
    static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
    static inline float __fadd_rn(float a, float b) { return a + b; }
    static inline float __fmul_rn(float a, float b) { return a * b; }
    static inline int min(int a, int b) { return a < b ? a : b; }
    static inline int max(int a, int b) { return a > b ? a : b; }
    static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
    static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
    static inline long long min(long long a, long long b) { return a < b ? a : b; }
    static inline long long max(long long a, long long b) { return a > b ? a : b; }
    static inline float min(float a, float b) { return fminf(a, b); }
    static inline float max(float a, float b) { return fmaxf(a, b); }
    static inline double min(double a, double b) { return fmin(a, b); }
    static inline double max(double a, double b) { return fmax(a, b); }
    template <typename T> static inline T __ldg(const T *p) { return *p; }

    """#

    /// The C entry point that launches kernel `name` (appended after the sources, one table row per entry).
    static func launchTable(entries: [(namespace: String, entry: String)]) -> String {
        let rows = entries.map { "    {\"\($0.entry)\", [](void **a) { tailor_emu::invoke(&\($0.namespace)::\($0.entry), a); }},\n" }.joined()
        return #"""

        static const struct { const char *name; void (*launch)(void **); } tailor_emu_kernels[] = {

        """# + rows + #"""
        };

        extern "C" int tailor_emu_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                         unsigned bz, unsigned long long sharedBytes, void **arguments, char *error, int errorCapacity) {
            tailor_emu::failed = false;
            tailor_emu::current = nullptr;
            for (const auto &k : tailor_emu_kernels) {
                if (strcmp(k.name, name) != 0) continue;
                int result = tailor_emu::launch(k.launch, gx, gy, gz, bx, by, bz, (size_t)sharedBytes, arguments);
                if (result != 0) snprintf(error, (size_t)errorCapacity, "%s: %s", name, tailor_emu::message);
                return result;
            }
            snprintf(error, (size_t)errorCapacity, "no kernel named %s", name);
            return 1;
        }

        """#
    }
}
