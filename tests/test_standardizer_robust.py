"""Standardizer's robust scaling (median, IQR) and smooth clipping."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils.estimator_checks import (
    parametrize_with_checks,
)
from standardizer_helpers import _data

from sknorm._standardizer import Standardizer

ROBUST_ESTIMATORS = [
    Standardizer(method="robust"),
    Standardizer(method="robust", clip=3.0),
    Standardizer(clip=3.0),
    Standardizer(with_mean=False, clip=2.0),
]


@parametrize_with_checks(ROBUST_ESTIMATORS)
def test_standardizer_robust_and_clip_sklearn_compatible(estimator, check):
    """Check that robust scaling and clipping pass scikit-learn's checks."""
    check(estimator)


def test_standardizer_robust_statistics_are_median_and_iqr():
    """Check median and IQR against NumPy's inverted-CDF quantiles, NaN ignored."""
    X = _data(61)
    X[[3, 10], 1] = np.nan
    scaler = Standardizer(method="robust").fit(X)
    quantiles = np.nanquantile(X, [0.25, 0.5, 0.75], axis=0, method="inverted_cdf")
    assert_allclose(scaler.mean_, quantiles[1])
    assert_allclose(scaler.scale_, quantiles[2] - quantiles[0])
    assert scaler.var_ is None
    assert_array_equal(scaler.n_samples_seen_, [61, 59, 61, 61])


def test_standardizer_robust_ignores_sentinels():
    """Check that -9900 codes in 5 % of rows leave the scaling of the rest alone."""
    X = _data(200)
    clean = Standardizer(method="robust").fit(X[10:])
    X[:10, 0] = -9900.0
    coded = Standardizer(method="robust").fit(X)
    assert_allclose(coded.scale_[0], clean.scale_[0], rtol=0.2)
    assert Standardizer().fit(X).scale_[0] > 100 * coded.scale_[0]


def test_standardizer_robust_integer_weights_equal_repeated_rows():
    """Check that weights 2 give the statistics of duplicated rows."""
    X = _data(31)
    w = np.random.default_rng(3).integers(0, 3, 31).astype(float)
    weighted = Standardizer(method="robust").fit(X, sample_weight=w)
    repeated = Standardizer(method="robust").fit(np.repeat(X, w.astype(int), axis=0))
    assert_allclose(weighted.mean_, repeated.mean_)
    assert_allclose(weighted.scale_, repeated.scale_)


def test_standardizer_robust_constant_and_zero_iqr_columns():
    """Check the fallbacks: half the range where the IQR is 0, else 1."""
    X = np.column_stack([np.ones(10), [0.0] * 9 + [4.0]])
    scaler = Standardizer(method="robust").fit(X)
    assert_array_equal(scaler.scale_, [1.0, 2.0])
    assert_array_equal(scaler.transform(X)[:, 0], np.zeros(10))


def test_standardizer_robust_refuses_partial_fit_and_sparse():
    """Check that partial_fit is hidden and sparse input raises with 'robust'."""
    assert not hasattr(Standardizer(method="robust"), "partial_fit")
    with pytest.raises(ValueError, match="sparse"):
        Standardizer(method="robust", with_mean=False).fit(sp.csr_matrix(_data()))


def test_standardizer_clip_is_smooth_bounded_and_invertible():
    """Check z / sqrt(1 + (z / c)^2): near identity at 0, below c, inverted."""
    X = _data(50)
    X[0, 2] = 1e6
    plain = Standardizer().fit(X)
    clipped = Standardizer(clip=3.0).fit(X)
    Z, C = plain.transform(X), clipped.transform(X)
    assert_allclose(C, Z / np.sqrt(1 + (Z / 3.0) ** 2), rtol=1e-14)
    assert np.abs(C).max() < 3.0
    assert_allclose(clipped.inverse_transform(C), X, rtol=1e-6)
    with pytest.raises(ValueError, match=r"clip=3\.0"):
        clipped.inverse_transform(np.full((1, 4), 3.0))


def test_standardizer_clip_keeps_sparse_zeros():
    """Check that clipping a sparse matrix keeps its zeros and its sparsity."""
    X = sp.random(30, 5, density=0.2, format="csr", random_state=0) * 100
    out = Standardizer(with_mean=False, clip=2.0).fit(X).transform(X)
    assert sp.issparse(out)
    assert out.nnz == X.nnz
    assert np.abs(out.data).max() < 2.0
