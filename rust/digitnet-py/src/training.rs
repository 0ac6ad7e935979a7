//! Training calls: they release the GIL while the engine computes, in slices short enough to
//! see Ctrl-C promptly.

use digitnet_core::{batch_count, shuffled_order, EpochLoss, Error, TrainingSet};
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList};

use crate::convert::{array1, array2, indices};
use crate::errors::{diverged, IntoPyResult};
use crate::interrupt;
use crate::model::{Engine, Precision, Start};
use crate::network::{borrow, borrow_mut, PyNetwork};
use crate::options::{Hyper, StepArg};
use crate::threads::get_num_threads;

/// What one `train_epoch` call adds to a run: the order, the weights, whether to record.
pub(crate) struct Epoch<'a, 'py> {
    pub(crate) order: Option<&'a PyReadonlyArray1<'py, i64>>,
    pub(crate) sample_weight: Option<&'a Bound<'py, PyAny>>,
    pub(crate) record_loss: bool,
}

/// What `train_epochs` takes besides the data: `plan(record)` is called before each epoch with
/// the last epoch's `(data, l2)` loss sums (`None` before the first) and returns `None` to stop
/// or `(order, options)` for the next epoch.
pub(crate) struct EpochPlan<'a, 'py> {
    pub(crate) mini_batch_size: usize,
    pub(crate) sample_weight: Option<&'a Bound<'py, PyAny>>,
    pub(crate) plan: &'a Bound<'py, PyAny>,
    pub(crate) on_progress: Option<&'a Bound<'py, PyAny>>,
}

/// What every epoch of one training call shares.
pub(crate) struct Run<'a, 'py> {
    pub(crate) slf: &'a Bound<'py, PyNetwork>,
    pub(crate) mini_batch_size: usize,
    pub(crate) hyper: Hyper,
    pub(crate) on_progress: Option<&'a Bound<'py, PyAny>>,
}

fn masks<'py, F: Precision>(
    masks: &[Bound<'py, PyAny>],
) -> PyResult<Vec<PyReadonlyArray2<'py, F>>> {
    masks
        .iter()
        .enumerate()
        .map(|(l, m)| array2::<F>(&format!("masks[{l}]"), m))
        .collect()
}

pub(crate) fn backprop<'py, F: Precision>(
    engine: &mut Engine,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    mask_arrays: &[Bound<'py, PyAny>],
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let py = x.py();
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let masks = masks::<F>(mask_arrays)?;
    let views: Vec<_> = masks.iter().map(|m| m.as_array()).collect();
    let (x, y) = (x.as_array(), y.as_array());
    let (net, trainer) = F::model_mut(engine)?.net_and_trainer(x.nrows().max(1))?;
    let grads = py
        .detach(|| trainer.backprop_masked(net, x, y, &views).cloned())
        .py()?;
    Ok((
        PyList::new(py, grads.biases.into_iter().map(|b| b.into_pyarray(py)))?,
        PyList::new(py, grads.weights.into_iter().map(|w| w.into_pyarray(py)))?,
    ))
}

