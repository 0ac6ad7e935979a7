//! The digitnet engine: the fully connected sigmoid network of chapter 1 of Michael Nielsen's
//! *Neural Networks and Deep Learning*, trained by mini-batch stochastic gradient descent.
//!
//! The maths follows `network.py`: weights of layer `l` have shape `(n_l, n_{l-1})`, biases
//! `(n_l)`, the cost is quadratic and every layer is a sigmoid. Where `network.py` loops over the
//! samples of a mini-batch, this crate computes the whole mini-batch as matrices, with samples as
//! rows: `Z_l = A_{l-1} W_lᵀ + b_l`.
//!
//! The crate knows nothing of Python; `digitnet-py` binds it.

mod activation;
mod alloc;
mod backprop;
mod data;
mod error;
mod float;
mod matmul;
mod network;
mod prefetch;
mod rng;
mod training;

pub use activation::{sigmoid, sigmoid_prime};
pub use backprop::Gradients;
pub use data::{check_finite, TrainingSet};
pub use error::{Error, Result};
pub use float::Float;
pub use network::Network;
pub use rng::{seeded, shuffled_order, SeededRng};
pub use training::{batch_count, Trainer};
