"""Awkward inputs that must work: a correct result, checked against a reference.

The companion of ``test_bad_input.py`` (clear errors): unusual dtypes, frames
from pandas and polars, one row, one row per class, label types, constant and
sentinel columns, huge constants, sparse input, oversized batches.
"""

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, D = 60, 3
RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, D))
Y = X[:, 0] + X[:, 1] ** 2
LABELS = (X[:, 0] > 0).astype(int)
COLUMNS = ["temp", "pressure", "wind"]
ALL = ("standardizer", "regressor", "classifier")
MLPS = ("regressor", "classifier")


def _make(kind, **params):
    """A small, seeded, fast instance of the estimator named ``kind``."""
    if kind == "standardizer":
        return Standardizer(**params)
    cls = MLPRegressor if kind == "regressor" else MLPClassifier
    defaults = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0}
    return cls(**{**defaults, **params})


def _target(kind):
    return LABELS if kind == "classifier" else Y


def _apply(est, X_new):
    """The estimator's main inference method: transform or predict."""
    return est.transform(X_new) if isinstance(est, Standardizer) else est.predict(X_new)


def test_awkward_input_standardizer_ignores_nan():
    """Check that the Standardizer ignores NaN in fit and keeps it in transform."""
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    Z = Standardizer().fit_transform(X_nan)
    expected = (X_nan - np.nanmean(X_nan, axis=0)) / np.nanstd(X_nan, axis=0)
    assert_allclose(Z, expected, rtol=1e-12, equal_nan=True)
    assert np.isnan(Z[3, 1])


@pytest.mark.parametrize("kind", ALL)
def test_awkward_input_numpy_pandas_polars_identical(kind):
    """Check that numpy, pandas and polars versions of the data give identical fits."""
    y = _target(kind)
    inputs = [
        (X, y),
        (pd.DataFrame(X, columns=COLUMNS), pd.Series(y)),
        (pl.DataFrame(dict(zip(COLUMNS, X.T, strict=True))), pl.Series(y)),
    ]
    outputs = [_apply(_make(kind).fit(*data), data[0]) for data in inputs]
    for out in outputs[1:]:
        assert_array_equal(np.asarray(out), outputs[0])


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda A: (A * 10).astype(np.int64), id="int"),
        pytest.param(lambda A: A > 0, id="bool"),
        pytest.param(lambda A: A.astype(object), id="object-of-floats"),
        pytest.param(lambda A: pd.DataFrame(A).astype("Float64"), id="pandas-Float64"),
        pytest.param(
            lambda A: pd.DataFrame(
                {
                    "count": pd.array((A[:, 0] * 10).astype(int), dtype="Int64"),
                    "rain": pd.array(A[:, 1] > 0, dtype="boolean"),
                    "wind": A[:, 2],
                }
            ),
            id="pandas-Int64-boolean",
        ),
        pytest.param(
            lambda A: pd.DataFrame(A.round(1)).astype("category"),
            id="pandas-numeric-categories",
        ),
    ],
)
def test_awkward_input_numeric_dtypes_equal_float64(kind, convert):
    """Check that int, bool, object and nullable inputs fit like their float64 value."""
    X_other = convert(X)
    X_float = np.asarray(X_other, dtype=np.float64)
    assert_array_equal(
        _apply(_make(kind).fit(X_other, _target(kind)), X_other),
        _apply(_make(kind).fit(X_float, _target(kind)), X_float),
    )


@pytest.mark.parametrize("kind", MLPS)
def test_awkward_input_float16_trains_in_float64(kind):
    """Check that float16 X is cast to float64 and fits like its float64 value."""
    X16 = X.astype(np.float16)
    est = _make(kind).fit(X16, _target(kind))
    ref = _make(kind).fit(X16.astype(np.float64), _target(kind))
    assert est.coefs_[0].dtype == np.float64
    for a, b in zip(est.coefs_, ref.coefs_, strict=True):
        assert_array_equal(a, b)


def test_awkward_input_standardizer_keeps_float16():
    """Check that the Standardizer keeps float16 (as StandardScaler) to rounding."""
    X16 = X.astype(np.float16)
    Z = Standardizer().fit_transform(X16)
    assert Z.dtype == np.float16
    expected = Standardizer().fit_transform(X16.astype(np.float64))
    # Centering and scaling round to float16 once each: within two ulps.
    eps16 = float(np.finfo(np.float16).eps)
    assert_allclose(Z, expected, rtol=2 * eps16, atol=2 * eps16)


@pytest.mark.parametrize("kind", ["standardizer", "regressor-without-bn", "default"])
def test_awkward_input_one_row(kind):
    """Check that one row fits where batch statistics are not needed.

    The default batch_norm='auto' builds no batch normalization below 30 rows.
    """
    if kind == "standardizer":
        assert_array_equal(Standardizer().fit_transform(X[:1]), np.zeros((1, D)))
    else:
        params = {"batch_norm": None} if kind == "regressor-without-bn" else {}
        reg = _make("regressor", **params).fit(X[:1], Y[:1])
        assert np.isfinite(reg.predict(X)).all()


