//! The engine's own matrix kernels, with one canonical order of operations per output that
//! depends only on the shapes: not on the instruction set, the tiling, the thread split or the
//! CPU. A seed therefore gives the same trained bits on every machine and thread count.
//!
//! Three paths compute the same bits: AVX-512, AVX2 with FMA, and portable Rust. `auto` picks the
//! widest the CPU has; [`set_kernel`] forces one (for tests and bug reports). See
//! [`products`] for the order of operations.

mod lanes;
mod products;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) use lanes::tree_sum;
pub use products::{Finish, OuterSums};

use crate::{Error, Result};

/// An implementation of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable Rust: any CPU.
    Scalar,
    /// AVX2 with FMA (x86-64-v3).
    Avx2,
    /// AVX-512 Foundation (x86-64-v4).
    Avx512,
}

impl Kernel {
    /// Every kernel, narrowest first.
    pub const ALL: [Kernel; 3] = [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512];

    /// The name used by `digitnet.set_kernel` and `DIGITNET_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// Parses [`Kernel::name`].
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU can run, narrowest first.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The widest kernel this CPU can run.
    pub fn best() -> Kernel {
        Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Scalar)
    }

    fn code(self) -> u8 {
        match self {
            Kernel::Scalar => 1,
            Kernel::Avx2 => 2,
            Kernel::Avx512 => 3,
        }
    }
}

/// 0: automatic (the widest available), otherwise [`Kernel::code`] of the forced kernel.
static FORCED: AtomicU8 = AtomicU8::new(0);

/// Forces a kernel (`Some`) or returns to the automatic choice (`None`). A kernel this CPU cannot
/// run is refused, naming the ones it can.
pub fn set_kernel(kernel: Option<Kernel>) -> Result<()> {
    match kernel {
        None => FORCED.store(0, Ordering::Relaxed),
        Some(k) if k.is_available() => FORCED.store(k.code(), Ordering::Relaxed),
        Some(k) => {
            let names: Vec<&str> = Kernel::available().iter().map(|k| k.name()).collect();
            return Err(Error::invalid(
                "kernel",
                &format!("one this CPU has ({}, or auto)", names.join(", ")),
                k.name(),
            ));
        }
    }
    Ok(())
}

/// The kernel in use; `forced` is whether [`set_kernel`] chose it.
pub fn kernel() -> (Kernel, bool) {
    match FORCED.load(Ordering::Relaxed) {
        0 => (Kernel::best(), false),
        code => (
            Kernel::ALL
                .into_iter()
                .find(|k| k.code() == code)
                .unwrap_or(Kernel::Scalar),
            true,
        ),
    }
}

fn current() -> Kernel {
    kernel().0
}

/// Where [`outer`] writes: from a pointer, the values `r·stride + c` for each row `r` and column
/// `c` of the sums (with the stride given to `outer`). Held as a pointer and a length, not a
/// slice, so that the parts of a product split over columns each hold the window that starts at
/// their first column: the windows overlap, the elements the kernel touches in them do not, and
/// overlapping `&mut` slices would be unsound even so.
pub struct OutRows<'a, F> {
    ptr: *mut F,
    len: usize,
    _owner: std::marker::PhantomData<&'a mut [F]>,
}

impl<'a, F> OutRows<'a, F> {
    /// All of `out`.
    pub(crate) fn new(out: &'a mut [F]) -> Self {
        OutRows {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            _owner: std::marker::PhantomData,
        }
    }

    /// The `len` values from `ptr`.
    ///
    /// # Safety
    /// They must be valid for reads and writes for `'a`, and while the result lives nothing
    /// else may read or write the elements the kernel will touch (rows × columns of the sums, at
    /// the stride given to `outer`).
    pub(crate) unsafe fn from_raw(ptr: *mut F, len: usize) -> Self {
        OutRows {
            ptr,
            len,
            _owner: std::marker::PhantomData,
        }
    }
}

/// A run of rows of `cols` values, `stride` apart, in a row-major array.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a, F> {
    data: &'a [F],
    stride: usize,
    cols: usize,
    first: usize,
    count: usize,
}

