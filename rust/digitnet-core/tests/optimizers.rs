//! One and two steps of momentum, Nesterov and Adam against the update rules written out by
//! hand, from the gradient the engine computes (itself checked against finite differences in
//! `gradients.rs`), with the L2 term; and the SGD step's overflow bound.

use digitnet_core::{seeded, Error, Network, Optimizer, TrainOptions, Trainer};
use ndarray::{Array2, ArrayD};

const SIZES: [usize; 3] = [3, 4, 2];
const ETA: f64 = 0.3;
const LMBDA: f64 = 2.0;
const N: usize = 50; // the size of the training set the mini-batch comes from

fn data() -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((5, 3), |(i, j)| (0.9 * i as f64 - 0.4 * j as f64).cos());
    let y = Array2::from_shape_fn((5, 2), |(i, j)| f64::from(u8::from(i % 2 == j)));
    (x, y)
}

/// Every parameter, weights then biases, each flattened.
fn flat(net: &Network<f64>) -> Vec<ArrayD<f64>> {
    let w = net.weights().iter().map(|w| w.clone().into_dyn());
    let b = net.biases().iter().map(|b| b.clone().into_dyn());
    w.chain(b).collect()
}

/// The mean gradient of the mini-batch plus the L2 term `(λ/n)·w` (biases have none).
fn mean_gradient(net: &Network<f64>, x: &Array2<f64>, y: &Array2<f64>) -> Vec<ArrayD<f64>> {
    let mut trainer = Trainer::new(net, x.nrows()).expect("a trainer");
    let grads = trainer
        .backprop(net, x.view(), y.view())
        .expect("valid data");
    let m = x.nrows() as f64;
    let layers = net.weights().len();
    let mut out = Vec::new();
    for l in 0..layers {
        out.push((&grads.weights[l] / m + &net.weights()[l] * (LMBDA / N as f64)).into_dyn());
    }
    for l in 0..layers {
        out.push((&grads.biases[l] / m).into_dyn());
    }
    out
}

/// What the engine's step gives, `steps` times on the same mini-batch with one trainer.
fn engine(optimizer: Optimizer, steps: usize) -> Network<f64> {
    let mut net = Network::<f64>::new(&SIZES, &mut seeded(5)).expect("a network");
    let (x, y) = data();
    let options = TrainOptions {
        lmbda: LMBDA,
        optimizer,
        ..TrainOptions::sgd(ETA)
    };
    let mut trainer = Trainer::new(&net, 5).expect("a trainer");
    for _ in 0..steps {
        trainer
            .update_mini_batch(&mut net, x.view(), y.view(), &options, N, &[])
            .expect("a finite step");
    }
    net
}

/// The same steps by the formulas, the gradient taken at each step's starting point.
fn by_hand(optimizer: Optimizer, steps: usize) -> Vec<ArrayD<f64>> {
    let mut net = Network::<f64>::new(&SIZES, &mut seeded(5)).expect("a network");
    let (x, y) = data();
    let mut w = flat(&net);
    let zeros = || {
        w.iter()
            .map(|p| ArrayD::zeros(p.raw_dim()))
            .collect::<Vec<_>>()
    };
    let (mut first, mut second) = (zeros(), zeros());
    for t in 1..=steps {
        let g = mean_gradient(&net, &x, &y);
        for i in 0..w.len() {
            match optimizer {
                Optimizer::Sgd => w[i] = &w[i] - &(&g[i] * ETA),
                Optimizer::Momentum { mu } => {
                    first[i] = &first[i] * mu - &g[i] * ETA; // v ← μv − ηg
                    w[i] = &w[i] + &first[i]; // w ← w + v
                }
                Optimizer::Nesterov { mu } => {
                    first[i] = &first[i] * mu - &g[i] * ETA; // v ← μv − ηg
                    w[i] = &w[i] + &(&first[i] * mu) - &g[i] * ETA; // w ← w + μv − ηg
                }
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                    efficient,
                } => {
                    first[i] = &first[i] * beta1 + &g[i] * (1.0 - beta1);
                    second[i] = &second[i] * beta2 + &g[i].mapv(|v| v * v) * (1.0 - beta2);
                    let (c1, c2) = (1.0 - beta1.powi(t as i32), 1.0 - beta2.powi(t as i32));
                    w[i] = if efficient {
                        // scikit-learn: lr_t = η√(1−β₂ᵗ)/(1−β₁ᵗ), w ← w − lr_t·m/(√v + ε)
                        let lr = ETA * c2.sqrt() / c1;
                        &w[i] - &(&first[i] * lr / &(second[i].mapv(f64::sqrt) + epsilon))
                    } else {
                        let m_hat = &first[i] / c1;
                        let v_hat = &second[i] / c2;
                        &w[i] - &(m_hat / (v_hat.mapv(f64::sqrt) + epsilon) * ETA)
                    };
                }
            }
        }
        let layers = net.weights().len();
        for l in 0..layers {
            let shape = net.weights()[l].raw_dim();
            let weights = w[l]
                .clone()
                .into_shape_with_order(shape)
                .expect("its own shape");
            net.set_weight(l, weights.view()).expect("finite");
            let biases = w[layers + l].clone().into_dimensionality().expect("1-D");
            net.set_bias(l, biases.view()).expect("finite");
        }
    }
    w
}

