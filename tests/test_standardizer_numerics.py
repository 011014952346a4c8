"""Standardizer numerics: large offsets, constant or empty columns, extreme weights."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from standardizer_helpers import EPS, _assert_same_fit, _data, _exact_mean_std, _weights

from sknorm import MLPRegressor
from sknorm._standardizer import Standardizer, standardization_stats


@pytest.mark.parametrize(
    ("offset", "spread"), [(1e5, 10.0), (1e8, 1.0), (1e9, 1e-2)], ids=str
)
@pytest.mark.parametrize("n_chunks", [1, 7, 200])
def test_standardizer_stable_with_large_offset(offset, spread, n_chunks):
    """Check that mean and std are accurate for a large offset, also chunked."""
    rng = np.random.default_rng(0)
    X = offset + spread * rng.standard_normal((1000, 2))
    est = Standardizer()
    for chunk in np.array_split(X, n_chunks):
        est.partial_fit(chunk)
    for j in range(X.shape[1]):
        mean, std = _exact_mean_std(X[:, j])
        assert_allclose(est.mean_[j], mean, rtol=1e-15)
        assert_allclose(est.scale_[j], std, rtol=1e-9)
    # mean_ itself is rounded to float64, i.e. to eps * offset.
    Xt = est.transform(X)
    assert_allclose(Xt.mean(axis=0), 0.0, atol=1e-8 + 2 * EPS * offset / spread)
    assert_allclose(Xt.std(axis=0), 1.0, rtol=1e-8)


def test_standardizer_stable_weighted_large_offset():
    """Check that weighted statistics are accurate for pressures in Pa."""
    rng = np.random.default_rng(1)
    X = 1e5 + 10.0 * rng.standard_normal((500, 1))
    sw = rng.integers(1, 4, size=500)
    est = Standardizer()
    for rows in np.array_split(np.arange(500), 9):
        est.partial_fit(X[rows], sample_weight=sw[rows])
    mean, std = _exact_mean_std(np.repeat(X[:, 0], sw))
    assert_allclose(est.mean_[0], mean, rtol=1e-15)
    assert_allclose(est.scale_[0], std, rtol=1e-9)
    assert est.n_samples_seen_ == sw.sum()


@pytest.mark.parametrize("value", [0.0, 1.0, 1e8, -3.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_constant_column_scale_one(value, weighted):
    """Check that constant columns get scale 1 and finite transformed values."""
    X = _data(n_samples=40, n_features=3)
    X[:, 1] = value
    # Near-constant: differences at the rounding level of the values.
    X[:, 2] = value * (1.0 + EPS * np.array([0.0, 1.0, -1.0, 2.0] * 10))
    sw = _weights(40) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = Standardizer().fit(X, sample_weight=sw)
        Xt = est.transform(X)
        partial = Standardizer().partial_fit(X[:20]).partial_fit(X[20:])
    assert est.scale_[1] == 1.0
    assert partial.scale_[1] == 1.0
    if value != 0.0:
        assert est.scale_[2] == 1.0
        assert partial.scale_[2] == 1.0
    assert np.isfinite(Xt).all()
    assert_allclose(Xt[:, 1], 0.0, atol=1e-12 * max(1.0, abs(value)))


def test_standardizer_all_nan_column():
    """Check that an all-NaN column gets mean 0, NaN variance, scale 1, no warning."""
    X = _data(n_samples=20, n_features=2)
    X[:, 1] = np.nan
    X_new = _data(n_samples=5, n_features=2, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = Standardizer().fit(X)
        Xt = est.transform(X)
        assert est.mean_[1] == 0.0
        assert np.isnan(est.var_[1])
        assert est.scale_[1] == 1.0
        assert_array_equal(est.n_samples_seen_, [20, 0])
        assert np.isnan(Xt[:, 1]).all()
        assert np.isfinite(Xt[:, 0]).all()
        # Without information the column passes through unchanged.
        assert_array_equal(est.transform(X_new)[:, 1], X_new[:, 1])
        # A later batch with data for that column is taken as is.
        est.partial_fit(X_new)
    assert_array_equal(est.n_samples_seen_, [25, 5])
    assert_allclose(est.mean_[1], X_new[:, 1].mean(), rtol=1e-14)
    assert_allclose(est.var_[1], X_new[:, 1].var(), rtol=1e-14)


def _offset_data_and_weights():
    """The reproducer of issue 14.11: 1e8 +/- 5e3, six rows, two columns."""
    rng = np.random.default_rng(0)
    X = 1e8 + rng.normal(size=(6, 2)) * 5e3
    return X, rng.uniform(0.5, 1.5, size=6)


@pytest.mark.parametrize("factor", [1e300, 1e-300, 1e307, 2.0**-1070])
@pytest.mark.parametrize("constant", [True, False], ids=["full", "random"])
def test_standardizer_statistics_invariant_to_weight_scale(factor, constant):
    """Check that huge or tiny weights give the statistics of unit-size weights."""
    X, w = _offset_data_and_weights()
    scaled = (np.ones(6) if constant else w) * factor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Subnormal weights are rounded: compare with what they represent.
        ref = Standardizer().fit(X, sample_weight=scaled / factor)
        est = Standardizer().fit(X, sample_weight=scaled)
        partial = Standardizer().partial_fit(X[:4], sample_weight=scaled[:4])
        partial.partial_fit(X[4:], sample_weight=scaled[4:])
        stats = standardization_stats(X, scaled)
    _assert_same_fit(est, ref, check_n_samples_seen=False)
    _assert_same_fit(partial, ref, check_n_samples_seen=False)
    for got, expected in zip(stats, (ref.mean_, ref.var_, ref.scale_), strict=True):
        assert_allclose(got, expected, rtol=1e-12)
    # n_samples_seen_ stays the sum of the weights as given.
    assert_allclose(est.n_samples_seen_, np.sum(scaled), rtol=1e-12)
    assert_allclose(partial.n_samples_seen_, np.sum(scaled), rtol=1e-12)


def test_standardizer_partial_fit_merges_differently_scaled_weights():
    """Check that batches with weights 1e300 and 1e299 merge with ratio 10."""
    X, w = _offset_data_and_weights()
    X[:3, 1] = np.nan  # column 1 is only observed in the tiny-weight batch
    est = Standardizer().partial_fit(X[:3], sample_weight=w[:3] * 1e300)
    est.partial_fit(X[3:], sample_weight=w[3:] * 1e299)
    ref = Standardizer().fit(X, sample_weight=np.r_[w[:3] * 10, w[3:]])
    _assert_same_fit(est, ref, check_n_samples_seen=False)
    assert_allclose(est.n_samples_seen_, ref.n_samples_seen_ * 1e299, rtol=1e-12)
    # Weights 1e-300 next to 1e300 are negligible, except where they are alone.
    tiny = Standardizer().partial_fit(X[:3], sample_weight=w[:3] * 1e300)
    tiny.partial_fit(X[3:], sample_weight=w[3:] * 1e-300)
    first = Standardizer().fit(X[:3, :1], sample_weight=w[:3])
    alone = Standardizer().fit(X[3:, 1:], sample_weight=w[3:])
    assert_allclose(tiny.mean_, np.r_[first.mean_, alone.mean_], rtol=1e-12)
    assert_allclose(tiny.var_, np.r_[first.var_, alone.var_], rtol=1e-12)


def test_standardizer_weighted_overflow_error_kept():
    """Check that truly spread data still raise the overflow error, weighted."""
    X = np.array([[1e300], [-1e300]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights in (None, [1e300, 1e300], [1e-300, 1e-300]):
            with pytest.raises(ValueError, match="spread over more than about 1e154"):
                Standardizer().fit(X, sample_weight=weights)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_target_stats_invariant_to_weight_scale():
    """Check that MLPRegressor standardizes y alike with weights 1 and 1e300."""
    X, w = _offset_data_and_weights()
    y = X[:, 0]
    fits = [
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
            X - 1e8, y, sample_weight=w * factor
        )
        for factor in (1.0, 1e300)
    ]
    assert_allclose(fits[1].target_mean_, fits[0].target_mean_, rtol=1e-12)
    assert_allclose(fits[1].target_scale_, fits[0].target_scale_, rtol=1e-12)


def test_standardizer_float16_centering_does_not_overflow():
    """Check that float16 data are transformed without an overflow to -inf."""
    X = np.array([[60000.0], [-60000.0], [60000]], np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = Standardizer().fit(X)
        Z = est.transform(X)
        back = est.inverse_transform(Z)
    assert Z.dtype == np.float16
    assert back.dtype == np.float16
    assert_allclose(Z.astype(float), [[0.5**0.5], [-(2**0.5)], [0.5**0.5]], rtol=1e-3)
    assert_allclose(back.astype(float), X.astype(float), rtol=1e-3)


@pytest.mark.parametrize("method", ["standard", "robust"])
def test_standardizer_zero_weight_column_passes_unchanged(method):
    """Check that a column whose observed rows all weigh 0 is left as is."""
    X = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 4.0]])
    w = np.array([1.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = Standardizer(method=method).fit(X, sample_weight=w)
        Z = est.transform(X)
        back = est.inverse_transform(Z)
    assert est.mean_[1] == 0.0
    assert est.scale_[1] == 1.0
    assert_array_equal(Z[:, 1], X[:, 1])
    assert_array_equal(back, X)
    if method == "standard":
        assert np.isnan(est.var_[1])
        assert_array_equal(standardization_stats(X, w)[0], [1.0, 0.0])
        # A later batch with weight for that column takes over.
        est.partial_fit(X[1:], sample_weight=[1.0, 3.0])
        assert_allclose(est.mean_[1], 3.75)


def test_standardizer_float16_result_beyond_float16_raises():
    """Check a centred float16 value beyond 65504 raises instead of becoming -inf."""
    X = np.array([[-6e4], [6e4]], dtype=np.float16)
    est = Standardizer(with_std=False).fit(X, sample_weight=[0.0, 1.0])
    with pytest.raises(ValueError, match="overflows float16"):
        est.transform(X)
