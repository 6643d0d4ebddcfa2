//! Data parallelism over index ranges, for the stages whose items are independent
//! (parsing top-level chunks, emitting per workload). Results come back in order, so output
//! never depends on scheduling, nor on how many threads there are.
//!
//! The threads: one per core (`std::thread::available_parallelism`, which honours cgroup CPU
//! limits and affinity), or `NETPOL_THREADS` when set to a positive number.

/// The environment variable that sets the worker threads (a positive number).
pub const THREADS_VAR: &str = "NETPOL_THREADS";

/// Worker threads: `NETPOL_THREADS`, else one per core. Read once.
pub fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var(THREADS_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |p| p.get()))
    })
}

/// Runs `work` over `0..n` split into one contiguous range per thread, and returns the results
/// in range order. Small inputs run on the calling thread.
pub fn chunks<T: Send>(
    n: usize,
    min_parallel: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let Some(threads) = threads_for(n, min_parallel) else { return vec![work(0..n)] };
    let chunk = n.div_ceil(threads);
    let _waiting = Busy::wait();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let work = &work;
                scope.spawn(move || {
                    let _busy = Busy::start();
                    work((t * chunk).min(n)..((t + 1) * chunk).min(n))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect()
    })
}

/// Runs `a` on the calling thread and `b` beside it on another, when there is more than one
/// thread; one after the other otherwise. For two independent parts of a stage that would
/// each run on one thread.
pub fn join<A, B: Send>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    if threads() < 2 {
        let a = a();
        return (a, b());
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let _busy = Busy::start();
            b()
        });
        let a = a();
        (a, other.join().expect("worker thread panicked"))
    })
}

/// How long one thread was busy, and how long more than one, since the first call into this
/// module: the part of a stage that runs on one thread, measured rather than estimated (the
/// benchmarks report it per stage). It counts the threads of this module, and the thread that
/// calls it as busy whenever it is not waiting for them, so it means something for a program
/// that runs one stage at a time (a benchmark, the command line), not for tests run side by
/// side.
pub fn busy() -> BusyTime {
    let b = Busy::change(0, 0);
    BusyTime { alone: b.one, uneven: b.uneven, more: b.more }
}

/// What [`busy`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusyTime {
    /// One thread busy outside any parallel call: work more cores cannot shorten.
    pub alone: std::time::Duration,
    /// One worker busy inside a parallel call while the others had nothing left: the last
    /// block of an uneven split. With more threads the blocks are smaller, so this shrinks
    /// with them.
    pub uneven: std::time::Duration,
    /// More than one thread busy.
    pub more: std::time::Duration,
}

/// What was counted between two readings of [`busy`]: `later - earlier`, each field on its own
/// (none goes below zero).
impl std::ops::Sub for BusyTime {
    type Output = BusyTime;

    fn sub(self, earlier: BusyTime) -> BusyTime {
        BusyTime {
            alone: self.alone.saturating_sub(earlier.alone),
            uneven: self.uneven.saturating_sub(earlier.uneven),
            more: self.more.saturating_sub(earlier.more),
        }
    }
}

/// The account behind [`busy`]: how many threads are busy now, how many callers wait for
/// their workers, and since when.
#[derive(Clone, Copy)]
struct Busy {
    last: Option<std::time::Instant>,
    threads: usize,
    waiting: usize,
    one: std::time::Duration,
    uneven: std::time::Duration,
    more: std::time::Duration,
}

static BUSY: std::sync::Mutex<Busy> = std::sync::Mutex::new(Busy {
    last: None,
    threads: 1,
    waiting: 0,
    one: std::time::Duration::ZERO,
    uneven: std::time::Duration::ZERO,
    more: std::time::Duration::ZERO,
});

impl Busy {
    /// Counts `delta` threads busy (or idle) and `waits` callers waiting (or done) from now
    /// on, and returns the account so far.
    fn change(delta: isize, waits: isize) -> Busy {
        let mut b = BUSY.lock().unwrap_or_else(|e| e.into_inner());
        b.advance(std::time::Instant::now(), delta, waits);
        *b
    }

