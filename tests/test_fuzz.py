"""Property-based fuzzer (issue 14): random parameters x data x call sequences.

Every example draws a *recipe*: the data (1-300 rows, 1-30 columns, float16/32/64,
int or bool, scales 1e-12 to 1e12, constant columns, NaN, sample weights with
zeros, NumPy / pandas / polars / scipy CSR and CSC), an estimator with random
valid parameters, and a sequence of calls (``fit``, ``partial_fit`` in
chunks, ``set_params`` with or without ``warm_start`` then ``fit``, a pickle
round trip, ``recompute_bn_statistics``, ``to_sklearn``, a same-seed refit
of two clones). The recipe is turned into a small Python script, which is
what runs: when an example fails, hypothesis prints that script (``note``) as
the reproducer.

After every call the fuzzer asserts:

- the call either returned, or raised an allowed exception: ``ValueError`` or
  ``TypeError`` with a message (not ``LinAlgError`` and not a NumPy-internal
  message such as a broadcast error), or ``AttributeError`` from a hidden
  ``partial_fit`` (lbfgs, ``class_weight='balanced'``,
  ``method='robust'``). Anything else (``KeyError``, ``IndexError``,
  ``ZeroDivisionError``, ``FloatingPointError``, ``UnboundLocalError``,
  ``AttributeError`` about a private attribute, ...) fails;
- a call that returned emitted no ``RuntimeWarning`` (``ConvergenceWarning`` and
  other ``UserWarning`` are fine);
- MLPs: X with NaN is refused (a fit that returns on NaN input fails);
- MLPs, after a call that returned and left a fitted model: predicting the
  training rows gives finite values of the right shape and dtype (float32 in,
  float32 out, for NumPy, pandas and polars alike; float64 otherwise),
  ``coefs_``/``intercepts_`` are finite; classifiers: ``predict`` only returns
  labels of ``classes_`` and agrees with the arg-max of ``predict_proba``,
  which lies in [0, 1] with rows summing to 1 (tolerance by dtype);
- after a call that raised: the estimator is unfitted, or it still has
  finite weights and predicts (transforms) finite values on the training rows;
- an estimator that passes ``check_is_fitted`` holds its model (``coefs_``,
  ``n_samples_seen_``): a failed fit may leave only what scikit-learn's
  ``validate_data`` sets (``n_features_in_``, ``feature_names_in_``), so
  ``predict`` never raises ``AttributeError`` instead of ``NotFittedError``;
- pickle round trip: bitwise-identical predictions; ``to_sklearn``: the
  exported model predicts the same values (tolerance by dtype);
- same-seed refits of two clones: both raise the same error, or both give
  bitwise-identical predictions;
- Standardizer: ``transform`` keeps the shape, gives float16 for float16,
  float32 for float32 and float64 otherwise, keeps NaN exactly where X has it
  and is finite elsewhere, stays within ``(-clip, clip)``; ``mean_`` and
  ``scale_`` are finite, ``scale_ > 0``; ``inverse_transform`` undoes
  ``transform`` (float32/64, no clip); a pickle round trip transforms
  bitwise-identically;
- every example finishes within ``SKNORM_FUZZ_TIMEOUT`` seconds (default 20;
  ``SIGALRM``).

Profiles: by default (CI) a bounded, derandomized run of 200 examples (about 10 s).
``SKNORM_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -p no:cacheprovider``
runs that many examples in total (random; add ``--hypothesis-seed=N`` to
repeat a run). No example database is written.
"""

import contextlib
import os
import pickle
import re
import signal
import warnings

import numpy as np
import pandas as pd
import polars as pl
import scipy.sparse as sp
from fuzz_recipes import _data_code, _kwargs, _step_code, cases
from hypothesis import HealthCheck, Phase, example, given, note, settings
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from sknorm import MLPClassifier, MLPRegressor, Standardizer
from sknorm._classifier import _clip_open_unit_interval

# ---------------------------------------------------------------- profiles
_LONG = os.environ.get("SKNORM_FUZZ_EXAMPLES")
TOTAL_EXAMPLES = int(_LONG) if _LONG else 200
TIMEOUT = float(os.environ.get("SKNORM_FUZZ_TIMEOUT", "20"))
SHARE = {"regressor": 0.4, "classifier": 0.4, "standardizer": 0.2}


