use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2};

use crate::alloc::{try_zeros1, try_zeros2};
use crate::parallel::{for_each_chunk, SharedMut};
use crate::{Error, Float, Network, Result};

/// How a mini-batch's gradient moves the parameters. `g` below is the mean gradient of the
/// mini-batch plus, for weights, the L2 term `(λ/n)·w`; `η` is the learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// `w ← w − η·g`: network.py's and network2.py's update.
    Sgd,
    /// `v ← μ·v − η·g`, `w ← w + v` (the book's momentum-based gradient descent).
    Momentum { mu: f64 },
    /// Nesterov's momentum, in the usual form: `v ← μ·v − η·g`, `w ← w + μ·v − η·g`.
    Nesterov { mu: f64 },
    /// Adam (Kingma and Ba): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, then
    /// `w ← w − η·m̂/(√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)` (the paper's Algorithm 1),
    /// or, when `efficient`, the reordering of the paper's section 2 that scikit-learn computes:
    /// `η_t = η·√(1−β₂ᵗ)/(1−β₁ᵗ)`, `w ← w − η_t·m/(√v + ε)`.
    Adam {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        efficient: bool,
    },
}

impl Optimizer {
    /// Checks the hyperparameters.
    pub fn check(self) -> Result<()> {
        let unit = |what: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::invalid(what, "in [0, 1)", v))
            }
        };
        match self {
            Optimizer::Sgd => Ok(()),
            // μ = 1 (velocities that never decay) is odd but well defined; scikit-learn allows it.
            Optimizer::Momentum { mu } | Optimizer::Nesterov { mu } => {
                if (0.0..=1.0).contains(&mu) {
                    Ok(())
                } else {
                    Err(Error::invalid("momentum", "in [0, 1]", mu))
                }
            }
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                if epsilon.is_finite() && epsilon > 0.0 {
                    Ok(())
                } else {
                    Err(Error::invalid(
                        "epsilon",
                        "a positive finite number",
                        epsilon,
                    ))
                }
            }
        }
    }
}

/// One array per weight matrix and one per bias vector.
type Moments<F> = (Vec<Array2<F>>, Vec<Array1<F>>);

/// What an optimizer remembers, taken out of a trainer (to pickle it) or put back: the
/// optimizer it belongs to, the steps taken, and the first (velocities, or Adam's `m`) and
/// second (Adam's `v`) moments, one array per weight matrix and per bias vector; empty where
/// the optimizer keeps none.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerSnapshot<F> {
    pub optimizer: Optimizer,
    pub steps: u64,
    pub first_w: Vec<Array2<F>>,
    pub first_b: Vec<Array1<F>>,
    pub second_w: Vec<Array2<F>>,
    pub second_b: Vec<Array1<F>>,
}

/// What an optimizer remembers between steps: velocities or moment estimates, one array per
/// parameter array, and the number of steps taken.
#[derive(Debug, Clone)]
pub(crate) struct OptimizerState<F> {
    optimizer: Optimizer,
    first_w: Vec<Array2<F>>,
    first_b: Vec<Array1<F>>,
    second_w: Vec<Array2<F>>,
    second_b: Vec<Array1<F>>,
    steps: u64,
    /// Where a step's new parameters and moments go before [`OptimizerState::commit`] swaps
    /// them in: one pass computes and checks them, and a refused step changes nothing.
    next: Staged<F>,
}

/// New parameters and moments of a step in progress, shaped as the network's.
#[derive(Debug, Clone, Default)]
struct Staged<F> {
    w: Vec<Array2<F>>,
    b: Vec<Array1<F>>,
    first_w: Vec<Array2<F>>,
    first_b: Vec<Array1<F>>,
    second_w: Vec<Array2<F>>,
    second_b: Vec<Array1<F>>,
}

