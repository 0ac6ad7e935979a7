"""The engine's image transformation for training-set expansion against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet import _core, reference


@settings(max_examples=200)
@given(
    h=st.integers(1, 30),
    w=st.integers(1, 30),
    dy=st.floats(-5, 5),
    dx=st.floats(-5, 5),
    degrees=st.floats(-180, 180),
    seed=st.integers(0, 2**32),
)
def test_transform_agrees_with_the_reference(
    h: int, w: int, dy: float, dx: float, degrees: float, seed: int
) -> None:
    image = np.random.default_rng(seed).uniform(0, 1, h * w)
    ours = _core.transform_image(image, (h, w), dy, dx, degrees)
    theirs = reference.transform_image(image, (h, w), dy, dx, degrees)
    assert_close(ours, theirs, rtol=1e-10)
    assert ours.min() >= 0.0
    assert ours.max() <= image.max() + 1e-12  # bilinear: a convex mix of pixels and zeros


def test_known_transforms() -> None:
    image = np.arange(12.0)  # 3 x 4
    same = _core.transform_image(image, (3, 4), 0.0, 0.0, 0.0)
    np.testing.assert_array_equal(same, image)
    down = _core.transform_image(image, (3, 4), 1.0, 0.0, 0.0).reshape(3, 4)
    np.testing.assert_array_equal(down[0], 0.0)
    np.testing.assert_array_equal(down[1:], image.reshape(3, 4)[:2])
    turned = _core.transform_image(image, (3, 4), 0.0, 0.0, 180.0)
    np.testing.assert_allclose(turned, image[::-1], atol=1e-12)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="image_shape"):
        _core.transform_image(np.zeros(12), (5, 5), 0.0, 0.0, 0.0)
