//! Backprop against finite differences of a cost computed here, independently of the engine:
//! a forward pass, the activations and the four costs written out from their definitions, for
//! every hidden activation with every output/cost pairing, with and without dropout masks.

use digitnet_core::{seeded, Activation, Cost, Init, Network, Trainer};
use ndarray::{Array1, Array2, Axis};

const SIZES: [usize; 4] = [4, 5, 3, 3];
const SAMPLES: usize = 6;
const KEEP: f64 = 0.6;
const H: f64 = 1e-6;

fn activate(name: Activation, z: &Array2<f64>) -> Array2<f64> {
    match name {
        Activation::Sigmoid => z.mapv(|v| 1.0 / (1.0 + (-v).exp())),
        Activation::Tanh => z.mapv(f64::tanh),
        Activation::Relu => z.mapv(|v| v.max(0.0)),
        Activation::Identity => z.clone(),
        Activation::Exp => z.mapv(f64::exp),
        Activation::Softmax => {
            let mut out = z.clone();
            for mut row in out.axis_iter_mut(Axis(0)) {
                let top = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                row.mapv_inplace(|v| (v - top).exp());
                let total = row.sum();
                row.mapv_inplace(|v| v / total);
            }
            out
        }
    }
}

/// The cost summed over the samples, with the hidden activations multiplied by `masks`; and
/// the smallest |z| of a ReLU layer (where the cost has a kink).
fn cost(
    weights: &[Array2<f64>],
    biases: &[Array1<f64>],
    layers: &[Activation],
    kind: Cost,
    x: &Array2<f64>,
    y: &Array2<f64>,
    masks: &[Array2<f64>],
) -> (f64, f64) {
    let mut a = x.clone();
    let mut nearest_kink = f64::INFINITY;
    for (l, ((w, b), &name)) in weights.iter().zip(biases).zip(layers).enumerate() {
        let z = a.dot(&w.t()) + b;
        if name == Activation::Relu {
            nearest_kink = z.fold(nearest_kink, |m, v| m.min(v.abs()));
        }
        a = activate(name, &z);
        if let Some(mask) = masks.get(l) {
            a *= mask;
        }
    }
    let total = match kind {
        Cost::Quadratic => 0.5 * (&a - y).mapv(|d| d * d).sum(),
        Cost::CrossEntropy => a
            .iter()
            .zip(y)
            .map(|(&a, &y)| -(y * a.ln() + (1.0 - y) * (1.0 - a).ln()))
            .sum(),
        Cost::LogLikelihood => a.iter().zip(y).map(|(&a, &y)| -y * a.ln()).sum(),
        Cost::Poisson => a
            .iter()
            .zip(y)
            .map(|(&a, &y)| if y > 0.0 { y * (y / a).ln() } else { 0.0 } - y + a)
            .sum(),
    };
    (total, nearest_kink)
}

fn data(seed: u64) -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_fn((SAMPLES, SIZES[0]), |(i, j)| {
        (seed as f64 * 0.37 + 1.3 * i as f64 + 0.7 * j as f64).sin()
    });
    let n_out = SIZES[SIZES.len() - 1];
    let y = Array2::from_shape_fn((SAMPLES, n_out), |(i, j)| {
        f64::from(u8::from(i % n_out == j))
    });
    (x, y)
}

/// Dropout masks for the hidden layers: `0` or `1/keep`, in a fixed pattern.
fn masks() -> Vec<Array2<f64>> {
    SIZES[1..SIZES.len() - 1]
        .iter()
        .enumerate()
        .map(|(l, &n)| {
            Array2::from_shape_fn((SAMPLES, n), |(i, j)| {
                if (3 * i + 5 * j + l) % 5 < 3 {
                    1.0 / KEEP
                } else {
                    0.0
                }
            })
        })
        .collect()
}

