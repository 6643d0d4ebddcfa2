//! Tuning of mimalloc, the allocator of the `netpol` binary and of the benchmarks (each sets it
//! as its `#[global_allocator]`; the library itself leaves the choice to its user).
//!
//! mimalloc hands memory that stays free for a second back to the operating system ("purging"),
//! and the next allocation faults it in again, zeroed. A large analysis frees and allocates
//! hundreds of megabytes in waves (readings, rows, classes), so with purging the 10,000-workload
//! matrix benchmark took 140,000 page faults and about 13% of its time in the kernel zeroing
//! pages; without, 800 faults and no such cost, for 2% more peak memory. `netpol` is a batch
//! compiler whose runs end in seconds, so freed memory is kept for reuse until exit.

/// `mi_option_purge_delay` in `mi_option_e` (mimalloc.h, v2 and v3 alike): milliseconds before
/// freed memory is purged, `-1` for never; 1000 by default in mimalloc 3, the version
/// libmimalloc-sys builds. libmimalloc-sys names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of returning it to the operating system. Call it
/// first thing in `main`; it changes nothing if mimalloc is not the global allocator.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an option value; any value is valid for this option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is the purge delay: it holds mimalloc 3's default (options.c), and
    /// nothing but `keep_freed_memory` sets it.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option value has no preconditions.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
        keep_freed_memory();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }, -1);
    }
}
