use ndarray::{ArrayView1, ArrayView2, Dimension};

use crate::{Error, Float, Result};

/// Fails with `NonFinite` naming the first NaN or infinity in `array`.
///
/// A single NaN in the inputs would silently turn every parameter into NaN after one update, so
/// inputs are checked once, up front, where the error can still name the culprit.
pub fn check_finite<F: Float, D: Dimension>(
    what: &str,
    array: &ndarray::ArrayBase<impl ndarray::Data<Elem = F>, D>,
) -> Result<()> {
    if array
        .as_slice_memory_order()
        .is_some_and(crate::scan::all_finite)
    {
        return Ok(());
    }
    match array.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(flat) => Err(Error::NonFinite {
            what: what.to_owned(),
            index: unravel(flat, array.shape()),
        }),
    }
}

/// The largest |v| of a finite `array`; else `NonFinite`, as [`check_finite`]. One vectorised
/// pass when the array is contiguous: the sklearn estimators check their data every epoch.
fn checked_max_abs<F: Float>(what: &str, array: &ArrayView2<'_, F>, threads: usize) -> Result<f64> {
    if let Some(values) = array.as_slice() {
        if let Some(top) = crate::scan::finite_max_abs_on(values, threads) {
            return Ok(top.to_f64());
        }
    }
    check_finite(what, array)?;
    Ok(array.iter().fold(0.0_f64, |m, v| m.max(v.abs().to_f64())))
}

/// The multi-index of the `flat`-th element in logical (row-major) order.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &len) in shape.iter().enumerate().rev() {
        index[i] = flat % len;
        flat /= len;
    }
    index
}

/// Training inputs and targets, checked against a network: `x` is `(n, n_in)`, `y` is
/// `(n, n_out)`, both finite, `n > 0`. Holds views: the data set is never copied.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSet<'a, F> {
    x: ArrayView2<'a, F>,
    y: ArrayView2<'a, F>,
    /// Each sample's weight in the mean gradient and the loss, if not all 1.
    weights: Option<ArrayView1<'a, F>>,
    /// The largest |x|: with it, training proves that a step cannot overflow.
    x_max: f64,
    /// Whether `x` has been checked (and `x_max` found). A set made by
    /// [`TrainingSet::checked_except_inputs`] is not: training checks each mini-batch's
    /// inputs as it gathers them instead.
    inputs_checked: bool,
}

impl<'a, F: Float> TrainingSet<'a, F> {
    /// Checks shapes against the network's input and output sizes, and that every value is finite.
    pub fn new(
        x: ArrayView2<'a, F>,
        y: ArrayView2<'a, F>,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        Self::checked_on(1, x, y, n_in, n_out)
    }

    /// [`TrainingSet::new`], scanning the values on up to `threads` threads: a pass over a data
    /// set far larger than the caches, which scikit-learn-style training makes every epoch.
    pub fn checked_on(
        threads: usize,
        x: ArrayView2<'a, F>,
        y: ArrayView2<'a, F>,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        let set = Self::shaped(x, y, n_in, n_out)?.check_inputs(threads)?;
        checked_max_abs("training targets", &y, threads)?;
        Ok(set)
    }

    /// [`TrainingSet::checked_on`] without the pass over the inputs: shapes and targets are
    /// checked, and [`Trainer::train_batches`](crate::Trainer::train_batches) checks each
    /// mini-batch's inputs once gathered, where they are already in cache. The pass over all of
    /// `x` reads it from memory (314 MB for 50,000 MNIST images in float64: 18-34 ms here, up
    /// to a fifth of an epoch of the book's network); checked in the gather, a one-epoch call
    /// of the book's network took 0.87x the time on one thread and 0.95x on two.
    pub fn checked_except_inputs(
        threads: usize,
        x: ArrayView2<'a, F>,
        y: ArrayView2<'a, F>,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        let set = Self::shaped(x, y, n_in, n_out)?;
        if let Err(bad_target) = checked_max_abs("training targets", &y, threads) {
            // The error `checked_on` would give: the inputs' first, if they have one.
            set.check_inputs(threads)?;
            return Err(bad_target);
        }
        Ok(set)
    }

    /// The set, its shapes checked and its values not.
    fn shaped(
        x: ArrayView2<'a, F>,
        y: ArrayView2<'a, F>,
        n_in: usize,
        n_out: usize,
    ) -> Result<Self> {
        let (n, cols) = x.dim();
        if n == 0 {
            return Err(Error::Empty {
                what: "training data".into(),
            });
        }
        if cols != n_in {
            return Err(Error::shape(
                "training inputs",
                format!("(n, {n_in})"),
                x.shape(),
            ));
        }
        if y.dim() != (n, n_out) {
            return Err(Error::shape(
                "training targets",
                format!("({n}, {n_out})"),
                y.shape(),
            ));
        }
        Ok(TrainingSet {
            x,
            y,
            weights: None,
            x_max: f64::INFINITY,
            inputs_checked: false,
        })
    }

