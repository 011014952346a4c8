import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn._layers import BatchNorm1d, Dropout, Linear, ReLU, Tanh
from sknorm.nn._layout import build_mlp
from sknorm.nn._network import Sequential
from sknorm.nn._parallel import Parallel
from sknorm.nn._population import population_statistics


def _randomize_bn(bn, rng):
    """Give a BatchNorm1d non-trivial gamma, beta and buffers."""
    n = bn.n_features
    if bn.affine:
        bn.params["gamma"][...] = rng.normal(1.0, 0.5, n)
        bn.params["beta"][...] = rng.normal(0.0, 0.5, n)
    bn.set_statistics(rng.normal(size=n), rng.uniform(0.5, 2.0, n))
    return bn


def _small_net(rng, dtype=np.float64):
    """Linear -> BN -> ReLU -> Linear, with random BN state."""
    return Sequential(
        [
            Linear(3, 5, bias=False, rng=rng, dtype=dtype),
            _randomize_bn(BatchNorm1d(5, dtype=dtype), rng),
            ReLU(),
            Linear(5, 2, rng=rng, dtype=dtype),
        ]
    )


def _two_bn_net(rng):
    """Two BN layers, so the second one depends on the first one's statistics."""
    return Sequential(
        [
            Linear(4, 6, bias=False, rng=rng),
            _randomize_bn(BatchNorm1d(6), rng),
            ReLU(),
            Dropout(0.3, rng=rng),
            Linear(6, 5, rng=rng),
            Tanh(),
            _randomize_bn(BatchNorm1d(5), rng),
            Linear(5, 2, rng=rng),
        ]
    )


def _all_arrays(net):
    return [
        a
        for layer in net.layers
        for a in (*layer.params.values(), *layer.buffers.values())
    ]


