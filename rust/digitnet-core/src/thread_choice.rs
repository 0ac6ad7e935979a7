//! Whether training runs its mini-batches on one thread or on all it may use, chosen by measured
//! speed: on a shared machine whose other cores are busy, handing work to a worker that the
//! operating system has descheduled makes every step wait, and one thread is faster. Results do
//! not depend on the choice (see `kernels`), so it can change at any mini-batch.

use std::time::Instant;

/// Mini-batches per measurement.
const BLOCK: usize = 64;
/// Every this many blocks, the slower choice is measured again (the machine's load changes).
const PROBE_EVERY: u64 = 8;

#[derive(Debug, Clone, Default)]
pub(crate) struct ThreadChoice {
    /// Smoothed seconds per mini-batch on one thread and on all.
    single: Option<f64>,
    multi: Option<f64>,
    use_all: bool,
    in_block: usize,
    started: Option<Instant>,
    blocks: u64,
}

impl ThreadChoice {
    /// Forgets a partly measured block (call at the start of each run of mini-batches, so that
    /// time spent between calls is never counted).
    pub(crate) fn restart(&mut self) {
        self.in_block = 0;
        self.started = None;
    }

    /// The threads for the next mini-batch, of at most `max`.
    pub(crate) fn threads(&mut self, max: usize) -> usize {
        if max <= 1 {
            return 1;
        }
        if self.in_block == 0 {
            self.started = Some(Instant::now());
        }
        if self.multi.is_none() {
            self.use_all = true;
        }
        if self.use_all {
            max
        } else {
            1
        }
    }

    /// Records that the mini-batch run with [`ThreadChoice::threads`] has finished.
    pub(crate) fn finished(&mut self) {
        let Some(started) = self.started else {
            return;
        };
        self.in_block += 1;
        if self.in_block < BLOCK {
            return;
        }
        let per_batch = started.elapsed().as_secs_f64() / BLOCK as f64;
        self.blocks += 1;
        // The very first block warms the workers and caches up: it is not a measurement.
        if self.blocks > 1 {
            let slot = if self.use_all {
                &mut self.multi
            } else {
                &mut self.single
            };
            *slot = Some(slot.map_or(per_batch, |old| 0.5 * old + 0.5 * per_batch));
        }
        self.restart();
        self.use_all = match (self.single, self.multi) {
            (None, _) => false,
            (_, None) => true,
            (Some(single), Some(multi)) => {
                let faster = multi <= single;
                if self.blocks.is_multiple_of(PROBE_EVERY) {
                    !faster
                } else {
                    faster
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_both_then_keeps_the_faster_and_probes_the_other() {
        let mut choice = ThreadChoice::default();
        assert_eq!(choice.threads(1), 1);
        // The first two blocks on all threads (the first only warms up), the third on one.
        let mut seen = Vec::new();
        for _ in 0..(BLOCK * 40) {
            seen.push(choice.threads(4));
            choice.finished();
        }
        assert_eq!(seen[0], 4);
        assert_eq!(seen[BLOCK], 4);
        assert_eq!(seen[2 * BLOCK], 1);
        assert!(choice.single.is_some() && choice.multi.is_some());
        let ones = seen.iter().filter(|&&t| t == 1).count();
        assert!(ones >= BLOCK && ones < seen.len());
    }
}
