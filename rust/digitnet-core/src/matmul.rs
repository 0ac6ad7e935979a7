use ndarray::{ArrayView2, ArrayViewMut2};

use crate::Float;

/// `c ← alpha·(a·b) + beta·c`, like ndarray's `general_mat_mul`, computed by the `gemm` crate,
/// whose kernels (AVX-512 where the CPU has it, chosen at run time) are two to three times
/// faster on this crate's shapes than ndarray's default.
///
/// # Panics
/// If the shapes do not match: that is a bug in this crate, never a user's input.
pub(crate) fn matmul<F: Float>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "matmul shapes: {:?} x {:?} -> {:?}",
        a.shape(),
        b.shape(),
        c.shape()
    );
    if m == 0 || n == 0 {
        return;
    }
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: `gemm` reads `a` at `a_ptr + i·a_rs + p·a_cs` for i < m, p < k, `b` likewise for
    // p < k, j < n, and reads and writes `c` at `c_ptr + i·c_rs + j·c_cs` for i < m, j < n.
    // Those are exactly the elements of the three views, whose pointers and element strides we
    // pass unchanged (negative strides included, which `gemm` supports), so every access is in
    // bounds. `c` is borrowed mutably and `a`, `b` immutably, so the borrow checker guarantees
    // that `c` overlaps neither input and that nothing else reads or writes `c` meanwhile.
    // `Parallelism::None` keeps the call on this thread. `F` is `f32` or `f64` (the only
    // `Float` types), both of which `gemm` implements; `read_dst` is false exactly when
    // `beta` is zero, so `c` may hold anything (even NaN) when it is to be overwritten.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            beta != F::zero(),
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s, Array2};

    fn naive(a: &ArrayView2<'_, f64>, b: &ArrayView2<'_, f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|p| a[[i, p]] * b[[p, j]]).sum()
        })
    }

    #[test]
    fn agrees_with_the_definition_for_any_layout() {
        let a = Array2::from_shape_fn((7, 13), |(i, j)| ((3 * i + j) as f64).sin());
        let b = Array2::from_shape_fn((9, 13), |(i, j)| ((i + 5 * j) as f64).cos());
        for (lhs, rhs) in [
            (a.view(), b.t()),
            (a.slice(s![..;2, ..]), b.t()),
            (
                a.slice(s![..;-1, ..]),
                b.slice(s![.., ..;-1]).reversed_axes(),
            ),
        ] {
            let mut c = Array2::from_elem((lhs.nrows(), rhs.ncols()), 1.0);
            matmul(2.0, &lhs, &rhs, 0.5, &mut c.view_mut());
            let expected = naive(&lhs, &rhs) * 2.0 + 0.5;
            assert!((&c - &expected).iter().all(|d| d.abs() < 1e-12));
        }
    }

    #[test]
    fn beta_zero_overwrites_even_nan() {
        let a = array![[1.0_f32, 2.0]];
        let b = array![[3.0_f32], [4.0]];
        let mut c = array![[f32::NAN]];
        matmul(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        assert_eq!(c[[0, 0]], 11.0);
    }
}
