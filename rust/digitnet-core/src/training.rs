use ndarray::{s, Array2, ArrayView2};

use crate::alloc::try_zeros2;
use crate::backprop::Backprop;
use crate::prefetch::prefetch_row;
use crate::{Error, Float, Gradients, Network, Result, TrainingSet};

/// The number of mini-batches of `batch_size` that cover `n` samples (the last may be smaller).
pub fn batch_count(n: usize, batch_size: usize) -> usize {
    n.div_ceil(batch_size.max(1))
}

/// Mini-batch gradient descent on a [`Network`], with every buffer allocated up front.
///
/// A trainer is tied to the layer sizes of the network it was made for.
#[derive(Debug, Clone)]
pub struct Trainer<F> {
    sizes: Vec<usize>,
    backprop: Backprop<F>,
    /// The current mini-batch, gathered from the shuffled data set into contiguous rows.
    batch_x: Array2<F>,
    batch_y: Array2<F>,
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
            batch_x: try_zeros2("mini-batch inputs", batch_size, net.n_inputs())?,
            batch_y: try_zeros2("mini-batch targets", batch_size, net.n_outputs())?,
        })
    }

    /// The largest mini-batch this trainer's buffers hold.
    pub fn batch_size(&self) -> usize {
        self.backprop.capacity()
    }

    /// The gradient of the quadratic cost summed over the rows of `x` and `y` (network.py's
    /// `backprop`, for a whole batch at once).
    pub fn backprop(
        &mut self,
        net: &Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
    ) -> Result<&Gradients<F>> {
        self.check_network(net)?;
        let data = TrainingSet::new(x, y, net.n_inputs(), net.n_outputs())?;
        self.ensure_capacity(net, data.len())?;
        self.backprop.compute(net, data.inputs(), data.targets());
        Ok(&self.backprop.gradients)
    }

    /// One step of gradient descent on the mini-batch `(x, y)`: `w ← w − (η/m) Σ ∇w`, and the same
    /// for `b` (network.py's `update_mini_batch`).
    pub fn update_mini_batch(
        &mut self,
        net: &mut Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        eta: f64,
    ) -> Result<()> {
        check_eta(eta)?;
        self.check_network(net)?;
        let data = TrainingSet::new(x, y, net.n_inputs(), net.n_outputs())?;
        self.ensure_capacity(net, data.len())?;
        self.backprop
            .descend(net, data.inputs(), data.targets(), eta);
        Ok(())
    }

    /// Trains on the mini-batches `first_batch..` of one epoch whose sample order is `order`,
    /// calling `keep_going(next_batch)` after each update; stops early when it returns false.
    /// Returns the index of the next mini-batch to train, `batch_count(n, batch_size)` when the
    /// epoch is complete. Between two mini-batches the network is always a consistent state.
    pub fn train_batches(
        &mut self,
        net: &mut Network<F>,
        data: &TrainingSet<'_, F>,
        order: &[usize],
        eta: f64,
        first_batch: usize,
        mut keep_going: impl FnMut(usize) -> bool,
    ) -> Result<usize> {
        self.check_network(net)?;
        check_eta(eta)?;
        check_order(order, data.len())?;
        let batch_size = self.batch_size();
        let batches = batch_count(order.len(), batch_size);
        for batch in first_batch..batches {
            let indices = batch_indices(order, batch, batch_size);
            let m = indices.len();
            for (row, &i) in indices.iter().enumerate() {
                self.batch_x.row_mut(row).assign(&data.inputs().row(i));
                self.batch_y.row_mut(row).assign(&data.targets().row(i));
            }
            for &i in batch_indices(order, batch + 1, batch_size) {
                prefetch_row(data.inputs().row(i));
            }
            self.backprop.descend(
                net,
                self.batch_x.slice(s![..m, ..]),
                self.batch_y.slice(s![..m, ..]),
                eta,
            );
            if !keep_going(batch + 1) {
                return Ok(batch + 1);
            }
        }
        Ok(batches.max(first_batch))
    }

    /// One whole epoch in the given sample order.
    pub fn train_epoch(
        &mut self,
        net: &mut Network<F>,
        data: &TrainingSet<'_, F>,
        order: &[usize],
        eta: f64,
    ) -> Result<()> {
        self.train_batches(net, data, order, eta, 0, |_| true)
            .map(|_| ())
    }

    fn ensure_capacity(&mut self, net: &Network<F>, m: usize) -> Result<()> {
        if m > self.batch_size() {
            *self = Trainer::new(net, m)?;
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

/// The sample indices of mini-batch `batch` (empty past the end).
fn batch_indices(order: &[usize], batch: usize, batch_size: usize) -> &[usize] {
    let start = (batch * batch_size).min(order.len());
    &order[start..(start + batch_size).min(order.len())]
}

fn check_eta(eta: f64) -> Result<()> {
    if !(eta.is_finite() && eta > 0.0) {
        return Err(Error::invalid("eta", "a positive finite number", eta));
    }
    Ok(())
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
