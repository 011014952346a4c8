"""Data and comparisons shared by the Standardizer test modules."""

from fractions import Fraction

import numpy as np
from numpy.testing import assert_allclose

EPS = np.finfo(np.float64).eps


def _data(n_samples=60, n_features=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    loc = rng.uniform(-5, 5, size=n_features)
    scale = rng.uniform(0.5, 3, size=n_features)
    X = loc + scale * rng.standard_normal((n_samples, n_features))
    return X.astype(dtype)


def _weights(n_samples, seed=1):
    return np.random.default_rng(seed).uniform(0.1, 3.0, size=n_samples)


def _assert_same_fit(est, ref, rtol=1e-12, check_n_samples_seen=True):
    for attr in ("mean_", "var_", "scale_"):
        got, expected = getattr(est, attr), getattr(ref, attr)
        if expected is None:
            assert got is None, attr
        else:
            assert_allclose(got, expected, rtol=rtol, atol=1e-14, err_msg=attr)
    if check_n_samples_seen:
        assert_allclose(est.n_samples_seen_, ref.n_samples_seen_, rtol=1e-12)
    assert est.n_features_in_ == ref.n_features_in_


def _exact_mean_std(column):
    values = [Fraction(float(v)) for v in column]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return float(mean), float(var) ** 0.5
