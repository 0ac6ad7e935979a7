use crate::{Activation, Error, Float, Result};

/// The cost a network is trained to minimise, as in network2.py.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cost {
    /// `½‖a − y‖²`, chapter 1's cost, with any element-wise output activation.
    Quadratic,
    /// `−Σ [y ln a + (1 − y) ln(1 − a)]`, for sigmoid outputs: its error `a − y` does not
    /// vanish when the output neurons saturate, which is why it learns faster.
    CrossEntropy,
    /// `−ln a_y`, for a softmax output layer.
    LogLikelihood,
}

impl Cost {
    /// network2.py's class name for the cost (the name saved in model files).
    pub fn name(self) -> &'static str {
        match self {
            Cost::Quadratic => "QuadraticCost",
            Cost::CrossEntropy => "CrossEntropyCost",
            Cost::LogLikelihood => "LogLikelihoodCost",
        }
    }

    /// Parses [`Cost::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Quadratic, Self::CrossEntropy, Self::LogLikelihood]
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// Checks that the cost suits the output activation: the pairs for which the output error
    /// `δ_L` is what [`Cost::output_error`] computes.
    pub fn check_output(self, output: Activation) -> Result<()> {
        let ok = match self {
            Cost::Quadratic => output != Activation::Softmax,
            Cost::CrossEntropy => output == Activation::Sigmoid,
            Cost::LogLikelihood => output == Activation::Softmax,
        };
        if ok {
            Ok(())
        } else {
            let fits = match self {
                Cost::Quadratic => "a sigmoid, tanh or relu output layer",
                Cost::CrossEntropy => "a sigmoid output layer",
                Cost::LogLikelihood => "a softmax output layer",
            };
            Err(Error::invalid(
                "cost",
                &format!("used with {fits}"),
                format!("{} with a {} output layer", self.name(), output.name()),
            ))
        }
    }

    /// The output error `δ_L = ∂C/∂z_L` of one sample: `(a − y) ⊙ f'(z)` for the quadratic
    /// cost, and `a − y` for cross-entropy with sigmoids and log-likelihood with softmax.
    #[inline]
    pub(crate) fn output_error<F: Float>(self, a: &[F], y: &[F], slope: &[F], delta: &mut [F]) {
        match self {
            Cost::Quadratic => {
                for (((d, &a), &y), &s) in delta.iter_mut().zip(a).zip(y).zip(slope) {
                    *d = (a - y) * s;
                }
            }
            Cost::CrossEntropy | Cost::LogLikelihood => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = a - y;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_outputs() {
        assert!(Cost::Quadratic.check_output(Activation::Sigmoid).is_ok());
        assert!(Cost::Quadratic.check_output(Activation::Relu).is_ok());
        assert!(Cost::Quadratic.check_output(Activation::Softmax).is_err());
        assert!(Cost::CrossEntropy.check_output(Activation::Sigmoid).is_ok());
        assert!(Cost::CrossEntropy.check_output(Activation::Tanh).is_err());
        assert!(Cost::LogLikelihood
            .check_output(Activation::Softmax)
            .is_ok());
        assert!(Cost::LogLikelihood
            .check_output(Activation::Sigmoid)
            .is_err());
        for c in [Cost::Quadratic, Cost::CrossEntropy, Cost::LogLikelihood] {
            assert_eq!(Cost::from_name(c.name()), Some(c));
        }
    }
}
