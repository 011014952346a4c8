import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit
from sklearn.neural_network._base import (
    binary_log_loss,
    log_loss,
    poisson_loss,
    squared_loss,
)

from sknorm.nn._losses import (
    LOSSES,
    OUTPUT_ACTIVATIONS,
    poisson,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    squared_error,
)

N_SAMPLES = 7

# Output activation that pairs with each loss, and the scikit-learn loss that
# defines its value (sklearn switches to binary_log_loss for logistic outputs).
SKLEARN_COUNTERPART = {
    "squared_error": ("identity", squared_loss),
    "poisson": ("exp", poisson_loss),
    "softmax_cross_entropy": ("softmax", log_loss),
    "sigmoid_cross_entropy": ("logistic", binary_log_loss),
}


def make_problem(loss_name, n_outputs, seed=0, dtype=np.float64):
    """Draw raw scores and targets valid for ``loss_name``."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(N_SAMPLES, n_outputs)).astype(dtype)
    if loss_name == "squared_error":
        Y = rng.normal(size=(N_SAMPLES, n_outputs))
    elif loss_name == "poisson":
        Y = rng.poisson(1.5, size=(N_SAMPLES, n_outputs)).astype(float)
        Y[0, 0] = 0.0  # exercise the xlogy(0, 0) = 0 branch
    elif loss_name == "softmax_cross_entropy":
        Y = np.eye(n_outputs)[rng.integers(n_outputs, size=N_SAMPLES)]
    else:
        Y = rng.integers(2, size=(N_SAMPLES, n_outputs)).astype(float)
    return raw, Y


def make_weights(kind, seed=1):
    """Return None, positive weights or weights with zeros."""
    if kind == "none":
        return None
    w = np.random.default_rng(seed).uniform(0.5, 2.0, size=N_SAMPLES)
    if kind == "with_zeros":
        w[[0, 3]] = 0.0
    return w


def finite_difference(loss_fn, raw, Y, sample_weight, h=1e-6):
    """Central finite-difference gradient of the loss value w.r.t. raw."""
    grad = np.zeros_like(raw)
    for idx in np.ndindex(raw.shape):
        plus, minus = raw.copy(), raw.copy()
        plus[idx] += h
        minus[idx] -= h
        f_plus = loss_fn(plus, Y, sample_weight)[0]
        f_minus = loss_fn(minus, Y, sample_weight)[0]
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weights", ["none", "positive", "with_zeros"])
def test_losses_gradient_matches_finite_difference(loss_name, n_outputs, weights):
    """Check that d_raw equals a central finite difference of the loss value."""
    loss_fn = LOSSES[loss_name]
    raw, Y = make_problem(loss_name, n_outputs)
    sample_weight = make_weights(weights)
    _, d_raw = loss_fn(raw, Y, sample_weight)
    expected = finite_difference(loss_fn, raw, Y, sample_weight)
    assert d_raw.shape == raw.shape
    assert_allclose(d_raw, expected, rtol=1e-6, atol=1e-9)
    if weights == "with_zeros":
        assert_allclose(d_raw[[0, 3]], 0.0, atol=0)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weights", ["none", "positive", "with_zeros"])
def test_losses_value_matches_sklearn(loss_name, n_outputs, weights):
    """Check that the loss value equals sklearn's MLP loss on the activation."""
    if loss_name == "softmax_cross_entropy" and n_outputs == 1:
        n_outputs = 2  # sklearn never pairs softmax with a single output
    activation, sklearn_loss = SKLEARN_COUNTERPART[loss_name]
    raw, Y = make_problem(loss_name, n_outputs, seed=2)
    sample_weight = make_weights(weights)
    loss, _ = LOSSES[loss_name](raw, Y, sample_weight)
    out = OUTPUT_ACTIVATIONS[activation](raw)
    expected = sklearn_loss(Y, out, sample_weight)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_losses_unweighted_equals_uniform_weights():
    """Check that sample_weight=None equals any constant weight vector."""
    for loss_name, loss_fn in LOSSES.items():
        raw, Y = make_problem(loss_name, 3, seed=3)
        loss, d_raw = loss_fn(raw, Y)
        loss_w, d_raw_w = loss_fn(raw, Y, np.full(N_SAMPLES, 3.0))
        assert loss_w == pytest.approx(loss, rel=1e-12)
        assert_allclose(d_raw_w, d_raw, rtol=1e-12)


