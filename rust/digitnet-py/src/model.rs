use digitnet_core::{Float, Init, Network, OptimizerSnapshot, SeededRng, Trainer};
use numpy::Element;
use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;

use crate::errors::IntoPyResult;

/// What training changes ([`Model::progress`]), with the RNG of the network it belongs to.
pub(crate) type Start<F> = ((Network<F>, Option<OptimizerSnapshot<F>>), SeededRng);

/// A network in one precision with the trainer that last trained it.
#[derive(Clone)]
pub(crate) struct Model<F> {
    pub(crate) net: Network<F>,
    trainer: Option<Trainer<F>>,
}

impl<F: Float> Model<F> {
    pub(crate) fn new(net: Network<F>) -> Self {
        Model { net, trainer: None }
    }

    /// The network and its trainer, made on first use (with buffers for `batch_size` samples,
    /// which grow when needed) and kept, with the optimizer's state, from call to call.
    pub(crate) fn net_and_trainer(
        &mut self,
        batch_size: usize,
    ) -> PyResult<(&mut Network<F>, &mut Trainer<F>)> {
        let trainer = match self.trainer.take() {
            Some(trainer) => trainer,
            None => Trainer::new(&self.net, batch_size.max(1)).py()?,
        };
        let trainer = self.trainer.insert(trainer);
        trainer.set_threads(crate::threads::get_num_threads());
        Ok((&mut self.net, trainer))
    }

    /// Redraws the parameters; a fresh start forgets the optimizer's state too.
    pub(crate) fn reinitialize(&mut self, init: Init, rng: &mut SeededRng) {
        self.net.initialize(init, rng);
        self.trainer = None;
    }

    /// The trainer, if the network has trained.
    pub(crate) fn trainer(&self) -> Option<&Trainer<F>> {
        self.trainer.as_ref()
    }

    /// What training changes: the parameters and the optimizer's state (not the trainer's
    /// buffers, which hold a whole mini-batch and are rewritten before they are read).
    pub(crate) fn progress(&self) -> (Network<F>, Option<OptimizerSnapshot<F>>) {
        let optimizer = self.trainer.as_ref().map(Trainer::optimizer_state);
        (self.net.clone(), optimizer)
    }

    /// Goes back to what [`Model::progress`] returned.
    pub(crate) fn go_back(
        &mut self,
        (net, optimizer): (Network<F>, Option<OptimizerSnapshot<F>>),
    ) -> PyResult<()> {
        self.net = net;
        match (&mut self.trainer, optimizer) {
            (Some(trainer), Some(state)) => trainer.restore_optimizer(&self.net, &state).py()?,
            // The trainer was made after `progress`: a new one would start afresh too.
            (trainer, None) => *trainer = None,
            (None, Some(_)) => {}
        }
        Ok(())
    }

    /// Forgets the optimizer's state (velocities, moments).
    pub(crate) fn reset_optimizer(&mut self) -> PyResult<()> {
        if let Some(trainer) = &mut self.trainer {
            trainer.reset_optimizer(&self.net).py()?;
        }
        Ok(())
    }
}

/// The network in whichever precision it was made.
#[derive(Clone)]
pub(crate) enum Engine {
    F64(Model<f64>),
    F32(Model<f32>),
}

/// Which precision an [`Engine`] computes in, without borrowing it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    F64,
    F32,
}

impl Engine {
    pub(crate) fn kind(&self) -> Dtype {
        match self {
            Engine::F64(_) => Dtype::F64,
            Engine::F32(_) => Dtype::F32,
        }
    }

    pub(crate) fn dtype(&self) -> &'static str {
        match self {
            Engine::F64(_) => f64::NAME,
            Engine::F32(_) => f32::NAME,
        }
    }
}

/// The float types the binding exposes, with access to the engine's model of that type.
pub(crate) trait Precision: Float + Element {
    /// NumPy's name for the type.
    const NAME: &'static str;
    fn model(engine: &Engine) -> PyResult<&Model<Self>>;
    fn model_mut(engine: &mut Engine) -> PyResult<&mut Model<Self>>;
}

fn wrong_precision(engine: &Engine) -> pyo3::PyErr {
    PyRuntimeError::new_err(format!(
        "internal error: the network is {}; please report this as a bug",
        engine.dtype()
    ))
}

impl Precision for f64 {
    const NAME: &'static str = "float64";
    fn model(engine: &Engine) -> PyResult<&Model<f64>> {
        match engine {
            Engine::F64(m) => Ok(m),
            other => Err(wrong_precision(other)),
        }
    }
    fn model_mut(engine: &mut Engine) -> PyResult<&mut Model<f64>> {
        match engine {
            Engine::F64(m) => Ok(m),
            other => Err(wrong_precision(other)),
        }
    }
}

impl Precision for f32 {
    const NAME: &'static str = "float32";
    fn model(engine: &Engine) -> PyResult<&Model<f32>> {
        match engine {
            Engine::F32(m) => Ok(m),
            other => Err(wrong_precision(other)),
        }
    }
    fn model_mut(engine: &mut Engine) -> PyResult<&mut Model<f32>> {
        match engine {
            Engine::F32(m) => Ok(m),
            other => Err(wrong_precision(other)),
        }
    }
}
