#include "CMallocTuning.h"

// Any libc header defines __GLIBC__ on glibc.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

int molecule_tune_malloc(int arenas, int mmap_threshold, int trim_threshold) {
    return mallopt(M_ARENA_MAX, arenas) == 1
        && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
        && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}
#else
int molecule_tune_malloc(int arenas, int mmap_threshold, int trim_threshold) {
    (void)arenas; (void)mmap_threshold; (void)trim_threshold;
    return 0;
}
#endif
