use ndarray::{s, Array1, Array2, ArrayView2};

use crate::alloc::{try_zeros1, try_zeros2};
use crate::kernels::{self, Finish, OutRows, OuterSums, Rows};
use crate::optimizer::OptimizerState;
use crate::parallel::{chunk_parts, for_each_part, part_range, SharedMut};
use crate::prefetch::{Ahead, Lines};
use crate::{Activation, Float, Network, Optimizer, Result};

/// The gradient of the cost, summed over the samples of a mini-batch, in the shapes of the
/// network's parameters (network.py's `nabla_w` and `nabla_b`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<F> {
    pub weights: Vec<Array2<F>>,
    pub biases: Vec<Array1<F>>,
}

/// Why a step was refused: the parameters it would produce are not all finite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NonFiniteStep(pub(crate) String);

/// The hyperparameters of one step of gradient descent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// The learning rate η.
    pub eta: f64,
    /// The L2 term's coefficient (`λ/n`, n the training set's size, or `λ/s` per mini-batch).
    pub l2: f64,
    /// What the summed gradient is divided by: the mini-batch's size, or its total sample
    /// weight when samples are weighted.
    pub total: f64,
}

/// Buffers for the forward and backward pass of mini-batches of up to `capacity` samples,
/// allocated once so that training allocates nothing per mini-batch.
#[derive(Debug, Clone)]
pub(crate) struct Backprop<F> {
    capacity: usize,
    /// Activations of each layer, `(capacity, n_l)`; they hold the weighted inputs `z` until
    /// the activation is applied in place.
    activations: Vec<Array2<F>>,
    /// Slopes `f'(z)` of each layer, `(capacity, n_l)` (times the dropout mask where there is
    /// one): all the backward pass needs of `z`.
    slopes: Vec<Array2<F>>,
    /// Errors `δ = ∂C/∂z` of each layer, `(capacity, n_l)`.
    deltas: Vec<Array2<F>>,
    /// Dropout masks of the hidden layers, `0` or `1/keep` per unit and sample; empty without
    /// dropout.
    pub(crate) masks: Vec<Array2<F>>,
    pub(crate) gradients: Gradients<F>,
    /// Scratch space for the next step's weight bounds (see `descend_sgd`).
    new_bounds: Vec<f64>,
    /// The largest |δ| of each layer in the last step (see `descend`).
    delta_max: Vec<f64>,
    /// The largest |input| of each layer in the last SGD step (see `descend_sgd`).
    input_max: Vec<f64>,
    /// A wide hidden layer's activations and slopes, part by part, when its forward product
    /// is split over units (see `forward`).
    unit_parts: Vec<F>,
}

