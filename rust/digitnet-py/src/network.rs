use digitnet_core::{batch_count, seeded, shuffled_order, Network, SeededRng, TrainingSet};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert::indices;
use crate::errors::IntoPyResult;
use crate::interrupt;
use crate::model::{Dtype, Engine, Model, Precision};
use crate::threads::get_num_threads;

/// Calls the generic function `$f` with the float type named by `$dtype` (a [`Dtype`]).
macro_rules! dispatch {
    ($dtype:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $dtype {
            Dtype::F64 => $f::<f64>($($arg),*),
            Dtype::F32 => $f::<f32>($($arg),*),
        }
    };
}

/// The engine's network with its random number generator and training buffers.
///
/// Python sees it as `digitnet._core.Network`; `digitnet.Network` wraps it.
#[pyclass(name = "Network", module = "digitnet._core")]
pub(crate) struct PyNetwork {
    engine: Engine,
    rng: SeededRng,
}

#[pymethods]
impl PyNetwork {
    /// A network with the given layer sizes, every weight and bias drawn from N(0, 1) with
    /// `seed`, computing in `dtype` ("float64" or "float32").
    #[new]
    #[pyo3(signature = (sizes, seed, dtype="float64"))]
    fn new(sizes: Vec<usize>, seed: u64, dtype: &str) -> PyResult<Self> {
        let mut rng = seeded(seed);
        let engine = match dtype {
            "float64" => Engine::F64(Model::new(Network::new(&sizes, &mut rng).py()?)),
            "float32" => Engine::F32(Model::new(Network::new(&sizes, &mut rng).py()?)),
            other => {
                return Err(PyValueError::new_err(format!(
                    "dtype: must be \"float64\" or \"float32\", got {other:?}"
                )))
            }
        };
        Ok(PyNetwork { engine, rng })
    }

    #[getter]
    fn sizes(&self) -> Vec<usize> {
        match &self.engine {
            Engine::F64(m) => m.net.sizes().to_vec(),
            Engine::F32(m) => m.net.sizes().to_vec(),
        }
    }

    /// An independent copy: the same parameters and the same random stream, so that it trains
    /// on exactly as the original would.
    fn copy(&self) -> Self {
        PyNetwork {
            engine: self.engine.clone(),
            rng: self.rng.clone(),
        }
    }

