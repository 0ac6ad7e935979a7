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
//!
//! For the same reason, terms whose input is `±0` may be left out when the other factor is
//! finite: [`dense`] skips blocks of `P` columns that are zero in every row of a tile, and
//! [`outer`] (for a layer's inputs) skips the samples whose inputs are zero across a tile's
//! columns. Images are mostly zeros, so the first layer's products, most of an MLP's work, do
//! a fraction of their multiply-adds and give the bits of the full sums.

// Tiles index their accumulators by row and column: index loops say that best.
#![allow(clippy::needless_range_loop)]

use super::lanes::Lanes;
use super::Rows;
use crate::prefetch::Lines;
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
    let (dr, dc) = V::dense_tile_size(m);
    // Cache blocking: a block of rows of A that stays in L2 meets every tile of W's rows, so W
    // streams from memory once per block instead of once per tile of A.
    let block = (L2_BYTES / (k * std::mem::size_of::<F>()).max(1))
        .max(dr)
        .next_multiple_of(dr);
    let vectors = k.div_ceil(V::P);
    // For each tile of rows of the block, the blocks of `P` columns where one of its rows is
    // not zero: the others are skipped (see `nonzero_vectors`).
    let mut active: Vec<u32> = Vec::with_capacity(block.min(m).div_ceil(dr) * vectors);
    let mut starts: Vec<usize> = Vec::with_capacity(block.min(m).div_ceil(dr) + 1);
    let mut i_block = 0;
    while i_block < m {
        let block_end = (i_block + block).min(m);
        active.clear();
        starts.clear();
        let mut i = i_block;
        while i < block_end {
            let mr = (block_end - i).min(dr);
            starts.push(active.len());
            nonzero_vectors::<F, V>(a, i..i + mr, k, &mut active);
            i += mr;
        }
        starts.push(active.len());
        let mut j = 0;
        while j < n {
            let nr = (n - j).min(dc);
            let mut i = i_block;
            let mut tile_index = 0;
            while i < block_end {
                let mr = (block_end - i).min(dr);
                let runs = &active[starts[tile_index]..starts[tile_index + 1]];
                macro_rules! tile {
                    ($($r:literal, $c:literal);*) => {
                        match (mr, nr) {
                            $(($r, $c) => dense_tile::<F, V, $r, $c>(
                                a, i, runs, w, j, bias, out, k, n),)*
                            _ => unreachable!("dense tiles are at most 3 x 5 or 4 x 3"),
                        }
                    };
                }
                tile!(1, 1; 1, 2; 1, 3; 1, 4; 1, 5; 2, 1; 2, 2; 2, 3; 2, 4; 2, 5;
                      3, 1; 3, 2; 3, 3; 3, 4; 3, 5; 4, 1; 4, 2; 4, 3);
                i += mr;
                tile_index += 1;
            }
            j += nr;
        }
        i_block = block_end;
    }
}

/// Pushes onto `active`, as pairs `start, end`, the runs of blocks of columns `g·P..(g+1)·P`
/// (the last one maybe shorter) where one of the rows `rows` of `a` holds a value other than
/// `±0`: an image's zeros come in runs, and a run is computed as fast as a row without zeros.
///
/// Why a block of zeros may be skipped without changing a bit: each of its terms is
/// `fma(±0, w, s) = s + (±0·w) = s` for a finite `w` (the network's weights always are), since
/// `s + ±0 = s` for every `s` but `−0`, and a partial sum that starts at `+0` is never `−0`
/// (`+0 + −0 = +0`). So the remaining terms meet the same partial sums in the same order. MNIST's
/// images are 81% zeros: the first layer's products, most of the work, skip much of theirs.
#[inline(always)]
unsafe fn nonzero_vectors<F: Float, V: Lanes<F>>(
    a: Rows<'_, F>,
    rows: std::ops::Range<usize>,
    k: usize,
    active: &mut Vec<u32>,
) {
    let from = active.len();
    let ptrs: [*const F; 4] =
        std::array::from_fn(|r| a.row_ptr(rows.start + r.min(rows.len() - 1)));
    let mut g = 0;
    while g * V::P < k {
        let width = (k - g * V::P).min(V::P);
        let mut any = false;
        for p in &ptrs[..rows.len()] {
            any |= has_nonzero(std::slice::from_raw_parts(p.add(g * V::P), width));
        }
        if any {
            let g = g as u32;
            let len = active.len();
            if len > from && active[len - 1] == g {
                active[len - 1] = g + 1;
            } else {
                active.extend([g, g + 1]);
            }
        }
        g += 1;
    }
}

