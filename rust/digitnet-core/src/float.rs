use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};

/// The floating-point types the engine computes in: `f64` (the exact reference) and `f32`.
///
/// One generic implementation serves both, so they cannot drift apart. The trait is sealed
/// (its `Kernels` supertrait cannot be named outside this crate): the kernels' `unsafe` code
/// relies on it being implemented for `f32` and `f64` only.
pub trait Float:
    num_traits::Float
    + crate::kernels::Kernels
    + LinalgScalar
    + ScalarOperand
    + std::iter::Sum
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` (a hyperparameter or an initial weight) to this type, rounding.
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` for reporting.
    fn to_f64(self) -> f64;
    /// `e^self` by digitnet's own exponential ([`crate::exp`]): the same bits on every CPU and
    /// C library, unlike `exp`, which calls the system's libm.
    fn exp_fixed(self) -> Self;
}

impl Float for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_fixed(self) -> Self {
        crate::exp::exp(self)
    }
}

impl Float for f32 {
    fn from_f64(value: f64) -> Self {
        // Rounding to nearest is the intent: f32 parameters start as the f64 ones, rounded.
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn exp_fixed(self) -> Self {
        crate::exp::exp_f32(self)
    }
}
