"""Data, estimators and exact output comparison shared by the reliability tests."""

import numpy as np
from numpy.testing import assert_array_equal

from sknorm import MLPClassifier, MLPRegressor, Standardizer

SMALL = {"hidden_layer_sizes": (16,), "random_state": 0}


def _data(kind, n_samples=200, n_features=3, seed=0):
    """X and a smooth target (``kind`` ``"classifier"``: three classes)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, -1]
    if kind == "classifier":
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    return X, y


def _make(kind, **params):
    if kind == "standardizer":
        return Standardizer(**params)
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    return cls(**{**SMALL, **params})


def _outputs(est, X):
    """Every array a fitted estimator computes or holds, for exact comparison."""
    if isinstance(est, Standardizer):
        return [est.transform(X), est.mean_, est.scale_]
    arrays = [est.predict(X), *est.coefs_, *est.intercepts_]
    if hasattr(est, "predict_proba"):
        arrays.append(est.predict_proba(X))
    if hasattr(est, "loss_curve_"):
        arrays.append(np.asarray(est.loss_curve_))
    return arrays


def _assert_same_outputs(est, other, X):
    left, right = _outputs(est, X), _outputs(other, X)
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert_array_equal(a, b)