impl<F: Float> OptimizerState<F> {
    pub(crate) fn new(net: &Network<F>, optimizer: Optimizer) -> Result<Self> {
        let moments = |needed: bool| -> Result<Moments<F>> {
            if !needed {
                return Ok((Vec::new(), Vec::new()));
            }
            let w = net
                .weights()
                .iter()
                .map(|w| try_zeros2("optimizer state", w.nrows(), w.ncols()))
                .collect::<Result<_>>()?;
            let b = net
                .biases()
                .iter()
                .map(|b| try_zeros1("optimizer state", b.len()))
                .collect::<Result<_>>()?;
            Ok((w, b))
        };
        // Plain SGD steps inside its own kernel (`descend_sgd`): no moments, nothing staged.
        let keeps_first = optimizer != Optimizer::Sgd;
        let keeps_second = matches!(optimizer, Optimizer::Adam { .. });
        let (first_w, first_b) = moments(keeps_first)?;
        let (second_w, second_b) = moments(keeps_second)?;
        let (w, b) = moments(keeps_first)?;
        let (next_first_w, next_first_b) = moments(keeps_first)?;
        let (next_second_w, next_second_b) = moments(keeps_second)?;
        Ok(OptimizerState {
            optimizer,
            first_w,
            first_b,
            second_w,
            second_b,
            steps: 0,
            next: Staged {
                w,
                b,
                first_w: next_first_w,
                first_b: next_first_b,
                second_w: next_second_w,
                second_b: next_second_b,
            },
        })
    }

    pub(crate) fn optimizer(&self) -> Optimizer {
        self.optimizer
    }

    pub(crate) fn snapshot(&self) -> OptimizerSnapshot<F> {
        OptimizerSnapshot {
            optimizer: self.optimizer,
            steps: self.steps,
            first_w: self.first_w.clone(),
            first_b: self.first_b.clone(),
            second_w: self.second_w.clone(),
            second_b: self.second_b.clone(),
        }
    }

    /// The state of `snapshot`, checked against `net` and its optimizer: one moment array of
    /// each parameter's shape where the optimizer keeps that moment, none where it does not,
    /// every value finite (Adam's second moments also non-negative).
    pub(crate) fn restore(net: &Network<F>, snapshot: &OptimizerSnapshot<F>) -> Result<Self> {
        snapshot.optimizer.check()?;
        let mut state = OptimizerState::new(net, snapshot.optimizer)?;
        copy_moments("first_w", &mut state.first_w, &snapshot.first_w)?;
        copy_moments("second_w", &mut state.second_w, &snapshot.second_w)?;
        copy_moments("first_b", &mut state.first_b, &snapshot.first_b)?;
        copy_moments("second_b", &mut state.second_b, &snapshot.second_b)?;
        let negative = |a: &[F]| a.iter().any(|&v| v < F::zero());
        if state.second_w.iter().any(|a| negative(flat(a)))
            || state.second_b.iter().any(|a| negative(flat(a)))
        {
            return Err(Error::invalid(
                "optimizer state",
                "non-negative second moments",
                "a negative value",
            ));
        }
        state.steps = snapshot.steps;
        Ok(state)
    }

    /// Counts a step (Adam's bias correction needs the count).
    pub(crate) fn begin_step(&mut self) {
        self.steps += 1;
    }

    /// Takes back [`OptimizerState::begin_step`] after a refused step.
    pub(crate) fn cancel_step(&mut self) {
        self.steps -= 1;
    }

    /// Computes the new weights of layer `l` (and their moments) from the mean gradient `g`
    /// plus the L2 term `l2·w` (when `l2` is not 0) into the staged arrays; says whether every
    /// new value is finite.
    pub(crate) fn propose_weights(
        &mut self,
        l: usize,
        w: &Array2<F>,
        g: &Array2<F>,
        (eta, l2): (f64, f64),
        threads: usize,
    ) -> bool {
        // Decided on the f64 value, as the separate pass was: an `l2` that rounds to 0 in `F`
        // still adds its `fma(0, w, g)`.
        let at = (
            self.optimizer,
            self.steps,
            eta,
            (l2 != 0.0).then(|| F::from_f64(l2)),
        );
        let moments = [self.first_w.get(l), self.second_w.get(l)];
        let staged = [self.next.first_w.get_mut(l), self.next.second_w.get_mut(l)];
        propose(at, w, g, moments, &mut self.next.w[l], staged, threads)
    }

