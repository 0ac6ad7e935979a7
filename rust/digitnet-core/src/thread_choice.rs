//! Whether training runs its mini-batches on one thread or on all it may use, chosen by measured
//! speed: on a shared machine whose other cores are busy, handing work to a worker that the
//! operating system has descheduled makes every step wait, and one thread is faster. Results do
//! not depend on the choice (see `kernels`), so it can change at any mini-batch.

use std::time::Instant;

/// A measurement ("block") is the mini-batches of one choice until they have taken
/// [`BLOCK_SECONDS`] (at least [`MIN_BLOCK`] of them) or number [`BLOCK`]. A block on the
/// slower choice costs its length times the difference, so a block is short in time: in blocks
/// of 64, a 5-epoch fit of scikit-learn's default network (about 1 ms a mini-batch) would run 2
/// of its 23 blocks, 9% of its mini-batches, on the slower choice. Ten milliseconds still spans
/// a few of the scheduler's time slices.
const BLOCK: usize = 64;
const MIN_BLOCK: usize = 4;
const BLOCK_SECONDS: f64 = 0.010;
/// The slower choice is measured again after this many blocks at first (the machine's load
/// changes), and the interval doubles, up to [`PROBE_MAX`], each time a probe confirms the
/// choice: a probe runs a whole block the slower way, and at a fixed 1 in 8 that alone made the
/// default slower than one thread on small networks, where two threads lose.
const PROBE_MIN: u64 = 8;
const PROBE_MAX: u64 = 64;

#[derive(Debug, Clone, Default)]
pub(crate) struct ThreadChoice {
    /// Smoothed seconds per mini-batch on one thread and on all.
    single: Option<f64>,
    multi: Option<f64>,
    use_all: bool,
    /// The mini-batches of the block being measured, and their seconds.
    in_block: usize,
    block_seconds: f64,
    /// When the mini-batch running now started.
    started: Option<Instant>,
    blocks: u64,
    /// Blocks between probes, and the blocks since the last probe.
    probe_every: u64,
    since_probe: u64,
    /// Whether the block being measured is a probe.
    probing: bool,
}

impl ThreadChoice {
    /// Forgets a mini-batch that started and never finished (call at the start of each run of
    /// mini-batches). Only the mini-batches' own time is counted, never the time between runs,
    /// and a block goes on across runs: the binding trains in slices of 50 ms, and a block that
    /// restarted with each slice never finished once 64 mini-batches took longer than that, so
    /// that a choice of one thread was never measured again (scikit-learn's default fit stayed
    /// on one thread for good).
    pub(crate) fn restart(&mut self) {
        self.started = None;
    }

    /// The threads for the next mini-batch, of at most `max`.
    pub(crate) fn threads(&mut self, max: usize) -> usize {
        if max <= 1 {
            return 1;
        }
        self.started = Some(Instant::now());
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
        let Some(started) = self.started.take() else {
            return;
        };
        self.in_block += 1;
        self.block_seconds += started.elapsed().as_secs_f64();
        if self.in_block >= BLOCK
            || (self.in_block >= MIN_BLOCK && self.block_seconds >= BLOCK_SECONDS)
        {
            self.record(self.block_seconds / self.in_block as f64);
        }
    }

    /// Takes a finished block's seconds per mini-batch and chooses the next block's threads.
    fn record(&mut self, per_batch: f64) {
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
        self.in_block = 0;
        self.block_seconds = 0.0;
        self.use_all = match (self.single, self.multi) {
            (None, _) => false,
            (_, None) => true,
            (Some(single), Some(multi)) => {
                let faster = multi <= single;
                if self.probing {
                    // The probe just measured the slower choice: if it is still slower, look
                    // again less often; if it won, keep it and look often again.
                    self.probe_every = if faster == self.use_all {
                        PROBE_MIN
                    } else {
                        (self.probe_every.max(PROBE_MIN) * 2).min(PROBE_MAX)
                    };
                    self.since_probe = 0;
                }
                self.since_probe += 1;
                self.probing = self.since_probe >= self.probe_every.max(PROBE_MIN);
                if self.probing {
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

    #[test]
    fn a_block_goes_on_across_runs_of_mini_batches() {
        // The binding's 50 ms slices: a run of three mini-batches at a time. Blocks must still
        // finish, so that both choices get measured.
        let mut choice = ThreadChoice::default();
        for i in 0..(BLOCK * 3) {
            if i % 3 == 0 {
                choice.restart();
            }
            choice.threads(2);
            choice.finished();
        }
        assert!(choice.single.is_some() && choice.multi.is_some());
        // A mini-batch that started and never finished (an error) is not counted.
        let before = choice.in_block;
        choice.threads(2);
        choice.restart();
        choice.finished();
        assert_eq!(choice.in_block, before);
    }

    #[test]
    fn slow_mini_batches_end_a_block_early() {
        let mut choice = ThreadChoice::default();
        let blocks = 3;
        let seen: Vec<usize> = (0..MIN_BLOCK * blocks)
            .map(|_| {
                let threads = choice.threads(2);
                std::thread::sleep(std::time::Duration::from_secs_f64(
                    BLOCK_SECONDS / MIN_BLOCK as f64 * 1.2,
                ));
                choice.finished();
                threads
            })
            .collect();
        // A warm-up block and one on two threads, then a block on one: each of MIN_BLOCK.
        assert_eq!(seen[..2 * MIN_BLOCK], [2; 2 * MIN_BLOCK]);
        assert_eq!(seen[2 * MIN_BLOCK..], [1; MIN_BLOCK]);
        assert!(choice.single.is_some() && choice.multi.is_some());
    }

    /// Runs `blocks` blocks whose seconds per mini-batch are `single` or `multi`; returns the
    /// threads each block used.
    fn simulate(choice: &mut ThreadChoice, blocks: usize, single: f64, multi: f64) -> Vec<usize> {
        (0..blocks)
            .map(|_| {
                let threads = choice.threads(2);
                choice.record(if threads == 1 { single } else { multi });
                threads
            })
            .collect()
    }

    #[test]
    fn probes_grow_rare_while_the_choice_holds_and_frequent_when_it_flips() {
        let mut choice = ThreadChoice::default();
        // Two threads lose: after the first probes, at most one block in PROBE_MAX uses them.
        let seen = simulate(&mut choice, 1000, 1.0, 1.5);
        let late = &seen[500..];
        let probes = late.iter().filter(|&&t| t == 2).count();
        assert!(
            probes >= 1 && probes <= late.len() / PROBE_MAX as usize + 1,
            "{probes}"
        );
        // The load changes and two threads win: the next probe finds it and keeps them.
        let seen = simulate(&mut choice, 3 * PROBE_MAX as usize, 1.0, 0.5);
        let switched = seen.iter().position(|&t| t == 2).expect("a probe");
        assert!(switched <= PROBE_MAX as usize, "{switched}");
        assert!(seen[seen.len() - 20..].iter().filter(|&&t| t == 2).count() >= 18);
    }
}
