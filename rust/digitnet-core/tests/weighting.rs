//! What scikit-learn's MLPs need of the engine: weighted samples, the L2 term per mini-batch,
//! the epoch's loss record, the whole-set objective, and Glorot's initialisation; each checked
//! against its definition written out here.

use digitnet_core::{
    seeded, Activation, Cost, EpochLoss, Init, Network, Optimizer, TrainOptions, Trainer,
    TrainingSet,
};
use ndarray::{array, s, Array1, Array2};

fn data(n: usize, n_in: usize, n_out: usize) -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((n, n_in), |(i, j)| (1.3 * i as f64 + 0.7 * j as f64).sin());
    let y = Array2::from_shape_fn((n, n_out), |(i, j)| f64::from(u8::from(i % n_out == j)));
    (x, y)
}

fn net(sizes: &[usize], output: Activation, cost: Cost) -> Network<f64> {
    let mut layers = vec![Activation::Tanh; sizes.len() - 2];
    layers.push(output);
    Network::with_layers(sizes, &layers, cost, Init::Scaled, &mut seeded(7)).expect("valid")
}

/// One epoch over `(x, y)` in order, in mini-batches of `batch`, with optional weights.
fn epoch(
    net: &mut Network<f64>,
    x: &Array2<f64>,
    y: &Array2<f64>,
    weights: Option<&Array1<f64>>,
    batch: usize,
    options: &TrainOptions,
) -> EpochLoss {
    let mut set = TrainingSet::new(x.view(), y.view(), x.ncols(), y.ncols()).expect("valid");
    if let Some(w) = weights {
        set = set.with_weights(w.view()).expect("valid weights");
    }
    let order: Vec<usize> = (0..x.nrows()).collect();
    let mut trainer = Trainer::new(net, batch).expect("a trainer");
    let mut record = EpochLoss::default();
    trainer
        .train_batches(
            net,
            &set,
            &order,
            batch,
            options,
            &mut seeded(0),
            0,
            Some(&mut record),
            |_| true,
        )
        .expect("trains");
    record
}

fn assert_close(a: &Network<f64>, b: &Network<f64>, tolerance: f64) {
    for (wa, wb) in a.weights().iter().zip(b.weights()) {
        let d = (wa - wb).mapv(f64::abs).fold(0.0_f64, |m, &v| m.max(v));
        assert!(d <= tolerance, "weights differ by {d}");
    }
    for (ba, bb) in a.biases().iter().zip(b.biases()) {
        let d = (ba - bb).mapv(f64::abs).fold(0.0_f64, |m, &v| m.max(v));
        assert!(d <= tolerance, "biases differ by {d}");
    }
}

#[test]
fn a_weight_of_two_is_the_sample_twice_and_zero_is_no_sample() {
    let (x, y) = data(5, 3, 2);
    let start = net(&[3, 4, 2], Activation::Sigmoid, Cost::CrossEntropy);
    let adam = TrainOptions {
        optimizer: Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            efficient: true,
        },
        lmbda: 0.3,
        batch_l2: true,
        ..TrainOptions::sgd(0.01)
    };
    for options in [TrainOptions::sgd(0.5), adam] {
        // Weights (2, 0, 1, 1, 1) in one mini-batch against the rows (0, 0, 2, 3, 4).
        let mut weighted = start.clone();
        let w = array![2.0, 0.0, 1.0, 1.0, 1.0];
        let loss = epoch(&mut weighted, &x, &y, Some(&w), 5, &options);
        let rows = [0, 0, 2, 3, 4];
        let x2 = x.select(ndarray::Axis(0), &rows);
        let y2 = y.select(ndarray::Axis(0), &rows);
        let mut copied = start.clone();
        let plain = epoch(&mut copied, &x2, &y2, None, 5, &options);
        assert_close(&weighted, &copied, 1e-14);
        assert!((loss.data - plain.data).abs() <= 1e-14 * plain.data);
        assert!((loss.l2 - plain.l2).abs() <= 1e-14 * plain.l2.max(1e-300));
    }
}

