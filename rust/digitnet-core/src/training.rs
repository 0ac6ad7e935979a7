use ndarray::{s, Array2, ArrayView2};
use rand::RngExt;

use crate::alloc::try_zeros2;
use crate::augment::transform_image;
use crate::backprop::{contiguous, contiguous_mut, Backprop, Step};
use crate::kernels::Rows;
use crate::optimizer::{OptimizerSnapshot, OptimizerState};
use crate::parallel::{chunk_parts, for_each_part, part_range, SharedMut};
use crate::prefetch::Ahead;
use crate::thread_choice::ThreadChoice;
use crate::{Augment, Error, Float, Gradients, Network, Optimizer, Result, SeededRng, TrainingSet};

/// The number of mini-batches of `batch_size` that cover `n` samples (the last may be smaller).
pub fn batch_count(n: usize, batch_size: usize) -> usize {
    n.div_ceil(batch_size.max(1))
}

/// How to train: the learning rate and what network2.py and later practice add to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// The learning rate η.
    pub eta: f64,
    /// The L2 regularisation parameter λ; the weights decay by `η·λ/n` per step, `n` being the
    /// size of the training set (network2.py's `lmbda`), or by `η·λ/s` with `batch_l2`.
    pub lmbda: f64,
    /// Divide λ by each mini-batch's size `s` (its total sample weight when samples are
    /// weighted) instead of the training set's: scikit-learn's `alpha`.
    pub batch_l2: bool,
    pub optimizer: Optimizer,
    /// The probability of keeping a hidden neuron (inverted dropout: kept activations are
    /// scaled by `1/keep`, so inference needs no change); 1 disables dropout.
    pub keep: f64,
    /// Random shifts and rotations of the training images, if any.
    pub augment: Option<Augment>,
}

impl TrainOptions {
    /// network.py's training: plain SGD at learning rate `eta`, nothing else.
    pub fn sgd(eta: f64) -> Self {
        TrainOptions {
            eta,
            lmbda: 0.0,
            batch_l2: false,
            optimizer: Optimizer::Sgd,
            keep: 1.0,
            augment: None,
        }
    }

    /// Checks every option; `n_inputs` is the network's input size (for augmentation).
    pub fn check(&self, n_inputs: usize) -> Result<()> {
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(Error::invalid("eta", "a positive finite number", self.eta));
        }
        if !(self.lmbda.is_finite() && self.lmbda >= 0.0) {
            return Err(Error::invalid(
                "lmbda",
                "a non-negative finite number",
                self.lmbda,
            ));
        }
        if !(self.keep > 0.0 && self.keep <= 1.0) {
            return Err(Error::invalid(
                "dropout",
                "a probability in [0, 1)",
                1.0 - self.keep,
            ));
        }
        self.optimizer.check()?;
        if let Some(augment) = &self.augment {
            augment.check(n_inputs)?;
        }
        Ok(())
    }

    fn dropout(&self) -> bool {
        self.keep < 1.0
    }
}

/// What an epoch's mini-batch losses add up to, measured on each mini-batch just before its
/// step (scikit-learn's `loss_` is made of these): `data = Σ_b m_b·D_b/s_b` and
/// `l2 = Σ_b m_b·‖W‖²_b/s_b` over the mini-batches `b` trained, with `m_b` its rows, `s_b` its
/// total weight, `D_b = Σ_i w_i·ℓ_i` ([`crate::Cost::sample_loss`]) and `‖W‖²_b` the sum of
/// every squared weight (only measured when λ ≠ 0; else 0).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EpochLoss {
    pub data: f64,
    pub l2: f64,
}

/// Rows of a data set that [`Trainer::objective`] takes at a time: a fixed number, so that the
/// sums do not depend on anything but the data. Small, so that the weight gradient's columns of
/// inputs (64 rows × 32 columns per tile) stay in L1 while every unit uses them: with 2,048
/// rows they streamed from L2, and a 60,000-row L-BFGS evaluation took 1.7x as long.
const OBJECTIVE_CHUNK: usize = 64;

