import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknorm.nn._activations import ACTIVATIONS
from sknorm.nn._inference import dense_forward
from sknorm.nn._layers import Linear
from sknorm.nn._losses import OUTPUT_ACTIVATIONS
from sknorm.nn._network import Sequential


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_dense_forward_matches_sequential(activation, chunk, output):
    """Check chunked prediction against the layers run one by one."""
    rng = np.random.default_rng(0)
    linears = [Linear(4, 6, rng=rng), Linear(6, 5, rng=rng), Linear(5, 3, rng=rng)]
    layers = [linears[0], ACTIVATIONS[activation](), linears[1]]
    layers += [ACTIVATIONS[activation](), linears[2]]
    X = rng.standard_normal((23, 4))
    expected = OUTPUT_ACTIVATIONS[output](Sequential(layers).predict(X))
    coefs = [layer.params["weight"] for layer in linears]
    intercepts = [layer.params["bias"] for layer in linears]
    out = dense_forward(
        X, coefs, intercepts, activation, OUTPUT_ACTIVATIONS[output], chunk=chunk
    )
    assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    assert all(np.isfinite(c).all() for c in coefs)  # weights untouched


def test_dense_forward_keeps_input_dtype():
    """Check float32 X with float64 weights: computed wide, returned as X."""
    rng = np.random.default_rng(1)
    coefs = [rng.standard_normal((3, 4)), rng.standard_normal((4, 1))]
    intercepts = [np.zeros(4), np.zeros(1)]
    X = rng.standard_normal((10, 3)).astype(np.float32)
    out = dense_forward(X, coefs, intercepts, "relu", OUTPUT_ACTIVATIONS["identity"])
    assert out.dtype == np.float32
    expected = np.maximum(X.astype(np.float64) @ coefs[0], 0) @ coefs[1]
    assert_allclose(out, expected, rtol=1e-6)
