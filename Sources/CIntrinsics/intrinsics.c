// Everything is in include/tailor_intrinsics.h (static inline); SwiftPM wants one source file.
#include "tailor_intrinsics.h"