/// The weighted cost of a whole data set and its gradient ([`Trainer::objective`]).
#[derive(Debug)]
pub struct Objective<'t, F> {
    /// `Σ_i w_i·ℓ_i`.
    pub loss: f64,
    /// `Σ_i w_i` (the number of samples when unweighted).
    pub total_weight: f64,
    /// The gradients of `loss`, not divided by anything, without an L2 term.
    pub gradients: &'t Gradients<F>,
}

/// Mini-batch gradient descent on a [`Network`], with every buffer allocated up front.
///
/// A trainer is tied to the layer sizes of the network it was made for, and keeps the
/// optimizer's state (velocities, moments) from one call to the next.
#[derive(Debug, Clone)]
pub struct Trainer<F> {
    sizes: Vec<usize>,
    backprop: Backprop<F>,
    optimizer: OptimizerState<F>,
    /// The current mini-batch, gathered from the shuffled data set into contiguous rows.
    batch_x: Array2<F>,
    batch_y: Array2<F>,
    /// The current mini-batch's sample weights (when the data set has any).
    batch_w: Vec<F>,
    /// The addresses of the next mini-batch's input rows, for the prefetches (see `Ahead`).
    next_rows: Vec<usize>,
    /// Threads the products may use (results do not depend on it).
    threads: usize,
    choice: ThreadChoice,
    /// The largest |x| of the mini-batches gathered since the last epoch's start, from a set
    /// whose inputs were not checked beforehand (see [`Trainer::inputs_max`]).
    inputs_max: f64,
}