#[test]
fn a_mini_batch_of_zero_weight_is_skipped() {
    let (x, y) = data(6, 3, 2);
    let start = net(&[3, 4, 2], Activation::Sigmoid, Cost::Quadratic);
    let mut weighted = start.clone();
    let w = array![1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    let loss = epoch(&mut weighted, &x, &y, Some(&w), 3, &TrainOptions::sgd(1.0));
    let mut first_half = start.clone();
    let x3 = x.slice(s![..3, ..]).to_owned();
    let y3 = y.slice(s![..3, ..]).to_owned();
    let plain = epoch(&mut first_half, &x3, &y3, None, 3, &TrainOptions::sgd(1.0));
    assert_eq!(weighted, first_half);
    assert_eq!(loss, plain);
}

#[test]
fn the_loss_record_and_batch_l2_are_their_definitions() {
    // Two mini-batches (4 rows, then 3), softmax with log-likelihood, λ per mini-batch.
    let (x, y) = data(7, 3, 3);
    let start = net(&[3, 5, 3], Activation::Softmax, Cost::LogLikelihood);
    let (eta, lmbda) = (0.2, 0.7);
    let options = TrainOptions {
        lmbda,
        batch_l2: true,
        ..TrainOptions::sgd(eta)
    };
    let mut trained = start.clone();
    let record = epoch(&mut trained, &x, &y, None, 4, &options);

    // By hand: each mini-batch's mean gradient plus (λ/m)·w, then w ← w − η·g.
    let mut by_hand = start.clone();
    let (mut data_sum, mut l2_sum) = (0.0, 0.0);
    for rows in [0..4, 4..7] {
        let m = rows.len() as f64;
        let xb = x.slice(s![rows.clone(), ..]).to_owned();
        let yb = y.slice(s![rows.clone(), ..]).to_owned();
        let out = by_hand.feedforward(xb.view(), 1).expect("valid");
        let loss: f64 = out
            .outer_iter()
            .zip(yb.outer_iter())
            .map(|(a, t)| -(0..3).map(|k| t[k] * a[k].ln()).sum::<f64>())
            .sum();
        let squares: f64 = by_hand
            .weights()
            .iter()
            .map(|w| w.mapv(|v| v * v).sum())
            .sum();
        data_sum += m * loss / m;
        l2_sum += m * squares / m;
        let grads = Trainer::new(&by_hand, 4)
            .expect("a trainer")
            .backprop(&by_hand, xb.view(), yb.view())
            .expect("valid")
            .clone();
        let weights: Vec<Array2<f64>> = (0..2)
            .map(|l| {
                let w = &by_hand.weights()[l];
                w - &((&grads.weights[l] / m + &(w * (lmbda / m))) * eta)
            })
            .collect();
        let biases: Vec<Array1<f64>> = (0..2)
            .map(|l| &by_hand.biases()[l] - &(&grads.biases[l] / m * eta))
            .collect();
        let views: Vec<_> = weights.iter().map(|w| w.view()).collect();
        by_hand.set_weights(&views).expect("finite");
        let views: Vec<_> = biases.iter().map(|b| b.view()).collect();
        by_hand.set_biases(&views).expect("finite");
    }
    assert_close(&trained, &by_hand, 1e-14);
    assert!((record.data - data_sum).abs() <= 1e-13 * data_sum);
    assert!((record.l2 - l2_sum).abs() <= 1e-13 * l2_sum);

    // Without batch_l2, λ is divided by the training set's size instead: another result.
    let mut per_set = start.clone();
    let options = TrainOptions {
        batch_l2: false,
        ..options
    };
    epoch(&mut per_set, &x, &y, None, 4, &options);
    assert_ne!(per_set, trained);
}

#[test]
fn the_objective_is_the_weighted_sum_over_all_rows_for_any_thread_count() {
    // More rows than one chunk, so that the sum crosses chunks.
    let (x, y) = data(4100, 3, 2);
    let w = Array1::from_shape_fn(4100, |i| (i % 3) as f64 * 0.5);
    let start = net(&[3, 6, 2], Activation::Identity, Cost::Quadratic);
    let set = TrainingSet::new(x.view(), y.view(), 3, 2)
        .and_then(|s| s.with_weights(w.view()))
        .expect("valid");
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let mut trainer = Trainer::new(&start, 1).expect("a trainer");
        trainer.set_threads(threads);
        let objective = trainer.objective(&start, &set).expect("valid");
        results.push((
            objective.loss,
            objective.total_weight,
            objective.gradients.clone(),
        ));
    }
    assert!(
        results.iter().all(|r| r == &results[0]),
        "threads changed the objective"
    );
    let (loss, total, grads) = &results[0];
    assert_eq!(*total, w.sum());
    // Against the definition: Σ w_i ½‖a_i − y_i‖², and the gradient as the weighted sum of
    // each row's own gradient.
    let out = start.feedforward(x.view(), 1).expect("valid");
    let expected: f64 = (0..4100)
        .map(|i| {
            let d = &out.row(i) - &y.row(i);
            w[i] * 0.5 * d.dot(&d)
        })
        .sum();
    assert!((loss - expected).abs() <= 1e-12 * expected);
    let mut trainer = Trainer::new(&start, 4100).expect("a trainer");
    let scaled_y = &y; // rows of weight w: gradient of w·cost is w·(gradient of cost)
    let mut sum_w: Vec<Array2<f64>> = grads.weights.iter().map(|g| g * 0.0).collect();
    for i in 0..4100 {
        if w[i] == 0.0 {
            continue;
        }
        let g = trainer
            .backprop(
                &start,
                x.slice(s![i..i + 1, ..]),
                scaled_y.slice(s![i..i + 1, ..]),
            )
            .expect("valid");
        for (total, g) in sum_w.iter_mut().zip(&g.weights) {
            *total = &*total + &(g * w[i]);
        }
    }
    for (a, b) in sum_w.iter().zip(&grads.weights) {
        let scale = b.mapv(f64::abs).fold(0.0_f64, |m, &v| m.max(v));
        let d = (a - b).mapv(f64::abs).fold(0.0_f64, |m, &v| m.max(v));
        assert!(
            d <= 1e-11 * scale,
            "weight gradients differ by {d} (scale {scale})"
        );
    }
}