    /// As [`OptimizerState::propose_weights`], for the biases of layer `l`.
    pub(crate) fn propose_biases(
        &mut self,
        l: usize,
        b: &Array1<F>,
        g: &Array1<F>,
        eta: f64,
    ) -> bool {
        let at = (self.optimizer, self.steps, eta, None);
        let moments = [self.first_b.get(l), self.second_b.get(l)];
        let staged = [self.next.first_b.get_mut(l), self.next.second_b.get_mut(l)];
        propose(at, b, g, moments, &mut self.next.b[l], staged, 1)
    }

    /// Makes the proposed step the current one: the staged arrays and the parameters and
    /// moments trade places (no copy), so the old ones become the next step's staging.
    pub(crate) fn commit(&mut self, weights: &mut [Array2<F>], biases: &mut [Array1<F>]) {
        let next = &mut self.next;
        for (w, staged) in weights.iter_mut().zip(&mut next.w) {
            std::mem::swap(w, staged);
        }
        for (b, staged) in biases.iter_mut().zip(&mut next.b) {
            std::mem::swap(b, staged);
        }
        std::mem::swap(&mut self.first_w, &mut next.first_w);
        std::mem::swap(&mut self.first_b, &mut next.first_b);
        std::mem::swap(&mut self.second_w, &mut next.second_w);
        std::mem::swap(&mut self.second_b, &mut next.second_b);
    }
}

/// [`step`] on one parameter array `p` with its moments, into its staged arrays, cut into
/// chunks on up to `threads` threads (each element's operations do not depend on the cut).
fn propose<F: Float, D: ndarray::Dimension>(
    (optimizer, steps, eta, l2): (Optimizer, u64, f64, Option<F>),
    p: &ndarray::Array<F, D>,
    g: &ndarray::Array<F, D>,
    [first, second]: [Option<&ndarray::Array<F, D>>; 2],
    staged: &mut ndarray::Array<F, D>,
    [staged_first, staged_second]: [Option<&mut ndarray::Array<F, D>>; 2],
    threads: usize,
) -> bool {
    let (p, g) = (flat(p), flat(g));
    let (first, second) = (first.map(flat), second.map(flat));
    let out = SharedMut::new(flat_mut(staged));
    let out_first = staged_first.map(|a| SharedMut::new(flat_mut(a)));
    let out_second = staged_second.map(|a| SharedMut::new(flat_mut(a)));
    let finite = AtomicBool::new(true);
    for_each_chunk(threads, p.len(), &|range| {
        // SAFETY: the chunks are disjoint ranges of the staged arrays, which all have `p`'s
        // length, and no one else touches them during the job.
        let next = unsafe {
            Next {
                w: out.range(range.clone()),
                first: out_first.as_ref().map(|a| a.range(range.clone())),
                second: out_second.as_ref().map(|a| a.range(range.clone())),
            }
        };
        let ok = step(
            (optimizer, steps, eta, l2),
            &p[range.clone()],
            &g[range.clone()],
            first.map(|a| &a[range.clone()]),
            second.map(|a| &a[range.clone()]),
            next,
        );
        if !ok {
            finite.store(false, Ordering::Relaxed);
        }
    });
    finite.into_inner()
}

/// Where [`step`] writes the new parameters and moments (the moments the optimizer keeps).
pub(crate) struct Next<'a, F> {
    w: &'a mut [F],
    first: Option<&'a mut [F]>,
    second: Option<&'a mut [F]>,
}

