//! digitnet's own exponential: the same bits on every CPU, compiler and C library, because it
//! uses only IEEE 754 additions, multiplications and integer operations on the bits (never the
//! system's libm, whose `exp` differs between glibc versions and platforms), and no branches, so
//! the compiler vectorises it without changing any operation.
//!
//! Method: `x = n·ln2 + r` with `n = round(x/ln2)` and `|r| ≤ ln2/2 + ε`, by Cody and Waite's
//! two-part `ln2` (the high part has 32 significant bits, so `n·ln2_hi` is exact for every
//! `|n| ≤ 1076`, and `x − n·ln2_hi` is exact by Sterbenz's lemma); `e^r` by its Taylor series to
//! degree 13 (truncation below `0.347^14/14! < 2^-57`, i.e. under 0.02 ulp), evaluated as
//! `1 + (r + r²·h(r))` so that the last rounding is the only one at the result's scale; then
//! `·2^n` as two exact power-of-two factors, so that results in the subnormal range are rounded
//! once.
//!
//! Error bound, argued rather than proved: the final addition `1 + y` rounds once (0.5 ulp of
//! the result); `y = r + r²h` carries the rounding of `r` and of `r²h` (`|r²h| < 0.07`, which
//! scales that term's own errors down), and `|y| ≤ 0.42` against a result of at least 0.7, so
//! the total stays under 1 ulp for results in the normal range. The tests check exactly that,
//! `< 1 ulp` against a double-double reference, on 2,000,000 points across the normal range.

/// `1/k!` for `k = 2..=13`.
const INV_FACTORIAL: [f64; 12] = [
    0.5,
    0.166_666_666_666_666_66,
    0.041_666_666_666_666_664,
    0.008_333_333_333_333_333,
    0.001_388_888_888_888_889,
    0.000_198_412_698_412_698_4,
    2.480_158_730_158_73e-5,
    2.755_731_922_398_589_3e-6,
    2.755_731_922_398_589e-7,
    2.505_210_838_544_172e-8,
    2.087_675_698_786_81e-9,
    1.605_904_383_682_161_3e-10,
];
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `1.5·2^52`: adding it rounds to an integer, which then sits in the low bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;
/// ln 2 rounded to 32 significant bits (0x3FE62E42FEE00000), and the rest of ln 2.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// `e^x`. `+inf` above ~709.78, `+0` below ~-745.13, NaN for NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Past these bounds the result is already +inf or +0; clamping keeps n in range below.
    let x = x.clamp(-746.0, 710.0);
    let t = x * LOG2_E + SHIFT;
    let nf = t - SHIFT;
    let n = t.to_bits() as i64 - SHIFT.to_bits() as i64;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let mut h = INV_FACTORIAL[11];
    for &c in INV_FACTORIAL[..11].iter().rev() {
        h = h * r + c;
    }
    let p = 1.0 + (r + (r * r) * h);
    // 2^n as 2^n1·2^n2 with both factors normal (n1, n2 in [-538, 512]).
    let n1 = n >> 1;
    let n2 = n - n1;
    let two_to = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    (p * two_to(n1)) * two_to(n2)
}

/// `e^x` in single precision: [`exp`] in double precision, rounded once to `f32` (within
/// 0.5 ulp of `f32` plus the `f64` result's error, far below an `f32` ulp).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp(f64::from(x)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A double-double number `hi + lo`, for a reference exp accurate to ~2^-100.
    #[derive(Clone, Copy)]
    struct Dd(f64, f64);

    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        Dd(s, (a - (s - bb)) + (b - bb))
    }
    fn add(a: Dd, b: Dd) -> Dd {
        let s = two_sum(a.0, b.0);
        let lo = s.1 + a.1 + b.1;
        two_sum(s.0, lo)
    }
    fn mul(a: Dd, b: Dd) -> Dd {
        let p = a.0 * b.0;
        let e = a.0.mul_add(b.0, -p);
        two_sum(p, e + a.0 * b.1 + a.1 * b.0)
    }
    fn div_small(a: Dd, k: f64) -> Dd {
        let q = a.0 / k;
        let r = add(a, Dd(-q * k, -(q.mul_add(k, -(q * k)))));
        two_sum(q, r.0 / k)
    }

    /// e^x in double-double: x = n·ln2 + r with ln2 to 107 bits, Taylor series to 30 terms,
    /// result as (mantissa, n) so it never over- or underflows.
    fn reference(x: f64) -> (Dd, i32) {
        const LN2: Dd = Dd(std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);
        let n = (x / std::f64::consts::LN_2).round();
        let r = add(Dd(x, 0.0), mul(Dd(-n, 0.0), LN2));
        let mut term = Dd(1.0, 0.0);
        let mut sum = Dd(1.0, 0.0);
        for k in 1..30 {
            term = div_small(mul(term, r), f64::from(k));
            sum = add(sum, term);
        }
        (sum, n as i32)
    }

    /// |exp(x) − e^x| in ulps of the result (normal results only).
    fn ulp_error(x: f64) -> f64 {
        let got = exp(x);
        let (m, n) = reference(x);
        // Compare at the reference's scale: got·2^-n against the mantissa m.
        let scaled = got * 2f64.powi(-n);
        let diff = add(Dd(scaled, 0.0), Dd(-m.0, -m.1));
        let ulp = f64::EPSILON * 2f64.powi(m.0.log2().floor() as i32);
        (diff.0 / ulp).abs()
    }

    #[test]
    fn within_one_ulp_of_a_double_double_reference() {
        let mut worst = (0.0_f64, 0.0_f64);
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..2_000_000_u64 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Half the points where sigmoids live, half over the whole normal range.
            let x = if i % 2 == 0 {
                (u - 0.5) * 80.0
            } else {
                (u - 0.5) * 2.0 * 708.0
            };
            let e = ulp_error(x);
            if e > worst.0 {
                worst = (e, x);
            }
        }
        assert!(worst.0 < 1.0, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exact_and_limit_cases() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert!(exp(709.78).is_finite() && exp(709.79).is_infinite());
        // Subnormal results: e^-740 ≈ 4.2e-322, rounded once.
        let sub = exp(-740.0);
        assert!(sub > 0.0 && sub < f64::MIN_POSITIVE);
        assert!((sub / 4.1996e-322 - 1.0).abs() < 0.02);
        for x in [1.0, 2.0, -1.0, 10.0, -20.0, 0.5] {
            assert!(ulp_error(x) < 1.0, "{x}");
        }
        assert!((exp_f32(1.0) - std::f32::consts::E).abs() <= f32::EPSILON);
    }

    #[test]
    fn monotone_near_integers_of_ln2() {
        // Where n changes, the two sides must not cross.
        for n in -1000..1000 {
            let x = f64::from(n) * std::f64::consts::LN_2 / 2.0;
            let (below, above) = (exp(x - 1e-9), exp(x + 1e-9));
            assert!(below <= exp(x) && exp(x) <= above, "{x}");
        }
    }
}