impl<'a, F> Rows<'a, F> {
    /// `count` rows of `cols` values, `stride` apart, from the start of `data`.
    ///
    /// # Panics
    /// If they do not fit in `data` (a bug in this crate).
    pub(crate) fn run(data: &'a [F], stride: usize, cols: usize, count: usize) -> Self {
        assert!(cols <= stride || count <= 1, "rows overlap");
        assert!(
            count == 0 || (count - 1) * stride + cols <= data.len(),
            "rows out of bounds"
        );
        Rows {
            data,
            stride,
            cols,
            first: 0,
            count,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// The columns `range` of these rows.
    pub(crate) fn columns(&self, range: std::ops::Range<usize>) -> Self {
        assert!(range.start <= range.end && range.end <= self.cols);
        // With no rows the data may be shorter than the columns: nothing is read then.
        let data = self.data.get(range.start..).unwrap_or(&[]);
        Rows {
            data,
            cols: range.len(),
            ..*self
        }
    }

    /// The rows `range` of these rows.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Self {
        assert!(range.start <= range.end && range.end <= self.len());
        Rows {
            first: self.first + range.start,
            count: range.len(),
            ..*self
        }
    }

    /// Row `i` (`i < len`).
    #[cfg(test)]
    pub(crate) fn row(&self, i: usize) -> &'a [F] {
        assert!(i < self.count);
        let start = (self.first + i) * self.stride;
        &self.data[start..start + self.cols]
    }

    /// A pointer to row `i`, which the constructor proved in bounds for `i < len`.
    ///
    /// # Safety
    /// `i < self.len()`.
    #[inline(always)]
    unsafe fn row_ptr(&self, i: usize) -> *const F {
        self.data.as_ptr().add((self.first + i) * self.stride)
    }
}

/// The kernel entry points of one floating-point type. Part of the sealed `Float` trait: this
/// module is private, so no other crate can implement it, and the kernels' `unsafe` code may
/// rely on `Self` being `f32` or `f64`.
pub trait Kernels: Sized {
    fn dense(kernel: Kernel, a: Rows<'_, Self>, w: &[Self], bias: &[Self], out: &mut [Self]);
    fn outer(
        kernel: Kernel,
        sums: &OuterSums<'_, Self>,
        out: OutRows<'_, Self>,
        out_stride: usize,
        finish: Finish<'_, Self>,
    );
}

macro_rules! kernels_for {
    ($f:ty, $p:literal, $avx512:ident, $avx2:ident) => {
        impl Kernels for $f {
            fn dense(kernel: Kernel, a: Rows<'_, $f>, w: &[$f], bias: &[$f], out: &mut [$f]) {
                let (k, n) = (a.cols(), bias.len());
                assert!(w.len() == n * k && out.len() == a.len() * n, "dense shapes");
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f")]
                    unsafe fn wide(a: Rows<'_, $f>, w: &[$f], b: &[$f], o: &mut [$f], k: usize) {
                        products::dense::<$f, x86::$avx512>(a, w, b, o, k, b.len())
                    }
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn narrow(a: Rows<'_, $f>, w: &[$f], b: &[$f], o: &mut [$f], k: usize) {
                        products::dense::<$f, x86::$avx2>(a, w, b, o, k, b.len())
                    }
                    // SAFETY: the shapes were checked above, which is all `products::dense`
                    // needs besides the instruction set, which `is_available` confirms.
                    match kernel {
                        Kernel::Avx512 if kernel.is_available() => {
                            return unsafe { wide(a, w, bias, out, k) }
                        }
                        Kernel::Avx2 if kernel.is_available() => {
                            return unsafe { narrow(a, w, bias, out, k) }
                        }
                        _ => {}
                    }
                }
                // SAFETY: shapes checked above; the portable path runs on any CPU.
                unsafe { products::dense::<$f, lanes::Scalar<$f, $p>>(a, w, bias, out, k, n) }
            }

            fn outer(
                kernel: Kernel,
                sums: &OuterSums<'_, $f>,
                out: OutRows<'_, $f>,
                out_stride: usize,
                finish: Finish<'_, $f>,
            ) {
                check_outer(sums, out.len, out_stride, &finish);
                let out = out.ptr;
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f")]
                    unsafe fn wide(
                        s: &OuterSums<'_, $f>,
                        o: *mut $f,
                        st: usize,
                        f: Finish<'_, $f>,
                    ) {
                        products::outer::<$f, x86::$avx512>(s, o, st, f)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn narrow(
                        s: &OuterSums<'_, $f>,
                        o: *mut $f,
                        st: usize,
                        f: Finish<'_, $f>,
                    ) {
                        products::outer::<$f, x86::$avx2>(s, o, st, f)
                    }
                    // SAFETY: as in `dense`: indices checked by `check_outer` (the elements
                    // are this call's: `OutRows`), and the instruction set confirmed by
                    // `is_available`.
                    match kernel {
                        Kernel::Avx512 if kernel.is_available() => {
                            return unsafe { wide(sums, out, out_stride, finish) }
                        }
                        Kernel::Avx2 if kernel.is_available() => {
                            return unsafe { narrow(sums, out, out_stride, finish) }
                        }
                        _ => {}
                    }
                }
                // SAFETY: indices checked by `check_outer`; the portable path runs anywhere.
                unsafe {
                    products::outer::<$f, lanes::Scalar<$f, $p>>(sums, out, out_stride, finish)
                }
            }
        }
    };
}

