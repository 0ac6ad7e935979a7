//! Trains epochs of the book's network on synthetic MNIST-shaped data and prints the time per
//! epoch: a fixed workload for profilers (`perf record`, `valgrind --tool=callgrind`).
//!
//! `cargo run --release -p digitnet-core --example epoch -- [hidden] [batch] [epochs] [threads] [f32]`

use std::time::Instant;

use digitnet_core::{seeded, shuffled_order, Float, Network, TrainOptions, Trainer, TrainingSet};
use ndarray::Array2;

fn run<F: Float>(hidden: usize, batch: usize, epochs: usize, threads: usize) {
    let n = 50_000;
    let x = Array2::from_shape_fn((n, 784), |(i, j)| {
        F::from_f64(((i * 31 + j * 17) % 256) as f64 / 255.0)
    });
    let y = Array2::from_shape_fn((n, 10), |(i, j)| {
        F::from_f64(f64::from(u8::from(i % 10 == j)))
    });
    let mut rng = seeded(1);
    let mut net = Network::<F>::new(&[784, hidden, 10], &mut rng).expect("valid sizes");
    let data = TrainingSet::new(x.view(), y.view(), 784, 10).expect("valid data");
    let mut trainer = Trainer::new(&net, batch).expect("valid batch size");
    trainer.set_threads(threads);
    for epoch in 0..epochs {
        let order = shuffled_order(n, &mut rng);
        let start = Instant::now();
        trainer
            .train_epoch(&mut net, &data, &order, &TrainOptions::sgd(3.0), &mut rng)
            .expect("training runs");
        println!("epoch {epoch}: {:.4} s", start.elapsed().as_secs_f64());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (hidden, batch, epochs, threads) = (arg(0, 30), arg(1, 10), arg(2, 5), arg(3, 1));
    if args.get(4).is_some_and(|a| a == "f32") {
        run::<f32>(hidden, batch, epochs, threads);
    } else {
        run::<f64>(hidden, batch, epochs, threads);
    }
}
