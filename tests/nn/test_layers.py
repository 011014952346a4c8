import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn._layers import (
    ACTIVATIONS,
    BatchNorm1d,
    Dropout,
    LeakyReLU,
    Linear,
    init_bound,
)


def _away_from_zero(rng, shape):
    """Random values with |x| >= 0.05, away from the kinks of (leaky) ReLU."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 2.0, size=shape)


def _random_bn(rng, n_features, *, affine=True, dtype=np.float64):
    """A BatchNorm1d with non-trivial gamma, beta and buffers."""
    bn = BatchNorm1d(n_features, affine=affine, dtype=dtype)
    for key, value in bn.params.items():
        value[...] = rng.normal(1.0 if key == "gamma" else 0.0, 0.5, n_features)
    bn.buffers["running_mean"][...] = rng.normal(size=n_features)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, n_features)
    return bn


# Linear ---------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(assert_grad_close, bias):
    """Check that Linear's dx and parameter gradients match finite differences."""
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, bias=bias, rng=rng)
    assert ("bias" in layer.params) is bias
    assert_grad_close(layer, rng.standard_normal((6, 4)), rng)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_computes_affine_map(bias):
    """Check that Linear computes x @ weight + bias, weight of shape (n_in, n_out)."""
    rng = np.random.default_rng(1)
    layer = Linear(4, 3, bias=bias, rng=rng)
    x = rng.standard_normal((5, 4))
    out, _ = layer.forward(x, training=False)
    expected = x @ layer.params["weight"] + (layer.params["bias"] if bias else 0.0)
    assert layer.params["weight"].shape == (4, 3)
    assert_allclose(out, expected, rtol=1e-14)


def test_linear_init_follows_glorot_rule():
    """Check that Linear draws weight then bias from U(-b, b), b = sqrt(6/(in+out))."""
    n_in, n_out = 30, 20
    layer = Linear(n_in, n_out, rng=np.random.default_rng(2))
    bound = np.sqrt(6.0 / (n_in + n_out))
    reference = np.random.default_rng(2)
    assert_array_equal(
        layer.params["weight"], reference.uniform(-bound, bound, (n_in, n_out))
    )
    assert_array_equal(layer.params["bias"], reference.uniform(-bound, bound, n_out))
    assert np.abs(layer.params["weight"]).max() <= bound


def test_linear_init_bound_argument_overrides_glorot():
    """Check that an explicit init_bound sets the half-width of the uniform draw."""
    layer = Linear(50, 50, rng=np.random.default_rng(3), init_bound=0.01)
    assert np.abs(layer.params["weight"]).max() <= 0.01
    assert np.abs(layer.params["weight"]).max() > 0.009


def test_linear_same_seed_gives_identical_weights():
    """Check that two Linears built from equally seeded generators are identical."""
    a = Linear(5, 4, rng=np.random.default_rng(4))
    b = Linear(5, 4, rng=np.random.default_rng(4))
    for key in a.params:
        assert_array_equal(a.params[key], b.params[key])


def test_linear_without_rng_starts_at_zero():
    """Check that Linear fills zeros when no generator is given."""
    layer = Linear(3, 2)
    assert not layer.params["weight"].any()
    assert not layer.params["bias"].any()


@pytest.mark.parametrize(
    ("activation", "init", "expected"),
    [
        ("relu", "glorot", np.sqrt(6 / 30)),
        ("tanh", "glorot", np.sqrt(6 / 30)),
        ("logistic", "glorot", np.sqrt(2 / 30)),
        ("relu", "he", np.sqrt(6 / 10)),
        ("logistic", "he", np.sqrt(6 / 10)),
    ],
)
def test_init_bound_values(activation, init, expected):
    """Check that init_bound implements sklearn's Glorot rule and He's rule."""
    assert init_bound(10, 20, activation=activation, init=init) == pytest.approx(
        expected, rel=1e-15
    )


def test_init_bound_rejects_unknown_init():
    """Check that init_bound raises on an unknown init scheme."""
    with pytest.raises(ValueError, match="init"):
        init_bound(3, 4, init="lecun")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_preserves_dtype(dtype):
    """Check that a Linear's params, output and gradients keep its dtype."""
    rng = np.random.default_rng(5)
    layer = Linear(3, 2, rng=rng, dtype=dtype)
    x = rng.standard_normal((4, 3)).astype(dtype)
    out, cache = layer.forward(x, training=True)
    dx, grads = layer.backward(out, cache)
    arrays = [out, dx, *layer.params.values(), *grads.values()]
    assert all(a.dtype == dtype for a in arrays)


