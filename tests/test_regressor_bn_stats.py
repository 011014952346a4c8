"""MLPRegressor's batch-norm statistics at inference, and predict's purity."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from regressor_helpers import (
    FAST,
    _assert_bn_population_stats,
    _assert_state_equal,
    _bn_buffers,
    _bn_input_moments,
    _smooth_data,
    _state,
    _unfolded_predict,
)

from sknorm import MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------- BN statistics
@pytest.mark.parametrize("bn_stats", ["population", "running"])
@pytest.mark.parametrize("batch_norm", ["before", "after"])
def test_regressor_bn_stats_modes(bn_stats, batch_norm):
    """Check that 'population' stores training-set statistics and 'running' the
    running averages, and that predict uses them."""
    X, y = _smooth_data(300)
    reg = MLPRegressor(
        batch_norm=batch_norm,
        bn_stats=bn_stats,
        max_iter=20,
        **{**FAST, "batch_size": 50},
    ).fit(X, y)
    buffers = _bn_buffers(reg.network_)
    population = _bn_input_moments(reg.network_, X)
    assert len(buffers) == 2
    close = [
        np.allclose(mean, ref_mean, rtol=1e-10, atol=1e-12)
        and np.allclose(var, ref_var, rtol=1e-10, atol=1e-12)
        for (mean, var), (ref_mean, ref_var) in zip(buffers, population, strict=True)
    ]
    assert all(close) if bn_stats == "population" else not any(close)
    assert_allclose(reg.predict(X), _unfolded_predict(reg, X), rtol=1e-10, atol=1e-10)


def test_regressor_population_stats_are_sample_weighted():
    """Check that population BN statistics use the sample weights."""
    X, y = _smooth_data(200)
    w = np.random.default_rng(2).uniform(0.0, 3.0, 200)
    reg = MLPRegressor(max_iter=10, **FAST).fit(X, y, sample_weight=w)
    _assert_bn_population_stats(reg.network_, X, w)


@pytest.mark.parametrize("batch_norm", ["before", "after"])
@pytest.mark.parametrize("weighted", [False, True])
def test_regressor_recompute_bn_statistics(batch_norm, weighted):
    """Check that recompute_bn_statistics sets the population statistics of the
    given X and refolds the network for predict."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(batch_norm=batch_norm, max_iter=10, **FAST).fit(X, y)
    before = reg.predict(X)
    weights = np.random.default_rng(3).uniform(0, 2, 200) if weighted else None
    X_new = 1.5 * X + 0.5
    assert reg.recompute_bn_statistics(X_new, sample_weight=weights) is reg
    _assert_bn_population_stats(reg.network_, X_new, weights)
    after = reg.predict(X)
    assert not np.allclose(after, before, rtol=1e-3)
    assert_allclose(after, _unfolded_predict(reg, X), rtol=1e-10, atol=1e-10)


def test_regressor_recompute_bn_statistics_after_partial_fit():
    """Check that partial_fit keeps running statistics until recompute_bn_statistics
    replaces them with the population statistics of the full data."""
    X, y = _smooth_data(400)
    # No clipping: the check compares the network's raw outputs.
    reg = MLPRegressor(clip_predictions=None, **FAST)
    for chunk in np.array_split(np.arange(400), 4):
        reg.partial_fit(X[chunk], y[chunk])
    population = _bn_input_moments(reg.network_, X)
    running = _bn_buffers(reg.network_)
    assert not np.allclose(running[0][0], population[0][0], rtol=1e-6)
    reg.recompute_bn_statistics(X)
    _assert_bn_population_stats(reg.network_, X)
    assert_allclose(reg.predict(X), _unfolded_predict(reg, X), rtol=1e-10, atol=1e-10)


def test_regressor_recompute_bn_statistics_checks_input():
    """Check that recompute_bn_statistics needs a fit and the fitted features."""
    X, y = _smooth_data(50)
    with pytest.raises(Exception, match="not fitted"):
        MLPRegressor().recompute_bn_statistics(X)
    reg = MLPRegressor(max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.recompute_bn_statistics(X[:, :2])


# ------------------------------------------------------------- inference
@pytest.mark.parametrize(
    "params", [{}, {"bn_stats": "running", "dropout": 0.3}, {"batch_norm": "after"}]
)
def test_regressor_predict_does_not_change_state(params):
    """Check that predict and score leave every parameter and buffer untouched."""
    X, y = _smooth_data(100)
    reg = MLPRegressor(max_iter=5, **{**FAST, **params}).fit(X, y)
    state = _state(reg)
    coefs = [c.copy() for c in reg.coefs_ + reg.intercepts_]
    pickled = pickle.dumps(reg)
    first = reg.predict(X[:7])
    reg.score(X, y)
    reg.predict(X * 10)
    _assert_state_equal(_state(reg), state)
    for a, b in zip(reg.coefs_ + reg.intercepts_, coefs, strict=True):
        assert_array_equal(a, b)
    assert pickle.dumps(reg) == pickled
    assert_array_equal(reg.predict(X[:7]), first)


def test_regressor_predict_row_by_row_equals_batch():
    """Check that a row's prediction does not depend on the other rows."""
    X, y = _smooth_data(60)
    reg = MLPRegressor(max_iter=5, **FAST).fit(X, y)
    by_row = np.array([reg.predict(X[i : i + 1])[0] for i in range(10)])
    assert_allclose(by_row, reg.predict(X)[:10], rtol=1e-12, atol=1e-12)