/// One optimizer update of `w` by gradient `g + l2·w` (`g` alone when `l2` is `None`),
/// element by element, written to `next` (the inputs stay as they are, so a refused step
/// leaves nothing half done). Returns whether every new value is finite.
///
/// The L2 term is `fma(l2, w, g)`, the operation a pass of its own over `g` did before: here it
/// costs no extra pass over the weights and the gradient.
fn step<F: Float>(
    (optimizer, steps, eta, l2): (Optimizer, u64, f64, Option<F>),
    w: &[F],
    g: &[F],
    first: Option<&[F]>,
    second: Option<&[F]>,
    next: Next<'_, F>,
) -> bool {
    let eta_f = F::from_f64(eta);
    // `fma(0, w, g)` would turn a `g` of −0 into +0: without a term, `g` is used as it is.
    // Written out in each loop (a select, which vectorises): as a closure, it kept them scalar.
    let (has_l2, l2) = (l2.is_some(), l2.unwrap_or(F::zero()));
    match (optimizer, first, second, next) {
        (
            Optimizer::Momentum { mu } | Optimizer::Nesterov { mu },
            Some(v),
            _,
            Next {
                w: out_w,
                first: Some(out_v),
                ..
            },
        ) => {
            let mu = F::from_f64(mu);
            let nesterov = matches!(optimizer, Optimizer::Nesterov { .. });
            crate::kernels::vectorised(
                #[inline(always)]
                || {
                    let mut finite = true;
                    let outs = out_w.iter_mut().zip(out_v.iter_mut());
                    for (((out_w, out_v), &w), (&v, &g)) in outs.zip(w).zip(v.iter().zip(g)) {
                        let g = if has_l2 { l2.mul_add(w, g) } else { g };
                        let new_v = mu * v - eta_f * g;
                        let new_w = if nesterov {
                            w + mu * new_v - eta_f * g
                        } else {
                            w + new_v
                        };
                        // `&`, not `&&`: no branch, so the loop vectorises.
                        finite &= new_w.is_finite() & new_v.is_finite();
                        (*out_w, *out_v) = (new_w, new_v);
                    }
                    finite
                },
            )
        }
        (
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
                efficient,
            },
            Some(m),
            Some(v),
            Next {
                w: out_w,
                first: Some(out_m),
                second: Some(out_v),
            },
        ) => {
            let (b1, b2, eps) = (F::from_f64(beta1), F::from_f64(beta2), F::from_f64(epsilon));
            let (bias1, bias2) = (1.0 - power(beta1, steps), 1.0 - power(beta2, steps));
            // The efficient form folds both corrections into the rate, as scikit-learn does.
            let (rate, correct1, correct2) = if efficient {
                (eta * libm::sqrt(bias2) / bias1, 1.0, 1.0)
            } else {
                (eta, 1.0 / bias1, 1.0 / bias2)
            };
            let (rate, correct1, correct2) = (
                F::from_f64(rate),
                F::from_f64(correct1),
                F::from_f64(correct2),
            );
            crate::kernels::vectorised(
                #[inline(always)]
                || {
                    let mut finite = true;
                    let outs = out_w.iter_mut().zip(out_m.iter_mut()).zip(out_v.iter_mut());
                    let ins = w.iter().zip(m).zip(v).zip(g);
                    for (((out_w, out_m), out_v), (((&w, &m), &v), &g)) in outs.zip(ins) {
                        let g = if has_l2 { l2.mul_add(w, g) } else { g };
                        let new_m = b1 * m + (F::one() - b1) * g;
                        let new_v = b2 * v + (F::one() - b2) * g * g;
                        let new_w =
                            w - rate * (new_m * correct1) / ((new_v * correct2).sqrt() + eps);
                        finite &= new_w.is_finite() & new_m.is_finite() & new_v.is_finite();
                        (*out_w, *out_m, *out_v) = (new_w, new_m, new_v);
                    }
                    finite
                },
            )
        }
        // Plain SGD; also what a state without its arrays falls back to, which `new` never makes.
        (_, _, _, Next { w: out_w, .. }) => crate::kernels::vectorised(
            #[inline(always)]
            || {
                let mut finite = true;
                for ((out_w, &w), &g) in out_w.iter_mut().zip(w).zip(g) {
                    let g = if has_l2 { l2.mul_add(w, g) } else { g };
                    let new_w = w - eta_f * g;
                    finite &= new_w.is_finite();
                    *out_w = new_w;
                }
                finite
            },
        ),
    }
}

