#ifndef CMALLOC_TUNING_H
#define CMALLOC_TUNING_H

/// glibc's mallopt, which Swift's Glibc module does not export (malloc.h is not in it).
/// Sets a small-footprint allocator: at most `arenas` arenas, blocks of `mmap_threshold`
/// bytes or more mmap'd (returned to the system when freed), heap tops above
/// `trim_threshold` trimmed. Returns 1 when every setting was accepted.
int molecule_tune_malloc(int arenas, int mmap_threshold, int trim_threshold);

#endif
