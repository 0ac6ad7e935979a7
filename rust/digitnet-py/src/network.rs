use digitnet_core::{seeded, Error, Network, SeededRng};
use ndarray::{ArrayView2, Axis};
use numpy::{IntoPyArray, PyArray1, PyArrayDyn, PyReadonlyArray1, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::convert::{array1, array2, indices};
use crate::errors::IntoPyResult;
use crate::guard::guard;
use crate::interrupt;
use crate::model::{Dtype, Engine, Model, Precision};
use crate::optimizer_state;
use crate::options::{self, Hyper, StepArg};
use crate::threads::get_num_threads;
use crate::training::{self, Run};

/// Calls the generic function `$f` with the float type named by `$dtype` (a [`Dtype`]), with
/// any panic turned into an exception (see [`guard`]).
macro_rules! dispatch {
    ($dtype:expr, $($f:ident)::+ ( $($arg:expr),* $(,)? )) => {
        guard(|| match $dtype {
            Dtype::F64 => $($f)::+::<f64>($($arg),*),
            Dtype::F32 => $($f)::+::<f32>($($arg),*),
        })
    };
}

/// The engine's network with its random number generator and training buffers.
///
/// Python sees it as `digitnet._core.Network`; `digitnet.Network` wraps it.
#[pyclass(name = "Network", module = "digitnet._core")]
pub(crate) struct PyNetwork {
    pub(crate) engine: Engine,
    pub(crate) rng: SeededRng,
}

impl PyNetwork {
    fn make(
        sizes: Vec<usize>,
        seed: u64,
        dtype: &str,
        activations: Option<Vec<String>>,
        cost: &str,
        init: &str,
    ) -> PyResult<Self> {
        let activations = options::activations(activations, sizes.len().saturating_sub(1))?;
        let (cost, init) = (options::cost(cost)?, options::init(init)?);
        let mut rng = seeded(seed);
        let engine = match dtype {
            "float64" => Engine::F64(Model::new(
                Network::with_layers(&sizes, &activations, cost, init, &mut rng).py()?,
            )),
            "float32" => Engine::F32(Model::new(
                Network::with_layers(&sizes, &activations, cost, init, &mut rng).py()?,
            )),
            other => {
                return Err(PyValueError::new_err(format!(
                    "dtype: must be \"float64\" or \"float32\", got {other:?}"
                )))
            }
        };
        Ok(PyNetwork { engine, rng })
    }
}

#[pymethods]
impl PyNetwork {
    /// A network with the given layer sizes, activations (names, one per non-input layer;
    /// all sigmoid by default) and cost (network2.py's class name), its parameters drawn with
    /// `seed` as `init` says ("large": N(0, 1), "scaled": N(0, 1/n_in) weights), computing in
    /// `dtype` ("float64" or "float32").
    #[new]
    #[pyo3(signature = (sizes, seed, dtype="float64", activations=None, cost="QuadraticCost", init="large"))]
    fn new(
        sizes: Vec<usize>,
        seed: u64,
        dtype: &str,
        activations: Option<Vec<String>>,
        cost: &str,
        init: &str,
    ) -> PyResult<Self> {
        guard(|| Self::make(sizes, seed, dtype, activations, cost, init))
    }

    #[getter]
    fn sizes(slf: &Bound<'_, Self>) -> PyResult<Vec<usize>> {
        let this = borrow(slf)?;
        Ok(match &this.engine {
            Engine::F64(m) => m.net.sizes().to_vec(),
            Engine::F32(m) => m.net.sizes().to_vec(),
        })
    }

    /// Each non-input layer's activation, by name.
    #[getter]
    fn activations(slf: &Bound<'_, Self>) -> PyResult<Vec<&'static str>> {
        let this = borrow(slf)?;
        let activations = match &this.engine {
            Engine::F64(m) => m.net.activations(),
            Engine::F32(m) => m.net.activations(),
        };
        Ok(activations.iter().map(|a| a.name()).collect())
    }

    /// The cost, by network2.py's class name.
    #[getter]
    fn cost(slf: &Bound<'_, Self>) -> PyResult<&'static str> {
        let this = borrow(slf)?;
        Ok(match &this.engine {
            Engine::F64(m) => m.net.cost().name(),
            Engine::F32(m) => m.net.cost().name(),
        })
    }

    /// "float64" or "float32".
    #[getter]
    fn dtype(slf: &Bound<'_, Self>) -> PyResult<&'static str> {
        Ok(borrow(slf)?.engine.dtype())
    }

    /// An independent copy: the same parameters and the same random stream, so that it trains
    /// on exactly as the original would.
    fn copy(slf: &Bound<'_, Self>) -> PyResult<Self> {
        let this = borrow(slf)?;
        Ok(PyNetwork {
            engine: this.engine.clone(),
            rng: this.rng.clone(),
        })
    }

    /// Redraws every parameter from the network's random stream as `init` says, and forgets
    /// the optimizer's state.
    fn initialize(slf: &Bound<'_, Self>, init: &str) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        let init = options::init(init)?;
        guard(|| {
            match &mut this.engine {
                Engine::F64(m) => m.reinitialize(init, &mut this.rng),
                Engine::F32(m) => m.reinitialize(init, &mut this.rng),
            }
            Ok(())
        })
    }

    /// Copies of the weight matrices, `(sizes[l+1], sizes[l])` each.
    fn weights<'py>(slf: &Bound<'_, Self>, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let this = borrow(slf)?;
        dispatch!(this.engine.kind(), weights(py, &this.engine))
    }

    /// Copies of the bias vectors, `(sizes[l+1],)` each.
    fn biases<'py>(slf: &Bound<'_, Self>, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let this = borrow(slf)?;
        dispatch!(this.engine.kind(), biases(py, &this.engine))
    }

    /// Replaces all weight matrices; nothing changes unless all are valid.
    fn set_weights(slf: &Bound<'_, Self>, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        dispatch!(this.engine.kind(), set_weights(&mut this.engine, &weights))
    }

    /// Replaces all bias vectors; nothing changes unless all are valid.
    fn set_biases(slf: &Bound<'_, Self>, biases: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        dispatch!(this.engine.kind(), set_biases(&mut this.engine, &biases))
    }

    /// The outputs for the rows of `x`, `(n, n_in)` → `(n, n_out)`.
    fn feedforward<'py>(
        slf: &Bound<'_, Self>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = borrow(slf)?;
        dispatch!(this.engine.kind(), feedforward(&this.engine, x))
    }

    /// The predicted class (the most active output) for each row of `x`.
    fn predict<'py>(slf: &Bound<'_, Self>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let this = borrow(slf)?;
        dispatch!(this.engine.kind(), predict(&this.engine, x))
    }

    /// The number of rows of `x` classified as their label.
    fn evaluate(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        labels: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<usize> {
        let this = borrow(slf)?;
        dispatch!(this.engine.kind(), evaluate(&this.engine, x, &labels))
    }

    /// The gradient of the cost summed over the rows of `(x, y)`, as `(nabla_b, nabla_w)`;
    /// `masks` are dropout masks for the hidden layers (`0` or `1/keep` per unit and sample).
    #[pyo3(signature = (x, y, masks=None))]
    fn backprop<'py>(
        slf: &Bound<'_, Self>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        masks: Option<Vec<Bound<'py, PyAny>>>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        let masks = masks.unwrap_or_default();
        dispatch!(
            this.engine.kind(),
            training::backprop(&mut this.engine, x, y, &masks)
        )
    }

    /// One step of gradient descent on the mini-batch `(x, y)` as `options` (a
    /// `digitnet.sgd.StepOptions`) say. The L2 term uses `n`, the size of the training set
    /// (the mini-batch's own size when `None`).
    #[pyo3(signature = (x, y, options, n=None, masks=None))]
    fn update_mini_batch(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        options: StepArg,
        n: Option<usize>,
        masks: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        let hyper = Hyper::new(options)?;
        let masks = masks.unwrap_or_default();
        dispatch!(
            this.engine.kind(),
            training::update_mini_batch(&mut this.engine, x, y, &hyper, n, &masks)
        )
    }

    /// The optimizer's state (see `optimizer_state.rs`), or `None` before any training.
    fn optimizer_state<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let held = borrow(slf)?;
        let py = slf.py();
        dispatch!(
            held.engine.kind(),
            optimizer_state::export(py, &held.engine)
        )
    }

    /// Continues from a state that `optimizer_state()` returned.
    fn set_optimizer_state(slf: &Bound<'_, Self>, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        dispatch!(
            this.engine.kind(),
            optimizer_state::restore(&mut this.engine, state)
        )
    }

    /// Forgets the optimizer's state (velocities, moments).
    fn reset_optimizer(slf: &Bound<'_, Self>) -> PyResult<()> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        guard(|| match &mut this.engine {
            Engine::F64(m) => m.reset_optimizer(),
            Engine::F32(m) => m.reset_optimizer(),
        })
    }

    /// `epochs` epochs of mini-batch SGD on `(x, y)`, each in a fresh random order, as
    /// `options` (a `digitnet.sgd.StepOptions`) say.
    ///
    /// `on_progress(batches_done, batches_total)` is called about every 50 ms, and
    /// `on_epoch(epoch)` after each epoch: it returns `None` to go on, `True` to stop, or a
    /// number to go on with that learning rate. Returns the number of epochs completed.
    #[pyo3(signature = (x, y, epochs, mini_batch_size, options, on_progress=None, on_epoch=None))]
    #[allow(clippy::too_many_arguments)]
    fn sgd(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        epochs: usize,
        mini_batch_size: usize,
        options: StepArg,
        on_progress: Option<Bound<'_, PyAny>>,
        on_epoch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let run = Run {
            slf,
            mini_batch_size,
            hyper: Hyper::new(options)?,
            on_progress: on_progress.as_ref(),
        };
        let dtype = borrow(slf)?.engine.kind();
        dispatch!(dtype, training::sgd(&run, x, y, epochs, on_epoch.as_ref()))
    }

    /// One epoch of mini-batch SGD on `(x, y)` visiting the samples in `order` (a fresh random
    /// order when `None`), each sample's error weighted by `sample_weight` when given. With
    /// `record_loss`, returns the epoch's `(data, l2)` loss sums (see the engine's `EpochLoss`).
    #[pyo3(signature = (
        x, y, mini_batch_size, options, order=None, sample_weight=None, record_loss=false,
        on_progress=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn train_epoch(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        mini_batch_size: usize,
        options: StepArg,
        order: Option<PyReadonlyArray1<'_, i64>>,
        sample_weight: Option<Bound<'_, PyAny>>,
        record_loss: bool,
        on_progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Option<(f64, f64)>> {
        let run = Run {
            slf,
            mini_batch_size,
            hyper: Hyper::new(options)?,
            on_progress: on_progress.as_ref(),
        };
        let epoch = training::Epoch {
            order: order.as_ref(),
            sample_weight: sample_weight.as_ref(),
            record_loss,
        };
        let dtype = borrow(slf)?.engine.kind();
        dispatch!(dtype, training::train_epoch(&run, x, y, &epoch))
    }

    /// Epochs of mini-batch SGD on `(x, y)`, the data checked once: before each epoch
    /// `plan(record)` gets the last epoch's `(data, l2)` loss sums (as `train_epoch` records
    /// them; `None` before the first) and returns `None` to stop or `(order, options)` for the
    /// next epoch. Returns the number of epochs trained.
    #[pyo3(signature = (x, y, mini_batch_size, plan, sample_weight=None, on_progress=None))]
    fn train_epochs(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        mini_batch_size: usize,
        plan: &Bound<'_, PyAny>,
        sample_weight: Option<Bound<'_, PyAny>>,
        on_progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let epochs = training::EpochPlan {
            mini_batch_size,
            sample_weight: sample_weight.as_ref(),
            plan,
            on_progress: on_progress.as_ref(),
        };
        let dtype = borrow(slf)?.engine.kind();
        dispatch!(dtype, training::train_epochs(slf, x, y, &epochs))
    }

    /// The weighted cost of all of `(x, y)` and its gradient, for whole-batch solvers:
    /// `(Σ w·loss, Σ w, nabla_w, nabla_b)`, the gradients neither averaged nor regularised.
    #[pyo3(signature = (x, y, sample_weight=None))]
    #[allow(clippy::type_complexity)]
    fn objective<'py>(
        slf: &Bound<'_, Self>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        sample_weight: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(f64, f64, Bound<'py, PyList>, Bound<'py, PyList>)> {
        let mut held = borrow_mut(slf)?;
        let this = &mut *held;
        dispatch!(
            this.engine.kind(),
            training::objective(&mut this.engine, x, y, sample_weight.as_ref())
        )
    }
}