@pytest.mark.parametrize(
    ("loss_fn", "Y", "expected_loss", "expected_d"),
    [
        # Row 0 is confidently right (loss 0), row 1 confidently wrong (loss
        # 2000), so the mean is 1000 and only row 1 has a gradient.
        (
            softmax_cross_entropy,
            np.array([[1.0, 0.0], [1.0, 0.0]]),
            1000.0,
            np.array([[0.0, 0.0], [-0.5, 0.5]]),
        ),
        (
            sigmoid_cross_entropy,
            np.array([[1.0, 0.0], [1.0, 0.0]]),
            1000.0,
            np.array([[0.0, 0.0], [-0.5, 0.5]]),
        ),
    ],
)
def test_losses_stable_at_extreme_raw(loss_fn, Y, expected_loss, expected_d):
    """Check that softmax/sigmoid losses are exact and warning-free at +-1000."""
    raw = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        loss, d_raw = loss_fn(raw, Y)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(d_raw))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert_allclose(d_raw, expected_d, atol=1e-12)


@pytest.mark.parametrize("raw_value", [-1000.0, -700.0, 0.0, 700.0])
def test_poisson_finite_up_to_700(raw_value):
    """Check that the Poisson loss and gradient are finite for |raw| <= ~700."""
    raw = np.full((2, 1), raw_value)
    Y = np.array([[0.0], [3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, d_raw = poisson(raw, Y)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(d_raw))
    expected = np.mean(np.exp(raw_value) - Y[:, 0] * raw_value - Y[:, 0])
    expected += 0.5 * 3.0 * np.log(3.0)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_poisson_overflow_is_inf_with_warning():
    """Check that Poisson overflow beyond exp's range is loud, not clipped."""
    raw = np.full((2, 1), 1000.0)
    with pytest.warns(RuntimeWarning, match="overflow"):
        loss, d_raw = poisson(raw, np.ones((2, 1)))
    assert loss == np.inf
    assert np.all(d_raw == np.inf)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("weights", ["none", "positive"])
def test_losses_preserve_float32(loss_name, weights):
    """Check that float32 raw gives float32 d_raw close to the float64 result."""
    raw, Y = make_problem(loss_name, 3, seed=4, dtype=np.float32)
    # float64 weights and integer targets must not promote the computation.
    Y = Y.astype(np.int64) if loss_name != "squared_error" else Y
    sample_weight = make_weights(weights)
    loss32, d_raw32 = LOSSES[loss_name](raw, Y, sample_weight)
    loss64, d_raw64 = LOSSES[loss_name](raw.astype(np.float64), Y, sample_weight)
    assert d_raw32.dtype == np.float32
    assert isinstance(loss32, float)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    assert_allclose(d_raw32, d_raw64, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_losses_all_zero_weights_raise(loss_name):
    """Check that weights summing to zero raise a ValueError."""
    raw, Y = make_problem(loss_name, 2)
    with pytest.raises(ValueError, match="sum of sample_weight is zero"):
        LOSSES[loss_name](raw, Y, np.zeros(N_SAMPLES))


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize(
    ("raw_shape", "Y_shape", "w_shape"),
    [((4, 1), (4,), None), ((4,), (4,), None), ((4, 2), (4, 2), (3,))],
)
def test_losses_bad_shapes_raise(loss_name, raw_shape, Y_shape, w_shape):
    """Check that mismatched raw / Y / sample_weight shapes raise ValueError."""
    sample_weight = None if w_shape is None else np.ones(w_shape)
    with pytest.raises(ValueError, match="shape"):
        LOSSES[loss_name](np.zeros(raw_shape), np.zeros(Y_shape), sample_weight)


def test_losses_registry_names():
    """Check that LOSSES maps each public name to its function."""
    expected = {
        "squared_error": squared_error,
        "poisson": poisson,
        "softmax_cross_entropy": softmax_cross_entropy,
        "sigmoid_cross_entropy": sigmoid_cross_entropy,
    }
    assert expected == LOSSES
    assert set(OUTPUT_ACTIVATIONS) == {"identity", "exp", "softmax", "logistic"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_activations_values(dtype):
    """Check that each output activation computes its formula in raw's dtype."""
    raw = np.random.default_rng(5).normal(scale=3.0, size=(6, 3)).astype(dtype)
    outs = {name: fn(raw) for name, fn in OUTPUT_ACTIVATIONS.items()}
    for out in outs.values():
        assert out.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    assert outs["identity"] is raw
    assert_allclose(outs["exp"], np.exp(raw), rtol=rtol)
    assert_allclose(outs["logistic"], expit(raw), rtol=rtol)
    expected_softmax = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    assert_allclose(outs["softmax"], expected_softmax, rtol=rtol)


def test_output_activations_softmax_stable_rows_sum_to_one():
    """Check that softmax rows sum to one without warnings at +-1000."""
    raw = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [0, 0, 0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error")
        prob = OUTPUT_ACTIVATIONS["softmax"](raw)
        logistic = OUTPUT_ACTIVATIONS["logistic"](raw)
    assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-15)
    assert_allclose(prob[0], [1.0, 0.0, 0.0], atol=1e-300)
    assert_allclose(prob[2], 1 / 3, rtol=1e-15)
    assert_allclose(logistic[0], [1.0, 0.0, 0.5], atol=1e-300)