    /// The time since the last change goes to `one`, `uneven` or `more` by the threads busy
    /// in it and whether a caller waited; then `delta` threads start (or stop) and `waits`
    /// callers start (or stop) waiting.
    fn advance(&mut self, now: std::time::Instant, delta: isize, waits: isize) {
        if let Some(last) = self.last {
            match (self.threads, self.waiting) {
                (0, _) => {}
                (1, 0) => self.one += now - last,
                (1, _) => self.uneven += now - last,
                _ => self.more += now - last,
            }
        }
        self.last = Some(now);
        self.threads = self.threads.saturating_add_signed(delta);
        self.waiting = self.waiting.saturating_add_signed(waits);
    }

    /// A worker is busy until the guard goes.
    fn start() -> BusyGuard {
        Busy::change(1, 0);
        BusyGuard(-1, 0)
    }

    /// The calling thread waits for its workers until the guard goes.
    fn wait() -> BusyGuard {
        Busy::change(-1, 1);
        BusyGuard(1, -1)
    }
}

struct BusyGuard(isize, isize);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        Busy::change(self.0, self.1);
    }
}

/// The threads to run `n` items on ([`threads`], no more than items), or `None` when the input
/// is too small to split or there is one thread.
fn threads_for(n: usize, min_parallel: usize) -> Option<usize> {
    let threads = threads().min(n);
    (threads > 1 && n >= min_parallel.max(2)).then_some(threads)
}

