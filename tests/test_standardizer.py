import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_inplace_ensure_writeable,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from sknorm import MLPRegressor
from sknorm._standardizer import Standardizer, standardization_stats

FLAGS = [
    {"with_mean": True, "with_std": True},
    {"with_mean": False, "with_std": True},
    {"with_mean": True, "with_std": False},
    {"with_mean": False, "with_std": False},
]
EPS = np.finfo(np.float64).eps
ESTIMATORS = [
    Standardizer(),
    Standardizer(with_mean=False),
    Standardizer(with_std=False),
]


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


@parametrize_with_checks(ESTIMATORS)
def test_standardizer_sklearn_compatible(estimator, check):
    """Check that Standardizer passes scikit-learn's estimator checks."""
    check(estimator)


@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize(
    "check",
    [
        check_param_validation,
        check_dataframe_column_names_consistency,
        check_get_feature_names_out_error,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_global_output_transform_pandas,
        check_set_output_transform_polars,
        check_global_set_output_transform_polars,
    ],
    ids=lambda check: check.__name__,
)
def test_standardizer_sklearn_extra_checks(estimator, check):
    """Check that Standardizer passes the extra checks of sklearn's test_common."""
    check("Standardizer", clone(estimator))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_standardizer_inplace_ensure_writeable(estimator):
    """Check that copy=False never writes into read-only input."""
    check_inplace_ensure_writeable(
        "Standardizer", clone(estimator).set_params(copy=False)
    )


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_fit_matches_standard_scaler(flags, weighted):
    """Check that fit and transform match StandardScaler on dense data."""
    X = _data()
    sw = _weights(X.shape[0]) if weighted else None
    est = Standardizer(**flags).fit(X, sample_weight=sw)
    ref = StandardScaler(**flags).fit(X, sample_weight=sw)
    # StandardScaler(with_mean=False, with_std=False) counts samples instead of
    # summing weights on dense data (unlike its docs and its sparse branch).
    _assert_same_fit(
        est, ref, check_n_samples_seen=not (weighted and not any(flags.values()))
    )
    if weighted:
        assert_allclose(est.n_samples_seen_, sw.sum(), rtol=1e-12)
    X_test = _data(seed=3)
    assert_allclose(
        est.transform(X_test), ref.transform(X_test), rtol=1e-12, atol=1e-12
    )
    Z = ref.transform(X_test)
    assert_allclose(est.inverse_transform(Z), ref.inverse_transform(Z), rtol=1e-12)


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize(
    "weights", ["none", "all", "mixed"], ids=["unweighted", "weighted", "mixed"]
)
def test_standardizer_partial_fit_matches_standard_scaler(flags, weights):
    """Check that a sequence of partial_fit calls matches StandardScaler."""
    X = _data(n_samples=97)
    sw = _weights(X.shape[0])
    est, ref = Standardizer(**flags), StandardScaler(**flags)
    # See test_standardizer_fit_matches_standard_scaler.
    check_seen = weights == "none" or any(flags.values())
    # mixed: unweighted first, then weighted (StandardScaler's valid order).
    for i, rows in enumerate(np.array_split(np.arange(X.shape[0]), 5)):
        use_w = weights == "all" or (weights == "mixed" and i >= 2)
        w = sw[rows] if use_w else None
        est.partial_fit(X[rows], sample_weight=w)
        ref.partial_fit(X[rows], sample_weight=w)
        _assert_same_fit(est, ref, check_n_samples_seen=check_seen)
    assert_allclose(est.transform(X), ref.transform(X), rtol=1e-12, atol=1e-12)