# Activations ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("training", [True, False])
def test_activation_gradients(assert_grad_close, name, training):
    """Check that each activation's dx matches finite differences."""
    rng = np.random.default_rng(6)
    layer = ACTIVATIONS[name]()
    assert layer.name == name
    assert layer.params == {}
    assert layer.buffers == {}
    assert_grad_close(layer, _away_from_zero(rng, (5, 4)), rng, training=training)


def test_leaky_relu_uses_negative_slope():
    """Check that LeakyReLU multiplies negative inputs by negative_slope."""
    out, _ = LeakyReLU(negative_slope=0.2).forward(
        np.array([[-2.0, 3.0]]), training=False
    )
    assert_allclose(out, [[-0.4, 3.0]], rtol=1e-15)


def test_logistic_does_not_overflow():
    """Check that Logistic saturates to 0 and 1 without warnings on huge inputs."""
    x = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])
    with np.errstate(all="raise"):
        out, _ = ACTIVATIONS["logistic"]().forward(x, training=False)
    assert_allclose(out[0, [0, 2, 4]], [0.0, 0.5, 1.0], atol=1e-15)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_preserves_float32(name):
    """Check that activations keep float32 outputs and gradients float32."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    layer = ACTIVATIONS[name]()
    out, cache = layer.forward(x, training=True)
    dx, _ = layer.backward(np.ones_like(out), cache)
    assert out.dtype == np.float32
    assert dx.dtype == np.float32


def test_activation_params_are_not_shared():
    """Check that params/buffers are per-instance dicts, not shared class state."""
    a, b = ACTIVATIONS["relu"](), ACTIVATIONS["relu"]()
    assert a.params is not b.params
    assert a.buffers is not b.buffers


# Dropout --------------------------------------------------------------------


def test_dropout_gradients(assert_grad_close):
    """Check that Dropout's dx matches finite differences for a fixed mask."""
    rng = np.random.default_rng(8)
    layer = Dropout(0.4, rng=np.random.default_rng(9))
    assert_grad_close(layer, rng.standard_normal((6, 5)), rng)


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_is_identity_at_inference(rate):
    """Check that Dropout returns its input unchanged when not training."""
    x = np.random.default_rng(10).standard_normal((4, 3))
    out, cache = Dropout(rate, rng=np.random.default_rng(0)).forward(x, training=False)
    assert_array_equal(out, x)
    assert cache is None


def test_dropout_rate_zero_is_identity_in_training():
    """Check that a zero rate needs no rng and returns the input in training."""
    x = np.ones((3, 2))
    out, cache = Dropout(0.0).forward(x, training=True)
    assert_array_equal(out, x)
    assert cache is None


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_training_statistics(rate):
    """Check that training Dropout zeros about `rate` of inputs and keeps the mean."""
    x = np.ones((400, 250))
    out, _ = Dropout(rate, rng=np.random.default_rng(11)).forward(x, training=True)
    assert np.mean(out == 0) == pytest.approx(rate, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.03)
    assert_allclose(out[out != 0], 1.0 / (1.0 - rate), rtol=1e-12)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, np.nan])
def test_dropout_rejects_rate_outside_unit_interval(rate):
    """Check that Dropout raises for a rate outside [0, 1)."""
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


def test_dropout_training_without_rng_raises():
    """Check that training Dropout with rate > 0 and no rng raises."""
    with pytest.raises(ValueError, match="rng"):
        Dropout(0.5).forward(np.ones((2, 2)), training=True)


def test_dropout_preserves_float32():
    """Check that Dropout keeps float32 outputs and gradients float32."""
    layer = Dropout(0.5, rng=np.random.default_rng(12))
    out, cache = layer.forward(np.ones((5, 3), dtype=np.float32), training=True)
    dx, _ = layer.backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == np.float32


# BatchNorm1d ----------------------------------------------------------------

N_BN = 9


def _weights(kind, rng, n=N_BN):
    """None, positive weights, or weights with zeros (rows 1 and 4)."""
    if kind == "none":
        return None
    w = rng.uniform(0.2, 3.0, n)
    if kind == "zeros":
        w[[1, 4]] = 0.0
    return w


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("weights", ["none", "positive", "zeros"])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(assert_grad_close, affine, weights, training):
    """Check that BatchNorm1d's dx and gamma/beta grads match finite differences."""
    rng = np.random.default_rng(13)
    layer = _random_bn(rng, 4, affine=affine)
    x = rng.normal(2.0, 3.0, (N_BN, 4))
    assert_grad_close(
        layer, x, rng, sample_weight=_weights(weights, rng), training=training
    )


