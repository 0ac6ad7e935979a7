use ndarray::{Array1, Array2};

use crate::{Error, Float, Result};

/// The alignment of the engine's matrices: one cache line, so that a row whose length is a
/// multiple of 64 bytes (784 values, say) never has a vector load split across two lines.
const ALIGN: usize = 64;

/// A zero matrix, its first element on a cache-line boundary, whose allocation failure is an
/// `Error`, not an abort: layer sizes come from users, and `[784, 10**9, 10]` must be refused,
/// not crash the interpreter.
pub(crate) fn try_zeros2<F: Float>(what: &str, rows: usize, cols: usize) -> Result<Array2<F>> {
    let elements = (rows as u128) * (cols as u128);
    let pad = ALIGN / std::mem::size_of::<F>();
    let len = rows.checked_mul(cols);
    let data = try_zeroed_vec(what, len.and_then(|n| n.checked_add(pad)), elements)?;
    let len = len.ok_or_else(|| oom::<F>(what, elements))?;
    let misalignment = data.as_ptr() as usize % ALIGN;
    let offset = ((ALIGN - misalignment) % ALIGN) / std::mem::size_of::<F>();
    Array1::from_vec(data)
        .slice_move(ndarray::s![offset..offset + len])
        .into_shape_with_order((rows, cols))
        .map_err(|_| oom::<F>(what, elements))
}

/// A zero vector; see [`try_zeros2`].
pub(crate) fn try_zeros1<F: Float>(what: &str, len: usize) -> Result<Array1<F>> {
    Ok(Array1::from_vec(try_zeroed_vec(
        what,
        Some(len),
        len as u128,
    )?))
}

fn try_zeroed_vec<F: Float>(what: &str, len: Option<usize>, elements: u128) -> Result<Vec<F>> {
    let len = len.filter(|&n| {
        n.checked_mul(std::mem::size_of::<F>())
            .is_some_and(|b| b <= isize::MAX as usize)
    });
    let len = len.ok_or_else(|| oom::<F>(what, elements))?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| oom::<F>(what, elements))?;
    v.resize(len, F::zero());
    Ok(v)
}

fn oom<F>(what: &str, elements: u128) -> Error {
    Error::OutOfMemory {
        what: what.to_owned(),
        bytes: elements * std::mem::size_of::<F>() as u128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_errors_not_aborts() {
        assert!(matches!(
            try_zeros2::<f64>("w", usize::MAX, 2),
            Err(Error::OutOfMemory { .. })
        ));
        assert!(matches!(
            try_zeros2::<f64>("w", 1 << 40, 1 << 20),
            Err(Error::OutOfMemory { .. })
        ));
        assert_eq!(try_zeros2::<f32>("w", 3, 4).map(|a| a.dim()), Ok((3, 4)));
        assert_eq!(try_zeros1::<f64>("b", 5).map(|a| a.sum()), Ok(0.0));
    }
}
