"""Sparse X in the MLPs: the same model as dense X, without densifying X.

The first layer multiplies the sparse batch by the dense weights
(``nn/_fused.py: _input_product``, ``nn/_inference.py``); everything after it
is dense and unchanged, so a fixed seed gives the model of the dense input
up to rounding.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sknorm import MLPClassifier, MLPRegressor, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SPARSE_FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]


def _data(n=240, n_features=20, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    X[rng.random(X.shape) < 0.8] = 0.0
    y = X @ rng.normal(size=n_features) + 0.1 * rng.normal(size=n)
    return X.astype(dtype), y.astype(dtype)


def _pair(cls, X, y, fmt, sample_weight=None, **params):
    params = {
        "hidden_layer_sizes": (16, 8),
        "max_iter": 20,
        "random_state": 0,
        **params,
    }
    dense = cls(**params).fit(X, y, sample_weight=sample_weight)
    sparse = cls(**params).fit(fmt(X), y, sample_weight=sample_weight)
    return dense, sparse


@pytest.mark.parametrize("batch_norm", ["before", "after", None])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_sparse_regressor_equals_dense(batch_norm, solver, early_stopping):
    """Check every solver x placement trains the dense input's model (1e-7)."""
    X, y = _data()
    early_stopping = early_stopping and solver != "lbfgs"
    dense, sparse = _pair(
        MLPRegressor,
        X,
        y,
        sp.csr_matrix,
        batch_norm=batch_norm,
        solver=solver,
        early_stopping=early_stopping,
    )
    for fmt in SPARSE_FORMATS:
        np.testing.assert_allclose(
            sparse.predict(fmt(X)), dense.predict(X), rtol=1e-7, atol=1e-7
        )
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert sparse.score(sp.csr_matrix(X), y) == pytest.approx(dense.score(X, y))


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_sparse_classifier_equals_dense(fmt):
    """Check CSR/CSC matrices and arrays, multiclass, weights, predict_proba."""
    X, y = _data()
    y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    weight = np.random.default_rng(1).uniform(0.0, 2.0, size=len(y))
    dense, sparse = _pair(MLPClassifier, X, y, fmt, sample_weight=weight)
    np.testing.assert_allclose(
        sparse.predict_proba(fmt(X)), dense.predict_proba(X), rtol=1e-7, atol=1e-9
    )
    np.testing.assert_array_equal(sparse.predict(fmt(X)), dense.predict(X))


def test_sparse_float32_keeps_float32():
    """Check float32 sparse X trains and predicts in float32."""
    X, y = _data(dtype=np.float32)
    dense, sparse = _pair(MLPRegressor, X, y, sp.csr_matrix)
    assert sparse.coefs_[0].dtype == np.float32
    assert sparse.predict(sp.csr_matrix(X)).dtype == np.float32
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-4, atol=1e-4
    )


def test_sparse_partial_fit_history_recompute_and_export():
    """Check partial_fit, history_, recompute_bn_statistics and to_sklearn."""
    X, y = _data()
    params = {"hidden_layer_sizes": (16,), "random_state": 0}
    dense, sparse = MLPRegressor(**params), MLPRegressor(**params)
    for rows in (slice(0, 120), slice(120, 240)):
        dense.partial_fit(X[rows], y[rows])
        sparse.partial_fit(sp.csr_matrix(X[rows]), y[rows])
    dense.recompute_bn_statistics(X)
    sparse.recompute_bn_statistics(sp.csc_matrix(X))
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-7, atol=1e-9
    )
    assert len(sparse.history_) == 2
    np.testing.assert_allclose(
        sparse.history_[-1]["layers"][0]["percentiles"],
        dense.history_[-1]["layers"][0]["percentiles"],
        rtol=1e-7,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        sparse.to_sklearn().predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-7
    )


def test_sparse_bn_input_raises():
    """Check bn_input=True refuses sparse X (centring would densify it)."""
    X, y = _data()
    with pytest.raises(ValueError, match=r"bn_input=True .* sparse X dense"):
        MLPRegressor(bn_input=True).fit(sp.csr_matrix(X), y)


def test_sparse_input_checks_use_stored_values():
    """Check NaN and huge stored values are refused like dense ones."""
    X, y = _data()
    Xs = sp.csr_matrix(X)
    Xs.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit(Xs, y)
    Xs.data[3] = 1e200
    with pytest.raises(ValueError, match=r"magnitude up to 1e\+200"):
        MLPRegressor().fit(Xs, y)


def test_sparse_fit_never_densifies_X():
    """Check a fit's memory is O(nnz + batch x width), far below dense X.

    Dense, this X would take 2.4 GB; the fit must stay under 60 MB.
    """
    rng = np.random.default_rng(0)
    n, n_features, nnz = 20_000, 15_000, 60_000
    X = sp.csr_matrix(
        (
            rng.normal(size=nnz),
            (rng.integers(0, n, nnz), rng.integers(0, n_features, nnz)),
        ),
        shape=(n, n_features),
    )
    y = np.asarray(X.sum(axis=1)).ravel()
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    tracemalloc.start()
    try:
        est.fit(X, y)
        est.predict(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("batch_norm", ["before", "after", None])
def test_column_transformer_one_hot_pipeline(batch_norm):
    """Check the sparse ColumnTransformer output trains on every placement."""
    rng = np.random.default_rng(0)
    n = 400
    city = rng.choice(["a", "b", "c", "d"], size=n)
    temp = rng.normal(15, 8, size=n)
    X = np.column_stack([city, temp]).astype(object)
    y = 2.0 * temp + (city == "b") * 5.0 + rng.normal(size=n)
    encoder = make_column_transformer(
        (OneHotEncoder(), [0]),
        (Standardizer(), [1]),
        sparse_threshold=1.0,
    )
    assert sp.issparse(encoder.fit_transform(X))
    model = make_pipeline(
        encoder, MLPRegressor(batch_norm=batch_norm, max_iter=100, random_state=0)
    ).fit(X, y)
    assert model.score(X, y) > 0.9


def test_tfidf_text_classifier():
    """Check TfidfVectorizer -> MLPClassifier works as with scikit-learn's MLP."""
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(3000)])
    docs, labels = [], []
    for i in range(300):
        label = i % 3
        topic = words[label * 1000 : (label + 1) * 1000]
        docs.append(" ".join(rng.choice(topic, size=20)))
        labels.append(label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = make_pipeline(TfidfVectorizer(), MLPClassifier(random_state=0))
        theirs = make_pipeline(TfidfVectorizer(), SkMLPClassifier(random_state=0))
        ours.fit(docs, labels)
        theirs.fit(docs, labels)
    assert ours[0].transform(docs).shape[1] > 2000
    assert ours.score(docs, labels) >= theirs.score(docs, labels) - 0.02
    proba = ours.predict_proba(docs[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