def _settings(kind):
    return settings(
        max_examples=max(1, round(TOTAL_EXAMPLES * SHARE[kind])),
        deadline=None,
        derandomize=not _LONG,  # CI: the same examples on every run
        database=None,
        print_blob=True,
        phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


# ------------------------------------------------------------------ timeout
class FuzzTimeout(AssertionError):
    """An example ran longer than TIMEOUT seconds (a hang)."""


def _on_alarm(signum, frame):
    raise FuzzTimeout(
        f"example exceeded the fuzzer's {TIMEOUT:g} s limit (hang or runaway loop)"
    )


@contextlib.contextmanager
def _time_limit():
    if not hasattr(signal, "setitimer"):
        yield
        return
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------- assertions
_DENIED_TYPES = (np.linalg.LinAlgError,)
_NUMPY_INTERNAL = re.compile(
    r"could not be broadcast|not aligned|zero-size array|math domain error|"
    r"must not contain infs or NaNs|matmul: Input operand|"
    r"setting an array element with a sequence|object arrays are not supported",
)


def _check_clean_exception(exc, kind, name, est):
    where = f"step {name!r} raised {type(exc).__name__}: {exc}"
    if isinstance(exc, FuzzTimeout):
        raise exc
    if isinstance(exc, AttributeError) and not isinstance(exc, NotFittedError):
        # Only a partial_fit that available_if hides for these settings.
        assert name == "partial_fit", f"unexpected AttributeError: {where}"
        assert not hasattr(est, "partial_fit"), f"unexpected AttributeError: {where}"
        assert "partial_fit" in str(exc), where
        return
    assert isinstance(exc, (ValueError, TypeError)), f"unclean exception: {where}"
    assert not isinstance(exc, _DENIED_TYPES), f"unclean exception: {where}"
    assert str(exc).strip(), f"exception without a message: {where}"
    assert not _NUMPY_INTERNAL.search(str(exc)), f"NumPy-internal error: {where}"


def _runtime_warnings(caught):
    return [
        f"{w.category.__name__} at {os.path.basename(w.filename)}:{w.lineno}: "
        f"{w.message}"
        for w in caught
        if issubclass(w.category, RuntimeWarning)
    ]


def _x_info(ns, kind=None):
    """X as an array, and whether ``kind``'s estimator must refuse it.

    The MLPs refuse NaN and inf; the Standardizer refuses inf (float16
    overflow) and keeps NaN.
    """
    X = ns["X"]
    if sp.issparse(X):
        arr = X.toarray()
    else:
        arr = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
    if arr.dtype.kind != "f":
        return arr, False
    refused = bool(np.isinf(arr).any())
    if kind != "standardizer":
        refused = refused or bool(np.isnan(arr).any())
    return arr, refused


# Set by scikit-learn's validate_data before it checks the values, as in
# scikit-learn's own estimators: a failed first fit may leave them behind.
_VALIDATION_ATTRIBUTES = {"n_features_in_", "feature_names_in_"}


def _is_fitted(est):
    """Whether ``est`` holds a fitted model; fail on a half-initialised one."""
    try:
        check_is_fitted(est)
    except NotFittedError:
        return False
    key = "n_samples_seen_" if isinstance(est, Standardizer) else "coefs_"
    if hasattr(est, key):
        return True
    left = sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))
    assert set(left) <= _VALIDATION_ATTRIBUTES, (
        f"{type(est).__name__} passes check_is_fitted (it has {left}) but has no "
        f"{key}: a failed fit left it half-initialised, so predict/transform raise "
        "AttributeError instead of NotFittedError"
    )
    return False


def _rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-9


