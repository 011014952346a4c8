"""The batch-norm functions of nn/_batchnorm.py, shared by the layer and the fused step.

The layer's gradients are checked by finite differences in test_layers.py;
here, each function against a direct NumPy formula, the running-update
switch, and the fused blocks against the layer that uses the same functions.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn import BatchNorm1d, Linear, ReLU, Sequential, Trainer, squared_error
from sknorm.nn._batchnorm import (
    batch_probabilities,
    centre_with_batch_statistics,
    check_batch_rows,
    inference_scale_shift,
    normalize_backward,
    normalizing_scale,
    update_running_statistics,
)
from sknorm.nn._fused import CovarianceLinearBN, LinearBNAct


@pytest.mark.parametrize("weighted", [False, True])
def test_centre_with_batch_statistics_matches_numpy(weighted):
    """Check the weighted mean, biased variance and centring, also in place."""
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (9, 4))
    w = rng.uniform(0.1, 2.0, 9) if weighted else None
    p, _ = batch_probabilities(w, 9, x.dtype)
    mean, var = np.empty(4), np.empty(4)
    out, work = np.empty_like(x), np.empty_like(x)
    centre_with_batch_statistics(x, p, mean, var, out, work)
    expected_mean = np.average(x, weights=w, axis=0)
    assert_allclose(mean, expected_mean, rtol=1e-13)
    assert_allclose(var, np.average((x - expected_mean) ** 2, weights=w, axis=0))
    assert_allclose(out, x - expected_mean, rtol=1e-12, atol=1e-13)
    in_place = x.copy()
    centre_with_batch_statistics(in_place, p, mean, var, in_place, work)
    assert_array_equal(in_place, out)


@pytest.mark.parametrize("affine", [False, True])
def test_normalizing_scale(affine):
    """Check std = sqrt(var + eps) and scale = gamma / std (1 / std without gamma)."""
    var, gamma = np.array([0.5, 4.0]), np.array([2.0, -1.0]) if affine else None
    std, scale = np.empty(2), np.empty(2)
    normalizing_scale(var, 1e-5, gamma, std, scale)
    assert_allclose(std, np.sqrt(var + 1e-5))
    assert_allclose(scale, (gamma if affine else 1.0) / np.sqrt(var + 1e-5))


@pytest.mark.parametrize("weighted", [False, True])
def test_normalize_backward_matches_finite_differences(weighted):
    """Check u * scale against a central-difference gradient of sum(out * R)."""
    rng = np.random.default_rng(1)
    x, upstream = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    w = rng.uniform(0.2, 2.0, 7) if weighted else None
    bn = BatchNorm1d(3)
    bn.params["gamma"][...] = rng.normal(1.0, 0.3, 3)
    _, (z, std, scale, p) = bn.forward(x, training=True, sample_weight=w)
    dgamma, dbeta, coef = np.empty((3, 3))
    u = normalize_backward(
        upstream.copy(), z, std, p, np.ones(7), dgamma, dbeta, coef, np.empty_like(z)
    )

    def objective(x_):
        out, _ = bn.forward(x_, training=True, sample_weight=w, update_running=False)
        return float(np.sum(out * upstream))

    h = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        numeric[index] = (objective(x + step) - objective(x - step)) / (2 * h)
    assert_allclose(u * scale, numeric, rtol=1e-6, atol=1e-8)
    assert_allclose(dbeta, upstream.sum(axis=0), rtol=1e-12)
    assert_allclose(dgamma, np.sum(upstream * z / std, axis=0), rtol=1e-12)


def test_update_running_statistics_follows_formula():
    """Check the PyTorch update with the W / (W - 1) Bessel factor."""
    buffers = {"running_mean": np.array([1.0, 2.0]), "running_var": np.ones(2)}
    mean, var = np.array([3.0, -1.0]), np.array([0.5, 2.0])
    update_running_statistics(buffers, mean, var, 0.1, 5.0, np.empty(2))
    assert_allclose(buffers["running_mean"], 0.9 * np.array([1.0, 2.0]) + 0.1 * mean)
    assert_allclose(buffers["running_var"], 0.9 + 0.1 * 5.0 / 4.0 * var)


def test_inference_scale_shift_is_the_inference_forward():
    """Check that x * s + t equals the layer's inference output."""
    rng = np.random.default_rng(2)
    bn = BatchNorm1d(3)
    bn.params["gamma"][...] = rng.normal(1.0, 0.5, 3)
    bn.params["beta"][...] = rng.normal(0.0, 0.5, 3)
    bn.set_statistics(rng.normal(size=3), rng.uniform(0.5, 2.0, 3))
    x = rng.standard_normal((5, 3))
    scale, shift = inference_scale_shift(bn)
    expected = (x - bn.buffers["running_mean"]) / np.sqrt(
        bn.buffers["running_var"] + bn.eps
    ) * bn.params["gamma"] + bn.params["beta"]
    assert_allclose(x * scale + shift, expected, rtol=1e-13, atol=1e-14)
    assert_allclose(bn.forward(x, training=False)[0], expected, rtol=1e-13)


def test_check_batch_rows():
    """Check that one row is refused with a message naming n_samples=1."""
    check_batch_rows(2)
    with pytest.raises(ValueError, match="n_samples=1"):
        check_batch_rows(1)


@pytest.mark.parametrize("weighted", [False, True])
def test_batchnorm_update_running_switch(weighted):
    """Check that update_running=False trains the same and writes no buffer."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 2))
    w = rng.uniform(0.5, 2.0, 6) if weighted else None
    bn, frozen = BatchNorm1d(2), BatchNorm1d(2)
    out, _ = bn.forward(x, training=True, sample_weight=w)
    kept, _ = frozen.forward(x, training=True, sample_weight=w, update_running=False)
    assert_array_equal(kept, out)
    assert_array_equal(frozen.buffers["running_mean"], np.zeros(2))
    assert_array_equal(frozen.buffers["running_var"], np.ones(2))
    assert not np.array_equal(bn.buffers["running_mean"], np.zeros(2))


@pytest.mark.parametrize("n_in", [3, 12])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_blocks_match_the_layers(n_in, weighted):
    """Check fused Linear -> BN -> ReLU blocks against the layers they compile.

    With 3 inputs the first block is CovarianceLinearBN (the second form of
    the statistics, equal to rounding); with 12 it is LinearBNAct, which
    calls the layer's own functions.
    """
    rng = np.random.default_rng(4)
    layers = [Linear(n_in, 8, bias=False, rng=rng), BatchNorm1d(8), ReLU()]
    net = Sequential([*layers, Linear(8, 1, rng=rng)])
    layers[1].params["gamma"][...] = rng.normal(1.0, 0.5, 8)
    reference = net.copy()
    x, y = rng.normal(1.0, 2.0, (10, n_in)), rng.standard_normal((10, 1))
    w = rng.uniform(0.5, 2.0, 10) if weighted else None
    trainer = Trainer(net, "squared_error", 10)
    kind = CovarianceLinearBN if n_in < 8 else LinearBNAct
    assert type(trainer.blocks[0]) is kind
    loss = trainer.loss_and_grad(x, y, w)
    out, caches = reference.forward(x, training=True, sample_weight=w)
    value, d_out = squared_error(out, y, w)
    grad = reference.pack_grads(reference.backward(d_out, caches))
    assert loss == pytest.approx(value, rel=1e-12)
    assert_allclose(trainer.grad, grad, rtol=1e-10, atol=1e-12)
    fused_bn, layer_bn = net.layers[1], reference.layers[1]
    for key, value in fused_bn.buffers.items():
        a, b = value, layer_bn.buffers[key]
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
