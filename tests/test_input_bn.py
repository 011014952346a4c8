"""Input batch normalization (``bn_input=True``): raw features at any scale."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from sknorm import MLPClassifier, MLPRegressor
from sknorm.nn import BatchNorm1d, Linear

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


def _raw_scale_problem(n_samples=600, seed=0):
    """Features on scales 1, 100 and 1e4 around large offsets, smooth target."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n_samples, 3))
    X = Z * [1.0, 100.0, 1e4] + [0.0, 1000.0, 1e5]
    y = 100 * np.sin(Z[:, 0]) + 50 * Z[:, 1] * Z[:, 2] + 300
    return X, y


@pytest.mark.parametrize("batch_norm", ["before", "after"])
def test_input_bn_layer_structure(batch_norm):
    """Check that bn_input adds one non-affine BN first, only with batch_norm set."""
    X, y = _raw_scale_problem(100)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), batch_norm=batch_norm, bn_input=True, max_iter=2
    ).fit(X, y)
    first = reg.network_.layers[0]
    assert isinstance(first, BatchNorm1d)
    assert not first.affine
    assert isinstance(reg.network_.layers[1], Linear)
    plain = MLPRegressor(batch_norm=None, bn_input=True, max_iter=2).fit(X, y)
    assert not any(isinstance(layer, BatchNorm1d) for layer in plain.network_.layers)


@pytest.mark.parametrize("batch_norm", ["before", "after"])
def test_input_bn_folded_predict_equals_unfolded(batch_norm):
    """Check that the input BN folds into the first Linear exactly."""
    X, y = _raw_scale_problem(300)
    reg = MLPRegressor(
        hidden_layer_sizes=(16, 8),
        batch_norm=batch_norm,
        bn_input=True,
        max_iter=20,
        random_state=0,
    ).fit(X, y)
    unfolded = reg.network_.predict(X)[:, 0] * reg.target_scale_ + reg.target_mean_
    assert_allclose(reg.predict(X), unfolded, rtol=1e-10, atol=1e-8)
    assert_allclose(reg.to_sklearn().predict(X), reg.predict(X), rtol=1e-10)


def test_input_bn_learns_raw_scale_features():
    """Check that bn_input turns raw mixed-scale X from hard to easy."""
    X, y = _raw_scale_problem()
    X_test, y_test = _raw_scale_problem(400, seed=1)
    params = {"hidden_layer_sizes": (32,), "max_iter": 150, "random_state": 0}
    without = MLPRegressor(**params).fit(X, y).score(X_test, y_test)
    with_input_bn = (
        MLPRegressor(bn_input=True, **params).fit(X, y).score(X_test, y_test)
    )
    assert with_input_bn > 0.9
    assert with_input_bn > without + 0.05


def test_input_bn_classifier_and_float32():
    """Check that the classifier trains with bn_input and float32 stays float32."""
    X, y = _raw_scale_problem(300)
    labels = (y > np.median(y)).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(16,), bn_input=True, max_iter=50, random_state=0
    ).fit(X.astype(np.float32), labels)
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert clf.score(X.astype(np.float32), labels) > 0.8
