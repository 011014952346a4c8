"""Runaway training is caught: a fit that returns predicts its own rows finitely.

Reproducers of issue 14's fuzzer findings: losses that explode while staying
finite, float32 targets too large for the output layer, divergence inside
``partial_fit`` and ``recompute_bn_statistics`` that would leave non-finite
``coefs_``. In every case the call raises a ValueError and the estimator is
either unfitted or predicts finite values on the training rows.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import sknorm._fitted_mlp as fitted_mlp
from sknorm import MLPRegressor
from sknorm._solver import LOSS_GROWTH_LIMIT
from sknorm.nn._population import population_statistics

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _assert_usable_or_unfitted(est, X):
    try:
        pred = est.predict(X)
    except NotFittedError:
        return
    assert np.isfinite(pred).all()
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)


def test_exploding_finite_loss_is_divergence():
    """Check a loss growing by orders of magnitude raises (7e23 -> 6e120 before)."""
    X = np.array([[-1.1575], [0.2898]])
    y = np.array([1.1e12, -1.3e12])
    est = MLPRegressor(
        solver="sgd", standardize_target=False, max_iter=3, random_state=0
    )
    with pytest.raises(ValueError, match="diverged in epoch 2: the loss grew from"):
        est.fit(X, y)
    finite = [loss for loss in est.loss_curve_ if np.isfinite(loss)]
    assert max(finite) < LOSS_GROWTH_LIMIT * finite[0]
    _assert_usable_or_unfitted(est, X)


def test_float32_running_variance_overflow_is_divergence():
    """Check the issue's float32 BN-after variant raises instead of running_var inf."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    Y = np.zeros((20, 3), dtype=np.float32)
    est = MLPRegressor(
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=6.84,
        batch_norm="after",
        bn_affine=False,
        max_iter=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match="diverged"):
        est.fit(X, Y)
    _assert_usable_or_unfitted(est, X)


def test_float32_target_too_large_for_predictions_leaves_unfitted():
    """Check a fit whose every state overflows at inference raises and unfits.

    float32 targets near 1e36 fold into an output layer whose products
    overflow float32; before, the fit returned and predict(X) on the training
    rows raised.
    """
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(50, 2)) * 1e3).astype(np.float32)
    y = (rng.normal(size=50) * 1e36).astype(np.float32)
    est = MLPRegressor(
        hidden_layer_sizes=(4,), batch_norm=None, max_iter=5, random_state=0
    )
    with pytest.raises(ValueError, match=r"left unfitted.*float64"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    # float64 represents these predictions: the same fit succeeds.
    est.fit(X.astype(np.float64), y.astype(np.float64))
    assert np.isfinite(est.predict(X.astype(np.float64))).all()


def test_divergence_in_partial_fit_keeps_finite_coefs():
    """Check divergence inside partial_fit leaves finite coefs_ (beta_2=0 blows up)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    est = MLPRegressor(batch_norm="after", beta_2=0.0, epsilon=1e-300, random_state=0)
    chunks = [slice(start, start + 2) for start in range(0, 40, 2)]
    message = "no divergence"
    for rows in chunks:
        try:
            est.partial_fit(X[rows], y[rows])
        except ValueError as exc:
            message = str(exc)
            break
    assert "diverged" in message
    _assert_usable_or_unfitted(est, X[rows])


def test_recompute_bn_statistics_refuses_overflowing_statistics(monkeypatch):
    """Check recompute_bn_statistics never writes non-finite coefs_.

    Statistics that overflow are simulated (a running mean set to inf after
    the real computation): the model must refuse them and stay unchanged.
    """
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    est = MLPRegressor(max_iter=5, random_state=0).fit(X, y)
    coefs, network = [c.copy() for c in est.coefs_], est.network_

    def overflowing(net, X, sample_weight):
        population_statistics(net, X, sample_weight)
        bn = next(layer for layer in net.layers if "running_mean" in layer.buffers)
        bn.buffers["running_mean"][0] = np.inf

    monkeypatch.setattr(fitted_mlp, "population_statistics", overflowing)
    with pytest.raises(ValueError, match="left unchanged"):
        est.recompute_bn_statistics(X)
    assert est.network_ is network
    for a, b in zip(est.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fitted_model_predicts_its_training_rows():
    """Check the key invariant on the bn_epsilon=1e-300 float64 reproducer."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    y = rng.normal(size=30) * 1e100
    est = MLPRegressor(bn_input=True, bn_epsilon=1e-300, max_iter=5, random_state=0)
    try:
        est.fit(X, y)
    except ValueError as exc:
        message = str(exc)
    else:
        message = "diverged (did not)"
    assert "diverged" in message
    _assert_usable_or_unfitted(est, X)


def test_predict_overflow_message_does_not_blame_training_rows():
    """Check the overflow error says X is outside the rows the model was fitted on."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40) * 1e10
    est = MLPRegressor(max_iter=5, random_state=0).fit(X, y)
    assert np.isfinite(est.predict(X)).all()
    with pytest.raises(ValueError, match="outside the range of the rows the model"):
        est.predict(X * 1e300)