    /// The set with its inputs checked: every value finite (else `NonFinite`, naming the first
    /// in row-major order), and their largest |x| found.
    pub fn check_inputs(self, threads: usize) -> Result<Self> {
        if self.inputs_checked {
            return Ok(self);
        }
        let x_max = checked_max_abs("training inputs", &self.x, threads)?;
        Ok(self.inputs_known(x_max))
    }

    /// The set with its inputs taken as checked, their largest |x| being `x_max`: for a caller
    /// that has trained a whole epoch over every sample of an unchecked set, whose mini-batches
    /// [`Trainer::train_batches`](crate::Trainer::train_batches) checked as it gathered them
    /// (see [`Trainer::inputs_max`](crate::Trainer::inputs_max)).
    pub fn inputs_known(self, x_max: f64) -> Self {
        TrainingSet {
            x_max,
            inputs_checked: true,
            ..self
        }
    }

    /// Whether every input is known to be finite (see [`TrainingSet::checked_except_inputs`]).
    pub fn inputs_checked(&self) -> bool {
        self.inputs_checked
    }

    /// The same set with a weight for each sample (finite and non-negative): a sample of
    /// weight 2 counts as two copies of it, one of weight 0 not at all.
    pub fn with_weights(self, weights: ArrayView1<'a, F>) -> Result<Self> {
        if weights.len() != self.len() {
            return Err(Error::shape(
                "sample_weight",
                format!("({},), one weight per sample", self.len()),
                weights.shape(),
            ));
        }
        check_finite("sample_weight", &weights)?;
        if let Some(i) = weights.iter().position(|&w| w < F::zero()) {
            return Err(Error::invalid(
                &format!("sample_weight[{i}]"),
                "non-negative",
                weights[i],
            ));
        }
        Ok(TrainingSet {
            weights: Some(weights),
            ..self
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Always false: an empty set is refused by [`TrainingSet::new`].
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// The largest absolute value among the inputs; infinity while they are unchecked.
    pub fn max_abs(&self) -> f64 {
        self.x_max
    }

    pub(crate) fn inputs(&self) -> ArrayView2<'a, F> {
        self.x
    }

    pub(crate) fn targets(&self) -> ArrayView2<'a, F> {
        self.y
    }

    pub(crate) fn weights(&self) -> Option<ArrayView1<'a, F>> {
        self.weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn names_the_first_non_finite_value() {
        let a = array![[1.0, 2.0], [f64::NAN, 3.0]];
        assert_eq!(
            check_finite("x", &a),
            Err(Error::NonFinite {
                what: "x".into(),
                index: vec![1, 0]
            })
        );
        assert_eq!(
            check_finite("x", &array![1.0_f32, f32::INFINITY]).map_err(|e| e.to_string()),
            Err("x: contains a non-finite value (NaN or infinity) at index [1]".to_string())
        );
    }

    #[test]
    fn checks_shapes() {
        let x = Array2::<f64>::zeros((4, 3));
        let y = Array2::<f64>::zeros((4, 2));
        assert_eq!(
            TrainingSet::new(x.view(), y.view(), 3, 2)
                .map(|t| t.len())
                .ok(),
            Some(4)
        );
        assert!(matches!(
            TrainingSet::new(x.view(), y.view(), 5, 2),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            TrainingSet::new(x.view(), y.view(), 3, 3),
            Err(Error::Shape { .. })
        ));
        let set = TrainingSet::new(x.view(), y.view(), 3, 2).expect("valid shapes");
        let w = ndarray::array![1.0, 0.0, 2.5, 1.0];
        assert!(set.with_weights(w.view()).is_ok());
        assert!(matches!(
            set.with_weights(w.slice(ndarray::s![..3])),
            Err(Error::Shape { .. })
        ));
        let negative = ndarray::array![1.0, -0.5, 1.0, 1.0];
        assert!(matches!(
            set.with_weights(negative.view()),
            Err(Error::InvalidArgument { .. })
        ));
        let nan = ndarray::array![1.0, f64::NAN, 1.0, 1.0];
        assert!(matches!(
            set.with_weights(nan.view()),
            Err(Error::NonFinite { .. })
        ));
        let empty = Array2::<f64>::zeros((0, 3));
        let empty_y = Array2::<f64>::zeros((0, 2));
        assert!(matches!(
            TrainingSet::new(empty.view(), empty_y.view(), 3, 2),
            Err(Error::Empty { .. })
        ));
    }
}