/// Whether one of `values` is neither `+0` nor `−0` (NaN included).
#[inline(always)]
fn has_nonzero<F: Float>(values: &[F]) -> bool {
    // A fold, not `any`: no early exit, so it compiles to vector compares.
    values
        .iter()
        .fold(false, |seen, &v| seen | (v != F::zero()))
}

/// The bytes of a block of input rows that [`dense`] keeps in the L2 cache.
const L2_BYTES: usize = 1024 * 1024;

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dense_tile<F: Float, V: Lanes<F>, const MR: usize, const NR: usize>(
    a: Rows<'_, F>,
    i0: usize,
    runs: &[u32],
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
    let mut last = false;
    for run in runs.chunks_exact(2) {
        let (start, end) = (run[0] as usize, run[1] as usize);
        last |= end > full;
        // W's vectors are loaded first and each row of A streams through one register: with
        // every load of a block first (`from_fn` over offsets), LLVM rotated the accumulators
        // through the registers on every iteration of a 4 x 4 tile (24 register moves and a
        // spill per 16 FMAs).
        let mut ap: [*const F; MR] = std::array::from_fn(|r| ap[r].add(start * V::P));
        let mut wp: [*const F; NR] = std::array::from_fn(|c| wp[c].add(start * V::P));
        for _ in start..end.min(full) {
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
    }
    if last {
        let (offset, rest) = (full * V::P, k - full * V::P);
        let av: [V; MR] = std::array::from_fn(|r| V::load_n(ap[r].add(offset), rest));
        let wv: [V; NR] = std::array::from_fn(|c| V::load_n(wp[c].add(offset), rest));
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
    /// Whether `y` may hold many zeros (a layer's inputs: images, ReLU activations), so that
    /// looking for rows of zeros to skip pays (see [`outer`]).
    pub(crate) sparse_y: bool,
    /// A bound on every `|y|` that the caller knows (the SGD step knows its layer's largest
    /// input), or infinity: with it, a step leaves out the rows it cannot change (see
    /// `negligible_rows`).
    pub(crate) y_max: f64,
    /// Cache lines to ask for a few at a time between tiles (the next mini-batch's inputs; see
    /// [`Ahead`](crate::prefetch::Ahead)), or none.
    pub(crate) ahead: Lines<'a>,
}

/// `out[r·out_stride + c] = finish(Σ_t x(t, r)·y[t][c])` for `r < sums.rows`, `c < y.cols()`.
///
/// # Safety
/// `V`'s instruction set must be present. The caller (`super::outer`) has checked every index
/// into `x`, `out` and the slopes, and no one else reads or writes the outputs `out[r·out_stride
/// + c]` while this runs.
#[inline(always)]
pub(crate) unsafe fn outer<F: Float, V: Lanes<F>>(
    sums: &OuterSums<'_, F>,
    out: *mut F,
    out_stride: usize,
    finish: Finish<'_, F>,
) {
    let cols = sums.y.cols();
    let vectors = cols.div_ceil(V::P);
    let terms = sums.y.len();
    let (tile_rows, tile_vectors) = V::outer_tile_size(terms);
    // Terms `t` whose row of `y` is zero across a whole tile's columns are skipped, which
    // changes no bit when every `x(t, r)` is finite: `fma(x, ±0, s) = s + (±0) = s`, as a chain
    // from `+0` is never `−0` (see `nonzero_vectors`).
    let skip = sums.sparse_y && finite_x(sums);
    // Allocated only when it may be used: the back-propagated error never skips.
    let mut active: Vec<u32> = Vec::with_capacity(if skip { terms } else { 0 });
    let negligible = match finish {
        Finish::Step { rate, decay } if super::subnormals_are_slow() => {
            negligible_rows(sums, out, out_stride, rate, decay)
        }
        _ => Vec::new(),
    };
    let is_negligible = |r: usize| negligible.get(r).copied().unwrap_or(false);
    let mut ahead = sums.ahead;
    let tiles = vectors.div_ceil(tile_vectors) * sums.rows.div_ceil(tile_rows);
    let per_tile = ahead.remaining().div_ceil(tiles.max(1));
    // Columns outermost: a tile's columns of `y` (all `t` rows of them) stay in L1 while every
    // tile of rows uses them.
    let mut v = 0;
    while v < vectors {
        let vv = (vectors - v).min(tile_vectors);
        active.clear();
        if skip {
            let (start, width) = (v * V::P, (cols - v * V::P).min(vv * V::P));
            for t in 0..terms {
                if has_nonzero(std::slice::from_raw_parts(
                    sums.y.row_ptr(t).add(start),
                    width,
                )) {
                    active.push(t as u32);
                }
            }
        }
        // Every term, in order, when none can be skipped: the plain loop is faster.
        let some = (skip && active.len() < terms).then_some(&active[..]);
        // Tiles of rows within each run of rows that are not negligible.
        let (mut r, mut run_end) = (0, 0);
        while r < sums.rows {
            if r >= run_end {
                while r < sums.rows && is_negligible(r) {
                    r += 1;
                }
                run_end = r;
                while run_end < sums.rows && !is_negligible(run_end) {
                    run_end += 1;
                }
                if r >= sums.rows {
                    break;
                }
            }
            let rr = (run_end - r).min(tile_rows);
            macro_rules! tile {
                ($($r:literal, $v:literal);*) => {
                    match (rr, vv) {
                        $(($r, $v) => outer_tile::<F, V, $r, $v>(
                            sums, some, r, v * V::P, out, out_stride, finish),)*
                        _ => unreachable!("outer tiles are at most 4 x 4 or 8 x 3"),
                    }
                };
            }
            tile!(1, 1; 1, 2; 1, 3; 1, 4; 2, 1; 2, 2; 2, 3; 2, 4;
                  3, 1; 3, 2; 3, 3; 3, 4; 4, 1; 4, 2; 4, 3; 4, 4;
                  5, 1; 5, 2; 5, 3; 6, 1; 6, 2; 6, 3; 7, 1; 7, 2; 7, 3; 8, 1; 8, 2; 8, 3);
            ahead.take(per_tile);
            r += rr;
        }
        v += vv;
    }
    // The lines no tile took: the shares of the tiles that negligible rows did without.
    ahead.finish();
    // What the step leaves of a negligible row: `decay·w`, the finish's own product.
    if let Finish::Step { decay, .. } = finish {
        if decay != F::one() {
            for r in (0..sums.rows).filter(|&r| is_negligible(r)) {
                for w in std::slice::from_raw_parts_mut(out.add(r * out_stride), cols) {
                    *w = decay * *w;
                }
            }
        }
    }
}

/// Which rows of a step `out ← fma(−rate, s, decay·out)` come out as `decay·out` exactly, bit
/// for bit, because their sums are too small to move any of their weights; empty when no row is
/// (the usual case, found with one pass over `x` and no allocation).
///
/// Why this matters: sigmoid units saturated far below zero have slopes, hence errors, in the
/// subnormal range, and each multiply-add that produces a subnormal number costs a microcode
/// assist of about a hundred cycles. The book's network at mini-batch 1 in `f32` spent most of
/// its epoch in them, in steps that change nothing.
///
/// The proof, for row `r`: with `S = Σ_t |x(t, r)|` and `Y ≥ |y|`, the computed chain `|s|`
/// is at most `S·Y·(1 + 2·T·ε) + T·σ` (`T` terms, each fused multiply-add rounding once, by at
/// most a relative `ε` or half the smallest subnormal `σ`), so the exact `fma` operand satisfies
/// `|rate·s| ≤ A`, computed here with room to spare as
/// `A = |rate|·(S·Y·(1 + 8·(T + 1)·ε) + 2·T·σ)`. When every `w' = decay·w` of the row is normal
/// and `A < |w'|·2^−(p+1)` (`p` the significand's bits: 24 or 53), `A` is below half the spacing
/// of the floats on either side of `w'`, so the single rounding returns `w'`.
///
/// # Safety
/// `out[r·out_stride + c]` for `r < sums.rows`, `c < sums.y.cols()` must be readable, and not
/// written while this runs.
#[inline(always)]
pub(crate) unsafe fn negligible_rows<F: Float>(
    sums: &OuterSums<'_, F>,
    out: *const F,
    out_stride: usize,
    rate: F,
    decay: F,
) -> Vec<bool> {
    const CHUNK: usize = 64;
    let (terms, cols, rows) = (sums.y.len(), sums.y.cols(), sums.rows);
    if !sums.y_max.is_finite() || terms == 0 || rows == 0 {
        return Vec::new();
    }
    let epsilon = F::epsilon().to_f64();
    // The smallest subnormal.
    let smallest = F::min_positive_value().to_f64() * epsilon;
    // Generous: it also covers the roundings of this function's own sums and products.
    let growth = 1.0 + 8.0 * (terms as f64 + 1.0) * epsilon;
    let rate = rate.to_f64().abs();
    // `A` of the rows `first..first + CHUNK` (as many as there are).
    let chunk_bounds = |first: usize| {
        let mut bounds = [0.0_f64; CHUNK];
        let len = (rows - first).min(CHUNK);
        for t in 0..terms {
            let base = sums.x_offset + t * sums.x_t + first * sums.x_r;
            for (i, bound) in bounds[..len].iter_mut().enumerate() {
                *bound += sums.x[base + i * sums.x_r].to_f64().abs();
            }
        }
        for bound in &mut bounds[..len] {
            *bound = rate * (*bound * sums.y_max * growth + 2.0 * terms as f64 * smallest);
        }
        (bounds, len)
    };
    // Rows whose products may reach the subnormal range are candidates (steps on larger
    // errors run at full speed: nothing to gain there).
    let reach = F::min_positive_value().to_f64() * 1e6;
    let first_candidate = (0..rows).step_by(CHUNK).find(|&first| {
        let (bounds, len) = chunk_bounds(first);
        bounds[..len].iter().any(|&a| a < reach)
    });
    let Some(first) = first_candidate else {
        return Vec::new();
    };
    let half_spacing = 2f64.powi(F::epsilon().to_f64().log2().round() as i32 - 2); // 2^−(p+1)
    let mut negligible = vec![false; rows];
    for chunk in (first..rows).step_by(CHUNK) {
        let (bounds, len) = chunk_bounds(chunk);
        // A plain loop: the scan must be inlined into the kernel's instruction set to
        // vectorise, and the closures of an iterator chain are compiled apart from it.
        for i in 0..len {
            let r = chunk + i;
            if bounds[i] < reach {
                let row = std::slice::from_raw_parts(out.add(r * out_stride), cols);
                if let Some(least) = smallest_normal_magnitude(row, decay) {
                    negligible[r] = bounds[i] < least.to_f64() * half_spacing;
                }
            }
        }
    }
    negligible
}

/// The smallest `|decay·w|` over `row`, if every `decay·w` is a normal float (not zero, not
/// subnormal, finite); else `None`. Written as independent lanes, so that it vectorises.
#[inline(always)]
fn smallest_normal_magnitude<F: Float>(row: &[F], decay: F) -> Option<F> {
    const LANES: usize = 16;
    let mut least = [F::infinity(); LANES];
    // `0·v` is NaN for a NaN or an infinity: the probe's sum stays 0 only for finite values.
    let mut probe = [F::zero(); LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            let v = (decay * chunk[i]).abs();
            least[i] = least[i].min(v);
            probe[i] = probe[i] + v * F::zero();
        }
    }
    for (i, &w) in rest.iter().enumerate() {
        let v = (decay * w).abs();
        least[i] = least[i].min(v);
        probe[i] = probe[i] + v * F::zero();
    }
    let least = least.iter().fold(F::infinity(), |m, &v| m.min(v));
    let finite = probe.iter().all(|&p| p == F::zero());
    (finite && least >= F::min_positive_value()).then_some(least)
}

/// Whether every `x(t, r)` that [`outer`] uses is finite (a NaN or infinity times a skipped
/// zero would have made its sum NaN).
#[inline(always)]
unsafe fn finite_x<F: Float>(sums: &OuterSums<'_, F>) -> bool {
    let mut finite = true;
    for t in 0..sums.y.len() {
        for r in 0..sums.rows {
            finite &= sums
                .x
                .get_unchecked(sums.x_offset + t * sums.x_t + r * sums.x_r)
                .is_finite();
        }
    }
    finite
}

#[inline(always)]
unsafe fn outer_tile<F: Float, V: Lanes<F>, const R: usize, const KV: usize>(
    sums: &OuterSums<'_, F>,
    terms: Option<&[u32]>,
    r0: usize,
    c0: usize,
    out: *mut F,
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
            crate::prefetch::into_l1(out.wrapping_add((r0 + R + r) * out_stride + c0 + v * V::P));
        }
    }
    let mut acc = [[V::zero(); KV]; R];
    let x = sums.x.as_ptr().add(sums.x_offset + r0 * sums.x_r);
    // The same body for every term or for the listed ones (a closure here kept the
    // accumulators in memory: 50 times slower).
    macro_rules! term {
        ($t:expr) => {{
            let t = $t;
            let y = sums.y.row_ptr(t).add(c0);
            let yv: [V; KV] = std::array::from_fn(|v| load(y.add(v * V::P), v));
            let xt = x.add(t * sums.x_t);
            for r in 0..R {
                let xs = V::splat(*xt.add(r * sums.x_r));
                for v in 0..KV {
                    acc[r][v] = V::fma(xs, yv[v], acc[r][v]);
                }
            }
        }};
    }
    match terms {
        None => {
            for t in 0..sums.y.len() {
                term!(t);
            }
        }
        Some(terms) => {
            for &t in terms {
                term!(t as usize);
            }
        }
    }
    for r in 0..R {
        for v in 0..KV {
            let offset = (r0 + r) * out_stride + c0 + v * V::P;
            let p = out.add(offset);
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