fn assert_agree(optimizer: Optimizer, steps: usize) {
    let ours = flat(&engine(optimizer, steps));
    let start = flat(&Network::<f64>::new(&SIZES, &mut seeded(5)).expect("a network"));
    let theirs = by_hand(optimizer, steps);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let scale = b.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let error = (a - b).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            error <= 1e-13 * scale,
            "{optimizer:?}, {steps} steps, parameter array {i}: error {error:e}, scale {scale:e}"
        );
        // The step moved the parameters: agreement is not both standing still.
        let moved = (a - &start[i]).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            moved > 1e-6,
            "{optimizer:?}: parameter array {i} did not move"
        );
    }
}

const OPTIMIZERS: [Optimizer; 5] = [
    Optimizer::Sgd,
    Optimizer::Momentum { mu: 0.9 },
    Optimizer::Nesterov { mu: 0.8 },
    Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        efficient: false,
    },
    Optimizer::Adam {
        beta1: 0.8,
        beta2: 0.99,
        epsilon: 1e-3,
        efficient: true,
    },
];

#[test]
fn one_step_of_each_optimizer_is_its_formula() {
    for optimizer in OPTIMIZERS {
        assert_agree(optimizer, 1);
    }
}

#[test]
fn a_second_step_uses_the_remembered_velocity_or_moments() {
    for optimizer in OPTIMIZERS {
        assert_agree(optimizer, 2);
    }
    // Momentum's second step differs from plain SGD's: the velocity carried over.
    let sgd = flat(&engine(Optimizer::Sgd, 2));
    let momentum = flat(&engine(Optimizer::Momentum { mu: 0.9 }, 2));
    assert!(sgd.iter().zip(&momentum).any(|(a, b)| a != b));
}

// ---- the SGD step's overflow bound ----------------------------------------------------------

/// The parameters of an f32 network, for comparing before and after a step.
fn parameters32(net: &Network<f32>) -> Vec<ArrayD<f32>> {
    let w = net.weights().iter().map(|w| w.clone().into_dyn());
    let b = net.biases().iter().map(|b| b.clone().into_dyn());
    w.chain(b).collect()
}

#[test]
fn the_sgd_step_is_refused_exactly_when_its_bound_cannot_rule_out_overflow() {
    // In f32 the largest float is ~3.4e38: steps of growing η cross from finite to overflowing.
    // Every step is either taken, leaving every parameter finite, or refused as divergence,
    // leaving every parameter as it was; both happen.
    let x = Array2::from_shape_fn((8, 3), |(i, j)| {
        (1.1 * i as f32 + 0.3 * j as f32).sin() * 4.0
    });
    let y = Array2::from_shape_fn((8, 2), |(i, j)| f32::from(u8::from(i % 2 == j)));
    let (mut taken, mut refused) = (0, 0);
    for exponent in 0..80 {
        let eta = 10f64.powf(f64::from(exponent) / 2.0);
        let mut net = Network::<f32>::new(&SIZES, &mut seeded(9)).expect("a network");
        let before = parameters32(&net);
        let mut trainer = Trainer::new(&net, 8).expect("a trainer");
        let result = trainer.update_mini_batch(
            &mut net,
            x.view(),
            y.view(),
            &TrainOptions::sgd(eta),
            8,
            &[],
        );
        let after = parameters32(&net);
        match result {
            Ok(()) => {
                // Once refused, larger steps are refused too: the bound grows with η.
                assert_eq!(
                    refused, 0,
                    "eta {eta:e} taken after a smaller one was refused"
                );
                taken += 1;
                assert!(
                    after.iter().all(|p| p.iter().all(|v| v.is_finite())),
                    "eta {eta:e}"
                );
                assert_ne!(after, before, "eta {eta:e}: a taken step changed nothing");
            }
            Err(Error::Diverged { .. }) => {
                refused += 1;
                assert_eq!(
                    after, before,
                    "a refused step changed the network (eta {eta:e})"
                );
            }
            Err(other) => panic!("eta {eta:e}: unexpected error {other}"),
        }
    }
    assert!(taken > 0 && refused > 0, "taken {taken}, refused {refused}");
}

