//! The AVX-512 and AVX2 (+FMA) implementations of [`Lanes`]: each block of `P` lanes is one
//! 512-bit register or two 256-bit ones, and the reduction follows the canonical tree of
//! [`super::lanes::tree_sum`] (add the upper half onto the lower half until one lane is left).
//!
//! These functions are `#[inline(always)]` and only ever inlined into the kernel entry points of
//! `super::dispatch`, which carry the matching `#[target_feature]` attribute and are only called
//! once the CPU has been checked for those features.

use std::arch::x86_64::*;

use super::lanes::Lanes;

#[derive(Clone, Copy)]
pub(crate) struct Avx512F64(__m512d);
#[derive(Clone, Copy)]
pub(crate) struct Avx512F32(__m512);
#[derive(Clone, Copy)]
pub(crate) struct Avx2F64(__m256d, __m256d);
#[derive(Clone, Copy)]
pub(crate) struct Avx2F32(__m256, __m256);

/// `s[0] + s[1]` of the two lanes of `s` (the tree's last level).
#[inline(always)]
unsafe fn last_two_f64(s: __m128d) -> f64 {
    _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
}

/// The tree from four lanes: `(s[0] + s[2]) + (s[1] + s[3])`.
#[inline(always)]
unsafe fn tree4_f64(s: __m256d) -> f64 {
    last_two_f64(_mm_add_pd(
        _mm256_castpd256_pd128(s),
        _mm256_extractf128_pd::<1>(s),
    ))
}

/// The tree from eight `f32` lanes.
#[inline(always)]
unsafe fn tree8_f32(s: __m256) -> f32 {
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2)))
}