impl<F: Float> Trainer<F> {
    /// A trainer for mini-batches of up to `batch_size` samples.
    pub fn new(net: &Network<F>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid("mini_batch_size", "a positive integer", 0));
        }
        Ok(Trainer {
            sizes: net.sizes().to_vec(),
            backprop: Backprop::new(net, batch_size)?,
            optimizer: OptimizerState::new(net, Optimizer::Sgd)?,
            batch_x: try_zeros2("mini-batch inputs", batch_size, net.n_inputs())?,
            batch_y: try_zeros2("mini-batch targets", batch_size, net.n_outputs())?,
            batch_w: vec![F::zero(); batch_size],
            next_rows: Vec::with_capacity(batch_size),
            threads: 1,
            choice: ThreadChoice::default(),
            inputs_max: 0.0,
        })
    }

    /// Sets how many threads training may use. Every parameter gets the same arithmetic for
    /// any number: the work is split by outputs, each computed in one fixed order.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// The largest |x| among the inputs of the mini-batches trained since the last start of an
    /// epoch on a set whose inputs were unchecked (see
    /// [`TrainingSet::checked_except_inputs`]): after a whole epoch over every sample, the
    /// set's own largest |x|.
    pub fn inputs_max(&self) -> f64 {
        self.inputs_max
    }

    /// The largest mini-batch this trainer's buffers hold (they grow when a call needs more).
    pub fn batch_size(&self) -> usize {
        self.backprop.capacity()
    }

    /// The optimizer's state: what it needs to continue exactly where it is.
    pub fn optimizer_state(&self) -> OptimizerSnapshot<F> {
        self.optimizer.snapshot()
    }

    /// Continues from a saved optimizer state (checked against `net`); the next step with the
    /// same optimizer uses it, another optimizer starts afresh as always.
    pub fn restore_optimizer(
        &mut self,
        net: &Network<F>,
        snapshot: &OptimizerSnapshot<F>,
    ) -> Result<()> {
        self.check_network(net)?;
        self.optimizer = OptimizerState::restore(net, snapshot)?;
        Ok(())
    }

    /// Forgets the optimizer's state (velocities, moments), as a new trainer would start.
    pub fn reset_optimizer(&mut self, net: &Network<F>) -> Result<()> {
        self.optimizer = OptimizerState::new(net, self.optimizer.optimizer())?;
        Ok(())
    }

    /// The gradient of the cost summed over the rows of `x` and `y` (network.py's `backprop`,
    /// for a whole batch at once).
    pub fn backprop(
        &mut self,
        net: &Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
    ) -> Result<&Gradients<F>> {
        self.backprop_masked(net, x, y, &[])
    }

    /// [`Trainer::backprop`] with dropout masks given for the hidden layers (one `(m, n_l)`
    /// array of `0` or `1/keep` per hidden layer; none for no dropout): what training draws at
    /// random, made explicit so that tests can reproduce it.
    pub fn backprop_masked(
        &mut self,
        net: &Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        masks: &[ArrayView2<'_, F>],
    ) -> Result<&Gradients<F>> {
        self.check_network(net)?;
        let data = TrainingSet::new(x, y, net.n_inputs(), net.n_outputs())?;
        self.ensure_capacity(net, data.len())?;
        let dropout = self.load_masks(masks, data.len())?;
        let inputs = data.inputs();
        let x = inputs.as_standard_layout();
        let rows = contiguous_rows(&x);
        self.backprop
            .compute(net, rows, data.targets(), dropout, self.threads);
        Ok(&self.backprop.gradients)
    }

    /// One step of gradient descent on the mini-batch `(x, y)` (network.py's
    /// `update_mini_batch`), with `masks` as in [`Trainer::backprop_masked`]. The L2 term uses
    /// `n`, the size of the training set the mini-batch comes from.
    pub fn update_mini_batch(
        &mut self,
        net: &mut Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        options: &TrainOptions,
        n: usize,
        masks: &[ArrayView2<'_, F>],
    ) -> Result<()> {
        options.check(net.n_inputs())?;
        self.check_network(net)?;
        let data = TrainingSet::new(x, y, net.n_inputs(), net.n_outputs())?;
        self.ensure_capacity(net, data.len())?;
        self.ensure_optimizer(net, options.optimizer)?;
        let dropout = self.load_masks(masks, data.len())?;
        let mut bounds = weight_bounds(net);
        let inputs = data.inputs();
        let x = inputs.as_standard_layout();
        self.backprop
            .descend(
                net,
                contiguous_rows(&x),
                data.targets(),
                None,
                data.max_abs(),
                step(options, n, data.len() as f64),
                dropout,
                &mut self.optimizer,
                &mut bounds,
                Ahead::default(),
                self.threads,
            )
            .map_err(|e| Error::Diverged {
                batch: 0,
                detail: e.0,
            })
    }

    /// Trains on the mini-batches (of `batch_size` samples; the last may be smaller)
    /// `first_batch..` of one epoch whose sample order is `order`,
    /// calling `keep_going(next_batch)` after each update; stops early when it returns false.
    /// Dropout masks and augmentations are drawn from `rng`. Returns the index of the next
    /// mini-batch to train, `batch_count(n, batch_size)` when the epoch is complete. Between two
    /// mini-batches the network is always in a consistent state, and a step that would make a
    /// parameter infinite or NaN is refused with [`Error::Diverged`], leaving the network as it
    /// was before it.
    ///
    /// With weighted samples each mini-batch's gradient is their weighted mean, and a
    /// mini-batch whose weights are all 0 is skipped. With `record`, each trained mini-batch
    /// adds its loss to it (see [`EpochLoss`]).
    #[allow(clippy::too_many_arguments)]
    pub fn train_batches(
        &mut self,
        net: &mut Network<F>,
        data: &TrainingSet<'_, F>,
        order: &[usize],
        batch_size: usize,
        options: &TrainOptions,
        rng: &mut SeededRng,
        first_batch: usize,
        mut record: Option<&mut EpochLoss>,
        mut keep_going: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        self.check_network(net)?;
        options.check(net.n_inputs())?;
        check_order(order, data.len())?;
        if batch_size == 0 {
            return Err(Error::invalid("mini_batch_size", "a positive integer", 0));
        }
        // A mini-batch never holds more than the whole data set (network.py then trains one
        // batch of everything), so the buffers need no more rows than that.
        self.ensure_capacity(net, batch_size.min(order.len()).max(1))?;
        self.ensure_optimizer(net, options.optimizer)?;
        if options.dropout() {
            self.backprop.ensure_masks()?;
        }
        // Augmentation reads the source rows, not the gathered ones: a set it trains on is
        // checked whole first.
        let checked;
        let data = if data.inputs_checked() || options.augment.is_none() {
            data
        } else {
            checked = data.check_inputs(self.threads)?;
            &checked
        };
        if first_batch == 0 {
            self.inputs_max = 0.0;
        }
        let mut bounds = weight_bounds(net);
        let batches = batch_count(order.len(), batch_size);
        self.choice.restart();
        for batch in first_batch..batches {
            let threads = self.choice.threads(self.threads);
            let indices = batch_indices(order, batch, batch_size);
            let m = indices.len();
            // Gathered into the trainer's own cache-aligned buffer even without augmentation:
            // the kernels' vector loads then never straddle two cache lines (measured 10-15%
            // faster than reading the rows in place from a data set of arbitrary alignment).
            self.gather(data, indices, options, rng, threads);
            let x_max = if data.inputs_checked() {
                data.max_abs()
            } else {
                let n_in = net.n_inputs();
                let gathered = &contiguous(&self.batch_x)[..m * n_in];
                match crate::scan::finite_max_abs_on(gathered, threads) {
                    Some(top) => {
                        let top = top.to_f64();
                        self.inputs_max = self.inputs_max.max(top);
                        top
                    }
                    // The whole set's check names the first bad value, as a check before
                    // training would have.
                    None => return Err(first_non_finite(data, self.threads)),
                }
            };
            // The next mini-batch's rows are far apart in a data set much larger than the
            // caches: the first layer's weight product asks for them as it computes, so that
            // they arrive before the next gather (see `Ahead`).
            let inputs = data.inputs();
            self.next_rows.clear();
            if inputs.strides()[1] == 1 {
                let next = batch_indices(order, batch + 1, batch_size);
                self.next_rows
                    .extend(next.iter().map(|&i| inputs.row(i).as_ptr() as usize));
            }
            let row_bytes = inputs.ncols() * std::mem::size_of::<F>();
            if options.dropout() {
                self.draw_masks(m, options.keep, rng);
            }
            let weights = data.weights().map(|_| &self.batch_w[..m]);
            let total = weights.map_or(m as f64, |w| w.iter().map(|&v| Float::to_f64(v)).sum());
            if total > 0.0 {
                let squares = match &record {
                    Some(_) if options.lmbda != 0.0 => squared_norm(net),
                    _ => 0.0,
                };
                let n_in = net.n_inputs();
                let x = Rows::run(contiguous(&self.batch_x), n_in, n_in, m);
                self.backprop
                    .descend(
                        net,
                        x,
                        self.batch_y.slice(s![..m, ..]),
                        weights,
                        x_max,
                        step(options, data.len(), total),
                        options.dropout(),
                        &mut self.optimizer,
                        &mut bounds,
                        Ahead::new(&self.next_rows, row_bytes),
                        threads,
                    )
                    .map_err(|e| Error::Diverged { batch, detail: e.0 })?;
                if let Some(record) = record.as_deref_mut() {
                    let loss = batch_loss(
                        net.cost(),
                        self.backprop.outputs(m),
                        self.batch_y.slice(s![..m, ..]),
                        weights,
                    );
                    let share = m as f64 / total;
                    record.data += share * loss;
                    record.l2 += share * squares;
                }
            }
            self.choice.finished();
            if !keep_going(batch + 1) {
                return Ok(batch + 1);
            }
        }
        Ok(batches.max(first_batch))
    }

    /// One whole epoch in the given sample order, in mini-batches of this trainer's size.
    pub fn train_epoch(
        &mut self,
        net: &mut Network<F>,
        data: &TrainingSet<'_, F>,
        order: &[usize],
        options: &TrainOptions,
        rng: &mut SeededRng,
    ) -> Result<()> {
        let batch_size = self.batch_size();
        self.train_batches(net, data, order, batch_size, options, rng, 0, None, |_| {
            true
        })
        .map(|_| ())
    }

    /// The weighted cost of the whole of `data` and its gradient, for whole-batch solvers
    /// (L-BFGS): computed in fixed chunks of rows on this trainer's threads, the same for any
    /// number of threads.
    pub fn objective(
        &mut self,
        net: &Network<F>,
        data: &TrainingSet<'_, F>,
    ) -> Result<Objective<'_, F>> {
        self.check_network(net)?;
        let n = data.len();
        self.ensure_capacity(net, n.min(OBJECTIVE_CHUNK))?;
        let (mut loss, mut total_weight) = (0.0, 0.0);
        for (c, start) in (0..n).step_by(OBJECTIVE_CHUNK).enumerate() {
            let rows = start..(start + OBJECTIVE_CHUNK).min(n);
            let inputs = data.inputs().slice_move(s![rows.clone(), ..]);
            let x = inputs.as_standard_layout();
            let y = data.targets().slice_move(s![rows.clone(), ..]);
            let chunk_weights = data.weights().map(|w| w.slice_move(s![rows.clone()]));
            let weights = chunk_weights.as_ref().map(slice_of);
            self.backprop.accumulate(
                net,
                contiguous_rows(&x),
                y,
                weights.as_deref(),
                c > 0,
                self.threads,
            );
            loss += batch_loss(
                net.cost(),
                self.backprop.outputs(rows.len()),
                y,
                weights.as_deref(),
            );
            total_weight += weights.as_deref().map_or(rows.len() as f64, |w| {
                w.iter().map(|&v| Float::to_f64(v)).sum::<f64>()
            });
        }
        Ok(Objective {
            loss,
            total_weight,
            gradients: &self.backprop.gradients,
        })
    }

    /// Copies the samples `indices` into the mini-batch buffers, transformed when augmenting.
    fn gather(
        &mut self,
        data: &TrainingSet<'_, F>,
        indices: &[usize],
        options: &TrainOptions,
        rng: &mut SeededRng,
        threads: usize,
    ) {
        let targets = data.targets();
        let n_out = targets.ncols();
        match (targets.as_slice(), self.batch_y.as_slice_mut()) {
            // Slices, not ndarray's `assign`: its set-up per row of 10 targets cost 3% of the
            // book's epoch.
            (Some(source), Some(dest)) => {
                for (dest, &i) in dest.chunks_exact_mut(n_out.max(1)).zip(indices) {
                    dest.copy_from_slice(&source[i * n_out..(i + 1) * n_out]);
                }
            }
            _ => {
                for (row, &i) in indices.iter().enumerate() {
                    self.batch_y.row_mut(row).assign(&targets.row(i));
                }
            }
        }
        if let Some(weights) = data.weights() {
            for (slot, &i) in self.batch_w.iter_mut().zip(indices) {
                *slot = weights[i];
            }
        }
        let inputs = data.inputs();
        if let Some(augment) = &options.augment {
            // One image after another: the shifts and rotations are drawn from `rng` in order.
            for (row, &i) in indices.iter().enumerate() {
                let source = inputs.row(i);
                let mut dest = self.batch_x.row_mut(row);
                match (source.as_slice(), dest.as_slice_mut()) {
                    (Some(src), Some(out)) => {
                        let (dy, dx, degrees) = augment.draw(rng);
                        transform_image(src, out, augment.shape, dy, dx, degrees);
                    }
                    _ => dest.assign(&source),
                }
            }
            return;
        }
        // A plain copy, cut by rows over the threads when it is large (scikit-learn's
        // mini-batches of 200 MNIST images are 1.25 MB of f64): each row waits on memory.
        let (m, n_in) = (indices.len(), inputs.ncols());
        let dest = SharedMut::new(&mut contiguous_mut(&mut self.batch_x)[..m * n_in]);
        let parts = chunk_parts(m * n_in, threads).min(m);
        for_each_part(threads, parts, &|p| {
            let rows = part_range(m, parts, 1, p);
            // SAFETY: the parts' row ranges are disjoint, so are their rows of `dest`.
            let out = unsafe { dest.range(rows.start * n_in..rows.end * n_in) };
            for (out, &i) in out.chunks_exact_mut(n_in).zip(&indices[rows]) {
                let source = inputs.row(i);
                match source.as_slice() {
                    Some(src) => out.copy_from_slice(src),
                    None => out.iter_mut().zip(source).for_each(|(o, &v)| *o = v),
                }
            }
        });
    }

    /// Fills the hidden layers' masks for `m` samples: each unit kept with probability `keep`.
    fn draw_masks(&mut self, m: usize, keep: f64, rng: &mut SeededRng) {
        let kept = F::from_f64(1.0 / keep);
        for mask in &mut self.backprop.masks {
            for v in mask.slice_mut(s![..m, ..]).iter_mut() {
                *v = if rng.random::<f64>() < keep {
                    kept
                } else {
                    F::zero()
                };
            }
        }
    }

    /// Copies explicit masks into the buffers; returns whether there are any.
    fn load_masks(&mut self, masks: &[ArrayView2<'_, F>], m: usize) -> Result<bool> {
        if masks.is_empty() {
            return Ok(false);
        }
        let hidden = self.sizes.len() - 2;
        if masks.len() != hidden {
            return Err(Error::invalid(
                "masks",
                &format!("one per hidden layer ({hidden})"),
                masks.len(),
            ));
        }
        self.backprop.ensure_masks()?;
        for (l, (mask, buffer)) in masks.iter().zip(&mut self.backprop.masks).enumerate() {
            let what = format!("masks[{l}]");
            if mask.dim() != (m, self.sizes[l + 1]) {
                return Err(Error::shape(
                    &what,
                    format!("({m}, {})", self.sizes[l + 1]),
                    mask.shape(),
                ));
            }
            crate::check_finite(&what, mask)?;
            buffer.slice_mut(s![..m, ..]).assign(mask);
        }
        Ok(true)
    }

    fn ensure_optimizer(&mut self, net: &Network<F>, optimizer: Optimizer) -> Result<()> {
        if self.optimizer.optimizer() != optimizer {
            self.optimizer = OptimizerState::new(net, optimizer)?;
        }
        Ok(())
    }

    /// Grows the buffers to hold `m` samples, keeping the optimizer's state.
    fn ensure_capacity(&mut self, net: &Network<F>, m: usize) -> Result<()> {
        if m > self.batch_size() {
            let (optimizer, threads) = (self.optimizer.clone(), self.threads);
            *self = Trainer::new(net, m)?;
            self.optimizer = optimizer;
            self.threads = threads;
        }
        Ok(())
    }

    fn check_network(&self, net: &Network<F>) -> Result<()> {
        if net.sizes() != self.sizes.as_slice() {
            return Err(Error::invalid(
                "network",
                &format!("of the sizes {:?} this trainer was made for", self.sizes),
                format!("{:?}", net.sizes()),
            ));
        }
        Ok(())
    }
}

/// The step for a mini-batch of total weight `total` from a training set of `n` samples.
fn step(options: &TrainOptions, n: usize, total: f64) -> Step {
    let over = if options.batch_l2 { total } else { n as f64 };
    Step {
        eta: options.eta,
        l2: if over > 0.0 {
            options.lmbda / over
        } else {
            0.0
        },
        total,
    }
}

/// `Σ_i w_i·ℓ_i` over the rows of outputs `a` and targets `y`, in row order.
fn batch_loss<F: Float>(
    cost: crate::Cost,
    a: ArrayView2<'_, F>,
    y: ArrayView2<'_, F>,
    weights: Option<&[F]>,
) -> f64 {
    let mut total = 0.0;
    for (i, (a, y)) in a.outer_iter().zip(y.outer_iter()).enumerate() {
        let w = weights.map_or(1.0, |w| w[i].to_f64());
        if w != 0.0 {
            let (a, y) = (slice_of(&a), slice_of(&y));
            total += w * cost.sample_loss(&a, &y);
        }
    }
    total
}

/// A 1-D view as a slice: borrowed when contiguous (always, for the engine's own buffers and
/// for the rows and chunks of standard-layout data).
fn slice_of<'a, F: Clone>(r: &'a ndarray::ArrayView1<'_, F>) -> std::borrow::Cow<'a, [F]> {
    match r.as_slice() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(r.to_vec()),
    }
}

