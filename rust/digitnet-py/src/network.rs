use digitnet_core::{
    batch_count, seeded, shuffled_order, Network, SeededRng, Trainer, TrainingSet,
};
use ndarray::ArrayView2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArrayDyn,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::convert::indices;
use crate::errors::IntoPyResult;
use crate::interrupt;

type Parameters<'py> = (
    Vec<Bound<'py, PyArray1<f64>>>,
    Vec<Bound<'py, PyArray2<f64>>>,
);

/// The engine's network with its random number generator and training buffers.
///
/// Python sees it as `digitnet._core.Network`; `digitnet.Network` wraps it.
#[pyclass(name = "Network", module = "digitnet._core")]
pub(crate) struct PyNetwork {
    net: Network<f64>,
    rng: SeededRng,
    trainer: Option<Trainer<f64>>,
}

impl PyNetwork {
    /// The network and a trainer for `batch_size`, made on first use and kept while the size holds.
    fn net_and_trainer(
        &mut self,
        batch_size: usize,
    ) -> PyResult<(&mut Network<f64>, &mut Trainer<f64>)> {
        let trainer = match self.trainer.take() {
            Some(t) if t.batch_size() == batch_size => t,
            _ => Trainer::new(&self.net, batch_size).py()?,
        };
        let trainer = self.trainer.insert(trainer);
        Ok((&mut self.net, trainer))
    }
}

#[pymethods]
impl PyNetwork {
    /// A network with the given layer sizes, every weight and bias drawn from N(0, 1) with `seed`.
    #[new]
    fn new(sizes: Vec<usize>, seed: u64) -> PyResult<Self> {
        let mut rng = seeded(seed);
        let net = Network::new(&sizes, &mut rng).py()?;
        Ok(PyNetwork {
            net,
            rng,
            trainer: None,
        })
    }

    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.net.sizes().to_vec()
    }

    /// Copies of the weight matrices, `(sizes[l+1], sizes[l])` each.
    fn weights<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray2<f64>>> {
        self.net
            .weights()
            .iter()
            .map(|w| w.clone().into_pyarray(py))
            .collect()
    }

    /// Copies of the bias vectors, `(sizes[l+1],)` each.
    fn biases<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<f64>>> {
        self.net
            .biases()
            .iter()
            .map(|b| b.clone().into_pyarray(py))
            .collect()
    }

    /// Replaces all weight matrices; nothing changes unless all are valid.
    fn set_weights(&mut self, weights: Vec<PyReadonlyArray2<'_, f64>>) -> PyResult<()> {
        let views: Vec<_> = weights.iter().map(|w| w.as_array()).collect();
        self.net.set_weights(&views).py()
    }

    /// Replaces all bias vectors; nothing changes unless all are valid.
    fn set_biases(&mut self, biases: Vec<PyReadonlyArray1<'_, f64>>) -> PyResult<()> {
        let views: Vec<_> = biases.iter().map(|b| b.as_array()).collect();
        self.net.set_biases(&views).py()
    }

    /// The outputs for the rows of `x`, `(n, n_in)` → `(n, n_out)`.
    fn feedforward<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (net, x) = (&self.net, x.as_array());
        let out = py.detach(|| net.feedforward(x)).py()?;
        Ok(out.into_pyarray(py))
    }

    /// The predicted class (the most active output) for each row of `x`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let (net, x) = (&self.net, x.as_array());
        let labels = py.detach(|| net.predict(x)).py()?;
        // A class index is below n_out, which is a layer size and so fits in i64.
        Ok(labels
            .into_iter()
            .map(|l| l as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py))
    }

    /// The number of rows of `x` classified as their label.
    fn evaluate(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        labels: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<usize> {
        let labels = indices("labels", &labels, self.net.n_outputs())?;
        let (net, x) = (&self.net, x.as_array());
        py.detach(|| net.evaluate(x, &labels)).py()
    }

    /// The gradient of the quadratic cost summed over the rows of `(x, y)`, as
    /// `(nabla_b, nabla_w)`.
    fn backprop<'py>(
        &mut self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        y: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Parameters<'py>> {
        let (x, y) = (x.as_array(), y.as_array());
        let batch = x.nrows().max(1);
        let (net, trainer) = self.net_and_trainer(batch)?;
        let grads = py.detach(|| trainer.backprop(net, x, y).cloned()).py()?;
        Ok((
            grads
                .biases
                .into_iter()
                .map(|b| b.into_pyarray(py))
                .collect(),
            grads
                .weights
                .into_iter()
                .map(|w| w.into_pyarray(py))
                .collect(),
        ))
    }

    /// One gradient-descent step on the mini-batch `(x, y)` with learning rate `eta`.
    fn update_mini_batch(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray2<'_, f64>,
        eta: f64,
    ) -> PyResult<()> {
        let (x, y) = (x.as_array(), y.as_array());
        let (net, trainer) = self.net_and_trainer(x.nrows().max(1))?;
        py.detach(|| trainer.update_mini_batch(net, x, y, eta)).py()
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
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray2<'_, f64>,
        epochs: usize,
        mini_batch_size: usize,
        eta: f64,
        on_progress: Option<Bound<'_, PyAny>>,
        on_epoch: Option<Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let data = training_set(slf, x.as_array(), y.as_array())?;
        check_hyperparameters(mini_batch_size, eta)?;
        for epoch in 0..epochs {
            let order = shuffled_order(data.len(), &mut borrow_mut(slf)?.rng);
            run_epoch(
                slf,
                &data,
                &order,
                mini_batch_size,
                eta,
                on_progress.as_ref(),
            )?;
            if let Some(callback) = &on_epoch {
                if callback.call1((epoch,))?.is_truthy()? {
                    return Ok(epoch + 1);
                }
            }
        }
        Ok(epochs)
    }

    /// One epoch of mini-batch SGD on `(x, y)` visiting the samples in `order` (a fresh random
    /// order when `None`).
    #[pyo3(signature = (x, y, mini_batch_size, eta, order=None, on_progress=None))]
    fn train_epoch(
        slf: &Bound<'_, Self>,
        x: PyReadonlyArray2<'_, f64>,
        y: PyReadonlyArray2<'_, f64>,
        mini_batch_size: usize,
        eta: f64,
        order: Option<PyReadonlyArray1<'_, i64>>,
        on_progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let data = training_set(slf, x.as_array(), y.as_array())?;
        check_hyperparameters(mini_batch_size, eta)?;
        let order = match order {
            Some(order) => indices("order", &order, data.len())?,
            None => shuffled_order(data.len(), &mut borrow_mut(slf)?.rng),
        };
        run_epoch(
            slf,
            &data,
            &order,
            mini_batch_size,
            eta,
            on_progress.as_ref(),
        )
    }
}

