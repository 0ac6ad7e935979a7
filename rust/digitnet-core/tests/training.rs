//! Backprop against finite differences, and SGD against its definition.

use digitnet_core::{
    batch_count, seeded, shuffled_order, Error, Network, TrainOptions, Trainer, TrainingSet,
};
use ndarray::{Array2, Axis};

/// The quadratic cost summed over the batch: Σ_samples ½‖a_L − y‖².
fn cost(net: &Network<f64>, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let out = net.feedforward(x.view(), 1).expect("valid inputs");
    0.5 * (&out - y).mapv(|d| d * d).sum()
}

fn data(n: usize, n_in: usize, n_out: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((n, n_in), |(i, j)| {
        (seed as f64 + 1.3 * i as f64 + 0.7 * j as f64).sin()
    });
    let y = Array2::from_shape_fn((n, n_out), |(i, j)| {
        if (i + seed as usize) % n_out == j {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

#[test]
fn backprop_matches_finite_differences() {
    let sizes = [4, 5, 3, 2];
    let mut net = Network::<f64>::new(&sizes, &mut seeded(11)).unwrap();
    let (x, y) = data(6, 4, 2, 1);
    let mut trainer = Trainer::new(&net, 6).unwrap();
    let grads = trainer.backprop(&net, x.view(), y.view()).unwrap().clone();
    let h = 1e-6;
    for l in 0..sizes.len() - 1 {
        for ((i, j), &analytic) in grads.weights[l].indexed_iter() {
            let original = net.weights()[l][[i, j]];
            let mut w = net.weights()[l].clone();
            w[[i, j]] = original + h;
            net.set_weight(l, w.view()).unwrap();
            let up = cost(&net, &x, &y);
            w[[i, j]] = original - h;
            net.set_weight(l, w.view()).unwrap();
            let down = cost(&net, &x, &y);
            w[[i, j]] = original;
            net.set_weight(l, w.view()).unwrap();
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - analytic).abs() < 1e-8 * (1.0 + analytic.abs()),
                "w[{l}][{i},{j}]: {numeric} vs {analytic}"
            );
        }
        for (i, &analytic) in grads.biases[l].indexed_iter() {
            let mut b = net.biases()[l].clone();
            let original = b[i];
            b[i] = original + h;
            net.set_bias(l, b.view()).unwrap();
            let up = cost(&net, &x, &y);
            b[i] = original - h;
            net.set_bias(l, b.view()).unwrap();
            let down = cost(&net, &x, &y);
            b[i] = original;
            net.set_bias(l, b.view()).unwrap();
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - analytic).abs() < 1e-8 * (1.0 + analytic.abs()),
                "b[{l}][{i}]: {numeric} vs {analytic}"
            );
        }
    }
}

#[test]
fn batch_gradient_is_the_sum_of_per_sample_gradients() {
    let net = Network::<f64>::new(&[3, 4, 2], &mut seeded(2)).unwrap();
    let (x, y) = data(5, 3, 2, 3);
    let mut trainer = Trainer::new(&net, 5).unwrap();
    let batch = trainer.backprop(&net, x.view(), y.view()).unwrap().clone();
    let mut sum_w = [Array2::<f64>::zeros((4, 3)), Array2::<f64>::zeros((2, 4))];
    for i in 0..5 {
        let g = trainer
            .backprop(
                &net,
                x.select(Axis(0), &[i]).view(),
                y.select(Axis(0), &[i]).view(),
            )
            .unwrap();
        sum_w[0] += &g.weights[0];
        sum_w[1] += &g.weights[1];
    }
    for (l, (summed, batched)) in sum_w.iter().zip(&batch.weights).enumerate() {
        let diff = (summed - batched)
            .mapv(f64::abs)
            .fold(0.0_f64, |a, &b| a.max(b));
        assert!(diff < 1e-13, "layer {l}: {diff}");
    }
}