    /// "float64" or "float32".
    #[getter]
    fn dtype(&self) -> &'static str {
        self.engine.dtype()
    }

    /// Copies of the weight matrices, `(sizes[l+1], sizes[l])` each.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        dispatch!(self.engine.kind(), weights(py, &self.engine))
    }

    /// Copies of the bias vectors, `(sizes[l+1],)` each.
    fn biases<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        dispatch!(self.engine.kind(), biases(py, &self.engine))
    }

    /// Replaces all weight matrices; nothing changes unless all are valid.
    fn set_weights(&mut self, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        dispatch!(self.engine.kind(), set_weights(&mut self.engine, &weights))
    }

    /// Replaces all bias vectors; nothing changes unless all are valid.
    fn set_biases(&mut self, biases: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        dispatch!(self.engine.kind(), set_biases(&mut self.engine, &biases))
    }

    /// The outputs for the rows of `x`, `(n, n_in)` → `(n, n_out)`.
    fn feedforward<'py>(&self, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        dispatch!(self.engine.kind(), feedforward(&self.engine, x))
    }

    /// The predicted class (the most active output) for each row of `x`.
    fn predict<'py>(&self, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        dispatch!(self.engine.kind(), predict(&self.engine, x))
    }

    /// The number of rows of `x` classified as their label.
    fn evaluate(&self, x: &Bound<'_, PyAny>, labels: PyReadonlyArray1<'_, i64>) -> PyResult<usize> {
        dispatch!(self.engine.kind(), evaluate(&self.engine, x, &labels))
    }

    /// The gradient of the quadratic cost summed over the rows of `(x, y)`, as
    /// `(nabla_b, nabla_w)`.
    fn backprop<'py>(
        &mut self,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
        dispatch!(self.engine.kind(), backprop(&mut self.engine, x, y))
    }

    /// One gradient-descent step on the mini-batch `(x, y)` with learning rate `eta`.
    fn update_mini_batch(
        &mut self,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        eta: f64,
    ) -> PyResult<()> {
        dispatch!(
            self.engine.kind(),
            update_mini_batch(&mut self.engine, x, y, eta)
        )
    }

    /// `epochs` epochs of mini-batch SGD on `(x, y)`, each in a fresh random order.
    ///
    /// `on_progress(batches_done, batches_total)` is called about every 50 ms and
    /// `on_epoch(epoch)` after each epoch; training stops early when `on_epoch` returns a true
    /// value. Returns the number of epochs completed.
    #[pyo3(signature = (x, y, epochs, mini_batch_size, eta, on_progress=None, on_epoch=None))]
    #[allow(clippy::too_many_arguments)]
    fn sgd(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        epochs: usize,
        mini_batch_size: usize,
        eta: f64,
        on_progress: Option<Bound<'_, PyAny>>,
        on_epoch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let run = Run {
            slf,
            mini_batch_size,
            eta,
            on_progress: on_progress.as_ref(),
        };
        let dtype = borrow(slf)?.engine.kind();
        dispatch!(dtype, sgd(&run, x, y, epochs, on_epoch.as_ref()))
    }

    /// One epoch of mini-batch SGD on `(x, y)` visiting the samples in `order` (a fresh random
    /// order when `None`).
    #[pyo3(signature = (x, y, mini_batch_size, eta, order=None, on_progress=None))]
    fn train_epoch(
        slf: &Bound<'_, Self>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        mini_batch_size: usize,
        eta: f64,
        order: Option<PyReadonlyArray1<'_, i64>>,
        on_progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let run = Run {
            slf,
            mini_batch_size,
            eta,
            on_progress: on_progress.as_ref(),
        };
        let dtype = borrow(slf)?.engine.kind();
        dispatch!(dtype, train_epoch(&run, x, y, order.as_ref()))
    }
}

fn array2<'py, F: Precision>(
    what: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArray2<'py, F>> {
    obj.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what}: expected a 2-D NumPy array of {}", F::NAME))
    })
}

fn array1<'py, F: Precision>(
    what: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<PyReadonlyArray1<'py, F>> {
    obj.extract().map_err(|_| {
        PyTypeError::new_err(format!("{what}: expected a 1-D NumPy array of {}", F::NAME))
    })
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

fn feedforward<'py, F: Precision>(
    engine: &Engine,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = x.py();
    let x = array2::<F>("x", x)?;
    let (net, x) = (&F::model(engine)?.net, x.as_array());
    let threads = get_num_threads();
    let out = py.detach(|| net.feedforward(x, threads)).py()?;
    Ok(out.into_pyarray(py).into_any())
}

fn predict<'py, F: Precision>(
    engine: &Engine,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = x.py();
    let x = array2::<F>("x", x)?;
    let (net, x) = (&F::model(engine)?.net, x.as_array());
    let threads = get_num_threads();
    let labels = py.detach(|| net.predict(x, threads)).py()?;
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
    let threads = get_num_threads();
    py.detach(|| net.evaluate(x, &labels, threads)).py()
}

fn backprop<'py, F: Precision>(
    engine: &mut Engine,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let py = x.py();
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let (x, y) = (x.as_array(), y.as_array());
    let (net, trainer) = F::model_mut(engine)?.net_and_trainer(x.nrows().max(1))?;
    let grads = py.detach(|| trainer.backprop(net, x, y).cloned()).py()?;
    Ok((
        PyList::new(py, grads.biases.into_iter().map(|b| b.into_pyarray(py)))?,
        PyList::new(py, grads.weights.into_iter().map(|w| w.into_pyarray(py)))?,
    ))
}

fn update_mini_batch<F: Precision>(
    engine: &mut Engine,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    eta: f64,
) -> PyResult<()> {
    let py = x.py();
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let (x, y) = (x.as_array(), y.as_array());
    let (net, trainer) = F::model_mut(engine)?.net_and_trainer(x.nrows().max(1))?;
    py.detach(|| trainer.update_mini_batch(net, x, y, eta)).py()
}