impl<F: Float> Backprop<F> {
    pub(crate) fn new(net: &Network<F>, capacity: usize) -> Result<Self> {
        let layer_sizes = &net.sizes()[1..];
        let buffers = |what: &str| -> Result<Vec<Array2<F>>> {
            layer_sizes
                .iter()
                .enumerate()
                .map(|(l, &n)| try_zeros2(&format!("{what}[{l}] for a mini-batch"), capacity, n))
                .collect()
        };
        let activations = buffers("activations")?;
        let slopes = buffers("slopes")?;
        let deltas = buffers("deltas")?;
        let weights = net
            .weights()
            .iter()
            .enumerate()
            .map(|(l, w)| try_zeros2(&format!("nabla_w[{l}]"), w.nrows(), w.ncols()))
            .collect::<Result<_>>()?;
        let biases = net
            .biases()
            .iter()
            .enumerate()
            .map(|(l, b)| try_zeros1(&format!("nabla_b[{l}]"), b.len()))
            .collect::<Result<_>>()?;
        Ok(Backprop {
            capacity,
            activations,
            slopes,
            deltas,
            masks: Vec::new(),
            gradients: Gradients { weights, biases },
            new_bounds: vec![0.0; layer_sizes.len()],
            delta_max: vec![0.0; layer_sizes.len()],
            input_max: vec![0.0; layer_sizes.len()],
            unit_parts: Vec::new(),
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Makes the dropout mask buffers (one per hidden layer) if there are none yet.
    pub(crate) fn ensure_masks(&mut self) -> Result<()> {
        if self.masks.is_empty() {
            let hidden = self.activations.len() - 1;
            self.masks = (0..hidden)
                .map(|l| try_zeros2("dropout masks", self.capacity, self.activations[l].ncols()))
                .collect::<Result<_>>()?;
        }
        Ok(())
    }

    /// Stores in `self.gradients` the gradients summed over the rows of `x` (inputs) and `y`
    /// (targets), which the caller has checked: `x` has rows of `n_in` values, `y` is
    /// `(m, n_out)`, `0 < m <= capacity`. With `dropout`, the hidden layers use `self.masks`.
    pub(crate) fn compute(
        &mut self,
        net: &Network<F>,
        x: Rows<'_, F>,
        y: ArrayView2<'_, F>,
        dropout: bool,
        threads: usize,
    ) {
        let m = x.len();
        self.errors(net, x, y, None, dropout, threads);
        for l in 0..self.deltas.len() {
            let input = layer_input(&self.activations, x, l);
            let nabla_w = contiguous_mut(&mut self.gradients.weights[l]);
            weight_products(
                &self.deltas[l],
                input,
                f64::INFINITY,
                nabla_w,
                Finish::Scale(F::one()),
                Ahead::default(),
                threads,
            );
            sum_rows(&live(&self.deltas[l], m), &mut self.gradients.biases[l]);
        }
    }

    /// Adds to `self.gradients` the gradients of the rows of `(x, y)`, each weighted by
    /// `weights` when given, onto what is there when `accumulate` (else from zero): the biases'
    /// sums continue in row order, the weights' add each call's sums to the stored ones.
    pub(crate) fn accumulate(
        &mut self,
        net: &Network<F>,
        x: Rows<'_, F>,
        y: ArrayView2<'_, F>,
        weights: Option<&[F]>,
        accumulate: bool,
        threads: usize,
    ) {
        let m = x.len();
        self.errors(net, x, y, weights, false, threads);
        // w + s computed as fma(1, s, 1·w): one rounding, as the step kernel's finish does.
        let finish = if accumulate {
            Finish::Step {
                rate: -F::one(),
                decay: F::one(),
            }
        } else {
            Finish::Scale(F::one())
        };
        for l in 0..self.deltas.len() {
            let input = layer_input(&self.activations, x, l);
            let nabla_w = contiguous_mut(&mut self.gradients.weights[l]);
            weight_products(
                &self.deltas[l],
                input,
                f64::INFINITY,
                nabla_w,
                finish,
                Ahead::default(),
                threads,
            );
            if !accumulate {
                self.gradients.biases[l].fill(F::zero());
            }
            add_rows(&live(&self.deltas[l], m), &mut self.gradients.biases[l]);
        }
    }

    /// The output layer's activations of the last pass, one row per sample.
    pub(crate) fn outputs(&self, m: usize) -> ArrayView2<'_, F> {
        live(&self.activations[self.activations.len() - 1], m)
    }

    /// One step of gradient descent on the rows of `(x, y)` (checked as for
    /// [`Backprop::compute`]), each row's error weighted by `weights` when given. Nothing
    /// changes unless every new parameter is finite.
    ///
    /// Plain SGD adds each layer's step into its weights inside the product that computes the
    /// gradient (network2.py's update; see `descend_sgd`). Other optimizers compute the mean
    /// gradient, then check and apply their update.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn descend(
        &mut self,
        net: &mut Network<F>,
        x: Rows<'_, F>,
        y: ArrayView2<'_, F>,
        weights: Option<&[F]>,
        x_max: f64,
        step: Step,
        dropout: bool,
        state: &mut OptimizerState<F>,
        bounds: &mut [f64],
        ahead: Ahead<'_>,
        threads: usize,
    ) -> std::result::Result<(), NonFiniteStep> {
        let m = x.len();
        self.errors(net, x, y, weights, dropout, threads);
        // One vectorised pass per layer checks the errors and finds the largest, which the
        // SGD step's overflow bound needs.
        for (l, (delta, top)) in self.deltas.iter().zip(&mut self.delta_max).enumerate() {
            let n = delta.ncols();
            match crate::scan::finite_max_abs_on(&contiguous(delta)[..m * n], threads) {
                Some(v) => *top = v.to_f64(),
                None => {
                    return Err(NonFiniteStep(format!(
                        "the error of layer {} is not finite",
                        l + 1
                    )))
                }
            }
        }
        let layers = self.deltas.len();
        if state.optimizer() == Optimizer::Sgd {
            return self.descend_sgd(net, x, x_max, step, bounds, ahead, threads);
        }
        // Other optimizers: g = (1/s)·Σ∇ + l2·w (the L2 term inside the optimizer's pass), then
        // the optimizer's rule, all-or-nothing:
        // computed and checked into staged arrays, which replace the parameters only if all is
        // finite.
        let mean = F::from_f64(1.0 / step.total);
        for l in 0..layers {
            let input = layer_input(&self.activations, x, l);
            let nabla_w = &mut self.gradients.weights[l];
            weight_products(
                &self.deltas[l],
                input,
                f64::INFINITY,
                contiguous_mut(nabla_w),
                Finish::Scale(mean),
                first_layer_only(l, ahead),
                threads,
            );
            let nabla_b = &mut self.gradients.biases[l];
            sum_rows(&live(&self.deltas[l], m), nabla_b);
            nabla_b.mapv_inplace(|v| v * mean);
        }
        state.begin_step();
        let (weights, biases) = net.parameters_mut();
        for l in 0..layers {
            let ok = state.propose_weights(
                l,
                &weights[l],
                &self.gradients.weights[l],
                (step.eta, step.l2),
                threads,
            ) & state.propose_biases(l, &biases[l], &self.gradients.biases[l], step.eta);
            if !ok {
                state.cancel_step();
                return Err(NonFiniteStep(format!(
                    "the parameters of layer {} would no longer be finite",
                    l + 1
                )));
            }
        }
        state.commit(weights, biases);
        Ok(())
    }

    /// The plain SGD step, `W ← (1 − η·l2)·W − (η/m)·δᵀA` and `b ← b − (η/m)·Σδ`, added into the
    /// weights by the gradient's own product. `bounds[l]` bounds layer `l`'s largest |w|; the
    /// step goes ahead only when the bounds prove that no new value can overflow.
    #[allow(clippy::too_many_arguments)]
    fn descend_sgd(
        &mut self,
        net: &mut Network<F>,
        x: Rows<'_, F>,
        x_max: f64,
        step: Step,
        bounds: &mut [f64],
        ahead: Ahead<'_>,
        threads: usize,
    ) -> std::result::Result<(), NonFiniteStep> {
        let m = x.len();
        let layers = self.deltas.len();
        let rate = F::from_f64(step.eta / step.total);
        let decay = 1.0 - step.eta * step.l2;
        let limit = F::max_value().to_f64() / 4.0;
        // Bias steps are small vectors: compute them all and check the results first.
        for l in 0..layers {
            sum_rows(&live(&self.deltas[l], m), &mut self.gradients.biases[l]);
            let b = &net.biases()[l];
            if !b
                .iter()
                .zip(&self.gradients.biases[l])
                .all(|(&b, &g)| (b - rate * g).is_finite())
            {
                return Err(NonFiniteStep(format!(
                    "the biases of layer {} would overflow",
                    l + 1
                )));
            }
        }
        // |Δw| <= (η/s)·Σ_rows|δ||a| <= η·(m/s)·max|δ|·max|a| (δ weighted), so the new largest
        // |w| is at most |decay|·bound + that: far below the largest float, nothing overflows.
        let spread = m as f64 / step.total;
        for (l, (&old, new)) in bounds.iter().zip(&mut self.new_bounds).enumerate() {
            let a_max = if l == 0 {
                x_max
            } else {
                let below = &self.activations[l - 1];
                let values = &contiguous(below)[..m * below.ncols()];
                // On the pool when large (a wide layer's mini-batch); a NaN or infinity is
                // left to the serial scan, whose bound then refuses the step.
                crate::scan::finite_max_abs_on(values, threads)
                    .map_or_else(|| crate::scan::max_abs(values), |v| v.to_f64())
            };
            self.input_max[l] = a_max;
            let d_max = self.delta_max[l];
            *new = decay.abs() * old + step.eta * spread * d_max * a_max;
            if new.is_nan() || *new >= limit {
                return Err(NonFiniteStep(format!(
                    "the weights of layer {} could overflow",
                    l + 1
                )));
            }
        }
        let finish = Finish::Step {
            rate,
            decay: F::from_f64(decay),
        };
        let (weights, biases) = net.parameters_mut();
        for l in 0..layers {
            let input = layer_input(&self.activations, x, l);
            // The bound on the inputs with room for an augmented image's interpolation, whose
            // roundings may take a pixel a few ulps past the data set's largest.
            let input_max = self.input_max[l] * (1.0 + 1e-6);
            weight_products(
                &self.deltas[l],
                input,
                input_max,
                contiguous_mut(&mut weights[l]),
                finish,
                first_layer_only(l, ahead),
                threads,
            );
            for (b, &g) in biases[l].iter_mut().zip(&self.gradients.biases[l]) {
                *b = *b - rate * g;
            }
        }
        bounds.copy_from_slice(&self.new_bounds);
        Ok(())
    }

    /// The forward pass and every layer's error `δ`, from the output layer back.
    fn errors(
        &mut self,
        net: &Network<F>,
        x: Rows<'_, F>,
        y: ArrayView2<'_, F>,
        weights: Option<&[F]>,
        dropout: bool,
        threads: usize,
    ) {
        let m = x.len();
        debug_assert!(m > 0 && m <= self.capacity && y.nrows() == m);
        self.forward(net, x, dropout, threads);
        let last = self.deltas.len() - 1;
        let cost = net.cost();
        let (deltas, activations, slopes) = (
            &mut self.deltas[last],
            &self.activations[last],
            &self.slopes[last],
        );
        for i in 0..m {
            if let (Some(d), Some(a), Some(yv), Some(s)) = (
                deltas.row_mut(i).into_slice(),
                activations.row(i).to_slice(),
                y.row(i).to_slice(),
                slopes.row(i).to_slice(),
            ) {
                cost.output_error(a, yv, s, d);
            } else {
                let yv = y.row(i).to_vec();
                let (a, s) = (activations.row(i).to_vec(), slopes.row(i).to_vec());
                let mut d = vec![F::zero(); a.len()];
                cost.output_error(&a, &yv, &s, &mut d);
                deltas.row_mut(i).assign(&ndarray::ArrayView1::from(&d[..]));
            }
        }
        if let Some(weights) = weights {
            for (i, &w) in weights.iter().enumerate().take(m) {
                deltas.row_mut(i).mapv_inplace(|d| d * w);
            }
        }
        for l in (1..=last).rev() {
            // δ_{l-1} = (δ_l W_l) ⊙ f'(z_{l-1}), split over the samples.
            let (below, here) = self.deltas.split_at_mut(l);
            let n = here[0].ncols();
            let n_below = below[l - 1].ncols();
            let delta = &contiguous(&here[0])[..m * n];
            let w = &net.weights()[l];
            let w_rows = Rows::run(contiguous(w), n_below, n_below, n);
            let slopes = &contiguous(&self.slopes[l - 1])[..m * n_below];
            let out = SharedMut::new(&mut contiguous_mut(&mut below[l - 1])[..m * n_below]);
            let parts = parts_for(m * n * n_below, threads).min(m);
            for_each_part(threads, parts, &|p| {
                let rows = part_range(m, parts, 1, p);
                let cells = rows.start * n_below..rows.end * n_below;
                let sums = OuterSums {
                    x: delta,
                    x_offset: rows.start * n,
                    x_t: 1,
                    x_r: n,
                    y: w_rows,
                    rows: rows.len(),
                    sparse_y: false,
                    y_max: f64::INFINITY,
                    ahead: Lines::default(),
                };
                // SAFETY: the parts' row ranges are disjoint, so are their cells of `out`.
                let dest = unsafe { out.range(cells.clone()) };
                let dest = OutRows::new(dest);
                kernels::outer(&sums, dest, n_below, Finish::Slope(&slopes[cells]));
            });
        }
    }

    /// `A_l = f_l(A_{l-1} W_lᵀ + b_l)` for every layer, keeping each layer's slopes; with
    /// `dropout`, hidden activations and slopes are multiplied by the masks. Split over samples.
    fn forward(&mut self, net: &Network<F>, x: Rows<'_, F>, dropout: bool, threads: usize) {
        let m = x.len();
        let layers = self.activations.len();
        for l in 0..layers {
            let (before, rest) = self.activations.split_at_mut(l);
            let input = layer_input(before, x, l);
            let n = rest[0].ncols();
            let w = contiguous(&net.weights()[l]);
            let bias = contiguous1(&net.biases()[l]);
            let activation = net.activations()[l];
            let mask = (dropout && l + 1 < layers).then(|| &contiguous(&self.masks[l])[..m * n]);
            let a = SharedMut::new(&mut contiguous_mut(&mut rest[0])[..m * n]);
            let slope = SharedMut::new(&mut contiguous_mut(&mut self.slopes[l])[..m * n]);
            let parts = parts_for(m * n * input.cols(), threads).min(m);
            let k = input.cols();
            if l + 1 < layers
                && parts > 1
                && !activation.output_only()
                && n * k * std::mem::size_of::<F>() >= UNIT_SPLIT_BYTES
            {
                let layer = Layer {
                    input,
                    w,
                    bias,
                    activation,
                    mask,
                };
                let out = (a, slope);
                forward_by_units(&layer, out, &mut self.unit_parts, parts.min(n), threads);
                continue;
            }
            for_each_part(threads, parts, &|p| {
                let rows = part_range(m, parts, 1, p);
                let cells = rows.start * n..rows.end * n;
                // SAFETY: the parts' row ranges are disjoint, so are their cells of `a` and
                // `slope`.
                let (a, slope) = unsafe { (a.range(cells.clone()), slope.range(cells.clone())) };
                kernels::dense(input.slice(rows), w, bias, a);
                // The exponential vectorises only when compiled for the kernel's registers.
                kernels::vectorised(
                    #[inline(always)]
                    || activation.apply_rows(a, slope, n),
                );
                if let Some(mask) = mask {
                    apply_mask(a, slope, &mask[cells]);
                }
            });
        }
    }
}

/// The bytes of a hidden layer's weights from which its forward product is split over units
/// rather than samples: each thread then reads only its share of W, the same rows its part of
/// the weight step updates.
const UNIT_SPLIT_BYTES: usize = 1 << 20;

/// What a layer's forward pass reads: its inputs, weights (`n × k`, row-major), biases,
/// activation and dropout mask (`m × n`, if any).
struct Layer<'a, F> {
    input: Rows<'a, F>,
    w: &'a [F],
    bias: &'a [F],
    activation: Activation,
    mask: Option<&'a [F]>,
}