pub(crate) fn update_mini_batch<F: Precision>(
    engine: &mut Engine,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    hyper: &Hyper,
    n: Option<usize>,
    mask_arrays: &[Bound<'_, PyAny>],
) -> PyResult<()> {
    let py = x.py();
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let masks = masks::<F>(mask_arrays)?;
    let views: Vec<_> = masks.iter().map(|m| m.as_array()).collect();
    let (x, y) = (x.as_array(), y.as_array());
    let n = n.unwrap_or(x.nrows());
    let options = hyper.options(hyper.eta);
    let (net, trainer) = F::model_mut(engine)?.net_and_trainer(x.nrows().max(1))?;
    py.detach(|| trainer.update_mini_batch(net, x, y, &options, n, &views))
        .py()
}

/// What `on_epoch` asked for.
enum Next {
    Continue,
    Stop,
    Eta(f64),
}

fn next_step(answer: &Bound<'_, PyAny>) -> PyResult<Next> {
    if answer.is_none() {
        return Ok(Next::Continue);
    }
    if let Ok(flag) = answer.cast::<PyBool>() {
        return Ok(if flag.is_true() {
            Next::Stop
        } else {
            Next::Continue
        });
    }
    match answer.extract::<f64>() {
        Ok(eta) if eta.is_finite() && eta > 0.0 => Ok(Next::Eta(eta)),
        _ => Err(PyValueError::new_err(format!(
            "on_epoch: must return None, a bool, or a positive learning rate; got {answer}"
        ))),
    }
}

pub(crate) fn sgd<F: Precision>(
    run: &Run<'_, '_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    epochs: usize,
    on_epoch: Option<&Bound<'_, PyAny>>,
) -> PyResult<usize> {
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    check_options::<F>(run)?;
    let later = epochs > 0
        && run.hyper.options(run.hyper.eta).augment.is_none()
        && small_beside_inputs::<F>(run.slf, &x)?;
    let mut data = checked_data::<F>(run.slf, &x, &y, None, !later)?;
    let start = starting_point::<F>(run.slf, &data)?;
    let mut eta = run.hyper.eta;
    for epoch in 0..epochs {
        let order = shuffled_order(data.len(), &mut borrow_mut(run.slf)?.rng);
        match run_epoch(run, &data, &order, eta, Some(epoch), None) {
            // `order` is a permutation: the epoch gathered every sample.
            Ok(()) => data = checked_by_epoch(run.slf, data)?,
            Err(error) => return Err(failure(run.slf, data, start.as_ref(), error)),
        }
        if let Some(callback) = on_epoch {
            match next_step(&callback.call1((epoch,))?)? {
                Next::Continue => {}
                Next::Stop => return Ok(epoch + 1),
                Next::Eta(new) => eta = new,
            }
        }
    }
    Ok(epochs)
}

pub(crate) fn train_epoch<F: Precision>(
    run: &Run<'_, '_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    epoch: &Epoch<'_, '_>,
) -> PyResult<Option<(f64, f64)>> {
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let weights = epoch
        .sample_weight
        .map(|w| array1::<F>("sample_weight", w))
        .transpose()?;
    let data = training_set::<F>(run, &x, &y, weights.as_ref())?;
    let order = match epoch.order {
        Some(order) => indices("order", order, data.len())?,
        None => shuffled_order(data.len(), &mut borrow_mut(run.slf)?.rng),
    };
    let mut record = EpochLoss::default();
    let recording = epoch.record_loss.then_some(&mut record);
    run_epoch(run, &data, &order, run.hyper.eta, None, recording)?;
    Ok(epoch.record_loss.then_some((record.data, record.l2)))
}

/// Epochs of mini-batch SGD on `(x, y)` (and `sample_weight`), each as `plan` says: a fit of
/// many epochs whose order and learning rate Python decides between them (scikit-learn's loop),
/// with the data checked once, as `sgd` does, rather than once per epoch. A pass over the
/// inputs reads the whole data set (24 ms for MNIST's 60,000 images in float64), so they are
/// checked in the first epoch's gather when `sgd` would (see `small_beside_inputs`): measured
/// side by side, whole scikit-learn fits took 0.973x the time at the book's settings (3
/// epochs) and 0.989x at scikit-learn's defaults (5 epochs).
pub(crate) fn train_epochs<F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    epochs: &EpochPlan<'_, '_>,
) -> PyResult<usize> {
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let weights = epochs
        .sample_weight
        .map(|w| array1::<F>("sample_weight", w))
        .transpose()?;
    check_batch_size(epochs.mini_batch_size)?;
    let later = small_beside_inputs::<F>(slf, &x)?;
    let mut data = checked_data::<F>(slf, &x, &y, weights.as_ref(), !later)?;
    let start = starting_point::<F>(slf, &data)?;
    let mut record: Option<(f64, f64)> = None;
    let mut done = 0;
    loop {
        let mut loss = EpochLoss::default();
        match planned_epoch(slf, epochs, record, &mut data, &mut loss) {
            Ok(true) => data = checked_by_epoch(slf, data)?,
            // A plan that trained no epoch leaves the inputs to the check before.
            Ok(false) => {
                checked_inputs(slf, data)?;
                return Ok(done);
            }
            // Any failure (of the plan too) looks for a bad input first, until the inputs are
            // known to be finite.
            Err(error) => return Err(failure(slf, data, start.as_ref(), error)),
        }
        record = Some((loss.data, loss.l2));
        done += 1;
    }
}

/// One epoch of `train_epochs` as its plan asks, or `false` if the plan says stop. The data's
/// inputs are checked whole first if this epoch could not check them as it gathers them: when
/// it augments (it reads the rows past the gather) or its order leaves a sample out.
fn planned_epoch<F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    epochs: &EpochPlan<'_, '_>,
    record: Option<(f64, f64)>,
    data: &mut TrainingSet<'_, F>,
    loss: &mut EpochLoss,
) -> PyResult<bool> {
    let answer = epochs.plan.call1((record,))?;
    if answer.is_none() {
        return Ok(false);
    }
    let (order, options): (PyReadonlyArray1<'_, i64>, StepArg) =
        answer.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "plan: must return None or (order, options), an int64 array and a \
                 digitnet.sgd.StepOptions; got {answer}"
            ))
        })?;
    let run = Run {
        slf,
        mini_batch_size: epochs.mini_batch_size,
        hyper: Hyper::new(options)?,
        on_progress: epochs.on_progress,
    };
    check_options::<F>(&run)?;
    let order = indices("order", &order, data.len())?;
    if !data.inputs_checked()
        && (run.hyper.options(run.hyper.eta).augment.is_some()
            || !is_permutation(&order, data.len()))
    {
        *data = checked_inputs(slf, *data)?;
    }
    run_epoch(&run, data, &order, run.hyper.eta, None, Some(loss))?;
    Ok(true)
}