/// Copies saved moments into freshly made ones of the right shapes (`into` is empty when the
/// optimizer keeps no such moment, and then `from` must be too).
fn copy_moments<F: Float, D: ndarray::Dimension>(
    what: &str,
    into: &mut [ndarray::Array<F, D>],
    from: &[ndarray::Array<F, D>],
) -> Result<()> {
    if into.len() != from.len() {
        return Err(Error::invalid(
            &format!("optimizer state {what}"),
            &format!("{} arrays for this optimizer and network", into.len()),
            from.len(),
        ));
    }
    for (l, (into, from)) in into.iter_mut().zip(from).enumerate() {
        let what = format!("optimizer state {what}[{l}]");
        if into.shape() != from.shape() {
            return Err(Error::shape(
                &what,
                format!("{:?}", into.shape()),
                from.shape(),
            ));
        }
        crate::check_finite(&what, from)?;
        into.assign(from);
    }
    Ok(())
}

/// The elements of a parameter-shaped array (always in standard layout: the engine makes them).
fn flat<F, D: ndarray::Dimension>(a: &ndarray::Array<F, D>) -> &[F] {
    a.as_slice_memory_order()
        .expect("parameter arrays are contiguous")
}

fn flat_mut<F, D: ndarray::Dimension>(a: &mut ndarray::Array<F, D>) -> &mut [F] {
    a.as_slice_memory_order_mut()
        .expect("parameter arrays are contiguous")
}

