//! Hints that start loading data into cache before it is read: the next mini-batch's rows
//! while the current one computes, a kernel's next tile. Hints only: they change no value, and
//! do nothing off x86-64.

/// The bytes of a cache line.
const LINE: usize = 64;

/// The cache lines of the next mini-batch's input rows, which the largest weight product of the
/// current one asks for a few at a time between its tiles (see [`Lines`]).
///
/// Why spread out: a book mini-batch is ten rows of 98 lines each, far apart in a data set much
/// larger than the caches. Asked for all at once, ~1,000 prefetches queue for the core's dozen
/// or so line-fill buffers, each held for a trip to memory, and the core stalls behind them:
/// 14% of the book's float64 epoch in a profile. Asked for an even share after each tile of
/// the weight step (about five lines), they overlap with its arithmetic.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ahead<'a> {
    /// The address of each row's first byte.
    rows: &'a [usize],
    /// Lines asked for per row: enough to cover a row wherever it starts.
    lines_per_row: usize,
}

impl<'a> Ahead<'a> {
    /// The rows starting at `rows` (addresses), `row_bytes` long each.
    pub(crate) fn new(rows: &'a [usize], row_bytes: usize) -> Self {
        // A row that starts inside a line ends in one more line than its length needs.
        let aligned = rows.iter().all(|&r| r % LINE == 0);
        let lines_per_row = row_bytes.div_ceil(LINE) + usize::from(!aligned && row_bytes > 0);
        Ahead {
            rows,
            lines_per_row,
        }
    }

    fn lines(&self) -> usize {
        self.rows.len() * self.lines_per_row
    }

    /// Part `part` of `parts` nearly equal shares of the lines: each thread of a product split
    /// in parts asks for its own.
    pub(crate) fn share(self, part: usize, parts: usize) -> Lines<'a> {
        let range = crate::parallel::part_range(self.lines(), parts.max(1), 1, part);
        Lines {
            ahead: self,
            next: range.start,
            end: range.end,
        }
    }
}

/// A range of the lines of an [`Ahead`], asked for in order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lines<'a> {
    ahead: Ahead<'a>,
    next: usize,
    end: usize,
}

impl Lines<'_> {
    /// Lines not yet asked for.
    pub(crate) fn remaining(&self) -> usize {
        self.end - self.next
    }

    /// Asks for the next `count` lines (fewer if fewer remain).
    #[inline(always)]
    pub(crate) fn take(&mut self, count: usize) {
        self.visit(count, into_l2);
    }

    /// Passes the addresses of the next `count` lines (fewer if fewer remain) to `line`.
    #[inline(always)]
    fn visit(&mut self, count: usize, mut line: impl FnMut(usize)) {
        let end = self.end.min(self.next.saturating_add(count));
        if self.next >= end {
            return;
        }
        // One division per call, not per line: a division costs as much as several prefetches.
        let per_row = self.ahead.lines_per_row;
        let (mut row, mut offset) = (self.next / per_row, self.next % per_row);
        for _ in self.next..end {
            line((self.ahead.rows[row] & !(LINE - 1)) + offset * LINE);
            offset += 1;
            if offset == per_row {
                (row, offset) = (row + 1, 0);
            }
        }
        self.next = end;
    }

    /// Asks for every line that remains.
    pub(crate) fn finish(&mut self) {
        self.take(self.remaining());
    }
}

/// Asks the CPU to bring the cache line at `address` into L2: the gather reads it from there
/// soon after, and L1 stays with the kernel that asks (measured 0.5-3.6% faster than into L1
/// on the book's epochs).
#[inline(always)]
fn into_l2(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, reads or writes memory in any way the program can
    // observe (any address, even one outside every allocation, is allowed): it only moves a
    // cache line closer. The pointer is never dereferenced.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        _mm_prefetch::<_MM_HINT_T1>(address as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks the CPU to bring the cache line at `p` into L1: for what a kernel reads next (the next
/// tile's weights). `p` may lie outside any allocation (computed with `wrapping_add`).
#[inline(always)]
pub(crate) fn into_l1<F>(p: *const F) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `into_l2`: the instruction has no effect the program can observe, and `p`
    // is never dereferenced.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines a set of shares asks for, as addresses, in order, taken 7 at a time (so that
    /// calls start and end inside rows).
    fn addresses(ahead: Ahead<'_>, parts: usize) -> Vec<usize> {
        let mut all = Vec::new();
        for part in 0..parts {
            let mut lines = ahead.share(part, parts);
            while lines.remaining() > 0 {
                lines.visit(7, |address| all.push(address));
            }
        }
        all
    }

    #[test]
    fn shares_cover_every_line_of_every_row_once() {
        // Aligned rows of 98 lines (a float64 MNIST image), and rows that start mid-line.
        for (rows, bytes) in [
            (vec![0usize, 64 * 1000], 6272),
            (vec![8usize, 64 * 1000 + 8], 6272),
        ] {
            let ahead = Ahead::new(&rows, bytes);
            for parts in 1..4 {
                let got = addresses(ahead, parts);
                let mut expected = Vec::new();
                for &row in &rows {
                    let (first, last) = (row / LINE, (row + bytes - 1) / LINE);
                    expected.extend((first..=last).map(|l| l * LINE));
                }
                // Misaligned rows may ask for one line past their end, never fewer.
                let covered: Vec<usize> = expected
                    .iter()
                    .filter(|a| !got.contains(a))
                    .copied()
                    .collect();
                assert!(covered.is_empty(), "{parts} parts miss {covered:?}");
                assert!(got.len() <= expected.len() + rows.len(), "{parts} parts");
                let mut unique = got.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(unique.len(), got.len(), "{parts} parts ask twice");
            }
        }
    }

    #[test]
    fn take_stops_at_the_end_of_its_share() {
        let rows = [0usize];
        let mut lines = Ahead::new(&rows, 640).share(1, 2);
        assert_eq!(lines.remaining(), 5);
        lines.take(3);
        assert_eq!(lines.remaining(), 2);
        lines.take(usize::MAX);
        assert_eq!(lines.remaining(), 0);
        lines.finish();
        assert_eq!(lines.remaining(), 0);
        assert_eq!(Lines::default().remaining(), 0);
    }
}
