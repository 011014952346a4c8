"""Standardizer: scikit-learn's contract, StandardScaler parity, sparse input."""

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
from standardizer_helpers import _assert_same_fit, _data, _weights

from sknorm._standardizer import Standardizer, standardization_stats

FLAGS = [
    {"with_mean": True, "with_std": True},
    {"with_mean": False, "with_std": True},
    {"with_mean": True, "with_std": False},
    {"with_mean": False, "with_std": False},
]
ESTIMATORS = [
    Standardizer(),
    Standardizer(with_mean=False),
    Standardizer(with_std=False),
]


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


def test_failed_refit_after_set_params_keeps_the_fitted_model():
    """set_params, then a fit that raises: the model transforms as fitted."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)) + 5.0
    X_sparse = sp.csr_matrix(X)
    scaler = Standardizer(with_mean=False, with_std=False).fit(X_sparse)
    expected = scaler.transform(X_sparse).toarray()
    scaler.set_params(method="robust", with_std=True)
    with pytest.raises(ValueError, match="method='robust'"):
        scaler.fit(X_sparse)
    assert_array_equal(scaler.transform(X_sparse).toarray(), expected)
    # Dense: a refit refused for an infinite value keeps the uncentered model.
    scaler = Standardizer(with_mean=False).fit(X)
    expected = scaler.transform(X)
    scaler.set_params(with_mean=True)
    with pytest.raises(ValueError, match="infinity"):
        scaler.fit(np.vstack([X, [np.inf, 0, 0]]))
    assert_array_equal(scaler.transform(X), expected)
    assert_allclose(scaler.inverse_transform(expected), X)
