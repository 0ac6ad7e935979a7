use digitnet_core::Error;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::{import_exception, PyErr};

// The Python class itself (digitnet/errors.py), so that what users catch is what we raise.
import_exception!(digitnet.errors, DivergenceError);

/// The one place where engine errors become Python exceptions.
pub(crate) fn to_py_err(error: Error) -> PyErr {
    match error {
        Error::OutOfMemory { .. } => PyMemoryError::new_err(error.to_string()),
        Error::Diverged { batch, detail } => diverged(None, batch, &detail),
        Error::TooFewLayers(_)
        | Error::EmptyLayer(_)
        | Error::Shape { .. }
        | Error::NonFinite { .. }
        | Error::Empty { .. }
        | Error::InvalidArgument { .. } => PyValueError::new_err(error.to_string()),
    }
}

/// `digitnet.DivergenceError` naming the epoch (when training epochs) and the mini-batch.
pub(crate) fn diverged(epoch: Option<usize>, batch: usize, detail: &str) -> PyErr {
    let place = match epoch {
        Some(epoch) => format!("epoch {epoch}, mini-batch {batch}"),
        None => format!("mini-batch {batch}"),
    };
    DivergenceError::new_err(format!(
        "training diverged at {place}: {detail}; the learning rate is probably too large. \
         The network keeps its parameters from before that mini-batch"
    ))
}

/// `result.py()?` turns an engine `Result` into a `PyResult`.
pub(crate) trait IntoPyResult<T> {
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py_err)
    }
}
