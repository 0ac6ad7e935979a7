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
    /// Half the Poisson deviance, `Σ [y ln(y/a) − y + a]`, for an exp output layer and
    /// non-negative targets (scikit-learn's `MLPRegressor(loss="poisson")`).
    Poisson,
}

/// Every cost, in the order of their names' list.
const ALL: [Cost; 4] = [
    Cost::Quadratic,
    Cost::CrossEntropy,
    Cost::LogLikelihood,
    Cost::Poisson,
];

impl Cost {
    /// network2.py's class name for the cost (the name saved in model files).
    pub fn name(self) -> &'static str {
        match self {
            Cost::Quadratic => "QuadraticCost",
            Cost::CrossEntropy => "CrossEntropyCost",
            Cost::LogLikelihood => "LogLikelihoodCost",
            Cost::Poisson => "PoissonCost",
        }
    }

    /// Parses [`Cost::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|c| c.name() == name)
    }

    /// Checks that the cost suits the output activation: the pairs for which the output error
    /// `δ_L` is what [`Cost::output_error`] computes.
    pub fn check_output(self, output: Activation) -> Result<()> {
        let ok = match self {
            Cost::Quadratic => output != Activation::Softmax,
            Cost::CrossEntropy => output == Activation::Sigmoid,
            Cost::LogLikelihood => output == Activation::Softmax,
            Cost::Poisson => output == Activation::Exp,
        };
        if ok {
            Ok(())
        } else {
            let fits = match self {
                Cost::Quadratic => "an element-wise output layer (not softmax)",
                Cost::CrossEntropy => "a sigmoid output layer",
                Cost::LogLikelihood => "a softmax output layer",
                Cost::Poisson => "an exp output layer",
            };
            Err(Error::invalid(
                "cost",
                &format!("used with {fits}"),
                format!("{} with a {} output layer", self.name(), output.name()),
            ))
        }
    }

    /// The output error `δ_L = ∂C/∂z_L` of one sample: `(a − y) ⊙ f'(z)` for the quadratic
    /// cost, and `a − y` for cross-entropy with sigmoids, log-likelihood with softmax and
    /// Poisson with exp.
    #[inline]
    pub(crate) fn output_error<F: Float>(self, a: &[F], y: &[F], slope: &[F], delta: &mut [F]) {
        match self {
            Cost::Quadratic => {
                for (((d, &a), &y), &s) in delta.iter_mut().zip(a).zip(y).zip(slope) {
                    *d = (a - y) * s;
                }
            }
            Cost::CrossEntropy | Cost::LogLikelihood | Cost::Poisson => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = a - y;
                }
            }
        }
    }
}

impl Cost {
    /// One sample's cost in f64, in scikit-learn's forms: the quadratic `½Σ(a − y)²`; for the
    /// log costs, outputs clipped to `[ε, 1 − ε]` (ε the precision's machine epsilon) before any
    /// logarithm, and `0·ln(anything)` counted as 0; the Poisson deviance as defined above.
    /// Logarithms come from `libm`, so the value is the same on every machine.
    pub fn sample_loss<F: Float>(self, a: &[F], y: &[F]) -> f64 {
        let eps = F::epsilon().to_f64();
        let clip = |a: F| a.to_f64().clamp(eps, 1.0 - eps);
        let xlogy = |x: f64, v: f64| if x == 0.0 { 0.0 } else { x * libm::log(v) };
        let pairs = a.iter().zip(y).map(|(&a, &y)| (a, y.to_f64()));
        match self {
            Cost::Quadratic => pairs
                .map(|(a, y)| {
                    let d = a.to_f64() - y;
                    0.5 * d * d
                })
                .sum(),
            Cost::CrossEntropy => -pairs
                .map(|(a, y)| {
                    let p = clip(a);
                    xlogy(y, p) + xlogy(1.0 - y, 1.0 - p)
                })
                .sum::<f64>(),
            Cost::LogLikelihood => -pairs.map(|(a, y)| xlogy(y, clip(a))).sum::<f64>(),
            Cost::Poisson => pairs
                .map(|(a, y)| {
                    let a = a.to_f64();
                    xlogy(y, y / a) - y + a
                })
                .sum(),
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
        assert!(Cost::Quadratic.check_output(Activation::Identity).is_ok());
        assert!(Cost::Poisson.check_output(Activation::Exp).is_ok());
        assert!(Cost::Poisson.check_output(Activation::Identity).is_err());
        for c in ALL {
            assert_eq!(Cost::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn sample_losses_by_hand() {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b.abs().max(1.0);
        assert!(close(
            Cost::Quadratic.sample_loss(&[0.5_f64, 2.0], &[1.0, 0.0]),
            0.5 * (0.25 + 4.0)
        ));
        let ce = Cost::CrossEntropy.sample_loss(&[0.8_f64, 0.1], &[1.0, 0.0]);
        assert!(close(ce, -(0.8_f64.ln() + 0.9_f64.ln())));
        // A certain wrong answer costs −ln ε, not infinity.
        let sure = Cost::CrossEntropy.sample_loss(&[0.0_f64], &[1.0]);
        assert!(close(sure, -f64::EPSILON.ln()));
        let ll = Cost::LogLikelihood.sample_loss(&[0.7_f64, 0.2, 0.1], &[0.0, 1.0, 0.0]);
        assert!(close(ll, -0.2_f64.ln()));
        let p = Cost::Poisson.sample_loss(&[2.0_f64, 0.5], &[3.0, 0.0]);
        assert!(close(p, 3.0 * 1.5_f64.ln() - 3.0 + 2.0 + 0.5));
        // f32 outputs clip at f32's epsilon.
        let sure32 = Cost::LogLikelihood.sample_loss(&[0.0_f32, 1.0], &[1.0, 0.0]);
        assert!(close(sure32, -f64::from(f32::EPSILON).ln()));
    }
}
