"""ONNX export with skl2onnx, checked with onnxruntime against sknorm."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer, register_onnx_converters

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

TOL = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_onnx_converters()


def _data(dtype, n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1, 10, 0.1, 3, 1] + [0, 100, -5, 0, 2]
    return X.astype(dtype), rng


def _run(model, X, options=None):
    onx = skl2onnx.to_onnx(model, X[:1], options=options)
    sess = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _close(got, want, dtype):
    want = np.asarray(want)
    got = np.asarray(got).reshape(want.shape)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


def _fit(est, X, y, scaler=None):
    model = make_pipeline(scaler or Standardizer(), est)
    return model.fit(X, y)


SCALERS = [
    pytest.param({}, id="standard"),
    pytest.param({"method": "robust", "clip": 3.0}, id="robust-clip"),
    pytest.param({"with_mean": False}, id="no-mean"),
    pytest.param({"with_std": False, "clip": 2.0}, id="no-std-clip"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", SCALERS)
def test_onnx_standardizer(dtype, params):
    X, _ = _data(dtype)
    est = Standardizer(**params).fit(X)
    _close(_run(est, X)[0], est.transform(X), dtype)


REGRESSORS = [
    pytest.param({}, 1, id="default-1d"),
    pytest.param({}, 3, id="multioutput"),
    pytest.param({"activation": "tanh", "batch_norm": "after"}, 1, id="tanh-after"),
    pytest.param({"activation": "leaky_relu", "dropout": 0.1}, 2, id="leaky"),
    pytest.param({"loss": "poisson", "activation": "logistic"}, 1, id="poisson"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("params", "n_out"), REGRESSORS)
def test_onnx_regressor(dtype, params, n_out):
    X, rng = _data(dtype)
    y = np.abs(X[:, :n_out] / [1, 10, 0.1][:n_out] + rng.normal(size=(len(X), n_out)))
    y = y[:, 0] if n_out == 1 else y
    model = _fit(MLPRegressor(max_iter=30, random_state=0, **params), X, y)
    (got,) = _run(model, X)
    assert got.shape == (len(X), n_out)
    assert got.dtype == dtype
    _close(got, model.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_onnx_regressor_clips_like_predict(dtype):
    """Check the graph clips far rows per output as predict does (clip_predictions)."""
    X, rng = _data(dtype)
    y = np.column_stack([X[:, 0], -3 * X[:, 1]]) + rng.normal(size=(len(X), 2))
    model = _fit(MLPRegressor(max_iter=30, random_state=0), X, y)
    far = np.vstack([X[:10], 40 * X[:10]]).astype(dtype)
    (got,) = _run(model, far)
    _close(got, model.predict(far), dtype)
    low, high = model[-1]._clip_bounds()
    assert (np.isclose(got, low, rtol=1e-5) | np.isclose(got, high, rtol=1e-5)).any()


def _targets(kind, X, rng):
    score = X[:, 0] + 0.1 * X[:, 1] - 10 + rng.normal(size=len(X))
    if kind == "binary":
        return np.where(score > 0, "yes", "no")
    if kind == "multiclass":
        return np.digitize(score, [-1.0, 0.0, 1.0])
    return np.column_stack([score > 0, X[:, 3] > 0, X[:, 4] > 2]).astype(int)


CLASSIFIERS = [
    pytest.param("binary", {}, id="binary-str"),
    pytest.param("multiclass", {"activation": "tanh"}, id="multiclass"),
    pytest.param("multilabel", {"batch_norm": "after"}, id="multilabel"),
    pytest.param("multiclass", {"batch_norm": None, "dropout": 0.2}, id="no-bn"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kind", "params"), CLASSIFIERS)
def test_onnx_classifier(dtype, kind, params):
    X, rng = _data(dtype)
    model = _fit(
        MLPClassifier(max_iter=30, random_state=0, **params), X, _targets(kind, X, rng)
    )
    labels, proba = _run(model, X, options={MLPClassifier: {"zipmap": False}})
    np.testing.assert_array_equal(
        labels.reshape(model.predict(X).shape), model.predict(X)
    )
    assert proba.dtype == dtype
    _close(proba, model.predict_proba(X), dtype)


def test_onnx_classifier_zipmap_default():
    X, rng = _data(np.float32)
    y = _targets("multiclass", X, rng)
    model = _fit(MLPClassifier(max_iter=10, random_state=0), X, y)
    labels, proba = _run(model, X)
    want = model.predict_proba(X)
    assert list(proba[0]) == list(model.classes_)  # ZipMap: one dict per row
    _close([[row[c] for c in model.classes_] for row in proba], want, np.float32)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_onnx_matches_to_sklearn_conversion():
    """Check sknorm's graph gives what skl2onnx gives for the to_sklearn() twin."""
    X, rng = _data(np.float32)
    y = _targets("binary", X, rng)
    model = _fit(MLPClassifier(max_iter=10, random_state=0), X, y)
    twin = make_pipeline(model[0], model[-1].to_sklearn())
    ours = _run(model, X, options={id(model[-1]): {"zipmap": False}})
    theirs = _run(twin, X, options={id(twin[-1]): {"zipmap": False}})
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_onnx_leaky_relu_classifier_raises_clear_error():
    X, rng = _data(np.float32)
    y = _targets("binary", X, rng)
    model = _fit(MLPClassifier(activation="leaky_relu", max_iter=5), X, y)
    with pytest.raises(NotImplementedError, match=r"leaky_relu.*identity, logistic"):
        skl2onnx.to_onnx(model, X[:1])


def test_onnx_import_is_lazy():
    """Check that importing sknorm does not import skl2onnx or onnx."""
    import subprocess
    import sys

    code = "import sys, sknorm; print('skl2onnx' in sys.modules, 'onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"], out.stderr