kernels_for!(f64, 8, Avx512F64, Avx2F64);
kernels_for!(f32, 16, Avx512F32, Avx2F32);

/// Checks every index [`products::outer`] will use: `x(t, r)` for `t < y.len()`, `r < rows`;
/// `out` and the slopes for `r < rows`, `c < y.cols()`.
fn check_outer<F>(
    sums: &OuterSums<'_, F>,
    out_len: usize,
    out_stride: usize,
    finish: &Finish<'_, F>,
) {
    let (t, rows, cols) = (sums.y.len(), sums.rows, sums.y.cols());
    if rows > 0 && t > 0 {
        let last_x = sums.x_offset + (t - 1) * sums.x_t + (rows - 1) * sums.x_r;
        assert!(last_x < sums.x.len(), "outer: x out of bounds");
    }
    if rows > 0 && cols > 0 {
        let end = (rows - 1) * out_stride + cols;
        assert!(cols <= out_stride && end <= out_len, "outer: out of bounds");
        if let Finish::Slope(slope) = finish {
            assert!(end <= slope.len(), "outer: slopes out of bounds");
        }
    }
}

/// Whether arithmetic whose results are subnormal runs much slower than normal arithmetic on
/// this CPU: on Intel's cores each such operation takes a microcode assist of about a hundred
/// cycles, while AMD's Zen cores run it at nearly full speed (measured 1.15x). The SGD step looks
/// for rows too small to move their weights only where that pays, the search costing about as
/// much as the step (on a Zen 5 core, the book's network at mini-batch 1 in float32 spent 0.75-0.85
/// of its step's time without it). Measured once, in the kernels' instruction set, as the least of
/// five timings each way; the search changes no bit, so neither does this.
pub(crate) fn subnormals_are_slow() -> bool {
    static SLOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SLOW.get_or_init(|| {
        let least = |scale: f32| {
            (0..5)
                .map(|_| subnormal_probe(scale).0)
                .fold(f64::INFINITY, f64::min)
        };
        let normal = least(1.0);
        least(1e-36) > 3.0 * normal
    })
}

/// Eight chains of `a ← fma(scale, 10⁻³, a/2)`, 4,096 steps each, and how long they took: from
/// `scale = 1` every result is normal (the chains settle at 2·10⁻³); from `scale = 10⁻³⁶` every
/// result from the second step on is subnormal (they settle at 2·10⁻³⁹, below `f32`'s smallest
/// normal, 1.2·10⁻³⁸).
fn subnormal_probe(scale: f32) -> (f64, [f32; 8]) {
    vectorised(
        #[inline(always)]
        || {
            let scale = std::hint::black_box(scale);
            let mut chains = [0.0_f32; 8];
            let start = std::time::Instant::now();
            for _ in 0..4096 {
                for a in chains.iter_mut() {
                    *a = scale.mul_add(1e-3, *a * 0.5);
                }
            }
            let chains = std::hint::black_box(chains);
            (start.elapsed().as_secs_f64(), chains)
        },
    )
}

