use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2};

use crate::alloc::{try_zeros1, try_zeros2};
use crate::backprop::{contiguous, contiguous1, parts_for};
use crate::kernels::{self, Rows};
use crate::normal::StandardNormals;
use crate::parallel::{for_each_part, part_range, SharedMut, MAX_PARTS};
use crate::{check_finite, Activation, Cost, Error, Float, Result, SeededRng};

/// Rows of a batch pushed through the network at once during inference: enough for the kernels
/// to run at full speed, few enough to bound the memory of wide layers.
const INFERENCE_CHUNK: usize = 256;
/// The most scratch values one inference part holds per buffer.
const SCRATCH_ELEMENTS: usize = 1 << 20;

/// How the parameters start: chapter 1's N(0, 1), network2.py's default N(0, 1/n_in) (which
/// keeps weighted inputs of order 1 so that neurons do not start saturated), both with N(0, 1)
/// biases; or Glorot and Bengio's uniform initialisation, as scikit-learn draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// N(0, 1) weights: network.py, and network2.py's `large_weight_initializer`.
    Large,
    /// N(0, 1/n_in) weights: network2.py's `default_weight_initializer`.
    Scaled,
    /// Weights and biases of layer `l` uniform on `±√(factor/(n_in + n_out))`: `factor` 6 is
    /// Glorot and Bengio's normalised initialisation, 2 scikit-learn's for logistic networks.
    Glorot { factor: f64 },
}

impl Init {
    /// Checks the Glorot factor (a positive finite number).
    pub fn check(self) -> Result<()> {
        match self {
            Init::Glorot { factor } if !(factor.is_finite() && factor > 0.0) => Err(
                Error::invalid("init factor", "a positive finite number", factor),
            ),
            _ => Ok(()),
        }
    }
}

/// A fully connected feedforward network: `weights[l]` has shape `(sizes[l+1], sizes[l])`,
/// `biases[l]` has length `sizes[l+1]`, and layer `l` applies `activations[l]`. The default
/// (chapter 1) network is all sigmoid with the quadratic cost. Parameters are always finite:
/// every way of setting them checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<F> {
    sizes: Vec<usize>,
    activations: Vec<Activation>,
    cost: Cost,
    weights: Vec<Array2<F>>,
    biases: Vec<Array1<F>>,
}

impl<F: Float> Network<F> {
    /// network.py's network: sigmoid layers, quadratic cost, every weight and bias drawn from
    /// N(0, 1), the biases first and then the weights, layer by layer, in row-major order.
    pub fn new(sizes: &[usize], rng: &mut SeededRng) -> Result<Self> {
        let activations = vec![Activation::Sigmoid; sizes.len().saturating_sub(1)];
        Self::with_layers(sizes, &activations, Cost::Quadratic, Init::Large, rng)
    }

    /// A network with the given activation for each non-input layer, trained for `cost`, its
    /// parameters drawn as `init` says.
    pub fn with_layers(
        sizes: &[usize],
        activations: &[Activation],
        cost: Cost,
        init: Init,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        init.check()?;
        let mut net = Self::zeros(sizes)?;
        net.set_layers(activations, cost)?;
        net.initialize(init, rng);
        Ok(net)
    }

    /// Redraws every parameter as `init` says: for the normal inits all biases, then all
    /// weights; for Glorot's, layer by layer its weights (row-major) then its biases. A Glorot
    /// factor that [`Init::check`] refuses leaves the parameters as they were.
    pub fn initialize(&mut self, init: Init, rng: &mut SeededRng) {
        if let Init::Glorot { factor } = init {
            if init.check().is_ok() {
                self.initialize_glorot(factor, rng);
            }
            return;
        }
        // Draw in f64 whatever F is, so a seed gives the same starting point in every precision.
        let mut normals = StandardNormals::new(rng);
        let mut draw = |scale: f64| F::from_f64(scale * normals.next_draw());
        for b in &mut self.biases {
            b.iter_mut().for_each(|v| *v = draw(1.0));
        }
        for w in &mut self.weights {
            let scale = match init {
                Init::Scaled => 1.0 / (w.ncols() as f64).sqrt(),
                Init::Large | Init::Glorot { .. } => 1.0,
            };
            w.iter_mut().for_each(|v| *v = draw(scale));
        }
    }

