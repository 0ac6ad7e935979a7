use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Threads for inference (`feedforward`, `predict`, `evaluate`); 0 means one per CPU.
/// Training runs on one thread: its mini-batches are too small to share.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads inference uses.
#[pyfunction]
pub(crate) fn get_num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Sets the number of threads inference uses (at least 1).
#[pyfunction]
pub(crate) fn set_num_threads(threads: usize) -> PyResult<()> {
    if threads == 0 {
        return Err(PyValueError::new_err(
            "threads: must be a positive integer, got 0",
        ));
    }
    THREADS.store(threads, Ordering::Relaxed);
    Ok(())
}
