//! One block of `P` lanes (8 for `f64`, 16 for `f32`: one AVX-512 register either way), the unit
//! every kernel computes in, with one implementation per instruction set.
//!
//! Every implementation performs, lane by lane, the same IEEE operation (`fma`, `mul`, or a load
//! that fills missing lanes with `+0`), and [`Lanes::reduce`] adds the `P` lanes in one fixed
//! tree. That is what makes every path give the same bits: a wider register only does more lanes
//! at once, never a different operation or order.

/// `P` values of `F` and the operations the kernels need on them.
///
/// # Safety
/// Implementations use instructions of one instruction set; their functions may only be called
/// on a CPU that has it (the kernel dispatcher checks this once, see `super::Kernel`). Pointer
/// arguments must be valid for the lanes read or written.
pub(crate) unsafe trait Lanes<F: Copy>: Copy {
    /// The number of lanes, `P`.
    const P: usize;
    /// The largest tile of `dense`'s outputs, rows of `A` by rows of `W`, for a product of `m`
    /// rows. Speed only: tiles never change an output's operations.
    fn dense_tile_size(m: usize) -> (usize, usize);
    /// The largest tile of `outer`'s outputs, rows by blocks of `P` columns, for sums of
    /// `terms` terms (speed only).
    fn outer_tile_size(terms: usize) -> (usize, usize);

    unsafe fn zero() -> Self;
    unsafe fn splat(x: F) -> Self;
    /// Loads `P` values.
    unsafe fn load(p: *const F) -> Self;
    /// Loads the first `n < P` values; the other lanes are `+0`.
    unsafe fn load_n(p: *const F, n: usize) -> Self;
    unsafe fn store(self, p: *mut F);
    /// Stores the first `n < P` lanes.
    unsafe fn store_n(self, p: *mut F, n: usize);
    /// `a·b + c` with one rounding, per lane.
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// The sum of the lanes in the canonical tree: with `s` the lanes, halve the width
    /// repeatedly, `s[p] ← s[p] + s[p + w/2]` for `p < w/2`, until one lane is left.
    unsafe fn reduce(self) -> F;
}

/// The canonical tree of [`Lanes::reduce`] on an array of lanes: the reference every
/// implementation must match.
#[inline(always)]
pub(crate) fn tree_sum<F: crate::Float, const P: usize>(mut s: [F; P]) -> F {
    let mut width = P;
    while width > 1 {
        width /= 2;
        for p in 0..width {
            s[p] = s[p] + s[p + width];
        }
    }
    s[0]
}

/// The portable path: plain Rust on arrays, `mul_add` for the fused multiply-add (IEEE 754's
/// correctly rounded `fma`, so it gives the hardware instruction's bits wherever it runs).
#[derive(Clone, Copy)]
pub(crate) struct Scalar<F, const P: usize>(pub(crate) [F; P]);

// SAFETY: plain Rust, valid on every CPU; pointer accesses stay within the lanes documented.
unsafe impl<F: crate::Float, const P: usize> Lanes<F> for Scalar<F, P> {
    const P: usize = P;
    fn dense_tile_size(_m: usize) -> (usize, usize) {
        (2, 2)
    }
    fn outer_tile_size(_terms: usize) -> (usize, usize) {
        (2, 1)
    }

    #[inline(always)]
    unsafe fn zero() -> Self {
        Scalar([F::zero(); P])
    }
    #[inline(always)]
    unsafe fn splat(x: F) -> Self {
        Scalar([x; P])
    }
    #[inline(always)]
    unsafe fn load(p: *const F) -> Self {
        Scalar(std::array::from_fn(|i| *p.add(i)))
    }
    #[inline(always)]
    unsafe fn load_n(p: *const F, n: usize) -> Self {
        Scalar(std::array::from_fn(|i| {
            if i < n {
                *p.add(i)
            } else {
                F::zero()
            }
        }))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut F) {
        for (i, v) in self.0.into_iter().enumerate() {
            *p.add(i) = v;
        }
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut F, n: usize) {
        for (i, v) in self.0.into_iter().take(n).enumerate() {
            *p.add(i) = v;
        }
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Scalar(std::array::from_fn(|i| a.0[i].mul_add(b.0[i], c.0[i])))
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Scalar(std::array::from_fn(|i| a.0[i] * b.0[i]))
    }
    #[inline(always)]
    unsafe fn reduce(self) -> F {
        tree_sum(self.0)
    }
}
