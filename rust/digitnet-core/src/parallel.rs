//! A persistent pool of worker threads for the engine's fork-join steps, built for jobs of a few
//! microseconds (one layer of one mini-batch): workers spin briefly between jobs, then park.
//!
//! A job is cut into numbered parts that any thread claims, the caller included: if a worker is
//! busy elsewhere (another process on a shared core), the caller does its parts and never waits
//! for a worker that has not started. Results never depend on who runs a part: every part writes
//! its own outputs with the same operations (see `kernels`).

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};
use std::thread::{self, Thread};

/// Bits of the packed job state: `generation | next part | number of parts`.
const PART_BITS: u32 = 12;
const PART_MASK: u64 = (1 << PART_BITS) - 1;
/// The most parts a job may have.
pub(crate) const MAX_PARTS: usize = PART_MASK as usize;
/// Spins (of a few nanoseconds each) a worker waits for the next job before it parks.
const SPINS: u32 = 20_000;
/// Spins the caller waits for the workers' last parts before it yields its core.
const WAIT_SPINS: u32 = 2_000;

type Job<'a> = dyn Fn(usize) + Sync + 'a;

struct Shared {
    /// `generation << 24 | next << 12 | parts`. A part is claimed by a compare-and-swap that
    /// advances `next` within the same generation.
    state: AtomicU64,
    /// Parts finished in the current generation.
    done: AtomicUsize,
    /// The current job; written only while no part of it can be claimed (see `run`).
    job: UnsafeCell<Option<*const Job<'static>>>,
    panicked: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    sleeping: AtomicUsize,
    workers: Mutex<Vec<Thread>>,
}

// SAFETY: `job` is written only by the thread holding the pool's lock, between generations, when
// every part of the previous generation is finished and none of the next can be claimed yet;
// readers read it only after claiming a part of the current generation (see `claim`), which
// happens-after the write (the state's Release store and the claim's Acquire load).
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

fn pack(generation: u64, next: usize, parts: usize) -> u64 {
    (generation << (2 * PART_BITS)) | ((next as u64) << PART_BITS) | parts as u64
}

fn unpack(state: u64) -> (u64, usize, usize) {
    (
        state >> (2 * PART_BITS),
        ((state >> PART_BITS) & PART_MASK) as usize,
        (state & PART_MASK) as usize,
    )
}

impl Shared {
    /// Claims and runs one part of the current job; false if there is none left.
    fn work_once(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        let (generation, next, parts) = unpack(state);
        if next >= parts {
            return false;
        }
        let claimed = pack(generation, next + 1, parts);
        if self
            .state
            .compare_exchange_weak(state, claimed, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return true;
        }
        // SAFETY: the claim succeeded on the current generation with a part not yet finished,
        // so the caller of `run` is still waiting for it and its job is alive and unchanged (the
        // generation is 40 bits wide: a stale claim would need this thread to stall between the
        // load and the swap for 2^40 jobs, weeks of training).
        let job = unsafe { (*self.job.get()).expect("a claimed part has a job") };
        // SAFETY: as above, the pointee outlives the part.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(next) }));
        if let Err(payload) = result {
            // Poisoning cannot lose anything here (the lock guards only this slot), so a
            // poisoned lock is taken as it is rather than dropping the panic.
            self.panicked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(payload);
        }
        self.done.fetch_add(1, Ordering::AcqRel);
        true
    }
}

/// The engine's pool; see the module docs.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    generation: u64,
}

impl Pool {
    fn new() -> Self {
        Pool {
            shared: Arc::new(Shared {
                state: AtomicU64::new(0),
                done: AtomicUsize::new(0),
                job: UnsafeCell::new(None),
                panicked: Mutex::new(None),
                sleeping: AtomicUsize::new(0),
                workers: Mutex::new(Vec::new()),
            }),
            generation: 0,
        }
    }

