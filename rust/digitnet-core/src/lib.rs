//! The digitnet engine: the fully connected network of Michael Nielsen's *Neural Networks and
//! Deep Learning*, trained by mini-batch stochastic gradient descent, with chapter 3's
//! improvements (cross-entropy and log-likelihood costs, softmax, L2 regularisation, scaled
//! initialisation, expanded training data, dropout) and today's optimizers (momentum,
//! Nesterov, Adam) and activations (tanh, ReLU).
//!
//! The maths follows `network.py` and `network2.py`: weights of layer `l` have shape
//! `(n_l, n_{l-1})`, biases `(n_l)`. Where they loop over the samples of a mini-batch, this
//! crate computes the whole mini-batch as matrices, with samples as rows:
//! `Z_l = A_{l-1} W_lᵀ + b_l`.
//!
//! The crate knows nothing of Python; `digitnet-py` binds it.

mod activation;
mod alloc;
mod augment;
mod backprop;
mod cost;
mod data;
mod error;
pub mod exp;
mod float;
mod kernels;
mod network;
mod normal;
mod optimizer;
mod parallel;
mod prefetch;
mod rng;
mod scan;
mod thread_choice;
mod training;

pub use activation::{sigmoid, sigmoid_prime, Activation};
pub use augment::{transform_image, Augment};
pub use backprop::Gradients;
pub use cost::Cost;
pub use data::{check_finite, TrainingSet};
pub use error::{Error, Result};
pub use float::Float;
pub use kernels::{kernel, set_kernel, Kernel};
pub use network::{Init, Network};
pub use optimizer::{Optimizer, OptimizerSnapshot};
pub use parallel::default_threads;
pub use rng::{seeded, shuffled_order, SeededRng};
pub use training::{batch_count, EpochLoss, Objective, TrainOptions, Trainer};
