//! Standard normal draws for the initial parameters, by Marsaglia's polar method with the `libm`
//! crate's `log` (pure Rust, the same bits everywhere), so that a seed gives the same network on
//! every machine: `rand_distr`'s ziggurat calls the system's `ln` and `exp`, which differ
//! between C libraries.

use rand::RngExt;

use crate::SeededRng;

/// Draws N(0, 1) values from a generator; the polar method makes them in pairs.
pub(crate) struct StandardNormals<'a> {
    rng: &'a mut SeededRng,
    spare: Option<f64>,
}

impl<'a> StandardNormals<'a> {
    pub(crate) fn new(rng: &'a mut SeededRng) -> Self {
        StandardNormals { rng, spare: None }
    }

    /// The next draw.
    pub(crate) fn next_draw(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        loop {
            let u = 2.0 * self.rng.random::<f64>() - 1.0;
            let v = 2.0 * self.rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let factor = (-2.0 * libm::log(s) / s).sqrt();
                self.spare = Some(v * factor);
                return u * factor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeded;

    #[test]
    fn moments_and_tails_of_a_standard_normal() {
        let mut rng = seeded(11);
        let mut draws = StandardNormals::new(&mut rng);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| draws.next_draw()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.015, "{var}");
        // P(|x| > 2) = 4.55%, P(|x| > 3) = 0.27%.
        let beyond = |t: f64| xs.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
        assert!((beyond(2.0) - 0.0455).abs() < 0.003);
        assert!((beyond(3.0) - 0.0027).abs() < 0.0006);
    }

    #[test]
    fn a_seed_gives_the_same_draws() {
        let (mut a, mut b) = (seeded(5), seeded(5));
        let (mut da, mut db) = (StandardNormals::new(&mut a), StandardNormals::new(&mut b));
        for _ in 0..1000 {
            assert_eq!(da.next_draw().to_bits(), db.next_draw().to_bits());
        }
    }
}