def test_standardizer_fit_after_partial_fit_resets():
    """Check that fit discards the statistics of earlier partial_fit calls."""
    X, X_other = _data(seed=0), _data(seed=5) * 10
    est = Standardizer().partial_fit(X_other).fit(X)
    _assert_same_fit(est, StandardScaler().fit(X))
    assert est.n_samples_seen_ == X.shape[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_nan_matches_standard_scaler(weighted):
    """Check that NaNs are ignored in fit and kept in transform."""
    X = _data(n_samples=80)
    rng = np.random.default_rng(4)
    X[rng.random(X.shape) < 0.15] = np.nan
    sw = _weights(X.shape[0]) if weighted else None
    est = Standardizer().fit(X, sample_weight=sw)
    ref = StandardScaler().fit(X, sample_weight=sw)
    _assert_same_fit(est, ref)
    assert isinstance(est.n_samples_seen_, np.ndarray)
    assert est.n_samples_seen_.shape == (X.shape[1],)
    Xt = est.transform(X)
    assert_array_equal(np.isnan(Xt), np.isnan(X))
    assert_allclose(Xt, ref.transform(X), rtol=1e-12, atol=1e-12)

    est_inc, ref_inc = Standardizer(), StandardScaler()
    for chunk in np.array_split(np.arange(X.shape[0]), 3):
        w = None if sw is None else sw[chunk]
        est_inc.partial_fit(X[chunk], sample_weight=w)
        ref_inc.partial_fit(X[chunk], sample_weight=w)
    _assert_same_fit(est_inc, ref_inc)


@pytest.mark.parametrize(("weighted", "expected_type"), [(False, int), (True, float)])
def test_standardizer_n_samples_seen_type(weighted, expected_type):
    """Check that n_samples_seen_ is an int, or the float weight sum."""
    X = _data(n_samples=30)
    sw = np.full(30, 2.0) if weighted else None
    est = Standardizer().fit(X, sample_weight=sw)
    assert isinstance(est.n_samples_seen_, expected_type)
    assert est.n_samples_seen_ == (60 if weighted else 30)
    est.partial_fit(X[:10], sample_weight=None if sw is None else sw[:10])
    assert isinstance(est.n_samples_seen_, expected_type)
    assert est.n_samples_seen_ == (80 if weighted else 40)


@pytest.mark.parametrize("flags", FLAGS[:3])
def test_standardizer_float32_preserved(flags):
    """Check that float32 input gives float32 output matching StandardScaler."""
    X = _data(dtype=np.float32)
    est = Standardizer(**flags).fit(X)
    ref = StandardScaler(**flags).fit(X)
    _assert_same_fit(est, ref, rtol=1e-6)
    Xt = est.transform(X)
    assert Xt.dtype == np.float32
    assert_allclose(Xt, ref.transform(X), rtol=1e-5, atol=1e-6)
    assert est.inverse_transform(Xt).dtype == np.float32
    assert_allclose(est.inverse_transform(Xt), X, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("with_std", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_sparse_matches_standard_scaler(fmt, with_std, weighted):
    """Check that sparse input with with_mean=False matches StandardScaler."""
    rng = np.random.default_rng(0)
    X_dense = _data(n_samples=50)
    X_dense[rng.random(X_dense.shape) < 0.6] = 0.0
    X_dense[0, 1] = np.nan
    X = sp.csr_array(X_dense) if fmt == "csr" else sp.csc_array(X_dense)
    sw = _weights(50) if weighted else None
    est = Standardizer(with_mean=False, with_std=with_std).fit(X, sample_weight=sw)
    ref = StandardScaler(with_mean=False, with_std=with_std).fit(X, sample_weight=sw)
    _assert_same_fit(est, ref)
    Xt = est.transform(X)
    assert sp.issparse(Xt)
    assert_allclose(Xt.toarray(), ref.transform(X).toarray(), rtol=1e-12)
    assert_allclose(est.inverse_transform(Xt).toarray(), X_dense, rtol=1e-12)
    # Sparse and dense statistics agree.
    dense = Standardizer(with_mean=False, with_std=with_std).fit(
        X_dense, sample_weight=sw
    )
    _assert_same_fit(est, dense, rtol=1e-12)

    est_inc, ref_inc = Standardizer(with_mean=False), StandardScaler(with_mean=False)
    for rows in np.array_split(np.arange(50), 3):
        w = None if sw is None else sw[rows]
        est_inc.partial_fit(X[rows], sample_weight=w)
        ref_inc.partial_fit(X[rows], sample_weight=w)
    _assert_same_fit(est_inc, ref_inc)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_standardizer_sparse_with_mean_raises(fmt):
    """Check that centering sparse data raises a ValueError naming with_mean."""
    X = sp.random(20, 3, density=0.3, format=fmt, random_state=0)
    with pytest.raises(ValueError, match=r"sparse.*with_mean=False"):
        Standardizer().fit(X)
    with pytest.raises(ValueError, match=r"sparse.*with_mean=False"):
        Standardizer().partial_fit(X)
    est = Standardizer().fit(X.toarray())
    with pytest.raises(ValueError, match=r"sparse.*with_mean=False"):
        est.transform(X)
    with pytest.raises(ValueError, match=r"sparse.*with_mean=False"):
        est.inverse_transform(X)


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


@pytest.mark.parametrize(
    ("flags", "sparse_fmt"),
    [(flags, None) for flags in FLAGS]
    + [
        (flags, fmt)
        for flags in FLAGS
        if not flags["with_mean"]
        for fmt in ("csr", "csc")
    ],
)
def test_standardizer_inverse_transform_round_trip(flags, sparse_fmt):
    """Check that inverse_transform undoes transform."""
    X = _data()
    X[3, 0] = np.nan
    if sparse_fmt is not None:
        X = sp.csr_array(X) if sparse_fmt == "csr" else sp.csc_array(X)
    est = Standardizer(**flags).fit(X)
    back = est.inverse_transform(est.transform(X))
    dense = (lambda a: a.toarray()) if sparse_fmt else np.asarray
    assert_allclose(dense(back), dense(X), rtol=1e-12, atol=1e-12)


def test_standardizer_inverse_transform_wrong_n_features():
    """Check that inverse_transform rejects a wrong number of features."""
    est = Standardizer().fit(_data(n_features=3))
    with pytest.raises(ValueError, match="3 features"):
        est.inverse_transform(np.zeros((2, 4)))


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
@pytest.mark.parametrize(
    ("init_copy", "call_copy", "inplace"),
    [
        (True, None, False),
        (False, None, True),
        (True, False, True),
        (False, True, False),
    ],
)
def test_standardizer_copy_semantics(method, init_copy, call_copy, inplace):
    """Check that transform honours copy and never writes into read-only input."""
    X = _data()
    est = Standardizer(copy=init_copy).fit(X)
    X_in = X.copy()
    out = getattr(est, method)(X_in, copy=call_copy)
    assert (out is X_in) == inplace
    if not inplace:
        assert_array_equal(X_in, X)
    X_ro = X.copy()
    X_ro.setflags(write=False)
    out = getattr(est, method)(X_ro, copy=call_copy)
    assert out is not X_ro
    assert_array_equal(X_ro, X)


@pytest.mark.parametrize(
    "X_bad", [[[1.0, np.inf], [2.0, 3.0]], [[1.0, -np.inf], [2.0, 3.0]]]
)
def test_standardizer_rejects_infinite_values(X_bad):
    """Check that infinite values in X raise a ValueError."""
    with pytest.raises(ValueError, match=r"[Ii]nfinity"):
        Standardizer().fit(X_bad)
    with pytest.raises(ValueError, match=r"[Ii]nfinity"):
        Standardizer().fit([[1.0, 2.0], [2.0, 3.0]]).transform(X_bad)
    with pytest.raises(ValueError, match=r"[Ii]nfinity"):
        standardization_stats(np.asarray(X_bad))


@pytest.mark.parametrize(
    ("sample_weight", "match"),
    [
        ([1.0, -1.0, 1.0], "[Nn]egative"),
        ([0.0, 0.0, 0.0], "[Ww]eights"),
        ([1.0, np.inf, 1.0], "[Ii]nfinity"),
        ([1.0, 1.0], "shape"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "stats"])
def test_standardizer_rejects_bad_sample_weight(sample_weight, match, method):
    """Check that invalid sample weights raise a clear ValueError."""
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    if method == "stats":
        call = lambda: standardization_stats(X, sample_weight)  # noqa: E731
    else:
        call = lambda: getattr(Standardizer(), method)(X, sample_weight=sample_weight)  # noqa: E731
    with pytest.raises(ValueError, match=match):
        call()


def test_standardizer_ignores_y_in_pipeline():
    """Check that y is ignored, so string labels pass through a pipeline."""
    X = _data(n_samples=40)
    y = np.where(X[:, 0] > np.median(X[:, 0]), "high", "low")
    est = Standardizer()
    assert est.fit(X, y) is est
    assert est.partial_fit(X, y) is est
    pipe = make_pipeline(Standardizer(), LogisticRegression()).fit(X, y)
    assert set(pipe.predict(X)) <= {"high", "low"}
    assert_allclose(
        est.fit_transform(X, y=[[object()]]), StandardScaler().fit_transform(X)
    )


@pytest.mark.parametrize("y_2d", [False, True])
def test_standardizer_transformed_target_regressor(y_2d):
    """Check that Standardizer as target transformer matches StandardScaler."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = 1e5 + 10.0 * (X @ [1.0, -2.0, 0.5]) + rng.standard_normal(60)
    if y_2d:
        y = np.column_stack([y, -3.0 * y + 7.0])
    got = TransformedTargetRegressor(
        regressor=LinearRegression(), transformer=Standardizer()
    ).fit(X, y)
    ref = TransformedTargetRegressor(
        regressor=LinearRegression(), transformer=StandardScaler()
    ).fit(X, y)
    assert got.predict(X).shape == y.shape
    assert_allclose(got.predict(X), ref.predict(X), rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_stats_matches_np_average(weighted):
    """Check that standardization_stats equals np.average-based statistics."""
    Y = _data(n_samples=50, n_features=3)
    Y[:, 2] = 4.0
    sw = _weights(50) if weighted else None
    mean, var, scale = standardization_stats(Y, sample_weight=sw)
    expected_mean = np.average(Y, axis=0, weights=sw)
    expected_var = np.average((Y - expected_mean) ** 2, axis=0, weights=sw)
    assert_allclose(mean, expected_mean, rtol=1e-12)
    assert_allclose(var, expected_var, rtol=1e-12, atol=1e-28)
    expected_scale = np.sqrt(expected_var)
    expected_scale[2] = 1.0
    assert_allclose(scale, expected_scale, rtol=1e-12)
    assert all(a.shape == (3,) and a.dtype == np.float64 for a in (mean, var, scale))


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("weighted", [False, True])
def test_standardizer_stats_consistent_with_transformer(flags, weighted):
    """Check that (X - mean) / scale from standardization_stats equals transform."""
    X = _data()
    X[:, 1] = -2.0
    sw = _weights(X.shape[0]) if weighted else None
    mean, var, scale = standardization_stats(X, sw, **flags)
    est = Standardizer(**flags).fit(X, sample_weight=sw)
    Z = est.transform(X)
    assert_allclose((X - mean) / scale, Z, rtol=1e-14, atol=1e-14)
    assert_allclose(Z * scale + mean, X, rtol=1e-14)
    if est.var_ is not None:
        assert_allclose(var, est.var_, rtol=1e-15)
    if not flags["with_mean"]:
        assert_array_equal(mean, 0.0)
    if not flags["with_std"]:
        assert_array_equal(scale, 1.0)


@pytest.mark.parametrize("flags", FLAGS)
def test_standardizer_fitted_attributes_like_standard_scaler(flags):
    """Check that None-valued attributes follow StandardScaler per flags."""
    X = _data()
    est, ref = Standardizer(**flags).fit(X), StandardScaler(**flags).fit(X)
    for attr in ("mean_", "var_", "scale_"):
        assert (getattr(est, attr) is None) == (getattr(ref, attr) is None), attr


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_standardizer_set_output_dataframe(lib):
    """Check that set_output returns pandas/polars frames with column names."""
    module = pytest.importorskip(lib)
    X = _data(n_features=3)
    columns = ["pressure", "temperature", "humidity"]
    df = module.DataFrame({c: X[:, i] for i, c in enumerate(columns)})
    est = Standardizer().set_output(transform=lib).fit(df)
    out = est.transform(df)
    assert isinstance(out, module.DataFrame)
    assert list(out.columns) == columns
    assert_array_equal(est.feature_names_in_, columns)
    assert_array_equal(est.get_feature_names_out(), columns)
    assert_allclose(np.asarray(out), StandardScaler().fit_transform(X), rtol=1e-12)


# --------------------------------------------------- robust scaling, clipping
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
