use digitnet_core::Error;
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::PyErr;

/// The one place where engine errors become Python exceptions.
pub(crate) fn to_py_err(error: Error) -> PyErr {
    match error {
        Error::OutOfMemory { .. } => PyMemoryError::new_err(error.to_string()),
        Error::TooFewLayers(_)
        | Error::EmptyLayer(_)
        | Error::Shape { .. }
        | Error::NonFinite { .. }
        | Error::Empty { .. }
        | Error::InvalidArgument { .. } => PyValueError::new_err(error.to_string()),
    }
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