fn weights<'py, F: Precision>(py: Python<'py>, engine: &Engine) -> PyResult<Bound<'py, PyList>> {
    let arrays = F::model(engine)?
        .net
        .weights()
        .iter()
        .map(|w| w.clone().into_pyarray(py));
    PyList::new(py, arrays)
}

fn biases<'py, F: Precision>(py: Python<'py>, engine: &Engine) -> PyResult<Bound<'py, PyList>> {
    let arrays = F::model(engine)?
        .net
        .biases()
        .iter()
        .map(|b| b.clone().into_pyarray(py));
    PyList::new(py, arrays)
}

fn set_weights<F: Precision>(engine: &mut Engine, weights: &[Bound<'_, PyAny>]) -> PyResult<()> {
    let arrays = weights
        .iter()
        .enumerate()
        .map(|(l, w)| array2::<F>(&format!("weights[{l}]"), w))
        .collect::<PyResult<Vec<_>>>()?;
    let views: Vec<_> = arrays.iter().map(|w| w.as_array()).collect();
    F::model_mut(engine)?.net.set_weights(&views).py()
}

fn set_biases<F: Precision>(engine: &mut Engine, biases: &[Bound<'_, PyAny>]) -> PyResult<()> {
    let arrays = biases
        .iter()
        .enumerate()
        .map(|(l, b)| array1::<F>(&format!("biases[{l}]"), b))
        .collect::<PyResult<Vec<_>>>()?;
    let views: Vec<_> = arrays.iter().map(|b| b.as_array()).collect();
    F::model_mut(engine)?.net.set_biases(&views).py()
}

/// Rows of inference between two checks for Ctrl-C: milliseconds of work even for wide layers.
const ROWS_PER_SLICE: usize = 8192;

fn feedforward<'py, F: Precision>(
    engine: &Engine,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = x.py();
    let x = array2::<F>("x", x)?;
    let (net, x) = (&F::model(engine)?.net, x.as_array());
    let mut out = net.output_buffer(x.nrows()).py()?;
    let threads = get_num_threads();
    for (rows, dest) in x
        .axis_chunks_iter(Axis(0), ROWS_PER_SLICE)
        .zip(out.axis_chunks_iter_mut(Axis(0), ROWS_PER_SLICE))
    {
        py.detach(|| net.feedforward_into(rows, dest, threads))
            .map_err(|e| in_whole(net, &x, e))
            .py()?;
        interrupt::check(py)?;
    }
    Ok(out.into_pyarray(py).into_any())
}

/// The predicted class of each row of `x`, a slice at a time (checking for Ctrl-C between).
fn predictions<F: Precision>(
    py: Python<'_>,
    net: &Network<F>,
    x: ArrayView2<'_, F>,
) -> PyResult<Vec<usize>> {
    let threads = get_num_threads();
    let mut labels = Vec::with_capacity(x.nrows());
    for rows in x.axis_chunks_iter(Axis(0), ROWS_PER_SLICE) {
        let predicted = py
            .detach(|| net.predict(rows, threads))
            .map_err(|e| in_whole(net, &x, e))
            .py()?;
        labels.extend(predicted);
        interrupt::check(py)?;
    }
    Ok(labels)
}

/// The engine checks each slice's inputs as it computes them (the check costs almost nothing
/// there): a non-finite value it finds is named again by its index in the whole of `x`.
fn in_whole<F: Precision>(net: &Network<F>, x: &ArrayView2<'_, F>, error: Error) -> Error {
    match error {
        Error::NonFinite { .. } => net.check_inputs("inputs", x).err().unwrap_or(error),
        other => other,
    }
}

fn predict<'py, F: Precision>(
    engine: &Engine,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = x.py();
    let x = array2::<F>("x", x)?;
    let labels = predictions(py, &F::model(engine)?.net, x.as_array())?;
    // A class index is below n_out, which is a layer size and so fits in i64.
    let labels: Vec<i64> = labels.into_iter().map(|l| l as i64).collect();
    Ok(labels.into_pyarray(py).into_any())
}

