//! Returning freed memory to the system between flows.
//!
//! A merge frees a gigabyte of changes when it ends, but glibc keeps freed
//! heap memory for reuse (its threshold for giving large blocks their own
//! mappings rises as large blocks are freed), so the process's resident
//! size stayed at its peak and the next flow's memory came on top of it.

/// Hands the allocator's free memory back to the system.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
