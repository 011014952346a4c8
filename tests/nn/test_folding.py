import copy

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn._folding import fold_batchnorm
from sknorm.nn._layers import (
    BatchNorm1d,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Logistic,
    ReLU,
    Tanh,
)
from sknorm.nn._network import Sequential

N_FEATURES = 4

# Tokens: "L" Linear with bias, "L0" Linear without bias, "bn" affine BN,
# "bn0" BN with affine=False, "d" Dropout, anything else an activation.
STRUCTURES = {
    "bn_before_activation": ["L0", 6, "bn", "relu", "L", 2],
    "bn_after_activation": ["L", 6, "tanh", "bn", "L", 2],
    "bn_after_activation_dropout": ["L", 6, "relu", "bn", "d", "L", 2],
    "not_affine_before": ["L0", 5, "bn0", "logistic", "L", 3],
    "not_affine_after": ["L", 5, "leaky_relu", "bn0", "L", 1],
    "bias_before_bn": ["L", 6, "bn", "tanh", "L", 2],
    "dropout_between_linear_and_bn": ["L0", 6, "d", "bn", "relu", "L", 2],
    "bn_on_input": ["bn", "L", 5, "relu", "L", 1],
    "deep_before": [
        "L0",
        8,
        "bn",
        "relu",
        "d",
        "L0",
        7,
        "bn",
        "relu",
        "d",
        "L0",
        6,
        "bn",
        "relu",
        "L",
        3,
    ],
    "deep_after": [
        "L",
        8,
        "relu",
        "bn",
        "d",
        "L",
        7,
        "tanh",
        "bn0",
        "L",
        6,
        "relu",
        "bn",
        "L",
        2,
    ],
    "deep_mixed": [
        "L0",
        8,
        "bn0",
        "tanh",
        "L",
        7,
        "relu",
        "bn",
        "d",
        "L0",
        6,
        "bn",
        "identity",
        "L",
        2,
    ],
    "no_bn": ["L", 5, "relu", "d", "L", 2],
}

ACTIVATION_TOKENS = {
    "relu": ReLU,
    "tanh": Tanh,
    "logistic": Logistic,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}


def _build(structure, rng, dtype=np.float64):
    """Build a network from tokens, with random gamma/beta and running statistics."""
    layers, width, tokens = [], N_FEATURES, iter(structure)
    for token in tokens:
        if token in ("L", "L0"):
            n_out = next(tokens)
            layers.append(Linear(width, n_out, bias=token == "L", rng=rng, dtype=dtype))
            width = n_out
        elif token in ("bn", "bn0"):
            bn = BatchNorm1d(width, affine=token == "bn", dtype=dtype)
            if bn.affine:
                bn.params["gamma"][...] = rng.normal(1.0, 0.5, width)
                bn.params["beta"][...] = rng.normal(0.0, 0.5, width)
            bn.set_statistics(rng.normal(size=width), rng.uniform(0.2, 3.0, width))
            layers.append(bn)
        elif token == "d":
            layers.append(Dropout(0.5, rng=rng))
        else:
            layers.append(ACTIVATION_TOKENS[token]())
    return Sequential(layers)


def _arrays(net):
    return [
        a
        for layer in net.layers
        for a in (*layer.params.values(), *layer.buffers.values())
    ]


@pytest.mark.parametrize("name", sorted(STRUCTURES))
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_fold_batchnorm_matches_unfolded_predictions(name, dtype, rtol):
    """Check that the folded network predicts what the original network predicts."""
    rng = np.random.default_rng(0)
    net = _build(STRUCTURES[name], rng, dtype=dtype)
    x = rng.normal(0.5, 2.0, (40, N_FEATURES)).astype(dtype)
    expected = net.predict(x)
    folded = fold_batchnorm(net)
    out = folded.predict(x)
    assert out.dtype == dtype
    assert all(a.dtype == dtype for a in folded.parameters())
    # Elements near zero make a pure relative check meaningless; scale by the output.
    assert_allclose(out, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_fold_batchnorm_removes_batchnorm_and_dropout(name):
    """Check that the folded network has no BatchNorm1d nor Dropout layer."""
    net = _build(STRUCTURES[name], np.random.default_rng(1))
    folded = fold_batchnorm(net)
    assert isinstance(folded, Sequential)
    assert not any(isinstance(layer, BatchNorm1d | Dropout) for layer in folded.layers)
    n_linear = sum(isinstance(layer, Linear) for layer in net.layers)
    assert sum(isinstance(layer, Linear) for layer in folded.layers) == n_linear


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_fold_batchnorm_leaves_input_untouched(name):
    """Check that folding writes nothing to the input and shares no array with it."""
    net = _build(STRUCTURES[name], np.random.default_rng(2))
    layers = list(net.layers)
    snapshot = copy.deepcopy(_arrays(net))
    folded = fold_batchnorm(net)
    assert net.layers == layers
    assert all(a is b for a, b in zip(net.layers, layers, strict=True))
    for a, b in zip(_arrays(net), snapshot, strict=True):
        assert_array_equal(a, b)
    for a in folded.parameters():
        assert not any(np.shares_memory(a, b) for b in _arrays(net))


def test_fold_batchnorm_uses_running_statistics_not_batch():
    """Check that folding uses the buffers, so training-mode BN would differ."""
    rng = np.random.default_rng(3)
    net = _build(["L0", 5, "bn", "relu", "L", 2], rng)
    x = rng.standard_normal((30, N_FEATURES))
    folded_out = fold_batchnorm(net).predict(x)
    train_out, _ = copy.deepcopy(net).forward(x, training=True)
    assert not np.allclose(folded_out, train_out)
    assert_allclose(folded_out, net.predict(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "structure",
    [
        ["L", 5, "relu", "bn"],  # BN at the output
        ["bn", "relu", "L", 2],  # BN on the input, then an activation
        ["L", 5, "relu", "bn", "tanh", "L", 2],  # activations on both sides
        ["L", 5, "relu", "bn", "bn", "L", 2],  # two BNs after an activation
    ],
)
def test_fold_batchnorm_rejects_unfoldable_batchnorm(structure):
    """Check that a BN with no adjacent Linear raises a ValueError saying why."""
    net = _build(structure, np.random.default_rng(4))
    with pytest.raises(ValueError, match="must directly follow or directly precede"):
        fold_batchnorm(net)