/// Runs `f` compiled for the instruction set of the kernel in use, for the element-wise loops
/// outside the kernels (optimizer steps, norms, the data's checks): without it they run two
/// lanes at a time and every `mul_add` is a call into the C library's `fma`, which profiles
/// showed taking a third of a scikit-learn-style Adam epoch.
///
/// Only operations that IEEE 754 rounds once per element (`+`, `·`, `/`, `sqrt`, `mul_add`,
/// comparisons) and sequential folds belong inside: the compiler never reassociates or fuses
/// them, so wider registers compute the same bits as the portable path.
#[inline(always)]
pub(crate) fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn wide<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn narrow<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        let kernel = current();
        // SAFETY: `f` is safe Rust; the attributes only let the compiler use instructions that
        // `is_available` has just confirmed this CPU has.
        match kernel {
            Kernel::Avx512 if kernel.is_available() => return unsafe { wide(f) },
            Kernel::Avx2 if kernel.is_available() => return unsafe { narrow(f) },
            _ => {}
        }
    }
    f()
}

/// `out = A·Wᵀ + b` (`out` is `a.len() × n` row-major, `w` is `n × k`), in the canonical order.
pub(crate) fn dense<F: Kernels>(a: Rows<'_, F>, w: &[F], bias: &[F], out: &mut [F]) {
    F::dense(current(), a, w, bias, out)
}