def test_sequential_parameters_are_the_layer_arrays():
    """Check that parameters() returns the layers' own arrays, in layer order."""
    net = _small_net(np.random.default_rng(0))
    params = net.parameters()
    expected = [
        net.layers[0].params["weight"],
        net.layers[1].params["gamma"],
        net.layers[1].params["beta"],
        net.layers[3].params["weight"],
        net.layers[3].params["bias"],
    ]
    assert len(params) == len(expected)
    assert all(a is b for a, b in zip(params, expected, strict=True))
    params[0] -= 1.0
    params[4][...] = 7.0
    assert_array_equal(net.layers[3].params["bias"], 7.0)
    assert net.layers[0].params["weight"] is params[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sequential_flat_params_round_trip(dtype):
    """Check that set_flat_params(get_flat_params()) restores every parameter."""
    rng = np.random.default_rng(1)
    net = _small_net(rng, dtype=dtype)
    arrays = net.parameters()
    theta = net.get_flat_params()
    assert theta.dtype == np.float64
    assert theta.shape == (sum(a.size for a in arrays),)
    new_theta = rng.standard_normal(theta.shape)
    net.set_flat_params(new_theta)
    assert all(a is b for a, b in zip(net.parameters(), arrays, strict=True))
    assert all(a.dtype == dtype for a in net.parameters())
    assert_allclose(
        net.get_flat_params(), new_theta, rtol=1e-7 if dtype == np.float32 else 0
    )
    net.set_flat_params(theta)
    assert_array_equal(net.get_flat_params(), theta)


def test_sequential_set_flat_params_rejects_wrong_size():
    """Check that set_flat_params raises on a vector of the wrong length."""
    net = _small_net(np.random.default_rng(2))
    with pytest.raises(ValueError, match="shape"):
        net.set_flat_params(np.zeros(net.get_flat_params().size + 1))


def _pair_net(rng):
    """Two members side by side (BN before the activation, BN after it)."""
    return Parallel(
        [
            build_mlp(3, 2, hidden_layer_sizes=(5, 4), batch_norm=bn, rng=rng)
            for bn in ("before", "after")
        ]
    )


@pytest.mark.parametrize("make_net", [_small_net, _pair_net])
@pytest.mark.parametrize("weighted", [False, True])
def test_sequential_pack_grads_matches_finite_differences(weighted, make_net):
    """Check that pack_grads is the gradient of sum(out * R) w.r.t. get_flat_params.

    A Parallel's output holds every member's side by side: each member's
    block of R reaches that member only.
    """
    rng = np.random.default_rng(3)
    net = make_net(rng)
    x = rng.standard_normal((8, 3))
    w = rng.uniform(0.0, 2.0, 8) if weighted else None
    if weighted:
        w[2] = 0.0
    out, caches = net.forward(x, training=True, sample_weight=w)
    upstream = rng.standard_normal(out.shape)
    grad = net.pack_grads(net.backward(upstream, caches))

    def loss(theta):
        net.set_flat_params(theta)
        return np.sum(net.forward(x, training=True, sample_weight=w)[0] * upstream)

    theta = net.get_flat_params()
    step = 1e-6
    numerical = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = step
        numerical[k] = (loss(theta + e) - loss(theta - e)) / (2 * step)
    assert grad.dtype == np.float64
    assert_allclose(grad, numerical, rtol=1e-6, atol=1e-8)


def test_sequential_backward_aligns_grads_with_layers():
    """Check that backward gives one dict per layer, with the params' keys."""
    rng = np.random.default_rng(4)
    net = _two_bn_net(rng)
    out, caches = net.forward(rng.standard_normal((6, 4)), training=True)
    grads_list = net.backward(rng.standard_normal(out.shape), caches)
    assert len(grads_list) == len(net.layers)
    for layer, grads in zip(net.layers, grads_list, strict=True):
        assert grads.keys() == layer.params.keys()
    flat = net.flat_grads(grads_list)
    assert [g.shape for g in flat] == [p.shape for p in net.parameters()]


def test_sequential_forward_passes_sample_weight_to_batchnorm():
    """Check that forward's sample_weight reaches the BN layers."""
    rng = np.random.default_rng(5)
    net = _small_net(rng)
    x = rng.standard_normal((7, 3))
    w = rng.uniform(0.5, 2.0, 7)
    out, _ = net.forward(x, training=True, sample_weight=w)
    h, _ = net.layers[0].forward(x, training=True)
    bn = BatchNorm1d(5, affine=False)
    x_hat, _ = bn.forward(h, training=True, sample_weight=w)
    h = net.layers[1].params["gamma"] * x_hat + net.layers[1].params["beta"]
    expected = (
        np.maximum(h, 0) @ net.layers[3].params["weight"] + net.layers[3].params["bias"]
    )
    assert_allclose(out, expected, rtol=1e-12)


def test_sequential_predict_writes_nothing():
    """Check that predict leaves every param and buffer bitwise unchanged."""
    rng = np.random.default_rng(6)
    net = _two_bn_net(rng)
    before = [a.copy() for a in _all_arrays(net)]
    x = rng.standard_normal((5, 4))
    out = net.predict(x)
    for a, b in zip(_all_arrays(net), before, strict=True):
        assert_array_equal(a, b)
    assert_array_equal(out, net.forward(x, training=False)[0])


def _direct_population_stats(net, x, w):
    """Weighted mean / biased var of each BN input in one shot, updating as we go."""
    w = np.ones(x.shape[0]) if w is None else w
    h = x
    expected = []
    for layer in net.layers:
        if isinstance(layer, BatchNorm1d):
            mean = np.average(h, weights=w, axis=0)
            var = np.average((h - mean) ** 2, weights=w, axis=0)
            layer.set_statistics(mean, var)
            expected.append((mean, var))
        h, _ = layer.forward(h, training=False)
    return expected


@pytest.mark.parametrize("chunk_size", [4096, 7, 1])
@pytest.mark.parametrize("weights", ["none", "positive", "zeros"])
def test_sequential_population_statistics_match_direct_computation(chunk_size, weights):
    """Check that streamed population statistics equal a one-shot computation."""
    rng = np.random.default_rng(7)
    net = _two_bn_net(rng)
    reference = net.copy()
    x = rng.normal(3.0, 2.0, (53, 4))
    w = None if weights == "none" else rng.uniform(0.1, 3.0, 53)
    if weights == "zeros":
        w[rng.permutation(53)[:10]] = 0.0
        w[14:28] = 0.0  # whole chunks of zero weight when chunk_size=7
    expected = _direct_population_stats(reference, x, w)
    assert population_statistics(net, x, w, chunk_size=chunk_size) is net
    bns = [layer for layer in net.layers if isinstance(layer, BatchNorm1d)]
    assert len(bns) == len(expected) == 2
    for bn, (mean, var) in zip(bns, expected, strict=True):
        assert_allclose(bn.buffers["running_mean"], mean, rtol=1e-10, atol=1e-12)
        assert_allclose(bn.buffers["running_var"], var, rtol=1e-10, atol=1e-12)


def test_sequential_population_statistics_ignore_zero_weight_rows():
    """Check that rows of zero weight, however extreme, do not change the statistics."""
    rng = np.random.default_rng(8)
    net = _two_bn_net(rng)
    x = rng.standard_normal((20, 4))
    w = rng.uniform(0.5, 1.5, 20)
    population_statistics(net, x, w, chunk_size=6)
    stats = [a.copy() for a in _all_arrays(net)]
    x_extra = np.vstack([x, 1e6 * rng.standard_normal((5, 4))])
    w_extra = np.concatenate([w, np.zeros(5)])
    population_statistics(net, x_extra, w_extra, chunk_size=6)
    for a, b in zip(_all_arrays(net), stats, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_sequential_population_statistics_zero_weight_sum_raises():
    """Check that all-zero sample weights raise a ValueError."""
    net = _small_net(np.random.default_rng(9))
    with pytest.raises(ValueError, match="sample_weight"):
        population_statistics(net, np.ones((4, 3)), np.zeros(4))


def test_sequential_population_statistics_preserve_float32():
    """Check that population statistics keep a float32 network's buffers float32."""
    rng = np.random.default_rng(10)
    net = _small_net(rng, dtype=np.float32)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    population_statistics(net, x, chunk_size=8)
    h = net.layers[0].forward(x.astype(np.float64), training=False)[0]
    bn = net.layers[1]
    assert bn.buffers["running_var"].dtype == np.float32
    assert_allclose(bn.buffers["running_mean"], h.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert_allclose(bn.buffers["running_var"], h.var(axis=0), rtol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_sequential_preserves_float32(training):
    """Check that a float32 network gives float32 outputs and gradients."""
    rng = np.random.default_rng(11)
    net = _small_net(rng, dtype=np.float32)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    out, caches = net.forward(x, training=training, sample_weight=rng.uniform(size=6))
    grads = net.flat_grads(net.backward(np.ones_like(out), caches))
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    assert net.predict(x).dtype == np.float32


def test_sequential_copy_is_independent():
    """Check that copy() returns a network sharing no array with the original."""
    net = _small_net(np.random.default_rng(12))
    clone = net.copy()
    for a, b in zip(_all_arrays(net), _all_arrays(clone), strict=True):
        assert_array_equal(a, b)
        assert not np.shares_memory(a, b)


def test_sequential_flat_parameters_are_views():
    """Check that flat_parameters moves the parameters into one shared vector."""
    net = _small_net(np.random.default_rng(11))
    values = [p.copy() for p in net.parameters()]
    theta = net.flat_parameters()
    assert_array_equal(theta, np.concatenate([v.ravel() for v in values]))
    assert net.flat_parameters() is theta  # already flat: the same vector
    theta += 1.0
    for param, value in zip(net.parameters(), values, strict=True):
        assert np.shares_memory(param, theta)
        assert_array_equal(param, value + 1.0)
    assert_array_equal(net.get_flat_params(), theta)


def test_sequential_flat_parameters_after_copy():
    """Check that a copy (views become arrays) is flattened anew, values kept."""
    net = _small_net(np.random.default_rng(12))
    theta = net.flat_parameters()
    twin = net.copy()
    twin_theta = twin.flat_parameters()
    assert twin_theta is not theta
    assert not np.shares_memory(twin_theta, theta)
    assert_array_equal(twin_theta, theta)
    assert all(np.shares_memory(p, twin_theta) for p in twin.parameters())


def test_sequential_flat_parameters_mixed_dtypes_raise():
    """Check that parameters of several dtypes cannot share one vector."""
    rng = np.random.default_rng(13)
    net = Sequential([Linear(2, 3, rng=rng), Linear(3, 1, rng=rng, dtype=np.float32)])
    with pytest.raises(ValueError, match="dtypes"):
        net.flat_parameters()


def test_sequential_population_statistics_float32_accuracy():
    """Check float32 statistics against float64 ones on many rows."""
    rng = np.random.default_rng(14)
    net = _two_bn_net(rng)
    x = rng.normal(3.0, 2.0, (5000, 4))
    reference = net.copy()
    population_statistics(reference, x)
    net32 = net.copy()
    for layer in net32.layers:
        for arrays in (layer.params, layer.buffers):
            for key in arrays:
                arrays[key] = arrays[key].astype(np.float32)
    population_statistics(net32, x.astype(np.float32), chunk_size=1000)
    for bn, bn32 in zip(reference.layers, net32.layers, strict=True):
        for key, value in bn.buffers.items():
            assert bn32.buffers[key].dtype == np.float32
            assert_allclose(bn32.buffers[key], value, rtol=1e-5, atol=1e-6)
