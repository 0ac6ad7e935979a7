//! Hyperparameters as Python passes them (names, tuples), turned into the engine's types.

use digitnet_core::{Activation, Augment, Cost, Init, Optimizer, TrainOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Each non-input layer's activation from its name; `None` means all sigmoid.
pub(crate) fn activations(names: Option<Vec<String>>, layers: usize) -> PyResult<Vec<Activation>> {
    match names {
        None => Ok(vec![Activation::Sigmoid; layers]),
        Some(names) => names
            .iter()
            .map(|name| {
                Activation::from_name(name).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "activations: unknown activation {name:?}; expected \"sigmoid\", \"tanh\", \"relu\" or \"softmax\""
                    ))
                })
            })
            .collect(),
    }
}

pub(crate) fn cost(name: &str) -> PyResult<Cost> {
    Cost::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "cost: unknown cost {name:?}; expected \"QuadraticCost\", \"CrossEntropyCost\" or \"LogLikelihoodCost\""
        ))
    })
}

pub(crate) fn init(name: &str) -> PyResult<Init> {
    match name {
        "large" => Ok(Init::Large),
        "scaled" => Ok(Init::Scaled),
        other => Err(PyValueError::new_err(format!(
            "init: must be \"large\" (N(0, 1)) or \"scaled\" (N(0, 1/n_in)), got {other:?}"
        ))),
    }
}

/// Everything a training call takes besides the data, as Python passes it.
#[derive(Clone, Copy)]
pub(crate) struct Hyper {
    pub(crate) eta: f64,
    pub(crate) lmbda: f64,
    /// `("sgd" | "momentum" | "nesterov" | "adam", p1, p2, p3)`: μ for momentum, β₁, β₂, ε for Adam.
    pub(crate) optimizer: Optimizer,
    pub(crate) dropout: f64,
    pub(crate) augment: Option<Augment>,
}

impl Hyper {
    pub(crate) fn new(
        eta: f64,
        lmbda: f64,
        optimizer: Option<(String, f64, f64, f64)>,
        dropout: f64,
        augment: Option<(usize, usize, f64, f64)>,
    ) -> PyResult<Self> {
        let optimizer = match optimizer {
            None => Optimizer::Sgd,
            Some((name, a, b, c)) => match name.as_str() {
                "sgd" => Optimizer::Sgd,
                "momentum" => Optimizer::Momentum { mu: a },
                "nesterov" => Optimizer::Nesterov { mu: a },
                "adam" => Optimizer::Adam {
                    beta1: a,
                    beta2: b,
                    epsilon: c,
                },
                other => {
                    return Err(PyValueError::new_err(format!(
                        "optimizer: unknown optimizer {other:?}; expected \"sgd\", \"momentum\", \"nesterov\" or \"adam\""
                    )))
                }
            },
        };
        let augment = augment.map(|(h, w, max_shift, max_rotation)| Augment {
            shape: (h, w),
            max_shift,
            max_rotation,
        });
        Ok(Hyper {
            eta,
            lmbda,
            optimizer,
            dropout,
            augment,
        })
    }

    /// The engine's options with learning rate `eta` (which a schedule may have changed).
    pub(crate) fn options(&self, eta: f64) -> TrainOptions {
        TrainOptions {
            eta,
            lmbda: self.lmbda,
            optimizer: self.optimizer,
            keep: 1.0 - self.dropout,
            augment: self.augment,
        }
    }
}
