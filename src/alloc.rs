//! Tuning of mimalloc, the allocator of the `netpol` binary and of the benchmarks (each sets it
//! as its `#[global_allocator]`; the library itself leaves the choice to its user).
//!
//! mimalloc hands memory that stays free for a second back to the operating system ("purging"),
//! and the next allocation faults it in again, zeroed. A large analysis frees and allocates
//! hundreds of megabytes in waves (readings, rows, classes), so with purging the 10,000-workload
//! matrix benchmark took 140,000 page faults and about 13% of its time in the kernel zeroing
//! pages; without, 800 faults and no such cost, for 2% more peak memory. `netpol` is a batch
//! compiler whose runs end in seconds, so freed memory is kept for reuse until exit.
//!
//! mimalloc also asks for transparent huge pages (`madvise(MADV_HUGEPAGE)`) for its arenas. The
//! kernel then zeroes 2 MiB at the first touch of any byte of one, with every thread faulting
//! into the same few arenas: compiling 100,000 workloads on two threads spent 1.4–2.1 s in the
//! kernel and peaked at 1.37–1.42 GB; with small pages, 0.8–0.9 s and 1.28–1.29 GB, and
//! 250,000 workloads took 14.9 s instead of 17.8 s. So the process does without them.

/// `mi_option_purge_delay` in `mi_option_e` (mimalloc.h, v2 and v3 alike): milliseconds before
/// freed memory is purged, `-1` for never; 1000 by default in mimalloc 3, the version
/// libmimalloc-sys builds. libmimalloc-sys names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// `mi_option_allow_thp` in mimalloc 3's `mi_option_e`: whether to ask for transparent huge
/// pages (1 by default on Linux).
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Tunes the allocator for a batch run: freed memory is kept for reuse instead of returned to
/// the operating system, and the process uses small pages only. Call it first thing in `main`;
/// the options change nothing if mimalloc is not the global allocator.
pub fn tune() {
    // SAFETY: `mi_option_set` only stores an option value; any value is valid for these options.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        // mimalloc reads this option at its start, before `main`, to turn huge pages off for
        // the process; set now, it only stops the `madvise` on later arenas. The process flag
        // below does the rest: the kernel checks it at every fault.
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
    // The process-wide flag (inherited by children); a kernel without it leaves huge pages on,
    // which only costs time.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option indexes are the purge delay and the huge-page switch: they hold mimalloc 3's
    /// defaults (options.c), nothing but `tune` sets them, and `tune` turns huge pages off for
    /// the process.
    #[test]
    fn tune_sets_the_options_it_names() {
        // SAFETY: reading an option value has no preconditions.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(get(MI_OPTION_PURGE_DELAY), 1000);
        assert_eq!(get(MI_OPTION_ALLOW_THP), 1);
        tune();
        assert_eq!(get(MI_OPTION_PURGE_DELAY), -1);
        assert_eq!(get(MI_OPTION_ALLOW_THP), 0);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), Some(true));
    }
}