/// Trains one epoch in slices of about 50 ms with the GIL released, checking for Ctrl-C and
/// reporting progress between slices. The network is borrowed only during a slice, so callbacks
/// may use it; after an interrupt it holds the result of the last whole mini-batch.
fn run_epoch(
    slf: &Bound<'_, PyNetwork>,
    data: &TrainingSet<'_, f64>,
    order: &[usize],
    batch_size: usize,
    eta: f64,
    on_progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = slf.py();
    let total = batch_count(order.len(), batch_size);
    let mut next = 0;
    while next < total {
        {
            let mut this = borrow_mut(slf)?;
            let (net, trainer) = this.net_and_trainer(batch_size)?;
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
        if let Some(callback) = on_progress {
            callback.call1((next, total))?;
        }
    }
    Ok(())
}

fn training_set<'a>(
    slf: &Bound<'_, PyNetwork>,
    x: ArrayView2<'a, f64>,
    y: ArrayView2<'a, f64>,
) -> PyResult<TrainingSet<'a, f64>> {
    let (n_in, n_out) = {
        let this = slf.try_borrow().map_err(|_| in_use())?;
        (this.net.n_inputs(), this.net.n_outputs())
    };
    let py = slf.py();
    py.detach(|| TrainingSet::new(x, y, n_in, n_out)).py()
}

fn check_hyperparameters(mini_batch_size: usize, eta: f64) -> PyResult<()> {
    if mini_batch_size == 0 {
        return Err(PyValueError::new_err(
            "mini_batch_size: must be a positive integer, got 0",
        ));
    }
    if !(eta.is_finite() && eta > 0.0) {
        return Err(PyValueError::new_err(format!(
            "eta: must be a positive finite number, got {eta}"
        )));
    }
    Ok(())
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
