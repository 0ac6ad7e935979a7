use std::sync::atomic::{AtomicUsize, Ordering};

use digitnet_core::Kernel;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::IntoPyResult;

/// Threads for training and inference; 0 means one per CPU this process may run on.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads training and inference use.
#[pyfunction]
pub(crate) fn get_num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => digitnet_core::default_threads(),
        n => n,
    }
}

/// Sets the number of threads training and inference use (at least 1).
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

/// The kernels this CPU can run, narrowest first, then `"auto"`.
#[pyfunction]
pub(crate) fn available_kernels() -> Vec<&'static str> {
    let mut names: Vec<&str> = Kernel::available().into_iter().map(Kernel::name).collect();
    names.push("auto");
    names
}

/// The kernel in use (`"avx512"`, `"avx2"` or `"scalar"`).
#[pyfunction]
pub(crate) fn get_kernel() -> &'static str {
    digitnet_core::kernel().0.name()
}

/// Forces a kernel by name, or `"auto"` for the widest this CPU has.
#[pyfunction]
pub(crate) fn set_kernel(name: &str) -> PyResult<()> {
    if name == "auto" {
        return digitnet_core::set_kernel(None).py();
    }
    match Kernel::from_name(name) {
        Some(kernel) => digitnet_core::set_kernel(Some(kernel)).py(),
        None => Err(PyValueError::new_err(format!(
            "kernel: must be one of {}, got {name:?}",
            available_kernels().join(", ")
        ))),
    }
}
