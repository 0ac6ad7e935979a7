use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

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