def _check_mlp_predicts(est, ns, kind, what):
    """Finite, well-shaped, well-typed predictions on the training rows."""
    X = ns["X"]
    arr, _ = _x_info(ns)
    n = arr.shape[0]
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    for i, W in enumerate([*est.coefs_, *est.intercepts_]):
        assert np.all(np.isfinite(W)), f"{what}: non-finite weights in array {i}"
    pred = est.predict(X)
    y = np.asarray(ns["y"])
    if kind == "regressor":
        assert pred.shape == y.shape, f"{what}: predict shape {pred.shape}"
        assert pred.dtype == dtype, f"{what}: predict dtype {pred.dtype}, X {arr.dtype}"
        assert np.all(np.isfinite(pred)), f"{what}: non-finite predictions"
        return pred
    proba = est.predict_proba(X)
    assert proba.dtype == dtype, f"{what}: predict_proba dtype {proba.dtype}"
    assert np.all(np.isfinite(proba)), f"{what}: non-finite probabilities"
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert proba.min() >= 0, f"{what}: negative probabilities"
    assert proba.max() <= 1, f"{what}: probabilities above 1"
    classes = est.classes_
    if y.ndim == 1:
        assert proba.shape == (n, len(classes)), f"{what}: proba shape {proba.shape}"
        assert np.allclose(proba.sum(axis=1), 1, rtol=0, atol=tol * len(classes)), (
            f"{what}: probability rows do not sum to 1"
        )
        assert pred.shape == (n,), f"{what}: predict shape {pred.shape}"
        assert np.isin(pred, classes).all(), f"{what}: predict outside classes_"
        top = np.sort(proba, axis=1)
        clear = top[:, -1] - (top[:, -2] if top.shape[1] > 1 else 0) > 10 * tol
        expected = classes[np.argmax(proba, axis=1)]
        assert np.array_equal(pred[clear], expected[clear]), (
            f"{what}: predict disagrees with argmax of predict_proba"
        )
    else:
        assert pred.shape == y.shape, f"{what}: multilabel predict shape {pred.shape}"
        assert proba.shape == y.shape, f"{what}: multilabel proba shape {proba.shape}"
        assert np.isin(pred, [0, 1]).all(), f"{what}: multilabel predict not 0/1"
    return proba


def _check_standardizer(est, ns, what):
    X = ns["X"]
    arr, _ = _x_info(ns)
    expected = {np.dtype(np.float16): np.float16, np.dtype(np.float32): np.float32}
    dtype = expected.get(arr.dtype, np.float64)
    for name in ("mean_", "scale_"):
        value = getattr(est, name)
        if value is not None:
            assert np.all(np.isfinite(value)), f"{what}: non-finite {name} {value}"
    if est.scale_ is not None:
        assert np.all(est.scale_ > 0), f"{what}: scale_ not positive {est.scale_}"
    try:
        out = est.transform(X, copy=True)  # copy=False would overwrite a NumPy X
        if sp.issparse(out):
            assert sp.issparse(X), f"{what}: sparse output for dense X"
            out = out.toarray()
    except ValueError as exc:
        # Documented refusals: standardized float16 values beyond 65504 (a
        # near-constant weighted column) have no float16 value; sparse X
        # cannot be centred (with_mean=True).
        documented = (dtype == np.float16 and "overflows float16" in str(exc)) or (
            sp.issparse(X) and "Cannot center sparse" in str(exc)
        )
        if not documented:
            raise
        return None
    assert out.shape == arr.shape, f"{what}: transform shape {out.shape}"
    assert out.dtype == dtype, f"{what}: transform dtype {out.dtype}, X {arr.dtype}"
    nan_in = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    assert np.array_equal(np.isnan(out), nan_in), f"{what}: NaN not kept in place"
    assert np.all(np.isfinite(out[~nan_in])), f"{what}: non-finite transform output"
    if est.clip is not None:
        bound = est.clip * (1 + 4 * float(np.finfo(dtype).eps))  # rounding
        inside = np.abs(out[~nan_in].astype(np.float64)) <= bound
        assert np.all(inside), f"{what}: beyond clip"
    elif dtype != np.float16 and arr.dtype.kind == "f":
        back = est.inverse_transform(out, copy=True)
        eps = np.finfo(dtype).eps
        finite = arr[~nan_in].astype(np.float64)
        mean = 0.0 if est.mean_ is None else np.nanmax(np.abs(est.mean_))
        atol = 64 * eps * (np.max(np.abs(finite), initial=0) + mean)
        assert np.allclose(back[~nan_in], finite, rtol=64 * eps, atol=atol), (
            f"{what}: inverse_transform(transform(X)) != X"
        )
    return out


# --------------------------------------------------------------- runner
def _namespace():
    return {
        "np": np,
        "sp": sp,
        "pd": pd,
        "pl": pl,
        "pickle": pickle,
        "clone": clone,
        "MLPRegressor": MLPRegressor,
        "MLPClassifier": MLPClassifier,
        "Standardizer": Standardizer,
    }