    fn initialize_glorot(&mut self, factor: f64, rng: &mut SeededRng) {
        use rand::RngExt;
        for (w, b) in self.weights.iter_mut().zip(&mut self.biases) {
            let bound = libm::sqrt(factor / (w.nrows() + w.ncols()) as f64);
            // u in [0, 1) maps to [−bound, bound): scikit-learn's `uniform(−bound, bound)`.
            let mut draw = || F::from_f64(bound * (2.0 * rng.random::<f64>() - 1.0));
            w.iter_mut().for_each(|v| *v = draw());
            b.iter_mut().for_each(|v| *v = draw());
        }
    }

    /// A sigmoid network with the quadratic cost and all parameters zero (set them with
    /// [`Network::set_weights`] and [`Network::set_biases`]).
    pub fn zeros(sizes: &[usize]) -> Result<Self> {
        check_sizes(sizes)?;
        let mut weights = Vec::with_capacity(sizes.len() - 1);
        let mut biases = Vec::with_capacity(sizes.len() - 1);
        for (l, pair) in sizes.windows(2).enumerate() {
            weights.push(try_zeros2(&format!("weights[{l}]"), pair[1], pair[0])?);
            biases.push(try_zeros1(&format!("biases[{l}]"), pair[1])?);
        }
        Ok(Network {
            sizes: sizes.to_vec(),
            activations: vec![Activation::Sigmoid; sizes.len() - 1],
            cost: Cost::Quadratic,
            weights,
            biases,
        })
    }

    /// Sets each layer's activation and the cost, checking that they fit together: one
    /// activation per non-input layer, softmax only on the output layer, and a cost that suits
    /// the output activation.
    pub fn set_layers(&mut self, activations: &[Activation], cost: Cost) -> Result<()> {
        let layers = self.sizes.len() - 1;
        if activations.len() != layers {
            return Err(Error::invalid(
                "activations",
                &format!("one per non-input layer ({layers})"),
                activations.len(),
            ));
        }
        if let Some(only) = activations[..layers - 1].iter().find(|a| a.output_only()) {
            return Err(Error::invalid(
                "activations",
                &format!("{} on the output layer only", only.name()),
                format!("{} on a hidden layer", only.name()),
            ));
        }
        cost.check_output(activations[layers - 1])?;
        self.activations = activations.to_vec();
        self.cost = cost;
        Ok(())
    }

    /// Each non-input layer's activation.
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// The cost the network is trained for.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// The number of neurons in each layer, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The number of layers, input included (network.py's `num_layers`).
    pub fn num_layers(&self) -> usize {
        self.sizes.len()
    }

    pub fn n_inputs(&self) -> usize {
        self.sizes[0]
    }