/// The sum of every squared weight (not biases), in `f64`: element `i` of each layer's
/// row-major weights goes to lane `i mod 32`, each lane one chain of fused multiply-adds in
/// layer and index order, and the lanes are added by the kernels' halving tree (`tree_sum`).
/// A fixed order, so the same bits on every path; 32 chains instead of one, because a single
/// chain waits out each multiply-add's latency (about 100 µs per mini-batch for scikit-learn's
/// default MNIST network, measured as 4.5% of its epoch).
fn squared_norm<F: Float>(net: &Network<F>) -> f64 {
    const LANES: usize = 32;
    crate::kernels::vectorised(
        #[inline(always)]
        || {
            let mut lanes = [0.0_f64; LANES];
            for w in net.weights() {
                let values = crate::backprop::contiguous(w);
                let chunks = values.chunks_exact(LANES);
                let rest = chunks.remainder();
                for chunk in chunks {
                    for (lane, &v) in lanes.iter_mut().zip(chunk) {
                        let v = v.to_f64();
                        *lane = v.mul_add(v, *lane);
                    }
                }
                for (lane, &v) in lanes.iter_mut().zip(rest) {
                    let v = v.to_f64();
                    *lane = v.mul_add(v, *lane);
                }
            }
            crate::kernels::tree_sum(lanes)
        },
    )
}

