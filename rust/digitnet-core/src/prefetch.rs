use ndarray::ArrayView1;

/// Asks the CPU to start loading `row` into cache, so that gathering the next mini-batch from
/// a data set far larger than the caches overlaps with computing the current one instead of
/// waiting on memory. A hint only: it changes no value, and does nothing off x86-64 or for a
/// row that is not contiguous in memory.
#[inline]
pub(crate) fn prefetch_row<F>(row: ArrayView1<'_, F>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(slice) = row.as_slice() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let bytes = std::mem::size_of_val(slice);
        let start = slice.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(LINE) {
            // SAFETY: `start + offset` lies inside `slice` (offset < its size in bytes), and a
            // prefetch never faults, reads or writes memory in any way the program can observe:
            // it only moves a cache line closer.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}