/// Lane masks for the first `n` of four 64-bit or eight 32-bit lanes (AVX2 has no mask registers).
#[inline(always)]
unsafe fn first_n_64(n: usize) -> __m256i {
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), _mm256_setr_epi64x(0, 1, 2, 3))
}
#[inline(always)]
unsafe fn first_n_32(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// `outer`'s tiles on AVX-512, both float types: a tile's columns of `y`, one row per term, are
/// read once per tile of rows; with many terms they no longer fit in L1 and stream from L2, and
/// eight rows per tile (of three blocks) read them half as often as four (of four). Measured
/// side by side on MNIST's rows, the weight step's time against 4 x 4: f64 0.84-0.96 at
/// (200 samples, 100 units) and 0.84-0.87 at (100, 800); f32 0.76-0.86 and 0.78-0.81. With the
/// book's ten terms the strip stays in L1 and 8 x 3 took 1.03-1.11 of the time: 4 x 4 there.
fn avx512_outer_tile(terms: usize) -> (usize, usize) {
    if terms <= 16 {
        (4, 4)
    } else {
        (8, 3)
    }
}

// SAFETY (all four impls): each function uses only the instruction set named by its type, and
// the dispatcher calls them only on CPUs that have it; loads and stores touch exactly the lanes
// documented on `Lanes` (masked forms never touch the masked-off lanes' memory).
unsafe impl Lanes<f64> for Avx512F64 {
    const P: usize = 8;

    /// 3 x 5: the rows of `W` a tile uses stay in L1 while the rows of `A` stream from L2, so
    /// each row of `W` more in a tile cuts that stream. Measured side by side on MNIST's rows
    /// against 4 x 3 (the time of `dense`): 0.88 at the book's (10, 30), 0.77-0.78 at
    /// (200, 100), 0.78-0.79 at (100, 800); 2 x 6, 2 x 7, 3 x 4 and 4 x 4 measured in between
    /// (an earlier objdump found 4 x 4's sixteen accumulators moved and spilled in the loop).
    fn dense_tile_size(_m: usize) -> (usize, usize) {
        (3, 5)
    }
    fn outer_tile_size(terms: usize) -> (usize, usize) {
        avx512_outer_tile(terms)
    }

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self(_mm512_setzero_pd())
    }
    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Self(_mm512_set1_pd(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Self(_mm512_loadu_pd(p))
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f64, n: usize) -> Self {
        Self(_mm512_maskz_loadu_pd(((1u32 << n) - 1) as __mmask8, p))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        _mm512_storeu_pd(p, self.0)
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f64, n: usize) {
        _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as __mmask8, self.0)
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Self(_mm512_fmadd_pd(a.0, b.0, c.0))
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Self(_mm512_mul_pd(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn reduce(self) -> f64 {
        tree4_f64(_mm256_add_pd(
            _mm512_castpd512_pd256(self.0),
            _mm512_extractf64x4_pd::<1>(self.0),
        ))
    }
}

unsafe impl Lanes<f32> for Avx512F32 {
    const P: usize = 16;

    /// As for `f64`, 3 x 5 (0.82-0.85 of 4 x 3's time at (200, 100) and (100, 800)), but 4 x 3
    /// for the book's ten rows, which 3-row tiles cut 3 + 3 + 3 + 1 (3 x 5 took 1.06-1.09 of
    /// its time there).
    fn dense_tile_size(m: usize) -> (usize, usize) {
        if m <= 16 {
            (4, 3)
        } else {
            (3, 5)
        }
    }
    fn outer_tile_size(terms: usize) -> (usize, usize) {
        avx512_outer_tile(terms)
    }

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self(_mm512_setzero_ps())
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Self(_mm512_set1_ps(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Self(_mm512_loadu_ps(p))
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> Self {
        Self(_mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        _mm512_storeu_ps(p, self.0)
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, n: usize) {
        _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, self.0)
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Self(_mm512_fmadd_ps(a.0, b.0, c.0))
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Self(_mm512_mul_ps(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self.0)));
        tree8_f32(_mm256_add_ps(_mm512_castps512_ps256(self.0), high))
    }
}

unsafe impl Lanes<f64> for Avx2F64 {
    const P: usize = 8;
    fn dense_tile_size(_m: usize) -> (usize, usize) {
        (2, 2)
    }
    fn outer_tile_size(_terms: usize) -> (usize, usize) {
        (2, 2)
    }

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self(_mm256_setzero_pd(), _mm256_setzero_pd())
    }
    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        Self(_mm256_set1_pd(x), _mm256_set1_pd(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        Self(_mm256_loadu_pd(p), _mm256_loadu_pd(p.add(4)))
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f64, n: usize) -> Self {
        Self(
            _mm256_maskload_pd(p, first_n_64(n.min(4))),
            _mm256_maskload_pd(p.add(4), first_n_64(n.saturating_sub(4))),
        )
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        _mm256_storeu_pd(p, self.0);
        _mm256_storeu_pd(p.add(4), self.1);
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f64, n: usize) {
        _mm256_maskstore_pd(p, first_n_64(n.min(4)), self.0);
        _mm256_maskstore_pd(p.add(4), first_n_64(n.saturating_sub(4)), self.1);
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Self(
            _mm256_fmadd_pd(a.0, b.0, c.0),
            _mm256_fmadd_pd(a.1, b.1, c.1),
        )
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Self(_mm256_mul_pd(a.0, b.0), _mm256_mul_pd(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn reduce(self) -> f64 {
        tree4_f64(_mm256_add_pd(self.0, self.1))
    }
}

unsafe impl Lanes<f32> for Avx2F32 {
    const P: usize = 16;
    fn dense_tile_size(_m: usize) -> (usize, usize) {
        (2, 2)
    }
    fn outer_tile_size(_terms: usize) -> (usize, usize) {
        (2, 2)
    }

    #[inline(always)]
    unsafe fn zero() -> Self {
        Self(_mm256_setzero_ps(), _mm256_setzero_ps())
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Self(_mm256_set1_ps(x), _mm256_set1_ps(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        Self(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> Self {
        Self(
            _mm256_maskload_ps(p, first_n_32(n.min(8))),
            _mm256_maskload_ps(p.add(8), first_n_32(n.saturating_sub(8))),
        )
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        _mm256_storeu_ps(p, self.0);
        _mm256_storeu_ps(p.add(8), self.1);
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, n: usize) {
        _mm256_maskstore_ps(p, first_n_32(n.min(8)), self.0);
        _mm256_maskstore_ps(p.add(8), first_n_32(n.saturating_sub(8)), self.1);
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Self(
            _mm256_fmadd_ps(a.0, b.0, c.0),
            _mm256_fmadd_ps(a.1, b.1, c.1),
        )
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Self(_mm256_mul_ps(a.0, b.0), _mm256_mul_ps(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        tree8_f32(_mm256_add_ps(self.0, self.1))
    }
}