/// Each layer's largest |w|: where the overflow bounds of plain SGD start.
fn weight_bounds<F: Float>(net: &Network<F>) -> Vec<f64> {
    net.weights()
        .iter()
        .map(|w| match w.as_slice() {
            Some(values) => crate::scan::max_abs(values),
            None => w.iter().fold(0.0_f64, |m, v| m.max(v.abs().to_f64())),
        })
        .collect()
}

/// The rows of a standard-layout array, as kernel rows.
fn contiguous_rows<F, S: ndarray::Data<Elem = F>>(
    x: &ndarray::ArrayBase<S, ndarray::Ix2>,
) -> Rows<'_, F> {
    let (m, n) = x.dim();
    Rows::run(x.as_slice().expect("a standard-layout array"), n, n, m)
}

/// The error of `data`'s check, for a set one of whose mini-batches held a NaN or infinity.
fn first_non_finite<F: Float>(data: &TrainingSet<'_, F>, threads: usize) -> Error {
    match data.check_inputs(threads) {
        Err(error) => error,
        // Only if the data changed while training read it.
        Ok(_) => Error::NonFinite {
            what: "training inputs".into(),
            index: Vec::new(),
        },
    }
}

/// The sample indices of mini-batch `batch` (empty past the end).
fn batch_indices(order: &[usize], batch: usize, batch_size: usize) -> &[usize] {
    let start = (batch * batch_size).min(order.len());
    &order[start..(start + batch_size).min(order.len())]
}

