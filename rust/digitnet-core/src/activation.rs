use crate::Float;

/// The logistic function `1 / (1 + e^-z)`, computed so that it never overflows: with
/// `e = e^{-|z|}`, `σ(z) = 1/(1+e)` for `z ≥ 0` and `e·(1/(1+e))` below. Training computes its
/// activations with these very operations ([`sigmoid_and_slope`]), so inference and training
/// agree bit for bit.
#[inline]
pub fn sigmoid<F: Float>(z: F) -> F {
    sigmoid_and_slope(z).0
}

/// The derivative of the sigmoid, `σ(z)(1 − σ(z))`, computed as `σ(z)·σ(−z)`.
///
/// The two are equal in exact arithmetic, but `1 − σ(z)` loses every significant digit once the
/// sigmoid saturates (z ≳ 20), while `σ(−z)` keeps them, so this form stays accurate to a few ulp
/// for any `z` — which is what lets two implementations agree to 1e-10 on saturated units.
#[inline]
pub fn sigmoid_prime<F: Float>(z: F) -> F {
    sigmoid(z) * sigmoid(-z)
}

/// `(σ(z), σ'(z))` from a single exponential: with `e = e^{-|z|}`, `σ(|z|) = 1/(1+e)` and
/// `σ(-|z|) = e/(1+e)`, and `σ'(z) = σ(z)·σ(-z)` is their product. The same accurate forms as
/// [`sigmoid`] and [`sigmoid_prime`] at half the cost, for the training loop.
#[inline]
pub(crate) fn sigmoid_and_slope<F: Float>(z: F) -> (F, F) {
    let e = (-z.abs()).exp_fixed();
    let big = F::one() / (F::one() + e);
    let small = e * big;
    let slope = big * small;
    if z >= F::zero() {
        (big, slope)
    } else {
        (small, slope)
    }
}

/// `(tanh(z), tanh'(z))` from one exponential: with `e = e^{-2|z|}`, `tanh|z| = (1−e)/(1+e)` and
/// `tanh'(z) = sech²z = 4e/(1+e)²`, which stays accurate where `1 − tanh²` would cancel.
#[inline]
pub(crate) fn tanh_and_slope<F: Float>(z: F) -> (F, F) {
    let two = F::one() + F::one();
    let e = (-two * z.abs()).exp_fixed();
    let inv = F::one() / (F::one() + e);
    let t = (F::one() - e) * inv;
    let slope = two * two * e * inv * inv;
    (if z < F::zero() { -t } else { t }, slope)
}

/// What a layer applies to its weighted inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `σ(z) = 1/(1 + e^{−z})`, the book's neuron.
    Sigmoid,
    /// `tanh(z)`.
    Tanh,
    /// `max(0, z)`, with slope 0 at 0.
    Relu,
    /// `z` itself: a linear layer (a regressor's output, scikit-learn's "identity").
    Identity,
    /// `e^{z_j} / Σ_k e^{z_k}` over a layer; output layer only, with the log-likelihood cost.
    Softmax,
    /// `e^z`; output layer only, with the Poisson cost (its canonical link).
    Exp,
}

