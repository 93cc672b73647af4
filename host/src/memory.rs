//! How the process's allocator hands out and returns memory.

/// Hands the allocator's free memory back to the system. A merge frees a
/// gigabyte of changes when it ends, but glibc keeps freed heap memory for
/// reuse (all the more since [`serve_large_blocks_from_heap`] keeps large
/// blocks in the heap), so the process's resident size stayed at its peak
/// and the next flow's memory came on top of it.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sets the allocator up as every lfhost process (and benchmark) runs
/// with it; called first thing in `main`, before any thread starts.
pub fn set_up() {
    serve_large_blocks_from_heap();
    one_arena_per_core();
}

/// Serves blocks of up to 64 MiB from the heap rather than from mappings
/// of their own. glibc's default threshold (128 KiB, rising as mapped
/// blocks are freed) moves with the order in which threads happen to free,
/// so the same work faulted in 140k or 330k fresh pages from one process to
/// the next (`bench-expectations`: the sandboxed side's time swung 1.6x
/// with them), every batch buffer a fresh mapping the kernel zeroes. The
/// heap freed this way still goes back between flows ([`give_back_freed`]).
fn serve_large_blocks_from_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it takes no pointers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Lets at most one malloc arena per core serve the process's threads.
/// glibc gives each new thread an arena of its own, up to eight per core,
/// and memory freed into one arena serves only the threads on it. Batches
/// are decoded on one thread and freed or replaced on another (a merge
/// regroups its changes on threads of its own), so freed blocks sat idle
/// in the arena they came from while the next ones grew another: a merge
/// of ten million changes peaked at 2.1 GiB with the default and 1.3 to
/// 1.5 GiB with one or two arenas.
fn one_arena_per_core() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets allocator parameters; it takes no pointers.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