#[test]
fn update_mini_batch_steps_against_the_mean_gradient() {
    let mut net = Network::<f64>::new(&[3, 4, 2], &mut seeded(5)).unwrap();
    let (x, y) = data(4, 3, 2, 0);
    let mut trainer = Trainer::new(&net, 10).unwrap();
    let grads = trainer.backprop(&net, x.view(), y.view()).unwrap().clone();
    let before = net.clone();
    trainer
        .update_mini_batch(
            &mut net,
            x.view(),
            y.view(),
            &TrainOptions::sgd(3.0),
            1,
            &[],
        )
        .unwrap();
    // The weight step is added inside the matrix multiply that computes the gradient, so it
    // may round differently from network.py's separate subtraction, by an ulp or so.
    for l in 0..2 {
        let expected = &before.weights()[l] - &(&grads.weights[l] * (3.0 / 4.0));
        let diff = (&expected - &net.weights()[l]).mapv(f64::abs);
        assert!(diff.iter().all(|&d| d <= 1e-14), "layer {l}: {diff:?}");
        let expected_b = &before.biases()[l] - &(&grads.biases[l] * (3.0 / 4.0));
        assert_eq!(net.biases()[l], expected_b);
    }
    let cost_before = cost(&before, &x, &y);
    assert!(
        cost(&net, &x, &y) < cost_before,
        "one small step lowers the cost"
    );
}

#[test]
fn an_epoch_is_the_sequence_of_its_mini_batches() {
    let (x, y) = data(23, 3, 2, 4);
    let mut net = Network::<f64>::new(&[3, 5, 2], &mut seeded(8)).unwrap();
    let mut by_hand = net.clone();
    let order = shuffled_order(23, &mut seeded(1));
    let set = TrainingSet::new(x.view(), y.view(), 3, 2).unwrap();
    let mut trainer = Trainer::new(&net, 10).unwrap();
    trainer
        .train_epoch(
            &mut net,
            &set,
            &order,
            &TrainOptions::sgd(0.5),
            &mut seeded(0),
        )
        .unwrap();

    let mut hand_trainer = Trainer::new(&by_hand, 10).unwrap();
    for chunk in order.chunks(10) {
        let bx = x.select(Axis(0), chunk);
        let by = y.select(Axis(0), chunk);
        hand_trainer
            .update_mini_batch(
                &mut by_hand,
                bx.view(),
                by.view(),
                &TrainOptions::sgd(0.5),
                1,
                &[],
            )
            .unwrap();
    }
    assert_eq!(batch_count(23, 10), 3);
    assert_eq!(
        net, by_hand,
        "last mini-batch of 3 included, same arithmetic"
    );
}

#[test]
fn an_epoch_interrupted_and_resumed_equals_an_uninterrupted_one() {
    let (x, y) = data(50, 3, 2, 9);
    let set = TrainingSet::new(x.view(), y.view(), 3, 2).unwrap();
    let order = shuffled_order(50, &mut seeded(3));
    let start = Network::<f64>::new(&[3, 4, 2], &mut seeded(6)).unwrap();

    let mut whole = start.clone();
    Trainer::new(&whole, 4)
        .unwrap()
        .train_epoch(
            &mut whole,
            &set,
            &order,
            &TrainOptions::sgd(1.0),
            &mut seeded(0),
        )
        .unwrap();

    let mut pieces = start.clone();
    let mut trainer = Trainer::new(&pieces, 4).unwrap();
    let mut next = 0;
    let mut calls = 0;
    while next < batch_count(50, 4) {
        next = trainer
            .train_batches(
                &mut pieces,
                &set,
                &order,
                4,
                &TrainOptions::sgd(1.0),
                &mut seeded(0),
                next,
                None,
                |b| b % 3 != 0,
            )
            .unwrap();
        calls += 1;
    }
    assert!(calls > 1);
    assert_eq!(whole, pieces);
}

