"""Data, settings and network probes shared by the MLPRegressor test modules."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from sknorm.nn import BatchNorm1d, Dropout

# Settings under which every placement learns the smooth target quickly; tests
# pass them explicitly so they do not depend on the default learning rate.
FAST = {
    "hidden_layer_sizes": (32, 32),
    "learning_rate_init": 0.01,
    "learning_rate": "constant",
    "batch_size": "auto",
    "random_state": 0,
}


def _smooth_data(n_samples=300, n_outputs=1, seed=0):
    """Standard-normal X (3 columns) and a smooth nonlinear target."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2]
    if n_outputs == 2:
        y = np.column_stack([y, np.cos(X[:, 1]) * X[:, 0]])
    return X, y


def _unfolded_predict(reg, X):
    """Predict with the unfolded network in inference mode, in original units."""
    raw = reg.network_.predict(X)
    out = np.exp(raw) if reg.out_activation_ == "exp" else raw
    out = out * reg.target_scale_ + reg.target_mean_
    return out.ravel() if out.shape[1] == 1 else out


def _bn_input_moments(network, X, sample_weight=None):
    """Weighted mean and biased variance of each BatchNorm1d's input over X.

    Member by member for an average, in the order of ``network.layers``.
    """
    moments = []
    for member in network.members:
        for i, layer in enumerate(member.layers):
            if isinstance(layer, BatchNorm1d):
                h = X
                for below in member.layers[:i]:
                    h, _ = below.forward(h, training=False)
                mean = np.average(h, axis=0, weights=sample_weight)
                var = np.average((h - mean) ** 2, axis=0, weights=sample_weight)
                moments.append((mean, var))
    return moments


def _assert_bn_population_stats(network, X, sample_weight=None):
    """Assert that every BN buffer holds the population statistics over X."""
    expected = _bn_input_moments(network, X, sample_weight)
    assert len(expected) > 0
    for (mean, var), (ref_mean, ref_var) in zip(
        _bn_buffers(network), expected, strict=True
    ):
        assert_allclose(mean, ref_mean, rtol=1e-10, atol=1e-12)
        assert_allclose(var, ref_var, rtol=1e-10, atol=1e-12)


def _bn_buffers(network):
    return [
        (layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy())
        for layer in network.layers
        if isinstance(layer, BatchNorm1d)
    ]


def _state(reg):
    """Copies of every parameter and buffer of the unfolded network."""
    return [
        {key: value.copy() for key, value in {**layer.params, **layer.buffers}.items()}
        for layer in reg.network_.layers
    ]


def _assert_state_equal(state, other):
    assert len(state) == len(other)
    for layer_state, layer_other in zip(state, other, strict=True):
        assert layer_state.keys() == layer_other.keys()
        for key, value in layer_state.items():
            assert_array_equal(value, layer_other[key], err_msg=key)


def _dropout_rates(est):
    """The dropout rates of the network (of its first member, for an average)."""
    network = est.network_.members[0]
    return [layer.rate for layer in network.layers if isinstance(layer, Dropout)]


def _coefs_equal(est, other):
    """Whether two fitted MLPs have bitwise-identical ``coefs_``."""
    return all(
        np.array_equal(a, b) for a, b in zip(est.coefs_, other.coefs_, strict=True)
    )