/// `base^exponent` by repeated squaring, written out so that it is the same sequence of
/// multiplications everywhere (`powi` is left to the compiler's runtime library).
fn power(base: f64, mut exponent: u64) -> f64 {
    let (mut result, mut square) = (1.0, base);
    while exponent > 0 {
        if exponent & 1 == 1 {
            result *= square;
        }
        square *= square;
        exponent >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    /// One element-wise step into fresh outputs, copied back when every value is finite.
    fn both(
        optimizer: Optimizer,
        steps: u64,
        w: &mut Array1<f64>,
        g: &Array1<f64>,
        first: &mut Array1<f64>,
        second: &mut Array1<f64>,
    ) -> bool {
        let (mut w2, mut f2, mut s2) = (w.clone(), first.clone(), second.clone());
        let next = Next {
            w: flat_mut(&mut w2),
            first: Some(flat_mut(&mut f2)),
            second: Some(flat_mut(&mut s2)),
        };
        let (f, s) = (flat(first), flat(second));
        let ok = step(
            (optimizer, steps, 0.5, None),
            flat(w),
            flat(g),
            Some(f),
            Some(s),
            next,
        );
        if ok {
            (*w, *first, *second) = (w2, f2, s2);
        }
        ok
    }

    #[test]
    fn each_rule_is_its_formula_element_by_element() {
        let g = array![0.2, -1.0];
        let (mu, b1, b2, eps) = (0.9, 0.8, 0.99, 1e-8);
        let mut w = array![1.0, 2.0];
        let (mut v, mut unused) = (array![0.1, -0.1], array![0.0, 0.0]);
        assert!(both(
            Optimizer::Momentum { mu },
            1,
            &mut w,
            &g,
            &mut v,
            &mut unused
        ));
        let v_expected = array![mu * 0.1 - 0.5 * 0.2, mu * -0.1 + 0.5];
        assert_eq!(v, v_expected);
        assert_eq!(w, array![1.0 + v_expected[0], 2.0 + v_expected[1]]);

        let mut w = array![1.0, 2.0];
        let mut v = array![0.1, -0.1];
        assert!(both(
            Optimizer::Nesterov { mu },
            1,
            &mut w,
            &g,
            &mut v,
            &mut unused
        ));
        assert_eq!(
            w,
            array![
                1.0 + mu * v_expected[0] - 0.5 * 0.2,
                2.0 + mu * v_expected[1] + 0.5
            ]
        );

        let adam = Optimizer::Adam {
            beta1: b1,
            beta2: b2,
            epsilon: eps,
            efficient: false,
        };
        let mut w = array![1.0, 2.0];
        let (mut m, mut s) = (array![0.0, 0.0], array![0.0, 0.0]);
        assert!(both(adam, 1, &mut w, &g, &mut m, &mut s));
        // After one step from zero moments, m̂ = g and v̂ = g²: w moves by η·g/(|g| + ε).
        for i in 0..2 {
            let expected = [1.0, 2.0][i] - 0.5 * g[i] / (g[i].abs() + eps);
            assert!((w[i] - expected).abs() <= 1e-15, "{} vs {expected}", w[i]);
        }
    }

    #[test]
    fn efficient_adam_is_scikit_learns_formula() {
        // Two steps, so that the bias corrections differ from 1 and from each other.
        let (b1, b2, eps, eta) = (0.8, 0.99, 1e-3, 0.5);
        let adam = Optimizer::Adam {
            beta1: b1,
            beta2: b2,
            epsilon: eps,
            efficient: true,
        };
        let grads = [array![0.2, -1.0], array![0.05, 0.3]];
        let mut w = array![1.0, 2.0];
        let (mut m, mut v) = (array![0.0, 0.0], array![0.0, 0.0]);
        let mut expected_w = w.clone();
        let (mut em, mut ev) = (array![0.0, 0.0], array![0.0, 0.0]);
        for (t, g) in grads.iter().enumerate() {
            assert!(both(adam, t as u64 + 1, &mut w, g, &mut m, &mut v));
            // scikit-learn's AdamOptimizer._get_updates, written out.
            let t = t as i32 + 1;
            em = &em * b1 + g * (1.0 - b1);
            ev = &ev * b2 + &(g * g) * (1.0 - b2);
            let lr = eta * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
            expected_w = &expected_w - &(&em * lr / &(ev.mapv(f64::sqrt) + eps));
        }
        for i in 0..2 {
            assert!(
                (w[i] - expected_w[i]).abs() <= 1e-15,
                "{} vs {}",
                w[i],
                expected_w[i]
            );
        }
        // ε acts differently in the paper's form: the two must not agree here.
        let paper = Optimizer::Adam {
            beta1: b1,
            beta2: b2,
            epsilon: eps,
            efficient: false,
        };
        let mut w2 = array![1.0, 2.0];
        let (mut m2, mut v2) = (array![0.0, 0.0], array![0.0, 0.0]);
        for (t, g) in grads.iter().enumerate() {
            assert!(both(paper, t as u64 + 1, &mut w2, g, &mut m2, &mut v2));
        }
        assert!((w2[0] - w[0]).abs() > 1e-6);
        assert!(Optimizer::Momentum { mu: 1.0 }.check().is_ok());
        assert!(Optimizer::Nesterov { mu: 1.01 }.check().is_err());
    }

    /// The L2 term inside the step is `fma(l2, w, g)` exactly, the pass it replaced, whatever
    /// the optimizer.
    #[test]
    fn the_l2_term_inside_the_step_is_the_separate_pass() {
        let w = array![0.75, -3.5, 1e-300, 0.0, 2.0];
        let g = array![0.25, 1e-3, -0.0, -0.0, -7.0];
        let l2 = 0.3_f64;
        let with_term = Array1::from_iter(w.iter().zip(&g).map(|(&w, &g)| l2.mul_add(w, g)));
        let adam = Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            efficient: true,
        };
        for optimizer in [
            adam,
            Optimizer::Momentum { mu: 0.9 },
            Optimizer::Nesterov { mu: 0.5 },
        ] {
            let run = |grad: &Array1<f64>, l2: Option<f64>| {
                let (mut w2, mut f2, mut s2) = (
                    w.clone(),
                    array![0.1, 0.0, -0.2, 0.0, 1.0],
                    w.mapv(f64::abs),
                );
                let next = Next {
                    w: flat_mut(&mut w2),
                    first: Some(flat_mut(&mut f2)),
                    second: Some(flat_mut(&mut s2)),
                };
                let (f, s) = (array![0.1, 0.0, -0.2, 0.0, 1.0], w.mapv(f64::abs));
                assert!(step(
                    (optimizer, 3, 0.5, l2),
                    flat(&w),
                    flat(grad),
                    Some(flat(&f)),
                    Some(flat(&s)),
                    next
                ));
                [w2, f2, s2].map(|a| a.mapv(f64::to_bits))
            };
            assert_eq!(run(&g, Some(l2)), run(&with_term, None), "{optimizer:?}");
        }
    }

    #[test]
    fn a_step_that_would_overflow_is_reported_and_not_written() {
        let w = array![f64::MAX / 2.0, 1.0];
        let g = array![-f64::MAX, 0.0];
        let (v, s) = (array![0.0, 0.0], array![0.0, 0.0]);
        for optimizer in [Optimizer::Sgd, Optimizer::Momentum { mu: 0.5 }] {
            let (mut w2, mut v2, mut s2) = (w.clone(), v.clone(), s.clone());
            let next = Next {
                w: flat_mut(&mut w2),
                first: Some(flat_mut(&mut v2)),
                second: Some(flat_mut(&mut s2)),
            };
            let ok = step(
                (optimizer, 1, 1.0, None),
                flat(&w),
                flat(&g),
                Some(flat(&v)),
                Some(flat(&s)),
                next,
            );
            assert!(!ok, "{optimizer:?}");
        }
    }

    /// A refused step leaves the parameters and the moments as they were; a committed one
    /// moves them, and the staged arrays keep the old values for the next step to overwrite.
    #[test]
    fn descend_is_all_or_nothing_across_layers() {
        let mut rng = crate::seeded(3);
        let mut net = Network::<f64>::new(&[2, 3, 2], &mut rng).expect("a network");
        let adam = Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            efficient: false,
        };
        let mut state = OptimizerState::new(&net, adam).expect("a state");
        let before = (net.weights().to_vec(), net.biases().to_vec());
        let mut g_w: Vec<Array2<f64>> = net.weights().iter().map(|w| w.map(|_| 0.1)).collect();
        let g_b: Vec<Array1<f64>> = net.biases().iter().map(|b| b.map(|_| 0.1)).collect();
        // Layer 2's gradient overflows the step: nothing may change, layer 1 included.
        g_w[1][[0, 0]] = f64::INFINITY;
        state.begin_step();
        let ok = (0..2).all(|l| {
            state.propose_weights(l, &net.weights()[l], &g_w[l], (0.1, 0.0), 1)
                & state.propose_biases(l, &net.biases()[l], &g_b[l], 0.1)
        });
        assert!(!ok);
        state.cancel_step();
        assert_eq!((net.weights().to_vec(), net.biases().to_vec()), before);
        assert!(state.first_w.iter().all(|m| m.iter().all(|&v| v == 0.0)));
        assert_eq!(state.steps, 0);
        // A finite gradient: every layer moves by Adam's first step, η·sign(g).
        g_w[1][[0, 0]] = 0.1;
        state.begin_step();
        assert!((0..2).all(|l| {
            state.propose_weights(l, &net.weights()[l], &g_w[l], (0.1, 0.0), 1)
                & state.propose_biases(l, &net.biases()[l], &g_b[l], 0.1)
        }));
        let (weights, biases) = net.parameters_mut();
        state.commit(weights, biases);
        for (w, old) in net.weights().iter().zip(&before.0) {
            for (&a, &b) in w.iter().zip(old) {
                assert!((b - a - 0.1).abs() < 1e-6, "{a} from {b}");
            }
        }
        assert!(state
            .first_w
            .iter()
            .all(|m| m.iter().all(|&v| (v - 0.01).abs() < 1e-15)));
    }
}