@pytest.mark.parametrize("weights", ["none", "positive", "zeros"])
def test_batchnorm_training_output_is_standardized(weights):
    """Check that training output has weighted zero mean and unit variance."""
    rng = np.random.default_rng(14)
    eps = 1e-5
    layer = BatchNorm1d(3, eps=eps, affine=False)
    x = rng.normal([0.0, 5.0, -3.0], [0.1, 2.0, 10.0], (N_BN, 3))
    w = _weights(weights, rng)
    out, _ = layer.forward(x, training=True, sample_weight=w)
    p = np.full(N_BN, 1 / N_BN) if w is None else w / w.sum()
    batch_var = p @ (x - p @ x) ** 2
    assert_allclose(p @ out, 0.0, atol=1e-12)
    # eps shrinks the variance by batch_var / (batch_var + eps), not to exactly one.
    assert_allclose(p @ out**2, batch_var / (batch_var + eps), rtol=1e-12)


def test_batchnorm_training_applies_gamma_and_beta():
    """Check that the affine output is gamma * x_hat + beta."""
    rng = np.random.default_rng(15)
    affine = _random_bn(rng, 3)
    plain = BatchNorm1d(3, affine=False)
    x = rng.standard_normal((6, 3))
    out, _ = affine.forward(x, training=True)
    x_hat, _ = plain.forward(x, training=True)
    expected = affine.params["gamma"] * x_hat + affine.params["beta"]
    assert_allclose(out, expected, rtol=1e-13)


def test_batchnorm_inference_is_row_independent():
    """Check that an inference row's output ignores the other rows and their order."""
    rng = np.random.default_rng(16)
    layer = _random_bn(rng, 4)
    x = rng.standard_normal((10, 4))
    full, _ = layer.forward(x, training=False)
    perm = rng.permutation(10)
    permuted, _ = layer.forward(x[perm], training=False)
    assert_array_equal(permuted, full[perm])
    for rows in ([3], [7, 2], [0, 5, 9]):
        subset, _ = layer.forward(x[rows], training=False)
        assert_array_equal(subset, full[rows])


def test_batchnorm_inference_uses_running_statistics():
    """Check that inference computes gamma * (x - mean) / sqrt(var + eps) + beta."""
    rng = np.random.default_rng(17)
    layer = _random_bn(rng, 3)
    x = rng.standard_normal((5, 3))
    out, _ = layer.forward(x, training=False)
    mean, var = layer.buffers["running_mean"], layer.buffers["running_var"]
    x_hat = (x - mean) / np.sqrt(var + layer.eps)
    assert_allclose(
        out, layer.params["gamma"] * x_hat + layer.params["beta"], rtol=1e-13
    )


@pytest.mark.parametrize("weights", ["none", "positive", "zeros"])
def test_batchnorm_running_statistics_follow_formula(weights):
    """Check the running update over several steps, with the W/(W-1) Bessel factor."""
    rng = np.random.default_rng(18)
    momentum = 0.3
    layer = BatchNorm1d(3, momentum=momentum)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(4):
        x = rng.normal(1.0, 2.0, (N_BN, 3))
        w = _weights(weights, rng)
        w_full = np.ones(N_BN) if w is None else w
        total = w_full.sum()
        batch_mean = w_full @ x / total
        batch_var = w_full @ (x - batch_mean) ** 2 / total
        mean = (1 - momentum) * mean + momentum * batch_mean
        var = (1 - momentum) * var + momentum * batch_var * total / (total - 1)
        layer.forward(x, training=True, sample_weight=w)
        assert_allclose(layer.buffers["running_mean"], mean, rtol=1e-12)
        assert_allclose(layer.buffers["running_var"], var, rtol=1e-12)


def test_batchnorm_unweighted_bessel_factor_is_n_over_n_minus_1():
    """Check that without weights running_var uses the unbiased n/(n-1) variance."""
    x = np.random.default_rng(19).standard_normal((7, 2))
    layer = BatchNorm1d(2, momentum=1.0)
    layer.forward(x, training=True)
    assert_allclose(layer.buffers["running_var"], x.var(axis=0, ddof=1), rtol=1e-12)
    assert_allclose(layer.buffers["running_mean"], x.mean(axis=0), rtol=1e-12)


