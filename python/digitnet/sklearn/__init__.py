"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` on digitnet's Rust engine: the same
parameters, defaults, attributes and behaviour, so that switching is a change of import::

    from digitnet.sklearn import MLPClassifier   # was: from sklearn.neural_network import ...

Every mini-batch, forward pass and whole-set gradient runs in the engine; the epoch loop
(schedules, stopping rules, early stopping) and SciPy's L-BFGS-B are scikit-learn's. Needs
scikit-learn: ``pip install digitnet[sklearn]``.
"""

from __future__ import annotations

from digitnet.sklearn.classifier import MLPClassifier
from digitnet.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