/// A hidden layer's forward pass with its product split over `parts` ranges of units, so that
/// each thread reads only its rows of W: the rows its part of the weight step then updates (the
/// same `part_range`s), which for `[784, 800, 10]` in float32 (1.25 MB a thread) stay in that
/// core's L2 cache from one to the other. Each part stages its outputs and slopes, unit-major
/// by part, in `staging`; a second pass split over samples copies them into the sample-major
/// `out` (activations, slopes) and applies the mask. The same operations as the split over
/// samples, so the same bits.
fn forward_by_units<F: Float>(
    layer: &Layer<'_, F>,
    (a, slope): (SharedMut<F>, SharedMut<F>),
    staging: &mut Vec<F>,
    parts: usize,
    threads: usize,
) {
    let (m, k, n) = (layer.input.len(), layer.input.cols(), layer.bias.len());
    if staging.len() < 2 * m * n {
        staging.resize(2 * m * n, F::zero());
    }
    let staged = SharedMut::new(&mut staging[..2 * m * n]);
    for_each_part(threads, parts, &|p| {
        let units = part_range(n, parts, 1, p);
        let width = units.len();
        // SAFETY: the parts' unit ranges are disjoint, so are their regions.
        let region = unsafe { staged.range(2 * m * units.start..2 * m * units.end) };
        let (z, z_slope) = region.split_at_mut(m * width);
        let w = &layer.w[units.start * k..units.end * k];
        kernels::dense(layer.input, w, &layer.bias[units], z);
        kernels::vectorised(
            #[inline(always)]
            || layer.activation.apply_rows(z, z_slope, width),
        );
    });
    let staged = &staging[..2 * m * n];
    let row_parts = chunk_parts(m * n, threads).min(m);
    for_each_part(threads, row_parts, &|p| {
        let rows = part_range(m, row_parts, 1, p);
        let cells = rows.start * n..rows.end * n;
        // SAFETY: the parts' row ranges are disjoint, so are their cells.
        let (a, s) = unsafe { (a.range(cells.clone()), slope.range(cells.clone())) };
        for q in 0..parts {
            let units = part_range(n, parts, 1, q);
            let width = units.len();
            let region = &staged[2 * m * units.start..2 * m * units.end];
            let (z, z_slope) = region.split_at(m * width);
            for (r, i) in rows.clone().enumerate() {
                let (from, to) = (i * width, r * n + units.start);
                a[to..to + width].copy_from_slice(&z[from..from + width]);
                s[to..to + width].copy_from_slice(&z_slope[from..from + width]);
            }
        }
        if let Some(mask) = layer.mask {
            apply_mask(a, s, &mask[cells]);
        }
    });
}