/// Central differences of the independent cost against the engine's gradient, every weight
/// and bias; returns how many parameters were compared.
fn check(hidden: Activation, output: Activation, kind: Cost, dropout: bool) -> usize {
    let masks = if dropout { masks() } else { Vec::new() };
    let mut layers = vec![hidden; SIZES.len() - 2];
    layers.push(output);
    // A seed whose inputs keep every ReLU away from its kink by far more than the step h.
    let (mut net, x, y) = (0..100)
        .find_map(|seed| {
            let net =
                Network::<f64>::with_layers(&SIZES, &layers, kind, Init::Scaled, &mut seeded(seed))
                    .expect("a valid architecture");
            let (x, y) = data(seed);
            let (_, kink) = cost(net.weights(), net.biases(), &layers, kind, &x, &y, &masks);
            (kink > 1e-3).then_some((net, x, y))
        })
        .expect("some seed keeps the ReLUs away from their kinks");
    let views: Vec<_> = masks.iter().map(|m| m.view()).collect();
    let mut trainer = Trainer::new(&net, SAMPLES).expect("a trainer");
    let grads = trainer
        .backprop_masked(&net, x.view(), y.view(), &views)
        .expect("valid data")
        .clone();
    let at =
        |net: &Network<f64>| cost(net.weights(), net.biases(), &layers, kind, &x, &y, &masks).0;
    // Central differences carry a rounding error of about ε·|cost|/h besides their O(h²)
    // truncation: it dominates when exp outputs make the cost large.
    let base = at(&net);
    let rounding = 4.0 * f64::EPSILON * base.abs() / H;
    let close = |numeric: f64, analytic: f64, what: &str| {
        assert!(
            (numeric - analytic).abs() <= 1e-7 * (1.0 + analytic.abs()) + rounding,
            "{hidden:?}/{output:?}/{kind:?}, dropout {dropout}, {what}: finite differences \
             {numeric}, backprop {analytic} (cost {base}, rounding bound {rounding})"
        );
    };
    let mut compared = 0;
    for l in 0..SIZES.len() - 1 {
        for ((i, j), &analytic) in grads.weights[l].indexed_iter() {
            let mut w = net.weights()[l].clone();
            let original = w[[i, j]];
            w[[i, j]] = original + H;
            net.set_weight(l, w.view()).expect("finite");
            let up = at(&net);
            w[[i, j]] = original - H;
            net.set_weight(l, w.view()).expect("finite");
            let down = at(&net);
            w[[i, j]] = original;
            net.set_weight(l, w.view()).expect("finite");
            close(
                (up - down) / (2.0 * H),
                analytic,
                &format!("w[{l}][{i},{j}]"),
            );
            compared += 1;
        }
        for (i, &analytic) in grads.biases[l].indexed_iter() {
            let mut b = net.biases()[l].clone();
            let original = b[i];
            b[i] = original + H;
            net.set_bias(l, b.view()).expect("finite");
            let up = at(&net);
            b[i] = original - H;
            net.set_bias(l, b.view()).expect("finite");
            let down = at(&net);
            b[i] = original;
            net.set_bias(l, b.view()).expect("finite");
            close((up - down) / (2.0 * H), analytic, &format!("b[{l}][{i}]"));
            compared += 1;
        }
    }
    compared
}

/// Every output layer and cost the engine accepts together.
const PAIRINGS: [(Activation, Cost); 8] = [
    (Activation::Sigmoid, Cost::Quadratic),
    (Activation::Tanh, Cost::Quadratic),
    (Activation::Relu, Cost::Quadratic),
    (Activation::Identity, Cost::Quadratic),
    (Activation::Exp, Cost::Quadratic),
    (Activation::Sigmoid, Cost::CrossEntropy),
    (Activation::Softmax, Cost::LogLikelihood),
    (Activation::Exp, Cost::Poisson),
];
const HIDDEN: [Activation; 4] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::Identity,
];

#[test]
fn backprop_matches_finite_differences_for_every_activation_and_cost() {
    let parameters: usize = SIZES.windows(2).map(|p| p[1] * (p[0] + 1)).sum();
    for hidden in HIDDEN {
        for (output, kind) in PAIRINGS {
            assert_eq!(check(hidden, output, kind, false), parameters);
        }
    }
}

#[test]
fn backprop_with_dropout_masks_matches_finite_differences() {
    for hidden in HIDDEN {
        for (output, kind) in PAIRINGS {
            check(hidden, output, kind, true);
        }
    }
}

#[test]
fn the_pairings_are_all_the_engine_accepts() {
    // If the engine starts accepting another output/cost pairing, it must be added above.
    for output in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Identity,
        Activation::Softmax,
        Activation::Exp,
    ] {
        for kind in [
            Cost::Quadratic,
            Cost::CrossEntropy,
            Cost::LogLikelihood,
            Cost::Poisson,
        ] {
            let accepted = kind.check_output(output).is_ok();
            assert_eq!(
                accepted,
                PAIRINGS.contains(&(output, kind)),
                "{output:?} with {kind:?}"
            );
        }
    }
}