impl Activation {
    /// The name used in errors and by the Python API.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Identity => "identity",
            Activation::Softmax => "softmax",
            Activation::Exp => "exp",
        }
    }

    /// Whether the activation may only be the output layer's (its cost assumes it is).
    pub fn output_only(self) -> bool {
        matches!(self, Activation::Softmax | Activation::Exp)
    }

    /// Parses [`Activation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|a| a.name() == name)
    }

    /// Applies the activation in place to one sample's weighted inputs (bias included), writing
    /// the slopes `f'(z)` into `slope`. Softmax's slope is a Jacobian that its log-likelihood
    /// cost never needs: `slope` is then left untouched.
    #[inline(always)]
    pub(crate) fn apply<F: Float>(self, z: &mut [F], slope: &mut [F]) {
        match self {
            Activation::Sigmoid => {
                for (z, s) in z.iter_mut().zip(slope.iter_mut()) {
                    (*z, *s) = sigmoid_and_slope(*z);
                }
            }
            Activation::Tanh => {
                for (z, s) in z.iter_mut().zip(slope.iter_mut()) {
                    (*z, *s) = tanh_and_slope(*z);
                }
            }
            Activation::Relu => {
                for (z, s) in z.iter_mut().zip(slope.iter_mut()) {
                    let on = *z > F::zero();
                    *s = if on { F::one() } else { F::zero() };
                    *z = if on { *z } else { F::zero() };
                }
            }
            Activation::Identity => slope.fill(F::one()),
            Activation::Softmax => softmax(z),
            Activation::Exp => {
                for (z, s) in z.iter_mut().zip(slope.iter_mut()) {
                    *z = z.exp_fixed();
                    *s = *z;
                }
            }
        }
    }

    /// [`Activation::apply`] on consecutive rows of `n` values. All but softmax act element
    /// by element and take the whole block in one pass, so that only its last few values miss
    /// a full vector register: row by row, the book's rows of 30 and 10 left 8 of every 40
    /// exponentials to the scalar loop.
    #[inline(always)]
    pub(crate) fn apply_rows<F: Float>(self, z: &mut [F], slope: &mut [F], n: usize) {
        if self == Activation::Softmax {
            for (z, slope) in z.chunks_exact_mut(n).zip(slope.chunks_exact_mut(n)) {
                self.apply(z, slope);
            }
        } else {
            self.apply(z, slope);
        }
    }

    /// [`Activation::apply_inference`] on consecutive rows of `n` values (see
    /// [`Activation::apply_rows`]).
    #[inline(always)]
    pub(crate) fn apply_inference_rows<F: Float>(self, z: &mut [F], n: usize) {
        if self == Activation::Softmax {
            z.chunks_exact_mut(n).for_each(softmax);
        } else {
            self.apply_inference(z);
        }
    }

    /// The activation alone, for inference.
    #[inline(always)]
    pub(crate) fn apply_inference<F: Float>(self, z: &mut [F]) {
        match self {
            Activation::Sigmoid => z.iter_mut().for_each(|z| *z = sigmoid_and_slope(*z).0),
            Activation::Tanh => z.iter_mut().for_each(|z| *z = tanh_and_slope(*z).0),
            Activation::Relu => z.iter_mut().for_each(|z| *z = z.max(F::zero())),
            Activation::Identity => {}
            Activation::Softmax => softmax(z),
            Activation::Exp => z.iter_mut().for_each(|z| *z = z.exp_fixed()),
        }
    }
}

/// Every activation, in the order of their names' list.
const ALL: [Activation; 6] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Identity,
    Activation::Softmax,
    Activation::Exp,
];