fn evaluate<F: Precision>(
    engine: &Engine,
    x: &Bound<'_, PyAny>,
    labels: &PyReadonlyArray1<'_, i64>,
) -> PyResult<usize> {
    let py = x.py();
    let net = &F::model(engine)?.net;
    let labels = indices("labels", labels, net.n_outputs())?;
    let x = array2::<F>("x", x)?;
    let x = x.as_array();
    if labels.len() != x.nrows() {
        return Err(PyValueError::new_err(format!(
            "labels: expected shape ({},), got ({},)",
            x.nrows(),
            labels.len()
        )));
    }
    let predicted = predictions(py, net, x)?;
    Ok(predicted
        .iter()
        .zip(&labels)
        .filter(|(p, l)| p == l)
        .count())
}

pub(crate) fn borrow<'py>(slf: &Bound<'py, PyNetwork>) -> PyResult<PyRef<'py, PyNetwork>> {
    slf.try_borrow().map_err(|_| in_use())
}

pub(crate) fn borrow_mut<'py>(slf: &Bound<'py, PyNetwork>) -> PyResult<PyRefMut<'py, PyNetwork>> {
    slf.try_borrow_mut().map_err(|_| in_use())
}

fn in_use() -> PyErr {
    PyRuntimeError::new_err(
        "this Network is in use by another thread: a Network trains or changes in one thread at a time",
    )
}

