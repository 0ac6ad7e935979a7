use rand::RngExt;

use crate::{Error, Float, Result, SeededRng};

/// Training-set expansion as in the book's chapter 3: each time a training image is used it
/// is shifted by up to `max_shift` pixels in each direction and rotated by up to
/// `max_rotation` degrees, drawn uniformly, so every epoch sees new variants of the data set
/// without a copy of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Image height and width; the network's input is the image row by row.
    pub shape: (usize, usize),
    pub max_shift: f64,
    pub max_rotation: f64,
}

impl Augment {
    /// Checks the parameters against the network's input size.
    pub fn check(&self, n_inputs: usize) -> Result<()> {
        let (h, w) = self.shape;
        if h.checked_mul(w) != Some(n_inputs) {
            return Err(Error::invalid(
                "image_shape",
                &format!("(height, width) with height·width = {n_inputs} inputs"),
                format!("({h}, {w})"),
            ));
        }
        for (what, v) in [
            ("max_shift", self.max_shift),
            ("max_rotation", self.max_rotation),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(what, "a non-negative finite number", v));
            }
        }
        Ok(())
    }

    /// Draws one transformation: `(dy, dx, degrees)`.
    pub(crate) fn draw(&self, rng: &mut SeededRng) -> (f64, f64, f64) {
        let mut uniform = |bound: f64| {
            if bound > 0.0 {
                rng.random_range(-bound..=bound)
            } else {
                0.0
            }
        };
        let dy = uniform(self.max_shift);
        let dx = uniform(self.max_shift);
        (dy, dx, uniform(self.max_rotation))
    }
}

/// Writes into `out` the image `src` (`h×w`, row by row) rotated by `degrees` (counter-clockwise
/// as displayed, rows going down) about its centre and then shifted by `(dy, dx)` pixels, with
/// bilinear interpolation and zero (no ink) outside the image.
///
/// Output pixel `(r, c)` takes the input at `R(−θ)·(r − cy − dy, c − cx − dx) + (cy, cx)` where
/// `(cy, cx) = ((h−1)/2, (w−1)/2)`.
pub fn transform_image<F: Float>(
    src: &[F],
    out: &mut [F],
    (h, w): (usize, usize),
    dy: f64,
    dx: f64,
    degrees: f64,
) {
    debug_assert!(src.len() == h * w && out.len() == h * w);
    // libm's sin and cos (pure Rust), not the system's: the same bits on every machine.
    let radians = degrees.to_radians();
    let (sin, cos) = (libm::sin(radians), libm::cos(radians));
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let pixel = |r: isize, c: isize| -> f64 {
        if r < 0 || c < 0 || r as usize >= h || c as usize >= w {
            0.0
        } else {
            src[r as usize * w + c as usize].to_f64()
        }
    };
    for r in 0..h {
        for c in 0..w {
            let (y, x) = (r as f64 - cy - dy, c as f64 - cx - dx);
            let sy = cos * y + sin * x + cy;
            let sx = -sin * y + cos * x + cx;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (fy, fx) = (sy - y0, sx - x0);
            let (y0, x0) = (y0 as isize, x0 as isize);
            let value = (1.0 - fy) * ((1.0 - fx) * pixel(y0, x0) + fx * pixel(y0, x0 + 1))
                + fy * ((1.0 - fx) * pixel(y0 + 1, x0) + fx * pixel(y0 + 1, x0 + 1));
            out[r * w + c] = F::from_f64(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded;

    fn image() -> Vec<f64> {
        (0..20).map(|i| f64::from(i) / 19.0).collect() // 4 x 5
    }

    #[test]
    fn identity_and_integer_shifts() {
        let src = image();
        let mut out = vec![0.0; 20];
        transform_image(&src, &mut out, (4, 5), 0.0, 0.0, 0.0);
        assert_eq!(out, src);
        transform_image(&src, &mut out, (4, 5), 1.0, 0.0, 0.0);
        assert_eq!(&out[..5], &[0.0; 5]);
        assert_eq!(&out[5..], &src[..15]);
        transform_image(&src, &mut out, (4, 5), 0.0, -1.0, 0.0);
        assert_eq!(out[0], src[1]);
        assert_eq!(out[4], 0.0);
    }

    #[test]
    fn a_half_turn_reverses_the_image() {
        let src = image();
        let mut out = vec![0.0; 20];
        transform_image(&src, &mut out, (4, 5), 0.0, 0.0, 180.0);
        for (a, b) in out.iter().zip(src.iter().rev()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn draws_within_bounds_and_checks() {
        let aug = Augment {
            shape: (28, 28),
            max_shift: 2.0,
            max_rotation: 10.0,
        };
        assert!(aug.check(784).is_ok());
        assert!(aug.check(785).is_err());
        let mut rng = seeded(1);
        for _ in 0..1000 {
            let (dy, dx, deg) = aug.draw(&mut rng);
            assert!(dy.abs() <= 2.0 && dx.abs() <= 2.0 && deg.abs() <= 10.0);
        }
        let bad = Augment {
            max_shift: f64::NAN,
            ..aug
        };
        assert!(bad.check(784).is_err());
    }
}