fn check_order(order: &[usize], n: usize) -> Result<()> {
    if order.len() != n {
        return Err(Error::shape(
            "order",
            format!("({n},), one index per sample"),
            &[order.len()],
        ));
    }
    if let Some((i, &bad)) = order.iter().enumerate().find(|(_, &j)| j >= n) {
        return Err(Error::invalid(
            &format!("order[{i}]"),
            &format!("a sample index in 0..{n}"),
            bad,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{set_kernel, Kernel};
    use crate::{seeded, shuffled_order};
    use ndarray::Array2;

    /// The order of [`squared_norm`] written out plainly, element by element.
    fn plain_squared_norm<F: Float>(net: &Network<F>) -> f64 {
        let mut lanes = [0.0_f64; 32];
        for w in net.weights() {
            for (i, &v) in w.iter().enumerate() {
                let v = v.to_f64();
                lanes[i % 32] = v.mul_add(v, lanes[i % 32]);
            }
        }
        let mut width = 32;
        while width > 1 {
            width /= 2;
            for p in 0..width {
                lanes[p] += lanes[p + width];
            }
        }
        lanes[0]
    }

    /// Inputs in [0, 1] with zeros, as images have, and one-hot targets.
    fn image_like(n: usize, n_in: usize, n_out: usize) -> (Array2<f64>, Array2<f64>) {
        let x = Array2::from_shape_fn((n, n_in), |(i, j)| {
            let v = ((i * 31 + j * 17) % 23) as f64 / 22.0;
            if v < 0.5 {
                0.0
            } else {
                v
            }
        });
        let y = Array2::from_shape_fn((n, n_out), |(i, j)| f64::from(u8::from(i % n_out == j)));
        (x, y)
    }

    #[test]
    fn inputs_checked_in_the_gather_train_to_the_same_bits() {
        let (x, y) = image_like(53, 19, 4);
        let options = TrainOptions::sgd(0.5);
        let run = |data: &TrainingSet<'_, f64>, threads: usize| {
            let mut net = Network::<f64>::new(&[19, 7, 4], &mut seeded(2)).unwrap();
            let mut trainer = Trainer::new(&net, 5).unwrap();
            trainer.set_threads(threads);
            let mut rng = seeded(9);
            for _ in 0..3 {
                let order = shuffled_order(53, &mut rng);
                trainer
                    .train_epoch(&mut net, data, &order, &options, &mut rng)
                    .unwrap();
            }
            (net, trainer.inputs_max())
        };
        let checked = TrainingSet::checked_on(1, x.view(), y.view(), 19, 4).unwrap();
        let unchecked = TrainingSet::checked_except_inputs(1, x.view(), y.view(), 19, 4).unwrap();
        assert!(checked.inputs_checked() && !unchecked.inputs_checked());
        for threads in [1, 2] {
            let (want, _) = run(&checked, threads);
            let (got, seen) = run(&unchecked, threads);
            assert_eq!(got.weights(), want.weights());
            assert_eq!(got.biases(), want.biases());
            // Every epoch gathered every sample, so the largest seen is the set's.
            assert_eq!(seen.to_bits(), checked.max_abs().to_bits());
            let known = unchecked.inputs_known(seen);
            assert!(known.inputs_checked());
            assert_eq!(known.max_abs().to_bits(), checked.max_abs().to_bits());
        }
    }

    #[test]
    fn a_bad_input_found_in_the_gather_is_named_as_the_check_before_would() {
        let (mut x, y) = image_like(40, 6, 3);
        x[[33, 2]] = f64::INFINITY;
        x[[21, 5]] = f64::NAN;
        let expected = TrainingSet::checked_on(1, x.view(), y.view(), 6, 3).unwrap_err();
        assert_eq!(
            expected,
            Error::NonFinite {
                what: "training inputs".into(),
                index: vec![21, 5]
            }
        );
        let data = TrainingSet::checked_except_inputs(1, x.view(), y.view(), 6, 3).unwrap();
        let mut net = Network::<f64>::new(&[6, 4, 3], &mut seeded(1)).unwrap();
        let mut trainer = Trainer::new(&net, 4).unwrap();
        let order: Vec<usize> = (0..40).rev().collect();
        let error = trainer
            .train_epoch(
                &mut net,
                &data,
                &order,
                &TrainOptions::sgd(1.0),
                &mut seeded(3),
            )
            .unwrap_err();
        assert_eq!(error, expected);
        // A target's error waits for the inputs' check, which comes first in `checked_on`.
        let mut bad_y = y.clone();
        bad_y[[0, 0]] = f64::NAN;
        assert_eq!(
            TrainingSet::checked_except_inputs(1, x.view(), bad_y.view(), 6, 3).unwrap_err(),
            expected
        );
    }

    #[test]
    fn squared_norm_is_its_fixed_order_on_every_path() {
        // Layers whose sizes are not multiples of the lanes, and one smaller than them.
        let net64 = Network::<f64>::new(&[37, 29, 3, 5], &mut seeded(4)).unwrap();
        let net32 = Network::<f32>::new(&[37, 29, 3, 5], &mut seeded(4)).unwrap();
        for kernel in Kernel::available() {
            set_kernel(Some(kernel)).expect("an available kernel");
            assert_eq!(
                squared_norm(&net64).to_bits(),
                plain_squared_norm(&net64).to_bits()
            );
            assert_eq!(
                squared_norm(&net32).to_bits(),
                plain_squared_norm(&net32).to_bits()
            );
        }
        set_kernel(None).expect("auto");
        let exact: f64 = net64.weights().iter().flatten().map(|v| v * v).sum();
        assert!((squared_norm(&net64) - exact).abs() <= 1e-12 * exact);
    }
}