    /// Makes sure `count` workers exist (they are never stopped: the pool lives as long as the
    /// process).
    fn ensure_workers(&mut self, count: usize) {
        let mut workers = self
            .shared
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while workers.len() < count {
            let shared = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name(format!("digitnet-{}", workers.len() + 1))
                .spawn(move || worker(&shared));
            match spawned {
                Ok(handle) => workers.push(handle.thread().clone()),
                // No thread to be had: the caller does every part itself.
                Err(_) => break,
            }
        }
    }

    /// Runs `job(0..parts)` on up to `threads` threads (this one included) and returns when every
    /// part has finished. A panic in any part is resumed here, after all parts are done.
    fn run(&mut self, threads: usize, parts: usize, job: &Job<'_>) {
        assert!(parts <= MAX_PARTS, "too many parts");
        self.ensure_workers(threads - 1);
        self.generation += 1;
        let shared = &*self.shared;
        // SAFETY: no part of the previous generation can still be claimed (all were claimed and
        // finished before the last `run` returned), and this generation's parts cannot be
        // claimed before the Release store below; the pointer is cleared before returning, and
        // `job` outlives this call.
        unsafe {
            *shared.job.get() = Some(std::mem::transmute::<*const Job<'_>, *const Job<'static>>(
                job,
            ));
        }
        shared.done.store(0, Ordering::Relaxed);
        shared
            .state
            .store(pack(self.generation, 0, parts), Ordering::Release);
        if shared.sleeping.load(Ordering::SeqCst) > 0 {
            let workers = shared
                .workers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            workers.iter().take(threads - 1).for_each(Thread::unpark);
        }
        while shared.work_once() {}
        // The last parts run on workers: spin briefly, then yield, so that on a machine with
        // more busy threads than cores this thread does not take the time a worker needs.
        let mut spins = 0u32;
        while shared.done.load(Ordering::Acquire) < parts {
            if spins < WAIT_SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else {
                thread::yield_now();
            }
        }
        // SAFETY: every part is finished and none is left to claim.
        unsafe { *shared.job.get() = None };
        let panicked = shared
            .panicked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(payload) = panicked {
            resume_unwind(payload);
        }
    }
}

fn worker(shared: &Shared) {
    loop {
        let mut idle = 0;
        while idle < SPINS {
            if shared.work_once() {
                idle = 0;
            } else {
                idle += 1;
                std::hint::spin_loop();
            }
        }
        shared.sleeping.fetch_add(1, Ordering::SeqCst);
        // Look once more after announcing the sleep: a job published before the caller saw the
        // announcement is taken now, one published after it comes with an unpark.
        if !shared.work_once() {
            thread::park();
        }
        shared.sleeping.fetch_sub(1, Ordering::SeqCst);
    }
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(Pool::new()))
}

/// Runs `job(part)` for every `part` in `0..parts`, on up to `threads` threads. With one thread,
/// one part, or the pool busy with another caller (two networks training at once), the parts run
/// here in order: the results are the same either way.
pub(crate) fn for_each_part(threads: usize, parts: usize, job: &Job<'_>) {
    if threads <= 1 || parts <= 1 {
        (0..parts).for_each(job);
        return;
    }
    match pool().try_lock() {
        Ok(mut pool) => pool.run(threads, parts, job),
        Err(TryLockError::WouldBlock) => (0..parts).for_each(job),
        // A panic while holding the lock left the pool as it was between jobs: use it again.
        Err(TryLockError::Poisoned(poisoned)) => {
            poisoned.into_inner().run(threads, parts, job);
        }
    }
}

/// The number of threads this process may run on (its CPU affinity mask and quota), at least 1.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Splits `0..len` into `parts` nearly equal ranges whose boundaries are multiples of `align`
/// (except the end): part `i` of `parts`.
pub(crate) fn part_range(
    len: usize,
    parts: usize,
    align: usize,
    i: usize,
) -> std::ops::Range<usize> {
    let units = len.div_ceil(align);
    let start = (units * i / parts * align).min(len);
    let end = (units * (i + 1) / parts * align).min(len);
    start..end
}

