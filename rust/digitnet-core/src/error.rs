/// Everything that can go wrong in the engine. Each message names the argument at fault, because
/// it reaches Python users verbatim.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("sizes: a network needs at least 2 layers (input and output), got {0}")]
    TooFewLayers(usize),

    #[error("sizes: every layer needs at least one neuron, got {0:?}")]
    EmptyLayer(Vec<usize>),

    #[error("{what}: expected shape {expected}, got {actual}")]
    Shape {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{what}: contains a non-finite value (NaN or infinity) at index {index:?}")]
    NonFinite { what: String, index: Vec<usize> },

    #[error("{what}: is empty")]
    Empty { what: String },

    #[error("{what}: must be {requirement}, got {value}")]
    InvalidArgument {
        what: String,
        requirement: String,
        value: String,
    },

    #[error("{what}: needs {bytes} bytes, which cannot be allocated")]
    OutOfMemory { what: String, bytes: u128 },

    #[error(
        "training diverged at mini-batch {batch}: {detail}; the learning rate is probably too \
         large. The network keeps its parameters from before that mini-batch"
    )]
    Diverged { batch: usize, detail: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn shape(what: &str, expected: impl Into<String>, actual: &[usize]) -> Self {
        Error::Shape {
            what: what.to_owned(),
            expected: expected.into(),
            actual: format!("{actual:?}"),
        }
    }

    pub(crate) fn invalid(what: &str, requirement: &str, value: impl std::fmt::Display) -> Self {
        Error::InvalidArgument {
            what: what.to_owned(),
            requirement: requirement.to_owned(),
            value: value.to_string(),
        }
    }
}