/// `z ← softmax(z)`, shifted by `max z` so that no exponential overflows.
fn softmax<F: Float>(z: &mut [F]) {
    let max = z.iter().copied().fold(F::neg_infinity(), F::max);
    let mut total = F::zero();
    for z in z.iter_mut() {
        *z = (*z - max).exp_fixed();
        total = total + *z;
    }
    z.iter_mut().for_each(|a| *a = *a / total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_known_values() {
        assert_eq!(sigmoid(0.0_f64), 0.5);
        assert!((sigmoid(2.0_f64) - 0.880_797_077_977_882_3).abs() < 1e-15);
        assert!((sigmoid(-2.0_f64) - 0.119_202_922_022_117_7).abs() < 1e-15);
    }

    #[test]
    fn sigmoid_saturates_without_nan() {
        for z in [
            -1e308,
            -800.0,
            -40.0,
            40.0,
            800.0,
            1e308,
            f64::MAX,
            f64::MIN,
        ] {
            let s = sigmoid(z);
            assert!((0.0..=1.0).contains(&s), "sigmoid({z}) = {s}");
            let p = sigmoid_prime(z);
            assert!((0.0..=0.25).contains(&p), "sigmoid_prime({z}) = {p}");
        }
        assert_eq!(sigmoid(-800.0_f64), 0.0);
        assert_eq!(sigmoid(800.0_f64), 1.0);
    }

    #[test]
    fn sigmoid_prime_is_accurate_when_saturated() {
        // σ'(30) = e^-30 / (1 + e^-30)^2 ≈ 9.357622968839299e-14; the naive form gives ~1.1e-13.
        let exact = (-30.0_f64).exp() / (1.0 + (-30.0_f64).exp()).powi(2);
        let got = sigmoid_prime(30.0_f64);
        assert!(((got - exact) / exact).abs() < 1e-14, "{got} vs {exact}");
    }

    #[test]
    fn sigmoid_prime_matches_derivative() {
        for &z in &[-5.0_f64, -1.0, 0.0, 0.3, 4.0] {
            let h = 1e-6;
            let numeric = (sigmoid(z + h) - sigmoid(z - h)) / (2.0 * h);
            assert!((numeric - sigmoid_prime(z)).abs() < 1e-9);
        }
    }

    #[test]
    fn sigmoid_and_slope_match_the_separate_forms() {
        // The textbook forms with the system's exp, as an independent check.
        let classic = |z: f64| {
            if z >= 0.0 {
                1.0 / (1.0 + (-z).exp())
            } else {
                z.exp() / (1.0 + z.exp())
            }
        };
        for &z in &[-800.0_f64, -40.0, -3.0, -1e-3, 0.0, 2.5, 30.0, 745.0, 1e308] {
            let (s, p) = sigmoid_and_slope(z);
            assert!(
                (s - classic(z)).abs() <= 3.0 * f64::EPSILON * classic(z),
                "{z}"
            );
            assert_eq!(s.to_bits(), sigmoid(z).to_bits());
            assert!(
                (p - sigmoid_prime(z)).abs() <= 4.0 * f64::EPSILON * sigmoid_prime(z),
                "{z}"
            );
        }
        assert!(sigmoid_and_slope(f64::NAN).0.is_nan());
    }

    #[test]
    fn tanh_and_slope_are_accurate() {
        for &z in &[-30.0_f64, -2.0, -0.1, 0.0, 0.7, 5.0, 400.0] {
            let (t, s) = tanh_and_slope(z);
            assert!((t - z.tanh()).abs() <= 2.0 * f64::EPSILON, "{z}");
            let exact = 1.0 / z.cosh().powi(2);
            assert!(
                (s - exact).abs() <= 8.0 * f64::EPSILON * exact,
                "{z}: {s} vs {exact}"
            );
        }
    }

    #[test]
    fn softmax_sums_to_one_without_overflow() {
        let mut a = [1000.0_f64, 1001.0, -5.0];
        Activation::Softmax.apply(&mut a, &mut [0.0; 3]);
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((a[1] / a[0] - 1.0_f64.exp()).abs() < 1e-12);
    }

    #[test]
    fn relu_and_names() {
        let (mut a, mut s) = ([-1.0_f32, 0.0, 2.5], [0.0_f32; 3]);
        Activation::Relu.apply(&mut a, &mut s);
        assert_eq!((a, s), ([0.0, 0.0, 2.5], [0.0, 0.0, 1.0]));
        for act in ALL {
            assert_eq!(Activation::from_name(act.name()), Some(act));
        }
        assert_eq!(Activation::from_name("swish"), None);
    }

    #[test]
    fn identity_and_exp_with_their_slopes() {
        let (mut a, mut s) = ([-1.5_f64, 0.0, 2.0], [0.0_f64; 3]);
        Activation::Identity.apply(&mut a, &mut s);
        assert_eq!((a, s), ([-1.5, 0.0, 2.0], [1.0; 3]));
        let (mut a, mut s) = ([-1.5_f64, 0.0, 2.0], [0.0_f64; 3]);
        Activation::Exp.apply(&mut a, &mut s);
        for (i, z) in [-1.5_f64, 0.0, 2.0].into_iter().enumerate() {
            assert!((a[i] - z.exp()).abs() <= f64::EPSILON * z.exp(), "{z}");
            assert_eq!(s[i], a[i]);
        }
        let mut inference = [-1.5_f64, 0.0, 2.0];
        Activation::Exp.apply_inference(&mut inference);
        assert_eq!(inference, a);
        assert!(Activation::Exp.output_only() && Activation::Softmax.output_only());
        assert!(!Activation::Identity.output_only());
    }

    #[test]
    fn f32_and_f64_agree() {
        for &z in &[-10.0_f64, -0.5, 0.0, 1.5, 10.0] {
            let d = f64::from(sigmoid(z as f32)) - sigmoid(z);
            assert!(d.abs() < 1e-7);
        }
    }

    #[test]
    fn a_block_of_rows_gets_each_rows_values() {
        // 3 rows of 13: neither a row nor the block is a whole number of vectors.
        let n = 13;
        let z: Vec<f64> = (0..3 * n).map(|i| (i as f64 - 19.0) * 0.37).collect();
        for activation in ALL {
            let (mut block, mut block_slope) = (z.clone(), vec![0.0; z.len()]);
            activation.apply_rows(&mut block, &mut block_slope, n);
            let (mut rows, mut rows_slope) = (z.clone(), vec![0.0; z.len()]);
            for (r, s) in rows.chunks_exact_mut(n).zip(rows_slope.chunks_exact_mut(n)) {
                activation.apply(r, s);
            }
            assert_eq!(block, rows, "{activation:?}");
            assert_eq!(block_slope, rows_slope, "{activation:?}");
            let mut inference = z.clone();
            activation.apply_inference_rows(&mut inference, n);
            assert_eq!(inference, rows, "{activation:?} inference");
        }
        // Softmax normalises each row on its own.
        let mut p = z.clone();
        Activation::Softmax.apply_inference_rows(&mut p, n);
        for row in p.chunks_exact(n) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
