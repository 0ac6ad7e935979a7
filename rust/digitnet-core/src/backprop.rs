use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Zip};

use crate::alloc::{try_zeros1, try_zeros2};
use crate::{sigmoid, sigmoid_prime, Float, Network, Result};

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
    /// Weighted inputs `z` of each layer, `(capacity, n_l)`.
    zs: Vec<Array2<F>>,
    /// Activations `σ(z)` of each layer, `(capacity, n_l)`.
    activations: Vec<Array2<F>>,
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
        let zs = buffers("z")?;
        let activations = buffers("activations")?;
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
            zs,
            activations,
            deltas,
            gradients: Gradients { weights, biases },
        })
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Computes the gradients summed over the rows of `x` (inputs) and `y` (targets), which the
    /// caller has checked: `x` is `(m, n_in)`, `y` is `(m, n_out)`, `0 < m <= capacity`.
    pub(crate) fn compute(&mut self, net: &Network<F>, x: ArrayView2<'_, F>, y: ArrayView2<'_, F>) {
        let m = x.nrows();
        debug_assert!(m > 0 && m <= self.capacity && y.nrows() == m);
        let layers = self.zs.len();

        // Forward: Z_l = A_{l-1} W_lᵀ + b_l, A_l = σ(Z_l).
        for l in 0..layers {
            let (before, rest) = self.activations.split_at_mut(l);
            let input = if l == 0 { x } else { live(&before[l - 1], m) };
            let mut z = live_mut(&mut self.zs[l], m);
            general_mat_mul(F::one(), &input, &net.weights()[l].t(), F::zero(), &mut z);
            let bias = &net.biases()[l];
            let mut a = live_mut(&mut rest[0], m);
            Zip::from(z.rows_mut())
                .and(a.rows_mut())
                .for_each(|mut z_row, mut a_row| {
                    Zip::from(&mut z_row)
                        .and(&mut a_row)
                        .and(bias)
                        .for_each(|z, a, &b| {
                            *z = *z + b;
                            *a = sigmoid(*z);
                        });
                });
        }

        // Output error of the quadratic cost: δ_L = (a_L − y) ⊙ σ'(z_L).
        let last = layers - 1;
        Zip::from(live_mut(&mut self.deltas[last], m))
            .and(live(&self.activations[last], m))
            .and(y)
            .and(live(&self.zs[last], m))
            .for_each(|d, &a, &y, &z| *d = (a - y) * sigmoid_prime(z));

        // Backward: ∇W_l = δ_lᵀ A_{l-1}, ∇b_l = Σ_rows δ_l, δ_{l-1} = (δ_l W_l) ⊙ σ'(Z_{l-1}).
        for l in (0..layers).rev() {
            let input = if l == 0 {
                x
            } else {
                live(&self.activations[l - 1], m)
            };
            let (below, here) = self.deltas.split_at_mut(l);
            let delta = live(&here[0], m);
            general_mat_mul(
                F::one(),
                &delta.t(),
                &input,
                F::zero(),
                &mut self.gradients.weights[l],
            );
            let nabla_b = &mut self.gradients.biases[l];
            nabla_b.fill(F::zero());
            for row in delta.rows() {
                nabla_b.zip_mut_with(&row, |s, &d| *s = *s + d);
            }
            if l > 0 {
                let mut previous = live_mut(&mut below[l - 1], m);
                general_mat_mul(
                    F::one(),
                    &delta,
                    &net.weights()[l],
                    F::zero(),
                    &mut previous,
                );
                Zip::from(&mut previous)
                    .and(live(&self.zs[l - 1], m))
                    .for_each(|d, &z| *d = *d * sigmoid_prime(z));
            }
        }
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
