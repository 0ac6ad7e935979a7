//! Conversions from Python objects that every binding module shares.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::model::Precision;

/// Class labels or sample indices from an int64 array, each checked to lie in `0..bound`.
pub(crate) fn indices(
    what: &str,
    array: &PyReadonlyArray1<'_, i64>,
    bound: usize,
) -> PyResult<Vec<usize>> {
    let view = array.as_array();
    let mut out = Vec::with_capacity(view.len());
    for (i, &v) in view.iter().enumerate() {
        match usize::try_from(v) {
            Ok(u) if u < bound => out.push(u),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "{what}[{i}]: must be an integer in 0..{bound}, got {v}"
                )))
            }
        }
    }
    Ok(out)
}

pub(crate) fn array2<'py, F: Precision>(
    what: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArray2<'py, F>> {
    obj.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what}: expected a 2-D NumPy array of {}", F::NAME))
    })
}

pub(crate) fn array1<'py, F: Precision>(
    what: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArray1<'py, F>> {
    obj.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what}: expected a 1-D NumPy array of {}", F::NAME))
    })
}