/// The logistic function, element-wise.
#[pyfunction]
pub(crate) fn sigmoid<'py>(
    py: Python<'py>,
    z: PyReadonlyArrayDyn<'py, f64>,
) -> Bound<'py, PyArrayDyn<f64>> {
    z.as_array().mapv(digitnet_core::sigmoid).into_pyarray(py)
}

/// The derivative of the logistic function, element-wise.
#[pyfunction]
pub(crate) fn sigmoid_prime<'py>(
    py: Python<'py>,
    z: PyReadonlyArrayDyn<'py, f64>,
) -> Bound<'py, PyArrayDyn<f64>> {
    z.as_array()
        .mapv(digitnet_core::sigmoid_prime)
        .into_pyarray(py)
}

/// The training-set expansion's image transformation (see `digitnet_core::transform_image`),
/// exposed so that tests can compare it with the NumPy reference.
#[pyfunction]
pub(crate) fn transform_image<'py>(
    py: Python<'py>,
    image: PyReadonlyArray1<'py, f64>,
    shape: (usize, usize),
    dy: f64,
    dx: f64,
    degrees: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let augment = digitnet_core::Augment {
        shape,
        max_shift: dy.abs().max(dx.abs()),
        max_rotation: degrees.abs(),
    };
    let image = image.as_array();
    augment.check(image.len()).py()?;
    let source = image.to_vec();
    let mut out = vec![0.0; source.len()];
    digitnet_core::transform_image(&source, &mut out, shape, dy, dx, degrees);
    Ok(out.into_pyarray(py))
}
