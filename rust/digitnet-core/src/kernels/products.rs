//! The matrix products of an MLP, written once over [`Lanes`] so that every instruction set runs
//! the same operations in the same order.
//!
//! - [`dense`]: `Z = A·Wᵀ + b`. Each `Z[i][j]` is a dot product along `k` of two contiguous rows,
//!   kept as `P` interleaved partial sums (lane `p` takes every `k ≡ p (mod P)`, in order of `k`,
//!   by fused multiply-adds from `+0`), then summed by the fixed tree of [`Lanes::reduce`], then
//!   `+ b[j]`.
//! - [`outer`]: `out[r][c] = finish(Σ_t x(t, r)·y[t][c])`. Each output is one chain of fused
//!   multiply-adds over `t` in order, from `+0`; the `P` lanes of a block are `P` independent
//!   outputs. This is the weight step (`t` the samples, `x = Δ`, `y = A`), the back-propagated
//!   error (`t` the units, `x = Δ`, `y = W`) and the gradient.
//!
//! Register and cache tiling (how many outputs are computed together) differ between
//! instruction sets and never change any output's operations, so the results depend only on the
//! shapes. Zero-filled lanes past the end of a row add `fma(0, 0, s) = s` exactly: a partial sum
//! that starts at `+0` can never be `-0` under round-to-nearest, so the padding is invisible.

// Tiles index their accumulators by row and column: index loops say that best.
#![allow(clippy::needless_range_loop)]

use super::lanes::Lanes;
use super::Rows;
use crate::Float;

/// What [`outer`] does with each sum `s` before it writes `out`.
#[derive(Clone, Copy)]
pub enum Finish<'a, F> {
    /// `out ← fma(−rate, s, decay·out)`: the SGD step `W ← decay·W − rate·ΔᵀA`.
    Step { rate: F, decay: F },
    /// `out ← s·scale`.
    Scale(F),
    /// `out ← s·slope` element by element (`slope` laid out like `out`): `δ = (ΔW) ⊙ f'(z)`.
    Slope(&'a [F]),
}

/// `out[i·n + j] = Σ_k a[i][k]·w[j·k_len + k] + bias[j]` (see the module docs for the order).
///
/// # Safety
/// `V`'s instruction set must be present. The caller (`super::dense`) has checked that `a` has
/// rows of `k` values, `w` holds `n·k` values, `bias` `n` and `out` `a.len()·n`.
#[inline(always)]
pub(crate) unsafe fn dense<F: Float, V: Lanes<F>>(
    a: Rows<'_, F>,
    w: &[F],
    bias: &[F],
    out: &mut [F],
    k: usize,
    n: usize,
) {
    let m = a.len();
    // Cache blocking: a block of rows of A that stays in L2 meets every tile of W's rows, so W
    // streams from memory once per block instead of once per tile of A.
    let block = (L2_BYTES / (k * std::mem::size_of::<F>()).max(1))
        .max(V::DENSE_ROWS)
        .next_multiple_of(V::DENSE_ROWS);
    let mut i_block = 0;
    while i_block < m {
        let block_end = (i_block + block).min(m);
        let mut j = 0;
        while j < n {
            let nr = (n - j).min(V::DENSE_COLS);
            let mut i = i_block;
            while i < block_end {
                let mr = (block_end - i).min(V::DENSE_ROWS);
                macro_rules! tile {
                    ($($r:literal, $c:literal);*) => {
                        match (mr, nr) {
                            $(($r, $c) => dense_tile::<F, V, $r, $c>(a, i, w, j, bias, out, k, n),)*
                            _ => unreachable!("tiles are at most 4 x 4"),
                        }
                    };
                }
                tile!(1, 1; 1, 2; 1, 3; 1, 4; 2, 1; 2, 2; 2, 3; 2, 4;
                      3, 1; 3, 2; 3, 3; 3, 4; 4, 1; 4, 2; 4, 3; 4, 4);
                i += mr;
            }
            j += nr;
        }
        i_block = block_end;
    }
}

/// The bytes of a block of input rows that [`dense`] keeps in the L2 cache.
const L2_BYTES: usize = 1024 * 1024;

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dense_tile<F: Float, V: Lanes<F>, const MR: usize, const NR: usize>(
    a: Rows<'_, F>,
    i0: usize,
    w: &[F],
    j0: usize,
    bias: &[F],
    out: &mut [F],
    k: usize,
    n: usize,
) {
    let ap: [*const F; MR] = std::array::from_fn(|r| a.row_ptr(i0 + r));
    let wp: [*const F; NR] = std::array::from_fn(|c| w.as_ptr().add((j0 + c) * k));
    let mut acc = [[V::zero(); NR]; MR];
    let full = k / V::P;
    // W's vectors are loaded first and each row of A streams through one register: with every
    // load of a block first (`from_fn` over offsets), LLVM rotated the accumulators through the
    // registers on every iteration of a 4 x 4 tile (24 register moves and a spill per 16 FMAs).
    let (mut ap, mut wp) = (ap, wp);
    for _ in 0..full {
        let mut wv = [V::zero(); NR];
        for c in 0..NR {
            wv[c] = V::load(wp[c]);
            wp[c] = wp[c].add(V::P);
        }
        for r in 0..MR {
            let av = V::load(ap[r]);
            ap[r] = ap[r].add(V::P);
            for c in 0..NR {
                acc[r][c] = V::fma(av, wv[c], acc[r][c]);
            }
        }
    }
    let rest = k - full * V::P;
    if rest > 0 {
        let av: [V; MR] = std::array::from_fn(|r| V::load_n(ap[r], rest));
        let wv: [V; NR] = std::array::from_fn(|c| V::load_n(wp[c], rest));
        for r in 0..MR {
            for c in 0..NR {
                acc[r][c] = V::fma(av[r], wv[c], acc[r][c]);
            }
        }
    }
    for r in 0..MR {
        for c in 0..NR {
            *out.get_unchecked_mut((i0 + r) * n + j0 + c) =
                acc[r][c].reduce() + *bias.get_unchecked(j0 + c);
        }
    }
}

