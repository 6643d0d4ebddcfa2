//! Data parallelism over index ranges, for the stages whose items are independent
//! (parsing top-level chunks, emitting per workload). Results come back in order, so output
//! never depends on scheduling.

/// Runs `work` over `0..n` split into one contiguous range per core (at most 8), and returns
/// the results in range order. Small inputs run on the calling thread.
pub fn chunks<T: Send>(
    n: usize,
    min_parallel: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get()).min(8);
    if threads <= 1 || n < min_parallel.max(2) {
        return vec![work(0..n)];
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                scope.spawn(move || work((t * chunk).min(n)..((t + 1) * chunk).min(n)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect()
    })
}
