//! Whole-array scans (the largest magnitude, finiteness), written as independent lanes so that
//! they vectorise: run inside [`crate::kernels::vectorised`]. The largest magnitude is exact in
//! any order, so the lanes change nothing but speed.

use crate::Float;

/// Lanes of the scans: one AVX-512 register of `f64`, two of `f32`'s worth of work per step.
const LANES: usize = 16;

/// The largest `|v|` in `values` (0 when empty), or `None` if one of them is NaN or infinite.
pub(crate) fn finite_max_abs<F: Float>(values: &[F]) -> Option<F> {
    crate::kernels::vectorised(
        #[inline(always)]
        || {
            let mut top = [F::zero(); LANES];
            // `0·v` is ±0 for finite `v` and NaN otherwise: the sum of those is 0 exactly when
            // every value is finite, with no branch in the loop.
            let mut probe = [F::zero(); LANES];
            let chunks = values.chunks_exact(LANES);
            let rest = chunks.remainder();
            for chunk in chunks {
                for i in 0..LANES {
                    let v = chunk[i];
                    top[i] = top[i].max(v.abs());
                    probe[i] = probe[i] + v * F::zero();
                }
            }
            for (i, &v) in rest.iter().enumerate() {
                top[i] = top[i].max(v.abs());
                probe[i] = probe[i] + v * F::zero();
            }
            let finite = probe.iter().all(|p| *p == F::zero());
            finite.then(|| top.iter().fold(F::zero(), |m, &t| m.max(t)))
        },
    )
}

/// [`finite_max_abs`] in chunks on up to `threads` threads: the largest magnitude and the
/// finiteness of the parts combine exactly, in any order.
pub(crate) fn finite_max_abs_on<F: Float>(values: &[F], threads: usize) -> Option<F> {
    let top = std::sync::Mutex::new(Some(F::zero()));
    crate::parallel::for_each_chunk(threads, values.len(), &|range| {
        let part = finite_max_abs(&values[range]);
        let mut top = top
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *top = match (*top, part) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    });
    top.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether every value is finite: the fast path of `check_finite`, which runs on every input of
/// inference and on every set of parameters a user hands the engine.
pub(crate) fn all_finite<F: Float>(values: &[F]) -> bool {
    // The largest magnitude comes for free: the pass is bound by memory, not by the lanes.
    finite_max_abs(values).is_some()
}

/// The largest `|v|` in `values`, for values known to be finite (0 when empty).
pub(crate) fn max_abs<F: Float>(values: &[F]) -> f64 {
    crate::kernels::vectorised(
        #[inline(always)]
        || {
            let mut top = [F::zero(); LANES];
            let chunks = values.chunks_exact(LANES);
            let rest = chunks.remainder();
            for chunk in chunks {
                for i in 0..LANES {
                    top[i] = top[i].max(chunk[i].abs());
                }
            }
            for (i, &v) in rest.iter().enumerate() {
                top[i] = top[i].max(v.abs());
            }
            top.iter().fold(F::zero(), |m, &t| m.max(t)).to_f64()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{set_kernel, Kernel};

    #[test]
    fn scans_agree_with_plain_folds_on_every_path() {
        let values: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * if i % 3 == 0 { -1.5 } else { 0.75 })
            .collect();
        for kernel in Kernel::available() {
            set_kernel(Some(kernel)).expect("an available kernel");
            for len in [0, 1, 15, 16, 17, 999, 1000] {
                let part = &values[..len];
                let plain = part.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                assert_eq!(max_abs(part), plain, "{kernel:?} {len}");
                assert_eq!(finite_max_abs(part), Some(plain), "{kernel:?} {len}");
                assert!(all_finite(part), "{kernel:?} {len}");
                for threads in 1..=3 {
                    assert_eq!(finite_max_abs_on(part, threads), Some(plain), "{threads}");
                }
                let part32: Vec<f32> = part.iter().map(|&v| v as f32).collect();
                assert_eq!(max_abs(&part32), plain, "{kernel:?} {len} f32");
            }
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                for at in [0, 5, 16, 999] {
                    let mut v = values.clone();
                    v[at] = bad;
                    assert_eq!(finite_max_abs(&v), None, "{kernel:?} {bad} at {at}");
                    assert!(!all_finite(&v), "{kernel:?} {bad} at {at}");
                    assert_eq!(finite_max_abs_on(&v, 3), None, "{kernel:?} {bad} at {at}");
                    let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                    assert!(!all_finite(&v32), "{kernel:?} {bad} at {at} f32");
                }
            }
        }
        set_kernel(None).expect("auto");
    }

    #[test]
    fn scans_cut_over_threads_find_the_largest_and_every_non_finite_value() {
        let len = 3 * 16_384 + 5;
        for at in [0, 16_384 + 7, len - 1] {
            let mut values: Vec<f32> = (0..len).map(|i| (i % 97) as f32 * 0.01).collect();
            values[at] = -1e30;
            for threads in 1..=4 {
                assert_eq!(
                    finite_max_abs_on(&values, threads),
                    Some(1e30),
                    "{at} {threads}"
                );
            }
            values[at] = f32::NAN;
            for threads in 1..=4 {
                assert_eq!(finite_max_abs_on(&values, threads), None, "{at} {threads}");
            }
        }
    }
}
