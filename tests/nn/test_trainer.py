import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn._activations import ACTIVATIONS
from sknorm.nn._fused import CovarianceLinearBN, LayerStep, LinearBNAct
from sknorm.nn._layers import BatchNorm1d, Dropout, Linear
from sknorm.nn._losses import LOSSES
from sknorm.nn._network import Sequential
from sknorm.nn._trainer import Trainer


def _net(sizes, *, batch_norm, activation, affine=True, dropout=False, seed=0):
    """An MLP as the estimators build it, with random BN parameters."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in itertools.pairwise(sizes[:-1]):
        layers.append(Linear(n_in, n_out, bias=batch_norm != "before", rng=rng))
        bn = BatchNorm1d(n_out, affine=affine)
        if affine:
            bn.params["gamma"][...] = rng.normal(1.0, 0.5, n_out)
            bn.params["beta"][...] = rng.normal(0.0, 0.5, n_out)
        if batch_norm == "before":
            layers.append(bn)
        layers.append(ACTIVATIONS[activation]())
        if batch_norm == "after":
            layers.append(bn)
        if dropout:
            layers.append(Dropout(0.3, rng=np.random.default_rng(1)))
    layers.append(Linear(sizes[-2], sizes[-1], rng=rng))
    return Sequential(layers)


def _reference(net, loss, X, Y, w):
    """Loss, flat gradient and buffers from the layers' own forward/backward."""
    raw, caches = net.forward(X, training=True, sample_weight=w)
    value, d_raw = LOSSES[loss](raw, Y, w)
    grad = net.pack_grads(net.backward(d_raw, caches))
    buffers = [a.copy() for layer in net.layers for a in layer.buffers.values()]
    return value, grad, buffers


def _data(n_in, n_out, loss, n_rows=24, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.5, 2.0, (n_rows, n_in))
    if loss == "squared_error":
        return X, rng.standard_normal((n_rows, n_out)), rng
    return X, np.eye(n_out)[rng.integers(0, n_out, n_rows)], rng


CONFIGS = [
    pytest.param(bn, act, affine, id=f"{bn}-{act}-{'affine' if affine else 'plain'}")
    for bn, act, affine in itertools.product(
        ["before", "after", None],
        ["relu", "tanh", "identity", "logistic", "leaky_relu"],
        [True, False],
    )
]