def test_awkward_input_one_row_per_class():
    """Check that one row per class is enough to fit and recover the labels.

    At the default width: weight_decay='auto' decays a 3-row fit, and the 8
    hidden units of the other tests' instance then leave two rows at 0.4/0.4.
    """
    labels = np.array(["rain", "snow", "sun"])
    clf = _make("classifier", hidden_layer_sizes=(64, 64), max_iter=200)
    clf.fit(X[:3], labels)
    assert_array_equal(clf.classes_, labels)
    assert_array_equal(clf.predict(X[:3]), labels)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(np.where(LABELS, "wet", "dry"), id="str"),
        pytest.param(LABELS.astype(bool), id="bool"),
        pytest.param(LABELS * 10.0, id="float"),
        # Strings sort as text: "10" < "2", so "10" is the first class here.
        pytest.param(np.where(LABELS, "2", "10"), id="numeric-strings"),
    ],
)
def test_awkward_input_label_types_train_identically(labels):
    """Check that string, bool and numeric labels give the same model and own type."""
    ref = _make("classifier").fit(X, LABELS)
    clf = _make("classifier").fit(X, labels)
    # Each label set maps LABELS' 0 and 1 to its first and second sorted class.
    assert_array_equal(clf.classes_[LABELS], labels)
    assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    predicted = clf.predict(X)
    assert predicted.dtype == labels.dtype
    assert_array_equal(predicted, clf.classes_[ref.predict(X)])


@pytest.mark.parametrize("kind", ALL)
def test_awkward_input_constant_column(kind):
    """Check that a constant column trains finitely and gets scale 1."""
    X_const = np.column_stack([X, np.full(N, 1013.25)])
    est = _make(kind).fit(X_const, _target(kind))
    out = _apply(est, X_const)
    if kind == "standardizer":
        assert est.scale_[-1] == 1.0
        assert_array_equal(out[:, -1], 0.0)
    else:
        assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)


def test_awkward_input_standardizer_huge_constant_column():
    """Check that a constant 1e300 column is centered exactly, not an overflow."""
    X_huge = np.column_stack([np.full(N, 1e300), X])
    scaler = Standardizer().fit(X_huge)
    assert scaler.mean_[0] == 1e300
    assert scaler.var_[0] == 0.0
    assert_array_equal(scaler.transform(X_huge)[:, 0], 0.0)


def test_awkward_input_regressor_huge_constant_target():
    """Check that a constant 1e200 target is predicted exactly."""
    reg = _make("regressor").fit(X, np.full(N, 1e200))
    assert_array_equal(reg.predict(X), 1e200)


def test_awkward_input_standardizer_sparse_without_centering():
    """Check that sparse input is scaled like dense input with with_mean=False."""
    X_sparse = sp.random(N, D, density=0.3, format="csr", random_state=0)
    Z = Standardizer(with_mean=False).fit_transform(X_sparse)
    expected = Standardizer(with_mean=False).fit_transform(X_sparse.toarray())
    assert sp.issparse(Z)
    assert_allclose(Z.toarray(), expected, rtol=1e-12)


def _with_sentinel():
    """Weather-style X: every 7th pressure reading is the sentinel -9900."""
    X_s = X * [5.0, 10.0, 2.0] + [15.0, 1013.0, 4.0]
    X_s[::7, 1] = -9900.0
    return X_s


@pytest.mark.parametrize("kind", ALL)
def test_awkward_input_sentinel_trains_finitely(kind):
    """Check that a -9900 sentinel column gives finite statistics and predictions."""
    X_s = _with_sentinel()
    est = _make(kind, **({} if kind == "standardizer" else {"max_iter": 50}))
    out = _apply(est.fit(X_s, _target(kind)), X_s)
    assert np.isfinite(np.asarray(out, dtype=np.float64)).all()
    if kind != "standardizer":
        assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)


def test_awkward_input_sentinel_recommended_pipeline():
    """Check that imputing the sentinel with an indicator (the README advice) fits."""
    X_s = _with_sentinel()
    model = make_pipeline(
        SimpleImputer(missing_values=-9900.0, strategy="median", add_indicator=True),
        Standardizer(),
        _make("regressor", hidden_layer_sizes=(32,), max_iter=200),
    ).fit(X_s, Y)
    assert model[0].indicator_.features_.tolist() == [1]
    assert model.score(X_s, Y) > 0.95


@pytest.mark.parametrize("kind", MLPS)
def test_awkward_input_batch_size_larger_than_data(kind):
    """Check that batch_size > n_samples trains on one full batch per epoch."""
    big = _make(kind, batch_size=10 * N).fit(X, _target(kind))
    full = _make(kind, batch_size=N).fit(X, _target(kind))
    for a, b in zip(big.coefs_, full.coefs_, strict=True):
        assert_array_equal(a, b)


def test_awkward_input_empty_hidden_layer_sizes_is_linear():
    """Check that hidden_layer_sizes=() gives a linear model (one weight matrix)."""
    reg = _make("regressor", hidden_layer_sizes=(), max_iter=300).fit(X, X @ [1, 2, 3])
    assert reg.n_layers_ == 2
    assert [c.shape for c in reg.coefs_] == [(D, 1)]
    assert reg.score(X, X @ [1, 2, 3]) > 0.99
