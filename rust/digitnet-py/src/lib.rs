//! The Python binding of `digitnet-core`, imported as `digitnet._core`.
//!
//! It converts NumPy arrays to ndarray views and back, validates what the engine cannot (Python
//! integers, labels), releases the GIL while the engine computes, and maps engine errors to
//! Python exceptions. The user-facing API lives in Python (`digitnet.network`).

mod convert;
mod errors;
mod guard;
mod interrupt;
mod model;
mod network;
mod optimizer_state;
mod options;
mod threads;
mod training;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<network::PyNetwork>()?;
    m.add_function(wrap_pyfunction!(network::sigmoid, m)?)?;
    m.add_function(wrap_pyfunction!(network::sigmoid_prime, m)?)?;
    m.add_function(wrap_pyfunction!(network::transform_image, m)?)?;
    m.add_function(wrap_pyfunction!(threads::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(threads::available_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(threads::get_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(threads::set_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(guard::_panic_for_tests, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