/// Like [`chunks`], for work whose cost varies along `0..n`: the range is cut into blocks (see
/// [`schedule`]), and each thread takes the next block as soon as it is free, so no core idles
/// while another still has a costly stretch. Results come back in range order. On one thread
/// eight blocks run one after the other.
pub fn blocks<T: Send>(
    n: usize,
    min_parallel: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(threads) = threads_for(n, min_parallel) else { return one_thread(n, min_parallel, work) };
    let starts = schedule(n, threads);
    let next = AtomicUsize::new(0);
    let waiting = Busy::wait();
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (work, next, starts) = (&work, &next, &starts);
                scope.spawn(move || {
                    let _busy = Busy::start();
                    let mut mine = Vec::new();
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&start) = starts.get(b) else { return mine };
                        let end = starts.get(b + 1).copied().unwrap_or(n);
                        mine.push((b, work(start..end)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker thread panicked")).collect()
    });
    drop(waiting);
    done.sort_unstable_by_key(|(b, _)| *b);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Where each block of [`blocks`] starts, for `n` items on `threads` threads. While more than a
/// quarter of the range is left, a block is an eighth of one thread's share (as many blocks as
/// before this schedule, so a caller that holds a block's intermediate data holds no more);
/// then each block is half of one thread's part of what is left, down to a sixty-fourth of a
/// thread's share. The last blocks are small, so the threads run out of work at nearly the
/// same time: with eight equal blocks per thread, one thread idled for half a block on average
/// (the benchmarks' `uneven` time) while another finished its last. The schedule depends on
/// `n` and `threads` alone.
fn schedule(n: usize, threads: usize) -> Vec<usize> {
    let big = n.div_ceil(threads * 8).max(1);
    let small = n.div_ceil(threads * 64).max(1);
    let mut starts = Vec::with_capacity(threads * 24);
    let mut start = 0;
    while start < n {
        starts.push(start);
        start += (n - start).div_ceil(threads * 2).clamp(small, big);
    }
    starts
}

/// [`blocks`] on the calling thread: still a block at a time, so a caller that holds a block's
/// intermediate data (the readers' parsed manifests) holds an eighth of it at once.
fn one_thread<T>(n: usize, min_parallel: usize, work: impl Fn(std::ops::Range<usize>) -> T) -> Vec<T> {
    if n < min_parallel.max(2) {
        return vec![work(0..n)];
    }
    let size = n.div_ceil(8);
    (0..n).step_by(size).map(|start| work(start..(start + size).min(n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_range_once_in_order() {
        for n in [0, 1, 5, 100, 1000, 4099] {
            let parts = blocks(n, 2, |r| r.collect::<Vec<_>>());
            assert_eq!(parts.into_iter().flatten().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>(), "{n}");
            let parts = one_thread(n, 2, |r| r.collect::<Vec<_>>());
            assert!(
                parts.len() <= 8 && parts.iter().all(|p| p.len() <= n.div_ceil(8).max(1)),
                "{n}: {parts:?}"
            );
            assert_eq!(parts.into_iter().flatten().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>(), "{n}");
        }
    }

    #[test]
    fn the_schedule_starts_with_equal_blocks_and_ends_with_small_ones() {
        for threads in [2, 3, 16] {
            for n in [2, 7, 100, 1000, 10_000, 100_003] {
                let starts = schedule(n, threads);
                let mut sizes: Vec<usize> =
                    starts.windows(2).map(|w| w[1] - w[0]).chain([n - starts[starts.len() - 1]]).collect();
                assert_eq!(starts[0], 0);
                assert_eq!(sizes.iter().sum::<usize>(), n, "{n} on {threads}");
                // No block is larger than an eighth of a thread's share, and none but the last
                // grows.
                let (big, small) = (n.div_ceil(threads * 8), n.div_ceil(threads * 64));
                assert!(sizes.iter().all(|&s| s <= big), "{n} on {threads}: {sizes:?}");
                let last = sizes.pop().unwrap();
                assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{n} on {threads}: {sizes:?}");
                assert!(last <= small.max(1), "{n} on {threads}: last {last}");
                if n >= threads * 64 {
                    assert_eq!(sizes[0], big);
                    assert!(starts.len() <= threads * 24, "{n} on {threads}: {} blocks", starts.len());
                }
            }
        }
    }

    #[test]
    fn busy_time_subtracts_field_by_field() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        let later = BusyTime { alone: ms(9), uneven: ms(4), more: ms(20) };
        let earlier = BusyTime { alone: ms(2), uneven: ms(4), more: ms(25) };
        assert_eq!(later - earlier, BusyTime { alone: ms(7), uneven: ms(0), more: ms(0) });
        assert_eq!(later - BusyTime::default(), later);
    }

    #[test]
    fn busy_time_goes_by_the_threads_busy() {
        use std::time::{Duration, Instant};
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut b = Busy {
            last: None,
            threads: 1,
            waiting: 0,
            one: Duration::ZERO,
            uneven: Duration::ZERO,
            more: Duration::ZERO,
        };
        // The caller runs alone until 2, then waits for two workers: the first starts at 3,
        // the second at 5; the first ends at 6, the second at 8; the caller goes on until 12.
        let steps =
            [(0, 0, 0), (2, -1, 1), (3, 1, 0), (5, 1, 0), (6, -1, 0), (8, -1, 0), (8, 1, -1), (12, 0, 0)];
        for (at, delta, waits) in steps {
            b.advance(t0 + ms(at), delta, waits);
        }
        // Alone: 0–2 and 8–12; uneven: 3–5 and 6–8; more: 5–6.
        assert_eq!((b.one, b.uneven, b.more), (ms(2 + 4), ms(2 + 2), ms(1)));
        assert_eq!((b.threads, b.waiting), (1, 0));
    }

    #[test]
    fn join_runs_both_and_keeps_them_apart() {
        let text = String::from("a b c");
        let (words, len) = join(|| text.split(' ').count(), || text.len());
        assert_eq!((words, len), (3, 5));
        // With more than one thread the second part runs on another thread.
        let here = std::thread::current().id();
        let (_, there) = join(|| (), || std::thread::current().id());
        assert_eq!(there != here, threads() > 1);
    }
}