CLASSES = {
    "regressor": "MLPRegressor",
    "classifier": "MLPClassifier",
    "standardizer": "Standardizer",
}


def _script(kind, case):
    data = _data_code(case["recipe"], kind)
    make = f"est = {CLASSES[kind]}({_kwargs(case['params'])})"
    steps = [(name, _step_code(kind, name, arg)) for name, arg in case["steps"]]
    return data, make, steps


def _run_case(kind, case):
    data, make, steps = _script(kind, case)
    script = "\n".join([*data, make, *(ln for _, code in steps for ln in code)])
    note(
        f"Reproducer ({kind}; a step that raises is followed by the next one, "
        f"as noted below):\n{script}"
    )
    ns = _namespace()
    with _time_limit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. float16 overflow in the data
            exec("\n".join(data), ns)
        exec(make, ns)
        _, refused = _x_info(ns, kind)
        for i, (name, code) in enumerate(steps):
            what = f"after step {i} ({name})"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                run = _run_same_seed if name == "same_seed" else _run_step
                raised = run(kind, ns, name, code, refused, what)
                if raised is not None:
                    note(f"step {i} ({name}) raised {raised}")
                    continue  # raised cleanly: warnings of failed calls are fine
            runtime = _runtime_warnings(caught)
            assert not runtime, f"{what}: RuntimeWarning(s): {runtime}"