/// Whether `order` holds each of `0..n` once: an epoch in that order gathers every sample of a
/// set of `n`.
fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut seen = vec![false; n];
    order.len() == n
        && order
            .iter()
            .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// The weighted cost of all of `(x, y)` and its gradient (`Trainer::objective`), computed
/// with the GIL released.
#[allow(clippy::type_complexity)]
pub(crate) fn objective<'py, F: Precision>(
    engine: &mut Engine,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<(f64, f64, Bound<'py, PyList>, Bound<'py, PyList>)> {
    let py = x.py();
    let (x, y) = (array2::<F>("x", x)?, array2::<F>("y", y)?);
    let weights = sample_weight
        .map(|w| array1::<F>("sample_weight", w))
        .transpose()?;
    let model = F::model_mut(engine)?;
    let (n_in, n_out) = (model.net.n_inputs(), model.net.n_outputs());
    let (x, y) = (x.as_array(), y.as_array());
    let weights = weights.as_ref().map(|w| w.as_array());
    let (net, trainer) = model.net_and_trainer(1)?;
    let (loss, total, grads) = py
        .detach(|| {
            let mut data = TrainingSet::checked_on(get_num_threads(), x, y, n_in, n_out)?;
            if let Some(w) = weights {
                data = data.with_weights(w)?;
            }
            let objective = trainer.objective(net, &data)?;
            Ok::<_, Error>((
                objective.loss,
                objective.total_weight,
                objective.gradients.clone(),
            ))
        })
        .py()?;
    Ok((
        loss,
        total,
        PyList::new(py, grads.weights.into_iter().map(|w| w.into_pyarray(py)))?,
        PyList::new(py, grads.biases.into_iter().map(|b| b.into_pyarray(py)))?,
    ))
}

/// Whether a call may check `x` as its first epoch gathers it rather than before training (if
/// that epoch does not augment, which reads the rows past the gather): when the copy of the
/// parameters and the optimizer's state that undoes a failed first epoch is small beside `x`
/// (the book's network: 0.6 MB against 314 MB for 50,000 MNIST images).
fn small_beside_inputs<F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    x: &PyReadonlyArray2<'_, F>,
) -> PyResult<bool> {
    let this = borrow(slf)?;
    let net = &F::model(&this.engine)?.net;
    let parameters: usize = net.weights().iter().map(|w| w.len()).sum::<usize>()
        + net.biases().iter().map(|b| b.len()).sum::<usize>();
    // The parameters and up to two moments of each, in the copy.
    Ok(3 * parameters <= x.as_array().len() / 8)
}

/// What a call whose inputs are still to be checked started from: put back if they turn out to
/// hold a NaN or infinity, so that the call fails as a check before training would have,
/// having changed nothing. `None` when the inputs are already checked.
fn starting_point<F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    data: &TrainingSet<'_, F>,
) -> PyResult<Option<Start<F>>> {
    if data.inputs_checked() {
        return Ok(None);
    }
    let this = borrow(slf)?;
    Ok(Some((F::model(&this.engine)?.progress(), this.rng.clone())))
}

/// The set after an epoch that ended: if its inputs were unchecked, that epoch gathered and
/// so checked every sample (the callers make sure of it), and the largest |x| it saw is the
/// set's.
fn checked_by_epoch<'a, F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    data: TrainingSet<'a, F>,
) -> PyResult<TrainingSet<'a, F>> {
    if data.inputs_checked() {
        return Ok(data);
    }
    let seen = F::model(&borrow(slf)?.engine)?
        .trainer()
        .map(|trainer| trainer.inputs_max());
    match seen {
        Some(x_max) => Ok(data.inputs_known(x_max)),
        None => checked_inputs(slf, data),
    }
}

/// The error a call fails with after `error` in an epoch that started at `start`: if the
/// inputs were unchecked, they are checked now, and a bad input's error replaces `error`, with
/// the network and its RNG put back to `start`, as if the check had come before training.
fn failure<F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    data: TrainingSet<'_, F>,
    start: Option<&Start<F>>,
    error: PyErr,
) -> PyErr {
    let (Some((progress, rng)), false) = (start, data.inputs_checked()) else {
        return error;
    };
    let Err(bad_input) = checked_inputs(slf, data) else {
        return error;
    };
    let put_back = borrow_mut(slf).and_then(|mut this| {
        this.rng = rng.clone();
        F::model_mut(&mut this.engine)?.go_back(progress.clone())
    });
    match put_back {
        Ok(()) => bad_input,
        Err(other) => other,
    }
}