/// What every epoch of one training call shares.
struct Run<'a, 'py> {
    slf: &'a Bound<'py, PyNetwork>,
    mini_batch_size: usize,
    eta: f64,
    on_progress: Option<&'a Bound<'py, PyAny>>,
}

fn sgd<F: Precision>(
    run: &Run<'_, '_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    epochs: usize,
    on_epoch: Option<&Bound<'_, PyAny>>,
) -> PyResult<usize> {
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let data = training_set::<F>(run, &x, &y)?;
    for epoch in 0..epochs {
        let order = shuffled_order(data.len(), &mut borrow_mut(run.slf)?.rng);
        run_epoch(run, &data, &order)?;
        if let Some(callback) = on_epoch {
            if callback.call1((epoch,))?.is_truthy()? {
                return Ok(epoch + 1);
            }
        }
    }
    Ok(epochs)
}

fn train_epoch<F: Precision>(
    run: &Run<'_, '_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    order: Option<&PyReadonlyArray1<'_, i64>>,
) -> PyResult<()> {
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let data = training_set::<F>(run, &x, &y)?;
    let order = match order {
        Some(order) => indices("order", order, data.len())?,
        None => shuffled_order(data.len(), &mut borrow_mut(run.slf)?.rng),
    };
    run_epoch(run, &data, &order)
}

/// Checks the hyperparameters and the data (shapes, finiteness: once per call, not per epoch).
fn training_set<'a, F: Precision>(
    run: &Run<'_, '_>,
    x: &'a PyReadonlyArray2<'_, F>,
    y: &'a PyReadonlyArray2<'_, F>,
) -> PyResult<TrainingSet<'a, F>> {
    if run.mini_batch_size == 0 {
        return Err(PyValueError::new_err(
            "mini_batch_size: must be a positive integer, got 0",
        ));
    }
    if !(run.eta.is_finite() && run.eta > 0.0) {
        return Err(PyValueError::new_err(format!(
            "eta: must be a positive finite number, got {}",
            run.eta
        )));
    }
    let (n_in, n_out) = {
        let this = borrow(run.slf)?;
        let net = &F::model(&this.engine)?.net;
        (net.n_inputs(), net.n_outputs())
    };
    let (x, y) = (x.as_array(), y.as_array());
    run.slf
        .py()
        .detach(|| TrainingSet::new(x, y, n_in, n_out))
        .py()
}

/// Trains one epoch in slices of about 50 ms with the GIL released, checking for Ctrl-C and
/// reporting progress between slices. The network is borrowed only during a slice, so callbacks
/// may use it; after an interrupt it holds the result of the last whole mini-batch.
fn run_epoch<F: Precision>(
    run: &Run<'_, '_>,
    data: &TrainingSet<'_, F>,
    order: &[usize],
) -> PyResult<()> {
    let py = run.slf.py();
    let (batch_size, eta) = (run.mini_batch_size, run.eta);
    let total = batch_count(order.len(), batch_size);
    let mut next = 0;
    while next < total {
        {
            let mut this = borrow_mut(run.slf)?;
            let (net, trainer) = F::model_mut(&mut this.engine)?.net_and_trainer(batch_size)?;
            next = py
                .detach(|| {
                    trainer.train_batches(
                        net,
                        data,
                        order,
                        eta,
                        next,
                        interrupt::until_slice_ends(),
                    )
                })
                .py()?;
        }
        interrupt::check(py)?;
        if let Some(callback) = run.on_progress {
            callback.call1((next, total))?;
        }
    }
    Ok(())
}

fn borrow<'py>(slf: &Bound<'py, PyNetwork>) -> PyResult<PyRef<'py, PyNetwork>> {
    slf.try_borrow().map_err(|_| in_use())
}

fn borrow_mut<'py>(slf: &Bound<'py, PyNetwork>) -> PyResult<PyRefMut<'py, PyNetwork>> {
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
