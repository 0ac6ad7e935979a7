use std::time::{Duration, Instant};

use pyo3::{PyResult, Python};

/// How long the engine computes with the GIL released before the binding takes it back to look
/// for Ctrl-C and report progress: short enough that Ctrl-C feels immediate, long enough that
/// the check costs nothing measurable.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A `keep_going` callback for the engine that says stop once `SLICE` has passed.
pub(crate) fn until_slice_ends() -> impl FnMut(usize) -> bool {
    let deadline = Instant::now() + SLICE;
    move |_| Instant::now() < deadline
}

/// Raises `KeyboardInterrupt` (or whatever a signal handler raised) if a signal arrived.
pub(crate) fn check(py: Python<'_>) -> PyResult<()> {
    py.check_signals()
}