/// Dropout: each activation and its slope times its mask value (`0` or `1/keep`).
fn apply_mask<F: Float>(a: &mut [F], slope: &mut [F], mask: &[F]) {
    for ((a, s), &keep) in a.iter_mut().zip(slope.iter_mut()).zip(mask) {
        *a = *a * keep;
        *s = *s * keep;
    }
}

/// Work (multiply-adds) below which a product runs on one thread: handing a part to another
/// thread costs about a microsecond, this much work a few.
const MIN_PART_WORK: usize = 24_000;

/// How many parts to cut `work` multiply-adds into on `threads` threads.
pub(crate) fn parts_for(work: usize, threads: usize) -> usize {
    (work / MIN_PART_WORK).clamp(1, threads.max(1))
}

/// `out[j][k] = finish(Σ_i δ[i][j]·input[i][k])` for every unit `j` of a layer (its weights or
/// their gradient), split over the columns of the inputs, or over the units for a layer whose
/// forward pass is split over them.
/// `input_max` bounds every |input| when the caller knows it (else infinity).
fn weight_products<F: Float>(
    delta: &Array2<F>,
    input: Rows<'_, F>,
    input_max: f64,
    out: &mut [F],
    finish: Finish<'_, F>,
    ahead: Ahead<'_>,
    threads: usize,
) {
    let (m, n, k) = (input.len(), delta.ncols(), input.cols());
    if n == 0 || k == 0 {
        return;
    }
    let delta = &contiguous(delta)[..m * n];
    let out = SharedMut::new(&mut out[..n * k]);
    let parts = parts_for(m * n * k, threads);
    // Split over columns: each thread reads its columns of the inputs, once, and finds their
    // nonzero terms once; split over units, each reads every input and scans it. Measured on
    // two threads, side by side in one process: 0.86-0.95 of the time for scikit-learn's
    // default network (200 x 784 inputs, 100 units), and about 0.95 of the whole step for the
    // book's. Layers large enough for their forward pass to be split over units keep that
    // split here, so that each core's rows of W stay in its L2 from one to the other.
    let by_units = n * k * std::mem::size_of::<F>() >= UNIT_SPLIT_BYTES;
    let line = 64 / std::mem::size_of::<F>();
    let parts = if by_units {
        parts.min(n)
    } else {
        parts.min(k.div_ceil(line))
    };
    for_each_part(threads, parts, &|p| {
        let (units, cols) = if by_units {
            (part_range(n, parts, 1, p), 0..k)
        } else {
            (0..n, part_range(k, parts, line, p))
        };
        if units.is_empty() || cols.is_empty() {
            return;
        }
        let sums = OuterSums {
            x: delta,
            x_offset: units.start,
            x_t: n,
            x_r: 1,
            y: input.columns(cols.clone()),
            rows: units.len(),
            sparse_y: true,
            y_max: input_max,
            ahead: ahead.share(p, parts),
        };
        let (ptr, len) = out.pointer(units.start * k + cols.start..(units.end - 1) * k + cols.end);
        // SAFETY: the kernel touches `r·k + c` from `ptr` for `r < units.len()`, `c <
        // cols.len()`: this part's block of units × columns, which no other part's block meets
        // (the parts split either the units or the columns); `out` outlives the job
        // (`for_each_part` returns after every part).
        let dest = unsafe { OutRows::from_raw(ptr, len) };
        kernels::outer(&sums, dest, k, finish);
    });
}