@pytest.mark.parametrize(("batch_norm", "activation", "affine"), CONFIGS)
@pytest.mark.parametrize(
    "sizes",
    [(3, 7, 6, 2), (7, 5, 6, 2), (5, 20, 18, 16), (3, 8, 16)],
    ids=["narrow", "wide", "bias-in-product", "one-hidden-wide-output"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_trainer_matches_layer_by_layer_pass(
    batch_norm, activation, affine, sizes, weighted
):
    """Check loss, gradient and running statistics against the plain layers."""
    net = _net(sizes, batch_norm=batch_norm, activation=activation, affine=affine)
    reference = net.copy()
    X, Y, rng = _data(sizes[0], sizes[-1], "squared_error")
    w = rng.uniform(0.1, 2.0, X.shape[0]) if weighted else None
    value, grad, buffers = _reference(reference, "squared_error", X, Y, w)
    trainer = Trainer(net, "squared_error", max_batch=32)
    assert trainer.loss_and_grad(X, Y, w) == pytest.approx(value, rel=1e-12)
    assert_allclose(trainer.grad, grad, rtol=1e-10, atol=1e-13)
    after = [a for layer in net.layers for a in layer.buffers.values()]
    for a, b in zip(after, buffers, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_norm", ["before", "after"])
@pytest.mark.parametrize("sizes", [(3, 7, 6, 2), (7, 5, 6, 2)], ids=["narrow", "wide"])
@pytest.mark.parametrize("weighted", [False, True])
def test_trainer_input_norm_matches_layer_by_layer_pass(batch_norm, sizes, weighted):
    """Check a leading non-affine BatchNorm1d (bn_input) against the layers."""
    body = _net(sizes, batch_norm=batch_norm, activation="relu")
    net = Sequential([BatchNorm1d(sizes[0], affine=False), *body.layers])
    reference = net.copy()
    X, Y, rng = _data(sizes[0], sizes[-1], "squared_error")
    X = X * [1.0, 100.0, 1e4, *([1.0] * (sizes[0] - 3))] + 50.0
    w = rng.uniform(0.1, 2.0, X.shape[0]) if weighted else None
    value, grad, buffers = _reference(reference, "squared_error", X, Y, w)
    trainer = Trainer(net, "squared_error", max_batch=32)
    # The input BN runs as a layer whose (unneeded) data gradient is skipped.
    assert isinstance(trainer.blocks[0], LayerStep)
    assert not trainer.blocks[0].need_dx
    assert trainer.loss_and_grad(X, Y, w) == pytest.approx(value, rel=1e-10)
    assert_allclose(trainer.grad, grad, rtol=1e-8, atol=1e-11)
    after = [a for layer in net.layers for a in layer.buffers.values()]
    for a, b in zip(after, buffers, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "sigmoid_cross_entropy"])
@pytest.mark.parametrize("weighted", [False, True])
def test_trainer_other_losses_and_dropout(loss, weighted):
    """Check the unfused loss path and Dropout (same masks as the layers draw)."""
    net = _net((4, 6, 5, 3), batch_norm="before", activation="relu", dropout=True)
    reference = net.copy()
    X, Y, rng = _data(4, 3, loss)
    w = rng.uniform(0.1, 2.0, X.shape[0]) if weighted else None
    value, grad, _ = _reference(reference, loss, X, Y, w)
    trainer = Trainer(net, LOSSES[loss], max_batch=24)
    assert trainer.loss_and_grad(X, Y, w) == pytest.approx(value, rel=1e-12)
    assert_allclose(trainer.grad, grad, rtol=1e-10, atol=1e-13)


def test_trainer_compiles_fused_blocks():
    """Check the blocks: narrow first BN block, fused BN block, output block."""
    net = _net((3, 8, 8, 1), batch_norm="before", activation="relu", dropout=True)
    kinds = [type(block) for block in Trainer(net, "squared_error", 8).blocks]
    assert kinds == [CovarianceLinearBN, LayerStep, LinearBNAct, LayerStep, LinearBNAct]
    wide = _net((9, 8, 1), batch_norm="after", activation="tanh")
    kinds = [type(block) for block in Trainer(wide, "squared_error", 8).blocks]
    assert kinds == [LinearBNAct, LayerStep, LinearBNAct]
    plain = _net((4, 32, 32, 1), batch_norm=None, activation="relu")
    blocks = Trainer(plain, "squared_error", 8).blocks
    assert [type(block) for block in blocks] == [LinearBNAct] * 3
    assert [block.need_dx for block in blocks] == [False, True, True]


def test_trainer_reuses_buffers_across_batch_sizes():
    """Check consecutive batches of different sizes against fresh references."""
    net = _net((3, 8, 8, 1), batch_norm="before", activation="relu")
    reference = net.copy()
    trainer = Trainer(net, "squared_error", max_batch=10)
    X, Y, _ = _data(3, 1, "squared_error", n_rows=30)
    for rows in (slice(0, 10), slice(10, 13), slice(13, 23), slice(23, 26)):
        _, grad, _ = _reference(reference, "squared_error", X[rows], Y[rows], None)
        trainer.loss_and_grad(X[rows], Y[rows])
        assert_allclose(trainer.grad, grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("batch_norm", ["before", "after"])
def test_trainer_skips_running_statistics_on_request(batch_norm):
    """Check that update_running_stats=False leaves the BN buffers untouched.

    With BN after the activation the layer itself runs (a LayerStep block),
    so this also checks that the layer honours the switch.
    """
    net = _net((3, 8, 8, 1), batch_norm=batch_norm, activation="relu")
    before = [a.copy() for layer in net.layers for a in layer.buffers.values()]
    X, Y, _ = _data(3, 1, "squared_error")
    Trainer(net, "squared_error", 24, update_running_stats=False).loss_and_grad(X, Y)
    after = [a for layer in net.layers for a in layer.buffers.values()]
    for a, b in zip(after, before, strict=True):
        assert_array_equal(a, b)


def test_trainer_float32_stays_float32():
    """Check that a float32 network gets float32 gradients close to float64's."""
    net = _net((3, 8, 8, 1), batch_norm="before", activation="relu")
    X, Y, _ = _data(3, 1, "squared_error")
    trainer64 = Trainer(net, "squared_error", 24)
    trainer64.loss_and_grad(X, Y)
    net32 = net.copy()
    for layer in net32.layers:
        for arrays in (layer.params, layer.buffers):
            for key in arrays:
                arrays[key] = arrays[key].astype(np.float32)
    trainer32 = Trainer(net32, "squared_error", 24)
    trainer32.loss_and_grad(X.astype(np.float32), Y.astype(np.float32))
    assert trainer32.grad.dtype == np.float32
    assert_allclose(trainer32.grad, trainer64.grad, rtol=1e-3, atol=1e-5)


def l2_penalty(network, alpha, weight_sum, grads):
    """Reference L2 term, layer by layer: alpha / (2 W) * sum ||weight||^2."""
    penalty = 0.0
    for layer, layer_grads in zip(network.layers, grads, strict=True):
        if isinstance(layer, Linear):
            weight = layer.params["weight"]
            penalty += float(np.vdot(weight, weight))
            layer_grads["weight"] += alpha / weight_sum * weight
    return 0.5 * alpha / weight_sum * penalty


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_trainer_l2_penalty_matches_layerwise(alpha):
    """Check the flat L2 term and gradient against a layer-by-layer reference."""
    net = _net((3, 8, 8, 2), batch_norm=None, activation="relu")
    trainer = Trainer(net, "squared_error", 8)
    grads = [
        {key: np.zeros_like(value) for key, value in layer.params.items()}
        for layer in net.layers
    ]
    expected = l2_penalty(net, alpha, 7.0, grads)
    trainer.grad[...] = 0.0
    assert trainer.l2_penalty(alpha, 7.0) == pytest.approx(expected, rel=1e-12)
    assert_allclose(trainer.grad, net.pack_grads(grads), rtol=1e-14, atol=0)


def test_trainer_gather():
    """Check gathered batches: copies for indices, views for slices, casts."""
    net = _net((3, 8, 1), batch_norm="before", activation="relu")
    trainer = Trainer(net, "squared_error", 4)
    X, Y, _ = _data(3, 1, "squared_error", n_rows=10)
    rows = np.array([7, 2, 9])
    xb, yb = trainer.gather(X, Y, rows)
    assert_array_equal(xb, X[rows])
    assert_array_equal(yb, Y[rows])
    xb, yb = trainer.gather(X, Y, slice(2, 5))
    assert np.shares_memory(xb, X)
    xb, _ = trainer.gather(X.astype(np.float32), Y, rows)
    assert xb.dtype == np.float64
    assert_allclose(xb, X[rows], rtol=1e-6)


def test_trainer_errors():
    """Check the messages for too many rows, 1-row BN batches and zero weights."""
    net = _net((3, 8, 1), batch_norm="before", activation="relu")
    trainer = Trainer(net, "squared_error", 4)
    X, Y, _ = _data(3, 1, "squared_error", n_rows=6)
    with pytest.raises(ValueError, match="max_batch"):
        trainer.loss_and_grad(X, Y)
    with pytest.raises(ValueError, match="more than 1 row"):
        trainer.loss_and_grad(X[:1], Y[:1])
    with pytest.raises(ValueError, match="positive sum"):
        trainer.loss_and_grad(X[:3], Y[:3], np.zeros(3))


def test_trainer_parameters_are_views_of_theta():
    """Check that the network's parameters live in trainer.theta."""
    net = _net((3, 8, 1), batch_norm="before", activation="relu")
    trainer = Trainer(net, "squared_error", 4)
    trainer.theta[...] = 0.5
    assert all((param == 0.5).all() for param in net.parameters())
    assert trainer.grad.shape == trainer.theta.shape


def test_trainer_weight_decay_is_decoupled():
    """Check that a step with weight_decay is the plain step, then W *= 1 - lr * wd.

    Only Linear weights decay; biases and batch-norm parameters do not.
    """
    from sknorm.nn import Adam

    net = _net((3, 8, 1), batch_norm="before", activation="relu")
    twin = net.copy()
    X, Y, _ = _data(3, 1, "squared_error", n_rows=8)
    decayed = Trainer(
        net,
        "squared_error",
        8,
        optimizer=Adam(net.parameters(), learning_rate_init=0.05),
        weight_decay=0.1,
    )
    plain = Trainer(
        twin,
        "squared_error",
        8,
        optimizer=Adam(twin.parameters(), learning_rate_init=0.05),
    )
    decayed.step(X, Y)
    plain.step(X, Y)
    expected = plain.theta * (1 - 0.05 * 0.1 * plain.weight_mask)
    assert_allclose(decayed.theta, expected, rtol=1e-14)
    assert plain.weight_mask.sum() < plain.theta.size  # some parameters kept