#[test]
fn glorot_draws_within_its_bounds_from_the_seed() {
    let sizes = [30, 20, 4];
    let layers = [Activation::Relu, Activation::Softmax];
    let make = |factor: f64, seed: u64| {
        Network::<f64>::with_layers(
            &sizes,
            &layers,
            Cost::LogLikelihood,
            Init::Glorot { factor },
            &mut seeded(seed),
        )
    };
    let a = make(6.0, 3).expect("valid");
    assert_eq!(a, make(6.0, 3).expect("valid"));
    assert_ne!(a, make(6.0, 4).expect("valid"));
    for (l, (w, b)) in a.weights().iter().zip(a.biases()).enumerate() {
        let bound = (6.0 / (sizes[l] + sizes[l + 1]) as f64).sqrt();
        let all: Vec<f64> = w.iter().chain(b.iter()).copied().collect();
        assert!(
            all.iter().all(|v| v.abs() <= bound),
            "layer {l} out of bounds"
        );
        // Uniform on ±bound: the largest draw comes close to the bound, the mean near 0.
        let top = all.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            top > 0.9 * bound,
            "layer {l}: largest |draw| {top} of {bound}"
        );
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        assert!(mean.abs() < 0.1 * bound, "layer {l}: mean {mean}");
    }
    // Factor 2 shrinks every draw by √3, from the same uniform draws.
    let b = make(2.0, 3).expect("valid");
    let ratio = a.weights()[0][[0, 0]] / b.weights()[0][[0, 0]];
    assert!((ratio - 3.0_f64.sqrt()).abs() < 1e-12);
    assert!(make(0.0, 3).is_err() && make(f64::NAN, 3).is_err());
}