    pub fn n_outputs(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    pub fn weights(&self) -> &[Array2<F>] {
        &self.weights
    }

    pub fn biases(&self) -> &[Array1<F>] {
        &self.biases
    }

    /// Replaces the weights of layer `layer` (0 is the first hidden layer).
    pub fn set_weight(&mut self, layer: usize, w: ArrayView2<'_, F>) -> Result<()> {
        let what = format!("weights[{layer}]");
        let target = self
            .weights
            .get_mut(layer)
            .ok_or_else(|| layer_out_of_range(&what, self.sizes.len()))?;
        if w.dim() != target.dim() {
            return Err(Error::shape(
                &what,
                format!("{:?}", target.shape()),
                w.shape(),
            ));
        }
        check_finite(&what, &w)?;
        target.assign(&w);
        Ok(())
    }

    /// Replaces the biases of layer `layer` (0 is the first hidden layer).
    pub fn set_bias(&mut self, layer: usize, b: ArrayView1<'_, F>) -> Result<()> {
        let what = format!("biases[{layer}]");
        let target = self
            .biases
            .get_mut(layer)
            .ok_or_else(|| layer_out_of_range(&what, self.sizes.len()))?;
        if b.dim() != target.dim() {
            return Err(Error::shape(
                &what,
                format!("{:?}", target.shape()),
                b.shape(),
            ));
        }
        check_finite(&what, &b)?;
        target.assign(&b);
        Ok(())
    }

    /// Replaces all weights at once; nothing changes unless every matrix is valid. (Checked
    /// first, then copied in place: the engine's arrays keep their aligned allocations.)
    pub fn set_weights(&mut self, weights: &[ArrayView2<'_, F>]) -> Result<()> {
        self.check_count("weights", weights.len())?;
        for (l, (w, target)) in weights.iter().zip(&self.weights).enumerate() {
            let what = format!("weights[{l}]");
            if w.dim() != target.dim() {
                return Err(Error::shape(
                    &what,
                    format!("{:?}", target.shape()),
                    w.shape(),
                ));
            }
            check_finite(&what, w)?;
        }
        for (w, target) in weights.iter().zip(&mut self.weights) {
            target.assign(w);
        }
        Ok(())
    }

    /// Replaces all biases at once; nothing changes unless every vector is valid.
    pub fn set_biases(&mut self, biases: &[ArrayView1<'_, F>]) -> Result<()> {
        self.check_count("biases", biases.len())?;
        for (l, (b, target)) in biases.iter().zip(&self.biases).enumerate() {
            let what = format!("biases[{l}]");
            if b.dim() != target.dim() {
                return Err(Error::shape(
                    &what,
                    format!("{:?}", target.shape()),
                    b.shape(),
                ));
            }
            check_finite(&what, b)?;
        }
        for (b, target) in biases.iter().zip(&mut self.biases) {
            target.assign(b);
        }
        Ok(())
    }

    fn check_count(&self, what: &str, got: usize) -> Result<()> {
        let layers = self.sizes.len() - 1;
        if got != layers {
            return Err(Error::invalid(
                what,
                &format!("a list of {layers} arrays, one per layer"),
                format!("{got} arrays"),
            ));
        }
        Ok(())
    }

    /// The network's output for each row of `x` (`(n, n_in)` → `(n, n_out)`), computed on up
    /// to `threads` threads (each takes a contiguous block of rows; one thread for small `n`).
    pub fn feedforward(&self, x: ArrayView2<'_, F>, threads: usize) -> Result<Array2<F>> {
        let mut out = self.output_buffer(x.nrows())?;
        self.feedforward_into(x, out.view_mut(), threads)?;
        Ok(out)
    }

    /// A zeroed `(rows, n_out)` array for [`Network::feedforward_into`], or an error if it
    /// cannot be allocated.
    pub fn output_buffer(&self, rows: usize) -> Result<Array2<F>> {
        try_zeros2("outputs", rows, self.n_outputs())
    }

    /// [`Network::feedforward`] into `out`, which must be `(n, n_out)` for `x` of `n` rows: lets
    /// a caller cut long work into pieces (to check for interrupts) without copying.
    pub fn feedforward_into(
        &self,
        x: ArrayView2<'_, F>,
        mut out: ArrayViewMut2<'_, F>,
        threads: usize,
    ) -> Result<()> {
        self.check_input_shape("inputs", &x)?;
        if out.dim() != (x.nrows(), self.n_outputs()) {
            return Err(Error::shape(
                "outputs",
                format!("({}, {})", x.nrows(), self.n_outputs()),
                out.shape(),
            ));
        }
        let x = x.as_standard_layout();
        let input = Rows::run(
            x.as_slice().expect("a standard-layout array is contiguous"),
            self.n_inputs(),
            self.n_inputs(),
            x.nrows(),
        );
        let n = x.nrows();
        // Parts of one chunk each, handed out as threads come free: a thread the machine has
        // descheduled holds up at most one chunk, never half of the work.
        let work = n * self.weights.iter().map(|w| w.len()).sum::<usize>();
        let parts = if parts_for(work, threads) > 1 {
            n.div_ceil(INFERENCE_CHUNK).clamp(1, MAX_PARTS)
        } else {
            1
        };
        let width = self.n_outputs();
        let suspect = AtomicBool::new(false);
        let run = |dest: &mut [F]| {
            let dest = SharedMut::new(dest);
            for_each_part(threads, parts, &|p| {
                let rows = part_range(n, parts, 1, p);
                // SAFETY: the parts' row ranges are disjoint, so are their rows of `dest`.
                let dest = unsafe { dest.range(rows.start * width..rows.end * width) };
                if !self.forward_into(input.slice(rows), dest) {
                    suspect.store(true, Ordering::Relaxed);
                }
            });
        };
        match out.as_slice_mut() {
            Some(dest) => run(dest),
            None => {
                let mut owned = self.output_buffer(n)?;
                run(owned.as_slice_mut().expect("an owned array is contiguous"));
                out.assign(&owned);
            }
        }
        // Finite pre-activations of the first layer prove the inputs finite (see
        // `forward_into`), which spares inference a pass over its inputs. Otherwise the inputs
        // are searched, to name a culprit or to find that a finite input overflowed.
        if suspect.load(Ordering::Relaxed) {
            check_finite("inputs", &x)?;
        }
        Ok(())
    }

    /// The index of the most active output neuron for each row of `x` (the first on ties).
    pub fn predict(&self, x: ArrayView2<'_, F>, threads: usize) -> Result<Vec<usize>> {
        let outputs = self.feedforward(x, threads)?;
        Ok(outputs.rows().into_iter().map(argmax).collect())
    }

    /// How many rows of `x` the network classifies as their label (network.py's `evaluate`).
    pub fn evaluate(
        &self,
        x: ArrayView2<'_, F>,
        labels: &[usize],
        threads: usize,
    ) -> Result<usize> {
        if labels.len() != x.nrows() {
            return Err(Error::shape(
                "labels",
                format!("({},)", x.nrows()),
                &[labels.len()],
            ));
        }
        if let Some((i, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= self.n_outputs())
        {
            return Err(Error::invalid(
                &format!("labels[{i}]"),
                &format!("a class index in 0..{}", self.n_outputs()),
                label,
            ));
        }
        let predicted = self.predict(x, threads)?;
        Ok(predicted.iter().zip(labels).filter(|(p, l)| p == l).count())
    }

    /// Checks that `x` has one column per input neuron and only finite values.
    pub fn check_inputs(&self, what: &str, x: &ArrayView2<'_, F>) -> Result<()> {
        self.check_input_shape(what, x)?;
        check_finite(what, x)
    }

    fn check_input_shape(&self, what: &str, x: &ArrayView2<'_, F>) -> Result<()> {
        if x.ncols() != self.n_inputs() {
            return Err(Error::shape(
                what,
                format!("(n, {})", self.n_inputs()),
                x.shape(),
            ));
        }
        Ok(())
    }

    /// Writes the outputs for the rows `x` into `out` (row-major, `x.len() × n_out`), a chunk of
    /// rows at a time (the input is read where it is, never copied), with the same kernels and
    /// activations as training.
    ///
    /// Returns whether every pre-activation of the first layer was finite, which proves every
    /// input finite: a NaN or infinite `x[i][k]` makes its lane's product `±∞` or NaN (NaN when
    /// the weight is 0), and each later fused multiply-add, the lanes' tree and the bias keep a
    /// non-finite sum non-finite (`∞ + finite = ∞`, `∞ − ∞ = NaN`, NaN absorbs), so every
    /// `z[i][j]` of that row is non-finite. The weights are finite (checked when set).
    fn forward_into(&self, x: Rows<'_, F>, out: &mut [F]) -> bool {
        let mut finite = true;
        let widest = self.sizes[1..].iter().copied().max().unwrap_or(1);
        // Fewer rows per chunk for very wide layers, so the scratch stays near 8 MB at most.
        let chunk = (SCRATCH_ELEMENTS / widest).clamp(1, INFERENCE_CHUNK);
        let mut buffers = [
            vec![F::zero(); chunk * widest],
            vec![F::zero(); chunk * widest],
        ];
        let n_out = self.n_outputs();
        let mut start = 0;
        while start < x.len() {
            let rows = x.slice(start..(start + chunk).min(x.len()));
            let m = rows.len();
            let layers = self.weights.len();
            for l in 0..layers {
                let n = self.sizes[l + 1];
                let (first, second) = buffers.split_at_mut(1);
                let (input, output) = if l % 2 == 0 {
                    (&first[0], &mut second[0])
                } else {
                    (&second[0], &mut first[0])
                };
                let input = if l == 0 {
                    rows
                } else {
                    let k = self.sizes[l];
                    Rows::run(&input[..m * k], k, k, m)
                };
                let z = if l + 1 == layers {
                    &mut out[start * n_out..(start + m) * n_out]
                } else {
                    &mut output[..m * n]
                };
                kernels::dense(
                    input,
                    contiguous(&self.weights[l]),
                    contiguous1(&self.biases[l]),
                    z,
                );
                if l == 0 {
                    finite &= crate::scan::all_finite(z);
                }
                let activation = self.activations[l];
                kernels::vectorised(
                    #[inline(always)]
                    || activation.apply_inference_rows(z, n),
                );
            }
            start += m;
        }
        finite
    }

    pub(crate) fn parameters_mut(&mut self) -> (&mut [Array2<F>], &mut [Array1<F>]) {
        (&mut self.weights, &mut self.biases)
    }
}

fn argmax<F: Float>(row: ArrayView1<'_, F>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn check_sizes(sizes: &[usize]) -> Result<()> {
    if sizes.len() < 2 {
        return Err(Error::TooFewLayers(sizes.len()));
    }
    if sizes.contains(&0) {
        return Err(Error::EmptyLayer(sizes.to_vec()));
    }
    Ok(())
}

fn layer_out_of_range(what: &str, num_layers: usize) -> Error {
    Error::invalid(
        what,
        &format!("a layer index below {}", num_layers - 1),
        "an index out of range",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;
    use crate::sigmoid;
    use ndarray::{array, s};

    fn tiny() -> Network<f64> {
        let mut net = Network::zeros(&[2, 2, 1]).unwrap();
        net.set_weights(&[
            array![[1.0, -1.0], [0.5, 2.0]].view(),
            array![[1.0, -2.0]].view(),
        ])
        .unwrap();
        net.set_biases(&[array![0.0, 1.0].view(), array![0.5].view()])
            .unwrap();
        net
    }

    #[test]
    fn shapes_follow_network_py() {
        let net = Network::<f64>::new(&[784, 30, 10], &mut seeded(1)).unwrap();
        assert_eq!(net.weights()[0].dim(), (30, 784));
        assert_eq!(net.weights()[1].dim(), (10, 30));
        assert_eq!(net.biases()[0].len(), 30);
        assert_eq!(net.num_layers(), 3);
    }

    #[test]
    fn initialisation_is_standard_normal_and_seeded() {
        let a = Network::<f64>::new(&[100, 200, 10], &mut seeded(3)).unwrap();
        let b = Network::<f64>::new(&[100, 200, 10], &mut seeded(3)).unwrap();
        let c = Network::<f64>::new(&[100, 200, 10], &mut seeded(4)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let w = &a.weights()[0];
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let var = w.mapv(|v| (v - mean).powi(2)).sum() / n;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
    }

    #[test]
    fn f32_starts_from_the_rounded_f64_parameters() {
        let a = Network::<f64>::new(&[5, 4, 3], &mut seeded(9)).unwrap();
        let b = Network::<f32>::new(&[5, 4, 3], &mut seeded(9)).unwrap();
        assert_eq!(a.weights()[1].mapv(|v| v as f32), b.weights()[1]);
    }

    #[test]
    fn feedforward_by_hand() {
        let net = tiny();
        let out = net.feedforward(array![[1.0, 2.0]].view(), 1).unwrap();
        let h = [sigmoid(1.0 - 2.0), sigmoid(0.5 + 4.0 + 1.0)];
        let expected = sigmoid(h[0] - 2.0 * h[1] + 0.5);
        assert!((out[[0, 0]] - expected).abs() < 1e-15);
    }

    #[test]
    fn feedforward_chunks_agree_with_one_pass() {
        let net = Network::<f64>::new(&[3, 4, 2], &mut seeded(5)).unwrap();
        let x = Array2::from_shape_fn((2 * INFERENCE_CHUNK + 7, 3), |(i, j)| {
            ((i * 3 + j) as f64).sin()
        });
        let all = net.feedforward(x.view(), 1).unwrap();
        let one = net
            .feedforward(
                x.slice(s![2 * INFERENCE_CHUNK + 3..2 * INFERENCE_CHUNK + 4, ..]),
                1,
            )
            .unwrap();
        assert_eq!(all.row(2 * INFERENCE_CHUNK + 3), one.row(0));
    }

    #[test]
    fn threads_split_rows_without_changing_results() {
        let net = Network::<f64>::new(&[30, 20, 10], &mut seeded(7)).unwrap();
        let x = Array2::from_shape_fn((3001, 30), |(i, j)| ((i * 7 + j) as f64).cos());
        let one = net.feedforward(x.view(), 1).unwrap();
        for threads in [2, 3, 8] {
            assert_eq!(net.feedforward(x.view(), threads).unwrap(), one);
        }
        assert_eq!(
            net.predict(x.view(), 4).unwrap(),
            net.predict(x.view(), 1).unwrap()
        );
    }

    #[test]
    fn evaluate_counts_argmax_matches() {
        let mut net = Network::<f64>::zeros(&[2, 2]).unwrap();
        net.set_weight(0, array![[1.0, 0.0], [0.0, 1.0]].view())
            .unwrap();
        let x = array![[1.0, 0.0], [0.0, 1.0], [3.0, 1.0]];
        assert_eq!(net.predict(x.view(), 1).unwrap(), vec![0, 1, 0]);
        assert_eq!(net.evaluate(x.view(), &[0, 1, 1], 1).unwrap(), 2);
        assert!(matches!(
            net.evaluate(x.view(), &[0, 1], 1),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            net.evaluate(x.view(), &[0, 1, 2], 1),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn bad_sizes_and_parameters_are_refused() {
        assert_eq!(Network::<f64>::zeros(&[3]), Err(Error::TooFewLayers(1)));
        assert!(matches!(
            Network::<f64>::zeros(&[3, 0, 2]),
            Err(Error::EmptyLayer(_))
        ));
        assert!(matches!(
            Network::<f64>::zeros(&[1 << 40, 1 << 30]),
            Err(Error::OutOfMemory { .. })
        ));
        let mut net = tiny();
        let before = net.clone();
        assert!(matches!(
            net.set_weight(0, array![[1.0]].view()),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            net.set_weight(5, array![[1.0]].view()),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            net.set_bias(1, array![f64::NAN].view()),
            Err(Error::NonFinite { .. })
        ));
        // All-or-nothing: a bad second matrix leaves the first untouched.
        assert!(net
            .set_weights(&[array![[9.0, 9.0], [9.0, 9.0]].view(), array![[1.0]].view()])
            .is_err());
        assert_eq!(net, before);
        assert!(matches!(
            net.feedforward(array![[1.0, 2.0, 3.0]].view(), 1),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            net.feedforward(array![[1.0, f64::INFINITY]].view(), 1),
            Err(Error::NonFinite { .. })
        ));
    }

    /// Inference checks its inputs through the first layer's pre-activations: every NaN or
    /// infinity is still refused with its index (also where its weight is 0, and on any number of
    /// threads), while finite inputs that overflow a pre-activation are not refused.
    #[test]
    fn inference_refuses_every_non_finite_input_by_its_index() {
        let mut net = Network::<f64>::new(&[9, 5, 3], &mut seeded(2)).unwrap();
        let mut w = net.weights()[0].clone();
        w.column_mut(4).fill(0.0);
        net.set_weight(0, w.view()).unwrap();
        let rows = 3 * INFERENCE_CHUNK + 5;
        let x = Array2::from_shape_fn((rows, 9), |(i, j)| ((i * 9 + j) as f64).cos());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for at in [(0, 0), (7, 4), (INFERENCE_CHUNK + 1, 8), (rows - 1, 4)] {
                let mut xb = x.clone();
                xb[at] = bad;
                for threads in [1, 2, 3] {
                    assert_eq!(
                        net.predict(xb.view(), threads),
                        Err(Error::NonFinite {
                            what: "inputs".into(),
                            index: vec![at.0, at.1],
                        }),
                        "{bad} at {at:?} on {threads} threads"
                    );
                }
            }
        }
        let mut huge = x.clone();
        huge.row_mut(3).fill(f64::MAX);
        let out = net
            .feedforward(huge.view(), 2)
            .expect("finite inputs are not refused");
        let plain = net.feedforward(x.view(), 2).unwrap();
        assert!(
            out.row(3).iter().any(|v| v.is_nan()),
            "the overflow reached the outputs"
        );
        assert_eq!(out.row(4), plain.row(4));
    }
}
