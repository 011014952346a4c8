"""Shared test helpers."""

import numpy as np
import pytest
from numpy.testing import assert_allclose


def _numerical_grad(loss, array, step):
    """Central finite differences of ``loss()`` w.r.t. ``array``, perturbed in place."""
    grad = np.empty_like(array, dtype=np.float64)
    for idx in np.ndindex(array.shape):
        original = array[idx]
        array[idx] = original + step
        loss_plus = loss()
        array[idx] = original - step
        loss_minus = loss()
        array[idx] = original
        grad[idx] = (loss_plus - loss_minus) / (2 * step)
    return grad


def _check_grads(
    layer,
    x,
    rng,
    *,
    sample_weight=None,
    training=True,
    rtol=1e-6,
    atol=1e-8,
    step=1e-6,
):
    """Compare a layer's ``dx`` and param grads with finite differences.

    The scalar is ``L = sum(out * dout)`` with a random ``dout``: an all-ones
    ``dout`` makes BatchNorm's ``dx`` exactly zero and hides any error. A
    layer holding a Generator in ``rng`` (Dropout) gets it reset before every
    forward, so all evaluations share one mask. Buffers are restored at the end.
    """
    assert x.dtype == np.float64, "finite differences need float64"
    x = x.copy()
    kwargs = {"training": training}
    if sample_weight is not None:
        kwargs["sample_weight"] = sample_weight
    layer_rng = getattr(layer, "rng", None)
    rng_state = layer_rng.bit_generator.state if layer_rng is not None else None
    saved_buffers = {key: value.copy() for key, value in layer.buffers.items()}

    def forward():
        if rng_state is not None:
            layer_rng.bit_generator.state = rng_state
        return layer.forward(x, **kwargs)

    out, cache = forward()
    dout = rng.standard_normal(out.shape)
    dx, grads = layer.backward(dout, cache)

    def loss():
        return float(np.sum(forward()[0] * dout))

    assert set(grads) == set(layer.params)
    assert_allclose(dx, _numerical_grad(loss, x, step), rtol=rtol, atol=atol)
    for key, param in layer.params.items():
        numerical = _numerical_grad(loss, param, step)
        assert_allclose(grads[key], numerical, rtol=rtol, atol=atol, err_msg=key)
    for key, value in saved_buffers.items():
        layer.buffers[key][...] = value


@pytest.fixture
def assert_grad_close():
    """Return ``f(layer, x, rng, *, sample_weight, training, rtol, atol)``.

    It checks ``dx`` and every parameter gradient of ``layer.backward``
    against float64 central finite differences of ``sum(out * dout)`` for a
    random upstream gradient ``dout`` drawn from ``rng``.
    """
    return _check_grads
