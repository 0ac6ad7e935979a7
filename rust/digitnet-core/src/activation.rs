use crate::Float;

/// The logistic function `1 / (1 + e^-z)`, computed so that it never overflows: for negative `z`
/// it uses the equal form `e^z / (1 + e^z)`.
#[inline]
pub fn sigmoid<F: Float>(z: F) -> F {
    if z >= F::zero() {
        F::one() / (F::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (F::one() + e)
    }
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
    let e = (-z.abs()).exp();
    let big = F::one() / (F::one() + e);
    let small = e * big;
    let slope = big * small;
    if z >= F::zero() {
        (big, slope)
    } else {
        (small, slope)
    }
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
        for &z in &[-800.0_f64, -40.0, -3.0, -1e-3, 0.0, 2.5, 30.0, 745.0, 1e308] {
            let (s, p) = sigmoid_and_slope(z);
            assert!(
                (s - sigmoid(z)).abs() <= 2.0 * f64::EPSILON * sigmoid(z),
                "{z}"
            );
            assert!(
                (p - sigmoid_prime(z)).abs() <= 4.0 * f64::EPSILON * sigmoid_prime(z),
                "{z}"
            );
        }
        assert!(sigmoid_and_slope(f64::NAN).0.is_nan());
    }

    #[test]
    fn f32_and_f64_agree() {
        for &z in &[-10.0_f64, -0.5, 0.0, 1.5, 10.0] {
            let d = f64::from(sigmoid(z as f32)) - sigmoid(z);
            assert!(d.abs() < 1e-7);
        }
    }
}
