use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::import_exception;
use pyo3::prelude::*;

// The Python class itself (digitnet/errors.py): every exception class lives there.
import_exception!(digitnet.errors, InternalError);

/// Runs `body`, turning a Rust panic — a bug, never a user's mistake — into `digitnet.InternalError`,
/// an ordinary exception that `except Exception` catches, instead of PyO3's `PanicException`,
/// which derives from `BaseException` and so escapes such handlers.
pub(crate) fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    // AssertUnwindSafe: after a panic the network may be half-updated; the error says so and
    // asks for a bug report rather than pretending the object is intact.
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(InternalError::new_err(format!(
            "internal error in digitnet: {message}. This is a bug, not a problem with your input: \
             please report it to the digitnet developers with the code that triggered it. The \
             network involved may be in an inconsistent state"
        )))
    })
}

/// Panics on purpose inside [`guard`], so that tests can check what a panic becomes.
#[pyfunction]
pub(crate) fn _panic_for_tests(message: &str) -> PyResult<()> {
    guard(|| panic!("{message}"))
}