#[test]
fn training_is_reproducible_and_learns() {
    // XOR: needs the hidden layer, so it shows backprop reaches through it.
    let x = ndarray::array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = ndarray::array![[0.0], [1.0], [1.0], [0.0]];
    let run = |seed| {
        let mut rng = seeded(seed);
        let mut net = Network::<f64>::new(&[2, 4, 1], &mut rng).unwrap();
        let set = TrainingSet::new(x.view(), y.view(), 2, 1).unwrap();
        let mut trainer = Trainer::new(&net, 2).unwrap();
        for _ in 0..3000 {
            let order = shuffled_order(4, &mut rng);
            trainer
                .train_epoch(
                    &mut net,
                    &set,
                    &order,
                    &TrainOptions::sgd(2.0),
                    &mut seeded(0),
                )
                .unwrap();
        }
        net
    };
    let a = run(4);
    assert_eq!(a, run(4));
    let out = a.feedforward(x.view(), 1).unwrap();
    for (o, t) in out.iter().zip(y.iter()) {
        assert!((o - t).abs() < 0.2, "{out:?}");
    }
}

#[test]
fn bad_training_arguments_are_refused() {
    let mut net = Network::<f64>::new(&[3, 2], &mut seeded(0)).unwrap();
    let (x, y) = data(4, 3, 2, 0);
    assert!(matches!(
        Trainer::new(&net, 0),
        Err(Error::InvalidArgument { .. })
    ));
    let mut trainer = Trainer::new(&net, 2).unwrap();
    for eta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            trainer.update_mini_batch(
                &mut net,
                x.view(),
                y.view(),
                &TrainOptions::sgd(eta),
                1,
                &[]
            ),
            Err(Error::InvalidArgument { .. })
        ));
    }
    let set = TrainingSet::new(x.view(), y.view(), 3, 2).unwrap();
    assert!(matches!(
        trainer.train_epoch(
            &mut net,
            &set,
            &[0, 1, 2],
            &TrainOptions::sgd(1.0),
            &mut seeded(0)
        ),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        trainer.train_epoch(
            &mut net,
            &set,
            &[0, 1, 2, 4],
            &TrainOptions::sgd(1.0),
            &mut seeded(0)
        ),
        Err(Error::InvalidArgument { .. })
    ));
    let mut other = Network::<f64>::new(&[3, 3], &mut seeded(0)).unwrap();
    assert!(matches!(
        trainer.train_epoch(
            &mut other,
            &set,
            &[0, 1, 2, 3],
            &TrainOptions::sgd(1.0),
            &mut seeded(0)
        ),
        Err(Error::InvalidArgument { .. })
    ));
    let mut nan_x = x.clone();
    nan_x[[2, 1]] = f64::NAN;
    assert!(matches!(
        trainer.update_mini_batch(
            &mut net,
            nan_x.view(),
            y.view(),
            &TrainOptions::sgd(1.0),
            1,
            &[]
        ),
        Err(Error::NonFinite { .. })
    ));
}

#[test]
fn float32_tracks_float64() {
    let (x, y) = data(40, 6, 3, 2);
    let order = shuffled_order(40, &mut seeded(2));
    let mut n64 = Network::<f64>::new(&[6, 8, 3], &mut seeded(1)).unwrap();
    let mut n32 = Network::<f32>::new(&[6, 8, 3], &mut seeded(1)).unwrap();
    let (x32, y32) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
    let set64 = TrainingSet::new(x.view(), y.view(), 6, 3).unwrap();
    let set32 = TrainingSet::new(x32.view(), y32.view(), 6, 3).unwrap();
    Trainer::new(&n64, 5)
        .unwrap()
        .train_epoch(
            &mut n64,
            &set64,
            &order,
            &TrainOptions::sgd(0.5),
            &mut seeded(0),
        )
        .unwrap();
    Trainer::new(&n32, 5)
        .unwrap()
        .train_epoch(
            &mut n32,
            &set32,
            &order,
            &TrainOptions::sgd(0.5),
            &mut seeded(0),
        )
        .unwrap();
    let diff = (&n64.weights()[0] - &n32.weights()[0].mapv(f64::from))
        .mapv(f64::abs)
        .fold(0.0_f64, |a, &b| a.max(b));
    assert!(diff < 1e-4, "{diff}");
}
