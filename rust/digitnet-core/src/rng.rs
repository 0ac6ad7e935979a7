use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64;

/// The one random number generator behind initialisation and shuffling.
///
/// PCG64 is specified bit-for-bit by its algorithm (unlike `StdRng`, which may change between
/// `rand` releases), so a seed gives the same network and the same sample order on every
/// platform.
pub type SeededRng = Pcg64;

/// A new generator from a 64-bit seed.
pub fn seeded(seed: u64) -> SeededRng {
    Pcg64::seed_from_u64(seed)
}

/// The indices `0..n` in a random order (a Fisher–Yates shuffle), as `random.shuffle` gives
/// network.py its mini-batches.
pub fn shuffled_order(n: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_order() {
        let a = shuffled_order(1000, &mut seeded(7));
        let b = shuffled_order(1000, &mut seeded(7));
        let c = shuffled_order(1000, &mut seeded(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    }
}