/// The next mini-batch's rows are asked for during the first layer's weight product: the
/// largest of a mini-batch (784 inputs), with time to spare before the next gather.
fn first_layer_only(layer: usize, ahead: Ahead<'_>) -> Ahead<'_> {
    if layer == 0 {
        ahead
    } else {
        Ahead::default()
    }
}

/// The whole of a buffer or parameter array, which this crate always allocates row-major.
pub(crate) fn contiguous<F>(a: &Array2<F>) -> &[F] {
    a.as_slice().expect("the engine's arrays are row-major")
}

pub(crate) fn contiguous_mut<F>(a: &mut Array2<F>) -> &mut [F] {
    a.as_slice_mut().expect("the engine's arrays are row-major")
}

pub(crate) fn contiguous1<F>(a: &Array1<F>) -> &[F] {
    a.as_slice().expect("the engine's arrays are contiguous")
}

/// What layer `l` reads: the mini-batch's inputs `x` for the first layer, else the live rows
/// (as many as `x` has) of the activations below.
fn layer_input<'a, F>(activations: &'a [Array2<F>], x: Rows<'a, F>, l: usize) -> Rows<'a, F> {
    match l.checked_sub(1) {
        None => x,
        Some(below) => live_rows(&activations[below], x.len()),
    }
}

/// The first `m` rows of a buffer, as kernel rows.
fn live_rows<F>(buffer: &Array2<F>, m: usize) -> Rows<'_, F> {
    let n = buffer.ncols();
    Rows::run(contiguous(buffer), n, n, m)
}

/// `out ← Σ_rows delta`: the bias gradient summed over a mini-batch.
fn sum_rows<F: Float>(delta: &ArrayView2<'_, F>, out: &mut Array1<F>) {
    out.fill(F::zero());
    add_rows(delta, out);
}

/// `out ← out + Σ_rows delta`, row after row.
fn add_rows<F: Float>(delta: &ArrayView2<'_, F>, out: &mut Array1<F>) {
    let delta = delta
        .to_slice()
        .expect("the first rows of a row-major buffer are contiguous");
    let out = out
        .as_slice_mut()
        .expect("the engine's arrays are contiguous");
    for row in delta.chunks_exact(out.len()) {
        for (s, &d) in out.iter_mut().zip(row) {
            *s = *s + d;
        }
    }
}

/// The first `rows` rows of a buffer sized for a full mini-batch: the part in use for a smaller
/// (last) mini-batch.
fn live<F>(buffer: &Array2<F>, rows: usize) -> ArrayView2<'_, F> {
    buffer.slice(s![..rows, ..])
}
