// Compiler intrinsics Swift cannot spell, as static inline functions that inline into the
// Swift kernels calling them.
#ifndef TAILOR_INTRINSICS_H
#define TAILOR_INTRINSICS_H

/// A read prefetch hint (no temporal locality) for the cache line holding p. Never faults, so p
/// may point past the end of an array.
static inline void tailor_prefetch(const void *p) { __builtin_prefetch(p, 0, 0); }

#endif