/// A hint to bring the cache line at `p` closer. `p` is never dereferenced and may lie outside
/// any allocation (it is computed with `wrapping_add`): a prefetch never faults and changes no
/// value.
#[inline(always)]
fn prefetch<F>(p: *const F) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: see above: the instruction has no effect the program can observe.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The sums of [`outer`]'s outputs: `x(t, r) = x[x_offset + t·x_t + r·x_r]` for `r < rows`, and
/// `y` has one row per `t`.
#[derive(Clone, Copy)]
pub struct OuterSums<'a, F> {
    pub(crate) x: &'a [F],
    pub(crate) x_offset: usize,
    pub(crate) x_t: usize,
    pub(crate) x_r: usize,
    pub(crate) y: Rows<'a, F>,
    pub(crate) rows: usize,
}

/// `out[r·out_stride + c] = finish(Σ_t x(t, r)·y[t][c])` for `r < sums.rows`, `c < y.cols()`.
///
/// # Safety
/// `V`'s instruction set must be present. The caller (`super::outer`) has checked every index
/// into `x`, `out` and the slopes.
#[inline(always)]
pub(crate) unsafe fn outer<F: Float, V: Lanes<F>>(
    sums: &OuterSums<'_, F>,
    out: &mut [F],
    out_stride: usize,
    finish: Finish<'_, F>,
) {
    let cols = sums.y.cols();
    let vectors = cols.div_ceil(V::P);
    // Columns outermost: a tile's columns of `y` (all `t` rows of them) stay in L1 while every
    // tile of rows uses them.
    let mut v = 0;
    while v < vectors {
        let vv = (vectors - v).min(V::OUTER_VECTORS);
        let mut r = 0;
        while r < sums.rows {
            let rr = (sums.rows - r).min(V::OUTER_ROWS);
            macro_rules! tile {
                ($($r:literal, $v:literal);*) => {
                    match (rr, vv) {
                        $(($r, $v) => outer_tile::<F, V, $r, $v>(
                            sums, r, v * V::P, out, out_stride, finish),)*
                        _ => unreachable!("tiles are at most 4 x 4"),
                    }
                };
            }
            tile!(1, 1; 1, 2; 1, 3; 1, 4; 2, 1; 2, 2; 2, 3; 2, 4;
                  3, 1; 3, 2; 3, 3; 3, 4; 4, 1; 4, 2; 4, 3; 4, 4);
            r += rr;
        }
        v += vv;
    }
}

#[inline(always)]
unsafe fn outer_tile<F: Float, V: Lanes<F>, const R: usize, const KV: usize>(
    sums: &OuterSums<'_, F>,
    r0: usize,
    c0: usize,
    out: &mut [F],
    out_stride: usize,
    finish: Finish<'_, F>,
) {
    let cols = sums.y.cols();
    // Lanes in this tile's last vector (a full `P` except at the end of a row).
    let last = (cols - c0 - (KV - 1) * V::P).min(V::P);
    let load = |p: *const F, v: usize| {
        if v + 1 == KV && last < V::P {
            V::load_n(p, last)
        } else {
            V::load(p)
        }
    };
    // The next tile's outputs (the rows below) come from far away when `out` is a large weight
    // matrix: ask for them now, so that they arrive while this tile computes.
    for r in 0..R {
        for v in 0..KV {
            prefetch(
                out.as_ptr()
                    .wrapping_add((r0 + R + r) * out_stride + c0 + v * V::P),
            );
        }
    }
    let mut acc = [[V::zero(); KV]; R];
    let x = sums.x.as_ptr().add(sums.x_offset + r0 * sums.x_r);
    for t in 0..sums.y.len() {
        let y = sums.y.row_ptr(t).add(c0);
        let yv: [V; KV] = std::array::from_fn(|v| load(y.add(v * V::P), v));
        let xt = x.add(t * sums.x_t);
        for r in 0..R {
            let xs = V::splat(*xt.add(r * sums.x_r));
            for v in 0..KV {
                acc[r][v] = V::fma(xs, yv[v], acc[r][v]);
            }
        }
    }
    for r in 0..R {
        for v in 0..KV {
            let offset = (r0 + r) * out_stride + c0 + v * V::P;
            let p = out.as_mut_ptr().add(offset);
            let result = match finish {
                Finish::Step { rate, decay } => V::fma(
                    V::splat(-rate),
                    acc[r][v],
                    V::mul(V::splat(decay), load(p, v)),
                ),
                Finish::Scale(scale) => V::mul(acc[r][v], V::splat(scale)),
                Finish::Slope(slope) => V::mul(acc[r][v], load(slope.as_ptr().add(offset), v)),
            };
            if v + 1 == KV && last < V::P {
                result.store_n(p, last);
            } else {
                result.store(p);
            }
        }
    }
}