def _run_step(kind, ns, name, code, refused, what):
    """Run one call; return its (clean) exception as a string, or None."""
    before = None
    predictable = not refused
    if name == "pickle" and _is_fitted(ns["est"]) and predictable:
        before = _outputs(kind, ns["est"], ns, "before pickle")
    try:
        exec("\n".join(code), ns)
    except Exception as exc:
        _check_clean_exception(exc, kind, name, ns["est"])
        _check_after_error(kind, ns, refused, f"{what} raised {exc!r}")
        return f"{type(exc).__name__}: {exc}"
    est = ns["est"]
    if refused and name not in ("pickle", "to_sklearn"):
        raise AssertionError(f"{what}: accepted NaN or inf in X")
    if not _is_fitted(est):
        assert name == "pickle", f"{what}: returned but the estimator is not fitted"
        return None
    if not predictable:
        return None
    outputs = _outputs(kind, est, ns, what)
    if before is not None:
        for a, b in zip(before, outputs, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{what}: pickle changed it")
    if name == "to_sklearn":
        _check_export(kind, ns, what)
    return None


def _run_same_seed(kind, ns, name, code, refused, what):
    """Two same-seed fits of clones: the same error, or identical outputs."""
    results = []
    for line in code:
        try:
            exec(line, ns)
        except Exception as exc:
            _check_clean_exception(exc, kind, "same_seed", ns["est"])
            results.append(f"{type(exc).__name__}: {exc}")
        else:
            results.append(None)
    assert results[0] == results[1], f"{what}: same seed, different outcomes {results}"
    if results[0] is not None:
        return results[0]
    if refused:
        raise AssertionError(f"{what}: accepted NaN or inf in X")
    pa = _check_mlp_predicts(ns["est_a"], ns, kind, f"{what} (clone a)")
    pb = _check_mlp_predicts(ns["est_b"], ns, kind, f"{what} (clone b)")
    np.testing.assert_array_equal(pa, pb, err_msg=f"{what}: same seed, other output")
    return None


def _outputs(kind, est, ns, what):
    if kind == "standardizer":
        return [_check_standardizer(est, ns, what)]
    return [_check_mlp_predicts(est, ns, kind, what)]


def _check_after_error(kind, ns, refused, what):
    """After a raised call: unfitted, or still finite weights and predictions."""
    est = ns["est"]
    if not _is_fitted(est):
        return
    if kind != "standardizer":
        for i, W in enumerate([*est.coefs_, *est.intercepts_]):
            assert np.all(np.isfinite(W)), f"{what}: non-finite weights in array {i}"
    arr, _ = _x_info(ns, kind)
    if refused or est.n_features_in_ != arr.shape[1]:
        return  # nothing valid to predict on
    if kind == "standardizer":
        _check_standardizer(est, ns, what)
    else:
        _check_mlp_predicts(est, ns, kind, what)


def _check_export(kind, ns, what):
    est, sk, X = ns["est"], ns["sk"], ns["X"]
    rtol = _rtol(est.coefs_[0].dtype)
    method = "predict" if kind == "regressor" else "predict_proba"
    ours = getattr(est, method)(X)
    # scikit-learn's own forward pass may overflow in float32 on extreme X
    # (its warning, not sknorm's); the values are compared below.
    with np.errstate(all="ignore"):
        theirs = getattr(sk, method)(X)
    theirs = np.asarray(theirs, dtype=ours.dtype).reshape(ours.shape)
    if kind == "regressor":
        # scikit-learn's MLP does not clip (clip_predictions): compare with
        # its predictions clipped to the same bounds.
        theirs = est._clip(theirs)
    elif est.out_activation_ == "logistic":
        # Nor does it keep logistic probabilities inside (0, 1): an
        # underflow to 0 is the smallest normal float in sknorm's.
        theirs = _clip_open_unit_interval(theirs)
    theirs = theirs.astype(np.float64)
    scale = np.max(np.abs(ours), initial=0.0)
    assert np.allclose(theirs, ours, rtol=rtol, atol=rtol * scale + 1e-300), (
        f"{what}: to_sklearn() predicts differently "
        f"(max diff {np.max(np.abs(theirs - ours), initial=0):.3g})"
    )


def _check_same(kind, ns, what):
    a, b = ns["est_a"], ns["est_b"]
    pa = _check_mlp_predicts(a, ns, kind, f"{what} (clone a)")
    pb = _check_mlp_predicts(b, ns, kind, f"{what} (clone b)")
    np.testing.assert_array_equal(pa, pb, err_msg=f"{what}: same seed, other output")


# ---------------------------------------------------------------- tests
@_settings("regressor")
@given(case=cases("regressor"))
def test_fuzz_regressor(case):
    _run_case("regressor", case)


# Found by a long run: logistic probabilities that underflow in float32,
# which scikit-learn's MLP returns as 0 and sknorm as the smallest normal float.
UNDERFLOW_CASE = {
    "recipe": {
        "seed": 300,
        "n_rows": 267,
        "n_cols": 1,
        "dtype": "float16",
        "scale": 30000.0,
        "offset": 0.0,
        "const_cols": 1,
        "nan": False,
        "container": "csr",
        "weights": None,
        "n_chunks": 1,
        "n_classes": 3,
        "labels": "multilabel",
        "imbalance": False,
    },
    "params": {"hidden_layer_sizes": (), "max_iter": 3, "random_state": 1},
    "steps": [("fit", None), ("to_sklearn", None)],
}
# Also found by a long run: scikit-learn's float32 forward pass of the
# exported model overflows (weights of 1e10 after one step on X of 1e12).
OVERFLOW_CASE = {
    "recipe": {
        **UNDERFLOW_CASE["recipe"],
        "seed": 2,
        "n_rows": 2,
        "dtype": "float32",
        "scale": 1e12,
        "const_cols": 0,
        "container": "numpy",
        "n_classes": 2,
        "labels": "int",
    },
    "params": {
        "activation": "identity",
        "alpha": 0.0,
        "hidden_layer_sizes": (1, 1),
        "learning_rate": "constant",
        "max_iter": 1,
        "solver": "sgd",
        "random_state": 1,
    },
    "steps": [("fit", None), ("to_sklearn", None)],
}


@_settings("classifier")
@given(case=cases("classifier"))
@example(case=UNDERFLOW_CASE)
@example(case=OVERFLOW_CASE)
def test_fuzz_classifier(case):
    _run_case("classifier", case)


# Found by a long run: a refit refused after set_params left a model whose
# transform read the new parameters against the old statistics.
REFUSED_REFIT_CASE = {
    "recipe": {
        "seed": 0,
        "n_rows": 2,
        "n_cols": 1,
        "dtype": "float64",
        "scale": 1e-12,
        "offset": 0.0,
        "const_cols": 0,
        "nan": False,
        "container": "csr",
        "weights": None,
        "n_chunks": 1,
    },
    "params": {
        "clip": None,
        "copy": False,
        "method": "standard",
        "with_mean": False,
        "with_std": False,
    },
    "steps": [
        ("fit", None),
        ("set_params_fit", {"clip": None, "method": "robust", "with_std": True}),
    ],
}


@_settings("standardizer")
@given(case=cases("standardizer"))
@example(case=REFUSED_REFIT_CASE)
def test_fuzz_standardizer(case):
    _run_case("standardizer", case)
