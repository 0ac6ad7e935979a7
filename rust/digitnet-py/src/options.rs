//! Hyperparameters as Python passes them (names, and option objects read by attribute), turned
//! into the engine's types.

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
                        "activations: unknown activation {name:?}; expected \"sigmoid\", \"tanh\", \"relu\", \"identity\", \"softmax\" or \"exp\""
                    ))
                })
            })
            .collect(),
    }
}

pub(crate) fn cost(name: &str) -> PyResult<Cost> {
    Cost::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "cost: unknown cost {name:?}; expected \"QuadraticCost\", \"CrossEntropyCost\", \"LogLikelihoodCost\" or \"PoissonCost\""
        ))
    })
}

pub(crate) fn init(name: &str) -> PyResult<Init> {
    match name {
        "large" => Ok(Init::Large),
        "scaled" => Ok(Init::Scaled),
        "glorot" => Ok(Init::Glorot { factor: 6.0 }),
        "glorot-sigmoid" => Ok(Init::Glorot { factor: 2.0 }),
        other => Err(PyValueError::new_err(format!(
            "init: must be \"large\" (N(0, 1)), \"scaled\" (N(0, 1/n_in)), \"glorot\" or \
             \"glorot-sigmoid\", got {other:?}"
        ))),
    }
}

/// `digitnet.training.Momentum` / `Nesterov` / `Adam`, read by attribute name.
#[derive(FromPyObject)]
pub(crate) enum OptimizerArg {
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        form: String,
    },
    Momentum {
        mu: f64,
        nesterov: bool,
    },
}

/// `digitnet.training.Augment`, read by attribute name.
#[derive(FromPyObject)]
pub(crate) struct AugmentArg {
    max_shift: f64,
    max_rotation: f64,
    image_shape: (usize, usize),
}

/// `digitnet.sgd.StepOptions`, read by attribute name: everything a training call takes
/// besides the data.
#[derive(FromPyObject)]
pub(crate) struct StepArg {
    eta: f64,
    lmbda: f64,
    optimizer: Option<OptimizerArg>,
    dropout: f64,
    augment: Option<AugmentArg>,
    batch_l2: bool,
}

/// A training call's hyperparameters in the engine's types.
#[derive(Clone, Copy)]
pub(crate) struct Hyper {
    pub(crate) eta: f64,
    options: TrainOptions,
}

impl Hyper {
    pub(crate) fn new(arg: StepArg) -> PyResult<Self> {
        let optimizer = match arg.optimizer {
            None => Optimizer::Sgd,
            Some(OptimizerArg::Momentum {
                mu,
                nesterov: false,
            }) => Optimizer::Momentum { mu },
            Some(OptimizerArg::Momentum { mu, nesterov: true }) => Optimizer::Nesterov { mu },
            Some(OptimizerArg::Adam {
                beta1,
                beta2,
                epsilon,
                form,
            }) => Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                efficient: match form.as_str() {
                    "paper" => false,
                    "efficient" => true,
                    other => {
                        return Err(PyValueError::new_err(format!(
                            "form: must be \"paper\" or \"efficient\", got {other:?}"
                        )))
                    }
                },
            },
        };
        let augment = arg.augment.map(|a| Augment {
            shape: a.image_shape,
            max_shift: a.max_shift,
            max_rotation: a.max_rotation,
        });
        Ok(Hyper {
            eta: arg.eta,
            options: TrainOptions {
                eta: arg.eta,
                lmbda: arg.lmbda,
                batch_l2: arg.batch_l2,
                optimizer,
                keep: 1.0 - arg.dropout,
                augment,
            },
        })
    }

    /// The engine's options with learning rate `eta` (which a schedule may have changed).
    pub(crate) fn options(&self, eta: f64) -> TrainOptions {
        TrainOptions {
            eta,
            ..self.options
        }
    }
}
