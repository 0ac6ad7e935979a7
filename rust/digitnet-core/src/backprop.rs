use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Zip};

use crate::activation::sigmoid_and_slope;
use crate::alloc::{try_zeros1, try_zeros2};
use crate::matmul::matmul;
use crate::{Float, Network, Result};

/// The gradient of the quadratic cost, summed over the samples of a mini-batch, in the shapes of
/// the network's parameters (network.py's `nabla_w` and `nabla_b`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<F> {
    pub weights: Vec<Array2<F>>,
    pub biases: Vec<Array1<F>>,
}

/// Buffers for the forward and backward pass of mini-batches of up to `capacity` samples,
/// allocated once so that training allocates nothing per mini-batch.
#[derive(Debug, Clone)]
pub(crate) struct Backprop<F> {
    capacity: usize,
    /// Activations `σ(z)` of each layer, `(capacity, n_l)`.
    activations: Vec<Array2<F>>,
    /// Slopes `σ'(z)` of each layer, `(capacity, n_l)`: all the backward pass needs of `z`.
    slopes: Vec<Array2<F>>,
    /// Errors `δ = ∂C/∂z` of each layer, `(capacity, n_l)`.
    deltas: Vec<Array2<F>>,
    pub(crate) gradients: Gradients<F>,
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
            gradients: Gradients { weights, biases },
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores in `self.gradients` the gradients summed over the rows of `x` (inputs) and `y`
    /// (targets), which the caller has checked: `x` is `(m, n_in)`, `y` is `(m, n_out)`,
    /// `0 < m <= capacity`.
    pub(crate) fn compute(&mut self, net: &Network<F>, x: ArrayView2<'_, F>, y: ArrayView2<'_, F>) {
        let m = x.nrows();
        self.forward(net, x);
        self.output_error(y, m);
        for l in (0..self.deltas.len()).rev() {
            let input = if l == 0 {
                x
            } else {
                live(&self.activations[l - 1], m)
            };
            let delta = live(&self.deltas[l], m);
            let nabla_w = &mut self.gradients.weights[l];
            matmul(
                F::one(),
                &delta.t(),
                &input,
                F::zero(),
                &mut nabla_w.view_mut(),
            );
            sum_rows(&delta, &mut self.gradients.biases[l]);
            if l > 0 {
                self.propagate_error(&net.weights()[l], l, m);
            }
        }
    }

    /// One step of gradient descent on the rows of `(x, y)`, `w ← w − (η/m)·Σ∇w` and the same
    /// for `b`, with each layer's gradient added into its weights as it is computed rather than
    /// stored (checked as for [`Backprop::compute`]).
    pub(crate) fn descend(
        &mut self,
        net: &mut Network<F>,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        eta: f64,
    ) {
        let m = x.nrows();
        let step = -F::from_f64(eta / m as f64);
        self.forward(net, x);
        self.output_error(y, m);
        let (weights, biases) = net.parameters_mut();
        for l in (0..self.deltas.len()).rev() {
            // δ_{l-1} needs W_l as it was before this step, so it goes first.
            if l > 0 {
                self.propagate_error(&weights[l], l, m);
            }
            let input = if l == 0 {
                x
            } else {
                live(&self.activations[l - 1], m)
            };
            let delta = live(&self.deltas[l], m);
            matmul(
                step,
                &delta.t(),
                &input,
                F::one(),
                &mut weights[l].view_mut(),
            );
            let nabla_b = &mut self.gradients.biases[l];
            sum_rows(&delta, nabla_b);
            biases[l].scaled_add(step, nabla_b);
        }
    }

    /// `A_l = σ(A_{l-1} W_lᵀ + b_l)` for every layer, keeping `σ'` of each weighted input.
    fn forward(&mut self, net: &Network<F>, x: ArrayView2<'_, F>) {
        let m = x.nrows();
        debug_assert!(m > 0 && m <= self.capacity);
        for l in 0..self.activations.len() {
            let (before, rest) = self.activations.split_at_mut(l);
            let input = if l == 0 { x } else { live(&before[l - 1], m) };
            let mut a = live_mut(&mut rest[0], m);
            matmul(F::one(), &input, &net.weights()[l].t(), F::zero(), &mut a);
            let bias = &net.biases()[l];
            let mut slope = live_mut(&mut self.slopes[l], m);
            Zip::from(a.rows_mut())
                .and(slope.rows_mut())
                .for_each(|mut a_row, mut slope_row| {
                    Zip::from(&mut a_row)
                        .and(&mut slope_row)
                        .and(bias)
                        .for_each(|a, s, &b| (*a, *s) = sigmoid_and_slope(*a + b));
                });
        }
    }

    /// The output error of the quadratic cost, `δ_L = (a_L − y) ⊙ σ'(z_L)`.
    fn output_error(&mut self, y: ArrayView2<'_, F>, m: usize) {
        let last = self.deltas.len() - 1;
        Zip::from(live_mut(&mut self.deltas[last], m))
            .and(live(&self.activations[last], m))
            .and(y)
            .and(live(&self.slopes[last], m))
            .for_each(|d, &a, &y, &s| *d = (a - y) * s);
    }

    /// `δ_{l-1} = (δ_l W_l) ⊙ σ'(z_{l-1})`.
    fn propagate_error(&mut self, weights: &Array2<F>, l: usize, m: usize) {
        let (below, here) = self.deltas.split_at_mut(l);
        let mut previous = live_mut(&mut below[l - 1], m);
        matmul(
            F::one(),
            &live(&here[0], m),
            &weights.view(),
            F::zero(),
            &mut previous,
        );
        Zip::from(&mut previous)
            .and(live(&self.slopes[l - 1], m))
            .for_each(|d, &s| *d = *d * s);
    }
}

/// `out ← Σ_rows delta`: the bias gradient summed over a mini-batch.
fn sum_rows<F: Float>(delta: &ArrayView2<'_, F>, out: &mut Array1<F>) {
    out.fill(F::zero());
    for row in delta.rows() {
        out.zip_mut_with(&row, |s, &d| *s = *s + d);
    }
}

/// The first `rows` rows of a buffer sized for a full mini-batch: the part in use for a smaller
/// (last) mini-batch.
fn live<F>(buffer: &Array2<F>, rows: usize) -> ArrayView2<'_, F> {
    buffer.slice(s![..rows, ..])
}

fn live_mut<F>(buffer: &mut Array2<F>, rows: usize) -> ArrayViewMut2<'_, F> {
    buffer.slice_mut(s![..rows, ..])
}