/// A trainer continued from another's saved optimizer state takes the very step the other
/// takes, for every optimizer; a state that does not fit the network or the optimizer is an
/// error, not a silent restart.
#[test]
fn a_restored_optimizer_state_continues_exactly() {
    let (x, y) = data();
    for optimizer in OPTIMIZERS {
        let options = TrainOptions {
            lmbda: LMBDA,
            optimizer,
            ..TrainOptions::sgd(ETA)
        };
        let mut net = Network::<f64>::new(&SIZES, &mut seeded(5)).expect("a network");
        let mut trainer = Trainer::new(&net, 5).expect("a trainer");
        for _ in 0..2 {
            trainer
                .update_mini_batch(&mut net, x.view(), y.view(), &options, N, &[])
                .expect("a finite step");
        }
        let saved = trainer.optimizer_state();
        let mut copy = net.clone();
        let mut fresh = Trainer::new(&copy, 2).expect("a trainer");
        fresh
            .restore_optimizer(&copy, &saved)
            .expect("a fitting state");
        assert_eq!(fresh.optimizer_state(), saved);
        for (t, n) in [(&mut trainer, &mut net), (&mut fresh, &mut copy)] {
            t.update_mini_batch(n, x.view(), y.view(), &options, N, &[])
                .expect("a finite step");
        }
        assert_eq!(flat(&net), flat(&copy), "{optimizer:?}");
        // Without the state, the third step differs (except for SGD, which keeps none).
        if optimizer != Optimizer::Sgd {
            let mut restarted = Network::<f64>::new(&SIZES, &mut seeded(5)).expect("a network");
            let mut t = Trainer::new(&restarted, 5).expect("a trainer");
            for _ in 0..2 {
                t.update_mini_batch(&mut restarted, x.view(), y.view(), &options, N, &[])
                    .expect("a finite step");
            }
            t.reset_optimizer(&restarted).expect("a reset");
            t.update_mini_batch(&mut restarted, x.view(), y.view(), &options, N, &[])
                .expect("a finite step");
            assert_ne!(flat(&net), flat(&restarted), "{optimizer:?}");
        }
        // A state for other sizes, or with a moment missing, is refused.
        let other = Network::<f64>::new(&[3, 5, 2], &mut seeded(1)).expect("a network");
        let mut t = Trainer::new(&other, 1).expect("a trainer");
        if optimizer != Optimizer::Sgd {
            assert!(t.restore_optimizer(&other, &saved).is_err());
            let mut broken = saved.clone();
            broken.first_w.pop();
            assert!(fresh.restore_optimizer(&copy, &broken).is_err());
            let mut nan = saved.clone();
            nan.first_b[0][0] = f64::NAN;
            assert!(fresh.restore_optimizer(&copy, &nan).is_err());
        }
    }
}

/// A step whose errors are not finite is refused, naming the layer, and changes nothing, on one
/// thread and on two: a mini-batch of 20 rows of a 2,000-unit layer is checked in two parts.
#[test]
fn non_finite_errors_are_refused_on_any_thread_count() {
    use digitnet_core::{Activation, Cost, Init};
    let x = Array2::from_shape_fn((20, 3), |(i, j)| 1e150 * (1.0 + (i * 3 + j) as f64));
    let y = Array2::from_shape_fn((20, 2), |(i, j)| f64::from(u8::from(i % 2 == j)));
    for threads in [1, 2] {
        let mut net = Network::<f64>::with_layers(
            &[3, 2000, 2],
            &[Activation::Relu, Activation::Identity],
            Cost::Quadratic,
            Init::Large,
            &mut seeded(4),
        )
        .expect("a network");
        // Weights of 1e200 on inputs of 1e150: the hidden layer's sums overflow to infinity.
        let huge = Array2::from_elem((2000, 3), 1e200);
        net.set_weight(0, huge.view()).expect("finite weights");
        let before: Vec<_> = net.weights().to_vec();
        let mut trainer = Trainer::new(&net, 20).expect("a trainer");
        trainer.set_threads(threads);
        let result = trainer.update_mini_batch(
            &mut net,
            x.view(),
            y.view(),
            &TrainOptions::sgd(0.1),
            20,
            &[],
        );
        match result {
            Err(Error::Diverged { detail, .. }) => {
                assert!(
                    detail.contains("is not finite"),
                    "{threads} threads: {detail}"
                );
            }
            other => panic!("{threads} threads: expected divergence, got {other:?}"),
        }
        assert_eq!(net.weights(), &before[..], "{threads} threads");
    }
}