/// `data` with its inputs checked (all finite, their largest |x| found), with the GIL released.
fn checked_inputs<'a, F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    data: TrainingSet<'a, F>,
) -> PyResult<TrainingSet<'a, F>> {
    slf.py()
        .detach(|| data.check_inputs(get_num_threads()))
        .py()
}

/// Checks the hyperparameters and the data (shapes, finiteness: once per call, not per epoch).
fn training_set<'a, F: Precision>(
    run: &Run<'_, '_>,
    x: &'a PyReadonlyArray2<'_, F>,
    y: &'a PyReadonlyArray2<'_, F>,
    weights: Option<&'a PyReadonlyArray1<'_, F>>,
) -> PyResult<TrainingSet<'a, F>> {
    check_options::<F>(run)?;
    checked_data(run.slf, x, y, weights, true)
}

fn check_batch_size(mini_batch_size: usize) -> PyResult<()> {
    if mini_batch_size == 0 {
        return Err(PyValueError::new_err(
            "mini_batch_size: must be a positive integer, got 0",
        ));
    }
    Ok(())
}

/// Checks a run's mini-batch size and options against the network.
fn check_options<F: Precision>(run: &Run<'_, '_>) -> PyResult<()> {
    check_batch_size(run.mini_batch_size)?;
    let n_in = F::model(&borrow(run.slf)?.engine)?.net.n_inputs();
    run.hyper.options(run.hyper.eta).check(n_in).py()
}

/// Checks the data's shapes against the network and its values (finite), with the GIL
/// released: the scan reads all of it. Without `inputs_now`, all but the inputs, which
/// training then checks as it gathers them (see `TrainingSet::checked_except_inputs`).
fn checked_data<'a, F: Precision>(
    slf: &Bound<'_, PyNetwork>,
    x: &'a PyReadonlyArray2<'_, F>,
    y: &'a PyReadonlyArray2<'_, F>,
    weights: Option<&'a PyReadonlyArray1<'_, F>>,
    inputs_now: bool,
) -> PyResult<TrainingSet<'a, F>> {
    let (n_in, n_out) = {
        let this = borrow(slf)?;
        let net = &F::model(&this.engine)?.net;
        (net.n_inputs(), net.n_outputs())
    };
    let (x, y) = (x.as_array(), y.as_array());
    let weights = weights.map(|w| w.as_array());
    slf.py()
        .detach(|| {
            let threads = get_num_threads();
            let data = if inputs_now {
                TrainingSet::checked_on(threads, x, y, n_in, n_out)?
            } else {
                TrainingSet::checked_except_inputs(threads, x, y, n_in, n_out)?
            };
            match weights {
                Some(w) => data.with_weights(w),
                None => Ok(data),
            }
        })
        .py()
}

/// Trains one epoch in slices of about 50 ms with the GIL released, checking for Ctrl-C and
/// reporting progress between slices. The network is borrowed only during a slice, so callbacks
/// may use it; after an interrupt or a refused step it holds the result of the last whole
/// mini-batch.
fn run_epoch<F: Precision>(
    run: &Run<'_, '_>,
    data: &TrainingSet<'_, F>,
    order: &[usize],
    eta: f64,
    epoch: Option<usize>,
    mut record: Option<&mut EpochLoss>,
) -> PyResult<()> {
    let py = run.slf.py();
    let batch_size = run.mini_batch_size;
    let options = run.hyper.options(eta);
    let total = batch_count(order.len(), batch_size);
    let mut next = 0;
    while next < total {
        {
            let mut guard = borrow_mut(run.slf)?;
            let this = &mut *guard;
            let rng = &mut this.rng;
            let rows = batch_size.min(order.len()).max(1);
            let (net, trainer) = F::model_mut(&mut this.engine)?.net_and_trainer(rows)?;
            let result = py.detach(|| {
                trainer.train_batches(
                    net,
                    data,
                    order,
                    batch_size,
                    &options,
                    rng,
                    next,
                    record.as_deref_mut(),
                    interrupt::until_slice_ends(),
                )
            });
            next = match result {
                Ok(next) => next,
                Err(Error::Diverged { batch, detail }) => {
                    return Err(diverged(epoch, batch, &detail))
                }
                Err(other) => return Err(other).py(),
            };
        }
        interrupt::check(py)?;
        if let Some(callback) = run.on_progress {
            callback.call1((next, total))?;
        }
    }
    Ok(())
}
