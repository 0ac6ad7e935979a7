"""The ``lbfgs`` solver: SciPy's L-BFGS-B, as scikit-learn runs it, on the loss and gradient of
the whole training set, which the engine computes (``network._objective``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import scipy.optimize  # type: ignore[import-untyped, import-not-found, unused-ignore]
    import threadpoolctl  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.exceptions import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        ConvergenceWarning,
    )
except ImportError as error:  # scikit-learn (and so SciPy) missing
    raise ImportError(
        f"digitnet.sklearn needs scikit-learn 1.7 or later ({error}); "
        "install it with: pip install digitnet[sklearn]"
    ) from error

__all__ = ["fit", "pack"]


def pack(coefs: list[NDArray[Any]], intercepts: list[NDArray[Any]]) -> NDArray[np.float64]:
    """Every parameter in one vector, scikit-learn's order: the coefs, then the intercepts."""
    return np.hstack([np.ravel(p) for p in [*coefs, *intercepts]]).astype(np.float64)


def _unpack(
    packed: NDArray[np.float64], shapes: list[tuple[int, int]]
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    coefs, intercepts, start = [], [], 0
    for n_in, n_out in shapes:
        coefs.append(packed[start : start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
    for _, n_out in shapes:
        intercepts.append(packed[start : start + n_out])
        start += n_out
    return coefs, intercepts


def fit(est: Any, x: NDArray[Any], y: NDArray[Any], sample_weight: NDArray[Any] | None) -> None:
    """Minimises scikit-learn's objective from ``coefs_``/``intercepts_``: ``loss_`` and
    ``n_iter_`` are SciPy's result, and a run that stops short warns as scikit-learn does."""
    net = est._synced_network()
    shapes = [c.shape for c in est.coefs_]
    xs, ys = est._network_arrays(x, y)
    weights = None if sample_weight is None else np.ascontiguousarray(sample_weight, net.dtype)
    alpha, k = float(est.alpha), est._loss_outputs()

    def loss_and_gradient(packed: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        coefs, intercepts = _unpack(packed, shapes)
        net.weights = [c.T for c in coefs]
        net.biases = list(intercepts)
        data, total, grad_w, grad_b = net._objective(xs, ys, weights)
        squares = sum(float(np.dot(c.ravel(), c.ravel())) for c in coefs)
        # scikit-learn's loss divides the squared error by the number of outputs k (a mean
        # over them) but its gradient does not: the gradient is that of k times the loss.
        # Reproduced, so that L-BFGS-B takes the same path as scikit-learn's.
        loss = data / (total * k) + 0.5 * alpha * squares / total
        grad_coefs = [(g.T + alpha * c) / total for g, c in zip(grad_w, coefs, strict=True)]
        grad_intercepts = [g / total for g in grad_b]
        return loss, pack(grad_coefs, grad_intercepts)

    # NumPy's and SciPy's small vector operations here need no BLAS threads, and OpenBLAS's
    # threads spin for a while after each call: on the CPUs the engine computes on, that took
    # 14% of a one-thread fit in a profile and slowed a two-thread one more.
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        result = scipy.optimize.minimize(
            loss_and_gradient,
            pack(est.coefs_, est.intercepts_),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        )
    est.n_iter_ = _check_result(result, est.max_iter)
    est.loss_ = float(result.fun)
    coefs, intercepts = _unpack(np.asarray(result.x, dtype=np.float64), shapes)
    dtype = est.coefs_[0].dtype
    net.weights = [c.T for c in coefs]
    net.biases = list(intercepts)
    est._pull(dtype)


def _check_result(result: Any, max_iter: int) -> int:
    """The number of iterations, with scikit-learn's ``ConvergenceWarning`` when SciPy did
    not report convergence."""
    n_iter = min(int(result.nit), max_iter)
    if result.status != 0:
        message = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=4)
    return n_iter
