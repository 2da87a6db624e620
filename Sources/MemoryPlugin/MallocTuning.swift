import CMallocTuning

/// glibc's allocator settings for the standalone plugin, which should stay small (DESIGN
/// section 9, issue 7: under 40 MB during a backfill). By default every thread that
/// allocates gets an arena of its own (up to 8 per core) and each arena keeps what it
/// freed; the plugin's HTTP, cooperative and libpq threads each pass a batch through, so
/// one batch's memory ended up held in several arenas. Two arenas, large blocks (a
/// request body, a statement's parameter text) mmap'd so they return to the system when
/// freed, and trimming of freed heap tops: docs/benchmarks.md has the figures.
public enum MallocTuning {
    /// Call before the process starts threads: the arena limit binds only arenas made after it.
    public static func applyForSmallFootprint() {
        _ = molecule_tune_malloc(1, 64 * 1024, 128 * 1024)
    }
}
