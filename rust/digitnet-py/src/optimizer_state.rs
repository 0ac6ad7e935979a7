//! The optimizer's state (velocities, Adam's moments and step count) out of a network's trainer
//! and back, so that a pickled network continues training exactly where it stopped.
//!
//! Python sees a tuple `(kind, hyperparameters, steps, first_w, first_b, second_w, second_b)`:
//! `kind` is "sgd", "momentum", "nesterov" or "adam"; the hyperparameters are `[]`, `[mu]`, or
//! `[beta1, beta2, epsilon, efficient]` (efficient as 1.0 or 0.0); then lists of arrays.

use digitnet_core::{Optimizer, OptimizerSnapshot};
use numpy::{IntoPyArray, PyReadonlyArray};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPyResult;
use crate::model::{Engine, Precision};

type Saved<'py> = (
    String,
    Vec<f64>,
    u64,
    Vec<Bound<'py, PyAny>>,
    Vec<Bound<'py, PyAny>>,
    Vec<Bound<'py, PyAny>>,
    Vec<Bound<'py, PyAny>>,
);

/// The state as the tuple above, or `None` when the network has not trained yet.
pub(crate) fn export<'py, F: Precision>(
    py: Python<'py>,
    engine: &Engine,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(snapshot) = F::model(engine)?.optimizer_state() else {
        return Ok(None);
    };
    let (kind, values) = match snapshot.optimizer {
        Optimizer::Sgd => ("sgd", vec![]),
        Optimizer::Momentum { mu } => ("momentum", vec![mu]),
        Optimizer::Nesterov { mu } => ("nesterov", vec![mu]),
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
            efficient,
        } => (
            "adam",
            vec![beta1, beta2, epsilon, f64::from(u8::from(efficient))],
        ),
    };
    let saved: Saved<'py> = (
        kind.to_owned(),
        values,
        snapshot.steps,
        to_python(py, snapshot.first_w),
        to_python(py, snapshot.first_b),
        to_python(py, snapshot.second_w),
        to_python(py, snapshot.second_b),
    );
    Ok(Some(saved.into_pyobject(py)?))
}

/// Puts back a state that [`export`] gave (checked against this network).
pub(crate) fn restore<F: Precision>(engine: &mut Engine, state: &Bound<'_, PyAny>) -> PyResult<()> {
    let bad = |why: &str| PyValueError::new_err(format!("optimizer state: {why}"));
    let (kind, values, steps, first_w, first_b, second_w, second_b): Saved<'_> = state
        .extract()
        .map_err(|_| bad("expected the tuple that optimizer_state() returns"))?;
    let optimizer = match (kind.as_str(), values.as_slice()) {
        ("sgd", []) => Optimizer::Sgd,
        ("momentum", &[mu]) => Optimizer::Momentum { mu },
        ("nesterov", &[mu]) => Optimizer::Nesterov { mu },
        ("adam", &[beta1, beta2, epsilon, efficient]) if efficient == 0.0 || efficient == 1.0 => {
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                efficient: efficient == 1.0,
            }
        }
        _ => return Err(bad(&format!("unknown optimizer {kind:?} with {values:?}"))),
    };
    let snapshot = OptimizerSnapshot {
        optimizer,
        steps,
        first_w: from_python(&first_w)?,
        first_b: from_python(&first_b)?,
        second_w: from_python(&second_w)?,
        second_b: from_python(&second_b)?,
    };
    F::model_mut(engine)?.restore_optimizer(&snapshot)
}

fn to_python<'py, F: Precision, D: ndarray::Dimension>(
    py: Python<'py>,
    arrays: Vec<ndarray::Array<F, D>>,
) -> Vec<Bound<'py, PyAny>> {
    arrays
        .into_iter()
        .map(|a| a.into_pyarray(py).into_any())
        .collect()
}

fn from_python<F: Precision, D: ndarray::Dimension>(
    arrays: &[Bound<'_, PyAny>],
) -> PyResult<Vec<ndarray::Array<F, D>>> {
    arrays
        .iter()
        .map(|a| {
            let a: PyReadonlyArray<'_, F, D> = a.extract().map_err(|_| {
                PyValueError::new_err(format!(
                    "optimizer state: expected {}-D arrays of {}",
                    D::NDIM.unwrap_or(0),
                    F::NAME
                ))
            })?;
            Ok(a.as_array().to_owned())
        })
        .collect()
}

impl<F: Precision> crate::model::Model<F> {
    /// The trainer's optimizer state, if the network has a trainer yet.
    pub(crate) fn optimizer_state(&self) -> Option<OptimizerSnapshot<F>> {
        self.trainer().map(|t| t.optimizer_state())
    }

    /// Continues from `snapshot` (checked against the network).
    pub(crate) fn restore_optimizer(&mut self, snapshot: &OptimizerSnapshot<F>) -> PyResult<()> {
        let (net, trainer) = self.net_and_trainer(1)?;
        trainer.restore_optimizer(net, snapshot).py()
    }
}
