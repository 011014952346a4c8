"""MLPRegressor's clip_predictions: the widened range of the training targets."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import sknorm._base_mlp
from sknorm import MLPRegressor

FAST = {"hidden_layer_sizes": (8,), "max_iter": 20, "random_state": 0}


def _line(n, seed=0):
    """y = 2x + 1 on x in [0, 1]: a ReLU network extrapolates it far outside."""
    X = np.random.default_rng(seed).uniform(0, 1, size=(n, 1))
    return X, 2 * X[:, 0] + 1


def _fit(*args, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPRegressor(**{**FAST, **params}).fit(*args)


def test_clip_predictions_default_bounds_far_rows():
    """Check the default clips to the target range widened by 10 % per side."""
    X, y = _line(200)
    far = np.array([[-50.0], [0.5], [50.0]])
    clipped = _fit(X, y)
    free = _fit(X, y, clip_predictions=None)
    assert_allclose(clipped.target_min_, [y.min()], rtol=1e-12)
    assert_allclose(clipped.target_max_, [y.max()], rtol=1e-12)
    margin = 0.1 * (y.max() - y.min())
    low, high = y.min() - margin, y.max() + margin
    unclipped = free.predict(far)
    # Far rows do leave the range, so the check below can fail.
    assert unclipped.min() < low
    assert unclipped.max() > high
    assert_allclose(clipped.predict(far), np.clip(unclipped, low, high), rtol=1e-12)


@pytest.mark.parametrize("clip", [0.0, 2.0])
def test_clip_predictions_margin(clip):
    """Check 0 clips to the exact range and larger values widen it."""
    X, y = _line(200)
    reg = _fit(X, y, clip_predictions=clip)
    pred = reg.predict(np.array([[-50.0], [50.0]]))
    margin = clip * (y.max() - y.min())
    assert_allclose(pred.min(), y.min() - margin, rtol=1e-12)
    assert_allclose(pred.max(), y.max() + margin, rtol=1e-12)


def test_clip_predictions_ignores_zero_weight_rows():
    """Check rows of zero weight do not widen the range, as if left out."""
    X, y = _line(200)
    y_wild = y.copy()
    y_wild[:5] = 1e3
    weight = np.ones(200)
    weight[:5] = 0
    reg = _fit(X, y_wild, weight)
    assert_allclose(reg.target_max_, [y[5:].max()], rtol=1e-12)


def test_clip_predictions_per_output_and_float32():
    """Check each output keeps its own range and float32 stays float32."""
    X, y = _line(200)
    Y = np.column_stack([y, -100 * y]).astype(np.float32)
    reg = _fit(X.astype(np.float32), Y)
    pred = reg.predict(np.array([[-50.0], [50.0]], dtype=np.float32))
    assert pred.dtype == np.float32
    for j in range(2):
        margin = 0.1 * (Y[:, j].max() - Y[:, j].min())
        assert pred[:, j].min() >= Y[:, j].min() - margin * (1 + 1e-6)
        assert pred[:, j].max() <= Y[:, j].max() + margin * (1 + 1e-6)
    assert_allclose(reg.target_min_, Y.min(axis=0), rtol=1e-6)


def test_clip_predictions_range_grows_with_partial_fit_and_resets_on_fit():
    """Check partial_fit widens the range and a fresh fit starts from its own."""
    X, y = _line(200)
    reg = MLPRegressor(**FAST)
    reg.partial_fit(X[:100], y[:100])
    reg.partial_fit(X[100:], y[100:] + 5)
    assert_allclose(reg.target_min_, [y[:100].min()], rtol=1e-12)
    assert_allclose(reg.target_max_, [y[100:].max() + 5], rtol=1e-12)
    refit = _fit(X, y + 100)
    assert_allclose(refit.target_min_, [y.min() + 100], rtol=1e-12)
    reg.set_params(warm_start=False, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y + 100)
    assert_allclose(reg.target_min_, [y.min() + 100], rtol=1e-12)


def test_clip_predictions_failed_call_keeps_range(monkeypatch):
    """Check a partial_fit that fails in training leaves the range as it was."""
    X, y = _line(200)
    reg = MLPRegressor(**FAST).partial_fit(X, y)
    before = reg.target_min_.copy(), reg.target_max_.copy()
    pred = reg.predict(X)

    def fail(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(sknorm._base_mlp, "run_epochs", fail)
    with pytest.raises(RuntimeError, match="stop"):
        reg.partial_fit(X, y + 100)
    assert_array_equal(reg.target_min_, before[0])
    assert_array_equal(reg.target_max_, before[1])
    assert_array_equal(reg.predict(X), pred)


def test_clip_predictions_after_fit_can_be_turned_off():
    """Check set_params(clip_predictions=None) predicts the network's values."""
    X, y = _line(200)
    far = np.array([[-50.0], [50.0]])
    reg = _fit(X, y)
    clipped = reg.predict(far)
    free = _fit(X, y, clip_predictions=None).predict(far)
    assert_allclose(reg.set_params(clip_predictions=None).predict(far), free)
    assert not np.allclose(clipped, free)


def test_clip_predictions_rejects_negative():
    X, y = _line(50)
    with pytest.raises(ValueError, match="clip_predictions"):
        MLPRegressor(clip_predictions=-0.1).fit(X, y)