/// See [`products::outer`].
pub(crate) fn outer<F: Kernels>(
    sums: &OuterSums<'_, F>,
    out: OutRows<'_, F>,
    out_stride: usize,
    finish: Finish<'_, F>,
) {
    F::outer(current(), sums, out, out_stride, finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Float;

    /// Deterministic test values with mixed signs and magnitudes.
    fn values<F: Float>(n: usize, seed: u64) -> Vec<F> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                F::from_f64((u - 0.5) * 4.0)
            })
            .collect()
    }

    /// The canonical order written out plainly: `P` partial sums over `k ≡ p (mod P)`, the
    /// halving tree, then the bias.
    fn canonical_dense<F: Float, const P: usize>(a: &[F], w: &[F], b: F) -> F {
        let mut partial = [F::zero(); P];
        for (k, (&x, &y)) in a.iter().zip(w).enumerate() {
            partial[k % P] = x.mul_add(y, partial[k % P]);
        }
        lanes::tree_sum(partial) + b
    }

    /// `values` with runs of `+0` and `−0` of varied lengths and places, as images have: the
    /// kernels skip blocks of zeros, which must not change a bit.
    fn with_zeros<F: Float>(mut v: Vec<F>, seed: u64) -> Vec<F> {
        let mut state = seed | 1;
        let mut i = 0;
        while i < v.len() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let run = (state >> 33) as usize % 40;
            let zero = if state >> 63 == 1 {
                F::zero()
            } else {
                -F::zero()
            };
            if !(state >> 40).is_multiple_of(3) {
                for x in v.iter_mut().skip(i).take(run) {
                    *x = zero;
                }
            }
            i += run + (state >> 50) as usize % 25;
        }
        v
    }

    fn check_dense<F: Float, const P: usize>() {
        for sparse in [false, true] {
            check_dense_data::<F, P>(sparse);
        }
    }

    fn check_dense_data<F: Float, const P: usize>(sparse: bool) {
        for (m, n, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (5, 30, 784),
            (9, 7, P),
            (4, 4, P + 1),
            (10, 10, 30),
            (7, 3, 2 * P - 1),
            (2, 9, 100),
            (13, 11, 784),
            (6, 5, 3 * P + 5),
            // More than 16 rows (float32's tiles change there), and every remainder of 3 x 5.
            (17, 11, 50),
            (18, 14, 2 * P + 3),
            (22, 13, 784),
        ] {
            let data = values::<F>(m * k + 3 * k, (m * n * k) as u64);
            let data = if sparse {
                // Runs of zeros, and bands of columns that are zero in every row (as an
                // image's borders are), so that whole tiles' blocks are skipped.
                let mut data = with_zeros(data, (m + n + k) as u64);
                for row in data.chunks_mut(k) {
                    let band = (k / 3)..(k / 3 + 2 * P + 3).min(k);
                    row[..(P + 2).min(k)].fill(F::zero());
                    row[band].fill(-F::zero());
                }
                data
            } else {
                data
            };
            let w = values::<F>(n * k, 7 + k as u64);
            let bias = values::<F>(n, 3);
            // Rows from the middle of a larger array.
            let rows = Rows::run(&data, k, k, m + 3).slice(2..m + 2);
            for kernel in Kernel::available() {
                let mut out = vec![F::nan(); m * n];
                F::dense(kernel, rows, &w, &bias, &mut out);
                for i in 0..m {
                    for j in 0..n {
                        let expected =
                            canonical_dense::<F, P>(rows.row(i), &w[j * k..(j + 1) * k], bias[j]);
                        assert_eq!(
                            out[i * n + j].to_f64().to_bits(),
                            expected.to_f64().to_bits(),
                            "{kernel:?} ({m}, {n}, {k}) at ({i}, {j})"
                        );
                        // And near the exact value (a loose bound: it checks the wiring).
                        let exact: f64 = rows
                            .row(i)
                            .iter()
                            .zip(&w[j * k..(j + 1) * k])
                            .map(|(&x, &y)| x.to_f64() * y.to_f64())
                            .sum::<f64>()
                            + bias[j].to_f64();
                        let scale: f64 = rows
                            .row(i)
                            .iter()
                            .zip(&w[j * k..(j + 1) * k])
                            .map(|(&x, &y)| (x.to_f64() * y.to_f64()).abs())
                            .sum::<f64>()
                            + 1.0;
                        let tol = (k as f64 + 2.0) * F::epsilon().to_f64() * scale;
                        assert!((out[i * n + j].to_f64() - exact).abs() <= tol);
                    }
                }
            }
        }
    }

    #[test]
    fn dense_is_the_canonical_order_on_every_path() {
        check_dense::<f64, 8>();
        check_dense::<f32, 16>();
    }

    /// `Σ_t x[t][r]·y[t][c]` (`x` sample-major, `rows` wide; `y` `cols` wide) as one chain of
    /// fused multiply-adds over `t` in order, from `+0`: `outer`'s canonical order written out.
    fn plain_chain<F: Float>(
        x: &[F],
        y: &[F],
        terms: usize,
        rows: usize,
        cols: usize,
        (r, c): (usize, usize),
    ) -> F {
        (0..terms).fold(F::zero(), |s, t| {
            x[t * rows + r].mul_add(y[t * cols + c], s)
        })
    }

    /// Runs `outer` with `finish` on a copy of `start` (laid out `rows × cols`, `sums.x`
    /// sample-major) and asserts every output's bits are the plain chain's, finished the same
    /// way; NaNs match NaNs, as a NaN's payload is not part of the order of operations.
    fn assert_outer_is_plain_chain<F: Float>(
        kernel: Kernel,
        sums: &OuterSums<'_, F>,
        y_data: &[F],
        start: &[F],
        finish: Finish<'_, F>,
        what: &str,
    ) {
        let (t, rows, cols) = (sums.y.len(), sums.rows, sums.y.cols());
        assert!(
            sums.x_offset == 0 && sums.x_t == rows && sums.x_r == 1,
            "x sample-major"
        );
        let mut out = start.to_vec();
        F::outer(kernel, sums, OutRows::new(&mut out), cols, finish);
        for r in 0..rows {
            for c in 0..cols {
                let s = plain_chain(sums.x, y_data, t, rows, cols, (r, c));
                let i = r * cols + c;
                let expected = match finish {
                    Finish::Step { rate, decay } => (-rate).mul_add(s, decay * start[i]),
                    Finish::Scale(scale) => s * scale,
                    Finish::Slope(slope) => s * slope[i],
                };
                let (got, expected) = (out[i].to_f64(), expected.to_f64());
                assert!(
                    got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                    "{what} at ({r}, {c}): {got:e}, expected {expected:e}"
                );
            }
        }
    }

    /// What `check_outer` feeds the kernel: plain values; `y` with zeros (runs, and whole rows
    /// zero in some tiles' columns) marked sparse; the same with a NaN and an infinity in `x`,
    /// which must then give the NaNs of the plain chain (no term may be skipped).
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum OuterData {
        Plain,
        SparseY,
        SparseYNonFiniteX,
    }

    fn check_outer<F: Float>() {
        for data in [
            OuterData::Plain,
            OuterData::SparseY,
            OuterData::SparseYNonFiniteX,
        ] {
            check_outer_data::<F>(data);
        }
    }

    fn check_outer_data<F: Float>(data: OuterData) {
        for (t, rows, cols) in [
            (1, 1, 1),
            (10, 30, 784),
            (3, 5, 17),
            (7, 9, 16),
            (2, 4, 33),
            (40, 6, 150),
            // More than 16 terms (AVX-512's 8 x 3 tiles), with every remainder of rows.
            (25, 19, 100),
            (17, 23, 70),
        ] {
            // x(t, r) with x_t = rows (sample-major Δ), y one row per t.
            let mut x = values::<F>(t * rows, 11);
            let mut y_data = values::<F>(t * cols, 12);
            if data != OuterData::Plain {
                y_data = with_zeros(y_data, (t * cols) as u64);
                for (tt, row) in y_data.chunks_mut(cols).enumerate() {
                    match tt % 3 {
                        0 => row.fill(F::zero()),
                        1 => row[..cols / 2].fill(-F::zero()),
                        _ => {}
                    }
                }
            }
            if data == OuterData::SparseYNonFiniteX {
                x[0] = F::nan();
                x[t * rows - 1] = F::infinity();
            }
            let y = Rows::run(&y_data, cols, cols, t);
            let start = values::<F>(rows * cols, 13);
            let slope = values::<F>(rows * cols, 14);
            let (rate, decay, scale) = (F::from_f64(0.3), F::from_f64(0.999), F::from_f64(0.1));
            // Prefetches between the tiles (of `x`'s lines, as if it were the next mini-batch)
            // must change nothing.
            let x_row = [x.as_ptr() as usize];
            let sums = OuterSums {
                x: &x,
                x_offset: 0,
                x_t: rows,
                x_r: 1,
                y,
                rows,
                sparse_y: data != OuterData::Plain,
                y_max: f64::INFINITY,
                ahead: crate::prefetch::Ahead::new(&x_row, std::mem::size_of_val(&x[..]))
                    .share(0, 1),
            };
            for kernel in Kernel::available() {
                for finish in [
                    Finish::Step { rate, decay },
                    Finish::Scale(scale),
                    Finish::Slope(&slope),
                ] {
                    let what = format!("{kernel:?} {data:?} ({t}, {rows}, {cols})");
                    assert_outer_is_plain_chain(kernel, &sums, &y_data, &start, finish, &what);
                }
            }
        }
    }

    /// A step leaves out rows whose errors are too small to change any of their weights (see
    /// `products::negligible_rows`), which must give the plain chain's bits; rows with a zero
    /// or subnormal weight, or a weight small enough to move, must be computed.
    fn check_negligible_rows<F: Float>() {
        let tiny = F::min_positive_value();
        // 150 rows: the small rows start in the second chunk of 64 that the function scans.
        for (t, rows, first) in [(1, 9, 0), (3, 9, 0), (10, 9, 0), (3, 150, 70)] {
            let cols = 37;
            let mut x = values::<F>(t * rows, 21);
            for tt in 0..t {
                for r in 0..rows {
                    let scale = match (r < first, (r - first.min(r)) % 3) {
                        (true, _) => F::one(),
                        (_, 0) => tiny * F::from_f64(1e-3), // subnormal errors
                        (_, 1) => tiny * F::from_f64(1e4),  // small, normal errors
                        _ => F::one(),
                    };
                    x[tt * rows + r] = x[tt * rows + r] * scale;
                }
            }
            let y_data = values::<F>(t * cols, 22);
            let y_max = y_data
                .iter()
                .fold(0.0_f64, |m, &v| m.max(Float::to_f64(v).abs()));
            let mut start = values::<F>(rows * cols, 23);
            start[(first + 3) * cols + 5] = F::zero();
            start[(first + 6) * cols + 36] = tiny * F::from_f64(0.25);
            start[(first + 4) * cols] = tiny * F::from_f64(1e3);
            let sums = OuterSums {
                x: &x,
                x_offset: 0,
                x_t: rows,
                x_r: 1,
                y: Rows::run(&y_data, cols, cols, t),
                rows,
                sparse_y: true,
                y_max,
                ahead: Default::default(),
            };
            let one = F::one();
            for (rate, decay) in [(0.3, one), (0.3, F::from_f64(0.999)), (3.0, one)] {
                let rate = F::from_f64(rate);
                // SAFETY: `start` holds `rows × cols` values, all that the function reads.
                let skipped =
                    unsafe { products::negligible_rows(&sums, start.as_ptr(), cols, rate, decay) };
                for (r, expected) in [(0, true), (1, true), (2, false), (3, false), (6, false)] {
                    assert_eq!(skipped[first + r], expected, "row {first} + {r}, {t} terms");
                }
                assert!(
                    !skipped[first + 4],
                    "row 4 holds a weight the step may move"
                );
                assert!(
                    skipped[..first].iter().all(|&s| !s),
                    "normal errors are computed"
                );
                let finish = Finish::Step { rate, decay };
                for kernel in Kernel::available() {
                    let what = format!("{kernel:?} {t} terms");
                    assert_outer_is_plain_chain(kernel, &sums, &y_data, &start, finish, &what);
                }
            }
        }
    }

    #[test]
    fn steps_leave_out_the_rows_they_cannot_change_bit_for_bit() {
        check_negligible_rows::<f64>();
        check_negligible_rows::<f32>();
    }

    #[test]
    fn outer_is_one_chain_per_output_on_every_path() {
        check_outer::<f64>();
        check_outer::<f32>();
    }

    /// A product split over windows of columns (as the weight products are, one window a
    /// thread) writes, through each window, only its own columns, and gives the bits of the
    /// whole product: on every path, for windows that cut vectors and tiles anywhere.
    fn check_outer_in_column_windows<F: Float>() {
        for (t, rows, cols) in [(7, 5, 37), (200, 11, 100), (10, 30, 23)] {
            let x = values::<F>(t * rows, 31);
            let y_data = with_zeros(values::<F>(t * cols, 32), 33);
            let start = values::<F>(rows * cols, 34);
            let y = Rows::run(&y_data, cols, cols, t);
            let sums = |y| OuterSums {
                x: &x,
                x_offset: 0,
                x_t: rows,
                x_r: 1,
                y,
                rows,
                sparse_y: true,
                y_max: f64::INFINITY,
                ahead: Default::default(),
            };
            let (rate, decay) = (F::from_f64(0.3), F::from_f64(0.999));
            for kernel in Kernel::available() {
                for finish in [Finish::Step { rate, decay }, Finish::Scale(rate)] {
                    let mut whole = start.clone();
                    F::outer(kernel, &sums(y), OutRows::new(&mut whole), cols, finish);
                    for cuts in [
                        vec![0, 8, cols],
                        vec![0, 3, 20, cols],
                        vec![0, cols - 1, cols],
                    ] {
                        let mut split = start.clone();
                        for pair in cuts.windows(2) {
                            let window = pair[0]..pair[1];
                            let len = (rows - 1) * cols + window.end - window.start;
                            // SAFETY: `split` holds `rows × cols` values, so the window's
                            // `len` from its first column are in bounds; the windows run
                            // one after another.
                            let out = unsafe {
                                OutRows::from_raw(split.as_mut_ptr().add(window.start), len)
                            };
                            F::outer(kernel, &sums(y.columns(window)), out, cols, finish);
                        }
                        let bits = |v: &[F]| {
                            v.iter()
                                .map(|&f| Float::to_f64(f).to_bits())
                                .collect::<Vec<_>>()
                        };
                        assert_eq!(
                            bits(&split),
                            bits(&whole),
                            "{kernel:?} ({t}, {rows}, {cols}) {cuts:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn outer_in_column_windows_is_the_whole_product() {
        check_outer_in_column_windows::<f64>();
        check_outer_in_column_windows::<f32>();
    }

    #[test]
    fn the_subnormal_probe_makes_normal_and_subnormal_results() {
        let (_, normal) = subnormal_probe(1.0);
        assert!(normal.iter().all(|a| a.is_normal()), "{normal:?}");
        let (_, tiny) = subnormal_probe(1e-36);
        assert!(tiny.iter().all(|a| *a != 0.0 && !a.is_normal()), "{tiny:?}");
    }

    #[test]
    fn kernels_by_name_and_refusal() {
        for k in Kernel::ALL {
            assert_eq!(Kernel::from_name(k.name()), Some(k));
        }
        assert!(Kernel::available().contains(&Kernel::Scalar));
        assert_eq!(Kernel::from_name("sse9"), None);
    }
}

#[cfg(test)]
mod speed {
    use super::*;

    /// Not a test: `cargo test --release -p digitnet-core kernel_speed -- --ignored --nocapture`
    /// prints each kernel's GFLOP/s on the book's and a wide layer's shapes.
    #[test]
    #[ignore]
    fn kernel_speed() {
        for kernel in Kernel::available() {
            for (m, n, k, align) in [
                (10, 30, 784, false),
                (10, 30, 784, true),
                (100, 800, 784, false),
                (100, 800, 784, true),
                (200, 100, 784, true),
            ] {
                let aligned = |len: usize, v: f64| {
                    let buf = vec![v; len + 8];
                    let skip = if align {
                        (64 - (buf.as_ptr() as usize % 64)) / 8 % 8
                    } else {
                        1
                    };
                    (buf, skip)
                };
                let (abuf, askip) = aligned(m * k, 0.5);
                let (wbuf, wskip) = aligned(n * k, 0.25);
                let a = abuf[askip..askip + m * k].to_vec();
                let a = if align {
                    &abuf[askip..askip + m * k]
                } else {
                    &a[..]
                };
                let w = &wbuf[wskip..wskip + n * k];
                let b = vec![0.0; n];
                let mut out = vec![0.0; m * n];
                let rows = Rows::run(a, k, k, m);
                let reps = (2e9 / (2 * m * n * k) as f64).max(1.0) as usize;
                let start = std::time::Instant::now();
                for _ in 0..reps {
                    f64::dense(kernel, rows, w, &b, &mut out);
                }
                let dense = 2.0 * (m * n * k * reps) as f64 / start.elapsed().as_secs_f64() / 1e9;
                let (mut woutbuf, _) = aligned(n * k, 0.25);
                let wout = &mut woutbuf[wskip..wskip + n * k];
                let delta = vec![1e-3_f64; m * n];
                let sums = OuterSums {
                    x: &delta,
                    x_offset: 0,
                    x_t: n,
                    x_r: 1,
                    y: rows,
                    rows: n,
                    sparse_y: true,
                    y_max: f64::INFINITY,
                    ahead: Default::default(),
                };
                let start = std::time::Instant::now();
                for _ in 0..reps {
                    f64::outer(
                        kernel,
                        &sums,
                        OutRows::new(wout),
                        k,
                        Finish::Step {
                            rate: 0.1,
                            decay: 1.0,
                        },
                    );
                }
                let outer = 2.0 * (m * n * k * reps) as f64 / start.elapsed().as_secs_f64() / 1e9;
                println!(
                    "{kernel:?} ({m}, {n}, {k}): dense {dense:.1} GFLOP/s, step {outer:.1} GFLOP/s"
                );
            }
        }
    }
}

#[cfg(test)]
mod sparse_speed {
    use super::*;

    /// Not a test: `cargo test --release -p digitnet-core sparse_speed -- --ignored
    /// --nocapture` prints `dense`'s speed on image-like rows (81% zeros, in runs, like MNIST's)
    /// against rows without zeros, counting the skipped multiply-adds as done.
    #[test]
    #[ignore]
    fn sparse_speed() {
        for (m, n) in [(10usize, 30usize), (200, 100)] {
            let k = 784;
            let mut a = vec![0.0f64; m * k];
            for i in 0..m {
                for y in 0..28 {
                    for x in 0..28 {
                        let dy = (y as i32 - 14).abs();
                        let dx = (x as i32 - 14 + (i % 5) as i32 - 2).abs();
                        if dy < 9 && dx < 7 && (x + y + i) % 3 != 0 {
                            a[i * k + y * 28 + x] = 0.5;
                        }
                    }
                }
            }
            let dense_a = vec![0.5f64; m * k];
            let w = vec![0.25f64; n * k];
            let b = vec![0.0; n];
            let mut out = vec![0.0; m * n];
            for (name, data) in [("image-like", &a), ("no zeros", &dense_a)] {
                let rows = Rows::run(data, k, k, m);
                let reps = (2e9 / (2 * m * n * k) as f64) as usize;
                let start = std::time::Instant::now();
                for _ in 0..reps {
                    f64::dense(Kernel::best(), rows, &w, &b, &mut out);
                }
                let g = 2.0 * (m * n * k * reps) as f64 / start.elapsed().as_secs_f64() / 1e9;
                println!("({m}, {n}, {k}) {name}: {g:.1} GFLOP/s");
            }
        }
    }
}