def test_batchnorm_no_bessel_correction_when_weight_sum_at_most_one():
    """Check that weights summing to <= 1 store the biased variance (factor 1)."""
    rng = np.random.default_rng(20)
    x = rng.standard_normal((6, 2))
    w = rng.uniform(size=6)
    w /= w.sum()
    layer = BatchNorm1d(2, momentum=1.0)
    layer.forward(x, training=True, sample_weight=w)
    batch_var = w @ (x - w @ x) ** 2
    assert_allclose(layer.buffers["running_var"], batch_var, rtol=1e-12)


def test_batchnorm_integer_weights_equal_repeated_rows():
    """Check that integer weights give the same output and buffers as repeated rows."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((5, 3))
    w = np.array([1, 3, 0, 2, 1])
    weighted, repeated = _random_bn(rng, 3), _random_bn(rng, 3)
    for key, value in {**weighted.buffers, **weighted.params}.items():
        {**repeated.buffers, **repeated.params}[key][...] = value
    out_w, _ = weighted.forward(x, training=True, sample_weight=w)
    out_r, _ = repeated.forward(np.repeat(x, w, axis=0), training=True)
    assert_allclose(np.repeat(out_w, w, axis=0), out_r, rtol=1e-12, atol=1e-14)
    for key in weighted.buffers:
        assert_allclose(weighted.buffers[key], repeated.buffers[key], rtol=1e-12)


def test_batchnorm_inference_writes_nothing():
    """Check that inference leaves buffers and params bitwise unchanged."""
    rng = np.random.default_rng(22)
    layer = _random_bn(rng, 3)
    before = {k: v.copy() for k, v in {**layer.buffers, **layer.params}.items()}
    attributes = set(vars(layer))
    layer.forward(rng.standard_normal((5, 3)), training=False)
    for key, value in {**layer.buffers, **layer.params}.items():
        assert_array_equal(value, before[key])
    assert set(vars(layer)) == attributes


def test_batchnorm_single_row_in_training_raises():
    """Check that training on one row raises a ValueError naming n_samples=1."""
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match="n_samples=1"):
        layer.forward(np.ones((1, 3)), training=True)
    out, _ = layer.forward(np.ones((1, 3)), training=False)
    assert out.shape == (1, 3)


def test_batchnorm_zero_weight_sum_raises():
    """Check that training with all-zero sample weights raises a ValueError."""
    with pytest.raises(ValueError, match="sample_weight"):
        BatchNorm1d(2).forward(
            np.ones((4, 2)), training=True, sample_weight=np.zeros(4)
        )


def test_batchnorm_rejects_wrong_number_of_features():
    """Check that an input with the wrong number of columns raises."""
    with pytest.raises(ValueError, match="n_samples, 3"):
        BatchNorm1d(3).forward(np.ones((4, 2)), training=False)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_preserves_float32(affine, training):
    """Check that float32 stays float32 in params, buffers, outputs and grads."""
    rng = np.random.default_rng(23)
    layer = BatchNorm1d(3, affine=affine, dtype=np.float32)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    w = rng.uniform(size=6)  # float64 weights must not upcast
    out, cache = layer.forward(x, training=training, sample_weight=w)
    dx, grads = layer.backward(rng.standard_normal((6, 3)).astype(np.float32), cache)
    arrays = [out, dx, *grads.values(), *layer.params.values(), *layer.buffers.values()]
    assert all(a.dtype == np.float32 for a in arrays)


def test_batchnorm_set_statistics_writes_in_place():
    """Check that set_statistics overwrites the buffer arrays themselves."""
    layer = BatchNorm1d(2)
    mean_array, var_array = layer.buffers["running_mean"], layer.buffers["running_var"]
    layer.set_statistics(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert layer.buffers["running_mean"] is mean_array
    assert layer.buffers["running_var"] is var_array
    assert_array_equal(mean_array, [1.0, 2.0])
    assert_array_equal(var_array, [3.0, 4.0])
    with pytest.raises(ValueError, match="shape"):
        layer.set_statistics(np.zeros(3), np.ones(3))


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda rng: Linear(3, 3, rng=rng),
        lambda rng: _random_bn(rng, 3),
        lambda rng: Dropout(0.5, rng=rng),
        *[lambda rng, cls=cls: cls() for cls in ACTIVATIONS.values()],
    ],
)
def test_layers_do_not_store_inputs_or_outputs(make_layer):
    """Check that forward adds no attribute to a layer (no stored x or out)."""
    rng = np.random.default_rng(24)
    layer = make_layer(rng)
    attributes = dict(vars(layer))
    layer.forward(rng.standard_normal((4, 3)), training=True)
    assert vars(layer).keys() == attributes.keys()
    assert all(vars(layer)[key] is value for key, value in attributes.items())