/// Elements an element-wise pass (an optimizer step, an L2 term) gives each thread at least:
/// such passes stream their arrays from memory at a few nanoseconds per element, so a part of
/// this size is tens of microseconds, far more than handing it to another thread.
const MIN_CHUNK: usize = 16_384;

/// Runs `job(range)` over `0..len` cut into ranges of at least [`MIN_CHUNK`] elements (whole
/// cache lines of either float type), on up to `threads` threads: for element-wise work, whose
/// result for each element does not depend on the cut.
pub(crate) fn for_each_chunk(
    threads: usize,
    len: usize,
    job: &(dyn Fn(std::ops::Range<usize>) + Sync),
) {
    let parts = chunk_parts(len, threads);
    for_each_part(threads, parts, &|p| job(part_range(len, parts, 16, p)));
}

/// How many parts element-wise work on `elements` values is cut into on `threads` threads.
pub(crate) fn chunk_parts(elements: usize, threads: usize) -> usize {
    (elements / MIN_CHUNK).clamp(1, threads.clamp(1, MAX_PARTS))
}

/// A raw pointer to a mutable buffer shared by the parts of one job, each of which writes only
/// its own disjoint range.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: the parts that hold copies write disjoint ranges (each caller's SAFETY comment proves
// it for its split), and the buffer outlives the job (`for_each_part` returns after every part).
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    pub(crate) fn new(slice: &mut [T]) -> Self {
        SharedMut {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
        }
    }

    /// A pointer to element `range.start`, and the length of `range`, checked to be in bounds:
    /// for parts whose elements interleave (a product split over columns), each proving in its
    /// SAFETY comment that what it touches through the pointer is its own.
    pub(crate) fn pointer(&self, range: std::ops::Range<usize>) -> (*mut T, usize) {
        assert!(range.start <= range.end && range.end <= self.len);
        (self.ptr.wrapping_add(range.start), range.len())
    }

    /// The elements `range`.
    ///
    /// # Safety
    /// No other part may access any element of `range` while the returned slice lives, and the
    /// buffer must outlive it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, range: std::ops::Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.len);
        std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn chunks_cover_every_element_once() {
        for threads in 1..=4 {
            for len in [0, 1, MIN_CHUNK - 1, 2 * MIN_CHUNK + 5, 7 * MIN_CHUNK + 3] {
                let counts: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
                for_each_chunk(threads, len, &|range| {
                    for c in &counts[range] {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                });
                assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn every_part_runs_once_for_any_thread_count() {
        for threads in 1..=4 {
            for parts in [1, 2, 3, 7, 64, MAX_PARTS] {
                let counts: Vec<AtomicU32> = (0..parts).map(|_| AtomicU32::new(0)).collect();
                for_each_part(threads, parts, &|p| {
                    counts[p].fetch_add(1, Ordering::Relaxed);
                });
                assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_the_pool_still_works() {
        let caught = catch_unwind(|| {
            for_each_part(2, 8, &|p| {
                assert!(p != 5, "part 5 fails");
            });
        });
        assert!(caught.is_err());
        let total = AtomicUsize::new(0);
        for_each_part(2, 8, &|p| {
            total.fetch_add(p, Ordering::Relaxed);
        });
        assert_eq!(total.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn concurrent_callers_each_get_all_their_parts() {
        thread::scope(|scope| {
            for caller in 0..3 {
                scope.spawn(move || {
                    for _ in 0..200 {
                        let sum = AtomicUsize::new(0);
                        for_each_part(2, 16, &|p| {
                            sum.fetch_add(p + caller, Ordering::Relaxed);
                        });
                        assert_eq!(sum.load(Ordering::Relaxed), 120 + 16 * caller);
                    }
                });
            }
        });
    }

    #[test]
    fn part_ranges_cover_the_whole_range_in_order() {
        for (len, parts, align) in [(10, 3, 1), (30, 2, 4), (7, 7, 1), (5, 2, 8)] {
            let mut next = 0;
            for i in 0..parts {
                let r = part_range(len, parts, align, i);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, len);
        }
    }
}
