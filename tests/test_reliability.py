"""Reliability: divergence, interruption, determinism, threads, memory.

skops persistence is tested in ``test_reliability_skops.py``.

Training is interrupted or poisoned from inside by wrapping the optimizers'
``step``: every mini-batch calls it once, whatever computes the gradient.
"""

import copy
import pickle
import subprocess
import sys
import threading
import tracemalloc

import joblib
import numpy as np
import pytest
import scipy.optimize
import skops.io as sio
from numpy.testing import assert_array_equal
from reliability_helpers import _assert_same_outputs, _data, _make
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline

from sknorm import SKOPS_TRUSTED_TYPES, Standardizer
from sknorm.nn import SGD, Adam
from sknorm.nn._inference import CHUNK_ROWS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _flat(params):
    """The optimizer's parameters as one vector, like ``get_flat_params``."""
    return np.concatenate([p.ravel() for p in params], dtype=np.float64)


def _hook_steps(monkeypatch, *, interrupt_at=None, poison_at=None):
    """Record the parameters before and after every optimizer step.

    ``interrupt_at`` raises KeyboardInterrupt instead of that step (0-based);
    ``poison_at`` writes inf into the first weight after it.
    """
    record = {"before": [], "after": []}
    for cls in (SGD, Adam):
        original = cls.step

        def step(self, grads, _original=original):
            if len(record["before"]) == interrupt_at:
                raise KeyboardInterrupt
            record["before"].append(_flat(self.params))
            _original(self, grads)
            if len(record["after"]) == poison_at:
                self.params[0].flat[0] = np.inf
            record["after"].append(_flat(self.params))

        monkeypatch.setattr(cls, "step", step)
    return record


# ---------------------------------------------------------------- divergence
DIVERGING = [
    pytest.param("regressor", {"batch_norm": None}, 1e3, id="regressor-no-bn"),
    pytest.param("regressor", {"batch_norm": "before"}, 1.0, id="regressor-bn-before"),
    pytest.param("regressor", {"batch_norm": "after"}, 1.0, id="regressor-bn-after"),
    pytest.param(
        "classifier",
        {"batch_norm": None, "learning_rate_init": 1e3},
        1e3,
        id="classifier-no-bn",
    ),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("kind", "params", "x_scale"), DIVERGING)
def test_reliability_divergence_raises_and_keeps_finite_model(
    monkeypatch, kind, params, x_scale
):
    """Check that divergence raises, names the fix and keeps an earlier finite state."""
    X, y = _data(kind)
    X = X * x_scale
    est = _make(
        kind,
        **{
            "solver": "sgd",
            "learning_rate_init": 10.0,
            "batch_size": "auto",  # full batch: one step per epoch
            "max_iter": 200,
            **params,
        },
    )
    record = _hook_steps(monkeypatch)
    with pytest.raises(ValueError, match=r"diverged in epoch \d+.*learning_rate_init"):
        est.fit(X, y)
    # Training stopped at the first diverging loss: no step after it. (A loss
    # that is finite but past the growth limit comes back from the step that
    # already applied its update, hence the one extra step it may count.)
    assert est.n_iter_ <= len(record["after"]) <= est.n_iter_ + 1
    assert np.isnan(est.loss_curve_[-1])
    assert np.isfinite(est.loss_curve_[:-1]).all()
    assert len(est.loss_curve_) == est.n_iter_ + 1
    # The state kept is one the fit went through before the diverged epoch.
    states = [record["before"][0], *record["after"]]
    kept = est.network_.get_flat_params()
    assert np.isfinite(kept).all()
    assert any(np.array_equal(kept, state) for state in states[-2:] + states[:1])
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
    assert np.isfinite(est.predict(X).astype(float)).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_reliability_overflow_in_last_step_is_divergence(monkeypatch, kind):
    """Check that weights overflowing in the very last step are caught too."""
    X, y = _data(kind)
    est = _make(kind, solver="sgd", batch_size="auto", max_iter=3)
    record = _hook_steps(monkeypatch, poison_at=2)
    with pytest.raises(ValueError, match="diverged in epoch 3"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 3
    assert np.isnan(est.loss_curve_[-1])
    assert_array_equal(est.network_.get_flat_params(), record["after"][1])
    assert np.isfinite(
        est.predict_proba(X) if kind == "classifier" else est.predict(X)
    ).all()


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_reliability_lbfgs_non_finite_result_keeps_best_point(monkeypatch, kind):
    """Check that L-BFGS ending at NaN parameters leaves the best point evaluated."""
    X, y = _data(kind)
    evaluated = []

    def minimize_ending_at_nan(fun, x0, **kwargs):
        # Two finite evaluations, then an end at NaN parameters.
        for theta in (x0, x0 * 3.0):
            loss, _ = fun(theta)
            evaluated.append((loss, theta.copy()))
        return scipy.optimize.OptimizeResult(
            x=np.full_like(x0, np.nan),
            fun=np.nan,
            nit=1,
            success=False,
            status=2,
            message="ABNORMAL",
        )

    monkeypatch.setattr(scipy.optimize, "minimize", minimize_ending_at_nan)
    est = _make(kind, solver="lbfgs")
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X, y)
    _, best_theta = min(evaluated, key=lambda pair: pair[0])
    assert_array_equal(est.network_.get_flat_params(), best_theta)
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)
    assert np.isfinite(
        est.predict_proba(X) if kind == "classifier" else est.predict(X)
    ).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_reliability_divergence_gives_error_score_in_grid_search():
    """Check that a grid search scores a diverging candidate with error_score."""
    X, y = _data("regressor")
    est = _make("regressor", solver="sgd", batch_size="auto")
    search = GridSearchCV(est, {"learning_rate_init": [10.0, 0.01]}, cv=2)
    with pytest.warns(FitFailedWarning, match="Training diverged"):
        search.fit(X, y)
    assert np.isnan(search.cv_results_["mean_test_score"][0])
    assert search.best_params_ == {"learning_rate_init": 0.01}


# -------------------------------------------------------------- interruption
INTERRUPTED = [
    pytest.param("regressor", {}, id="regressor"),
    pytest.param("regressor", {"solver": "sgd", "dropout": 0.2}, id="regressor-sgd"),
    pytest.param("regressor", {"bn_stats": "running"}, id="regressor-running-bn"),
    pytest.param("classifier", {}, id="classifier"),
    pytest.param(
        "classifier", {"early_stopping": True, "validation_fraction": 0.2}, id="es"
    ),
]


@pytest.mark.parametrize(("kind", "params"), INTERRUPTED)
def test_reliability_keyboard_interrupt_keeps_last_epoch(monkeypatch, kind, params):
    """Check that Ctrl-C propagates and leaves the last completed epoch, resumable."""
    X, y = _data(kind)
    est = _make(kind, warm_start=True, batch_size=40, **params)
    n_steps = 5 if not params.get("early_stopping") else 4  # steps per epoch
    record = _hook_steps(monkeypatch, interrupt_at=2 * n_steps + 2)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    # Back to the end of epoch 2, the bookkeeping to match.
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2
    interrupted = est.network_.get_flat_params()
    assert_array_equal(interrupted, record["before"][2 * n_steps])
    prediction = est.predict(X)
    if est.bn_stats == "population" and not est.early_stopping:
        # The BN statistics are those of these weights over the training data.
        recomputed = copy.deepcopy(est).recompute_bn_statistics(X)
        assert_array_equal(recomputed.predict(X), prediction)
    # warm_start resumes from exactly that state.
    monkeypatch.undo()
    record = _hook_steps(monkeypatch)
    est.set_params(max_iter=3).fit(X, y)
    assert_array_equal(record["before"][0], interrupted)
    assert est.n_iter_ == 3


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_reliability_keyboard_interrupt_in_partial_fit(monkeypatch, kind):
    """Check that an interrupted partial_fit leaves the previous call's state."""
    X, y = _data(kind)
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    est = _make(kind, batch_size=40).partial_fit(X, y, **extra)
    before = est.network_.get_flat_params()
    prediction = est.predict(X)
    _hook_steps(monkeypatch, interrupt_at=2)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    assert est.n_iter_ == 1
    assert_array_equal(est.network_.get_flat_params(), before)
    assert_array_equal(est.predict(X), prediction)
    monkeypatch.undo()
    assert est.partial_fit(X, y).n_iter_ == 2


@pytest.mark.parametrize("search", ["grid_search", "cross_val_score"])
def test_reliability_keyboard_interrupt_stops_model_selection(monkeypatch, search):
    """Check that Ctrl-C inside a fit stops a grid search instead of being scored."""
    X, y = _data("regressor")
    est = _make("regressor")
    _hook_steps(monkeypatch, interrupt_at=3)
    if search == "grid_search":
        run = GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2).fit
    else:
        run = lambda X, y: cross_val_score(est, X, y, cv=2)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        run(X, y)


# ------------------------------------------------------------- determinism
FITS = [
    pytest.param("regressor", {}, id="regressor-adam"),
    pytest.param(
        "regressor",
        {"solver": "sgd", "dropout": 0.2, "early_stopping": True},
        id="regressor-sgd-dropout-es",
    ),
    pytest.param(
        "regressor", {"solver": "lbfgs", "max_iter": 50}, id="regressor-lbfgs"
    ),
    pytest.param("classifier", {"dropout": 0.1}, id="classifier-dropout"),
    pytest.param("classifier", {"batch_norm": "after"}, id="classifier-bn-after"),
    pytest.param("standardizer", {}, id="standardizer"),
]


def _fit(kind, params, X, y):
    if kind != "standardizer":
        params = {"max_iter": 30, **params}
    return _make(kind, **params).fit(X, y)


@pytest.mark.parametrize(("kind", "params"), FITS)
def test_reliability_two_fits_are_bitwise_identical(kind, params):
    """Check that the same random_state gives bitwise-identical fits."""
    X, y = _data(kind)
    _assert_same_outputs(_fit(kind, params, X, y), _fit(kind, params, X, y), X)


_SUBPROCESS_FIT = """
import pickle, sys, warnings
import numpy as np
from sknorm import MLPClassifier, MLPRegressor
warnings.simplefilter("ignore")
X, y, yc = np.load(sys.argv[1]).values()
reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(X, y)
clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0, dropout=0.1)
clf.fit(X, yc)
with open(sys.argv[2], "wb") as f:
    pickle.dump([reg.predict(X), *reg.coefs_, clf.predict_proba(X), *clf.coefs_], f)
"""


def test_reliability_fits_identical_across_processes(tmp_path):
    """Check that a fit in another Python process is bitwise identical."""
    X, y = _data("regressor")
    _, yc = _data("classifier")
    np.savez(tmp_path / "data.npz", X=X, y=y, yc=yc)
    out = tmp_path / "out.pkl"
    subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_FIT, str(tmp_path / "data.npz"), str(out)],
        check=True,
        timeout=300,
    )
    theirs = pickle.loads(out.read_bytes())
    reg = _make("regressor", max_iter=30).fit(X, y)
    clf = _make("classifier", max_iter=30, dropout=0.1).fit(X, yc)
    ours = [reg.predict(X), *reg.coefs_, clf.predict_proba(X), *clf.coefs_]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_reliability_parallel_model_selection_is_identical(kind):
    """Check that n_jobs=2 gives the same fits and scores as n_jobs=1."""
    X, y = _data(kind)
    est = _make(kind, max_iter=20, dropout=0.1)
    runs = [
        cross_validate(est, X, y, cv=3, n_jobs=n_jobs, return_estimator=True)
        for n_jobs in (1, 2)
    ]
    assert_array_equal(runs[0]["test_score"], runs[1]["test_score"])
    for serial, parallel in zip(
        runs[0]["estimator"], runs[1]["estimator"], strict=True
    ):
        _assert_same_outputs(serial, parallel, X)
    grid = {"alpha": [1e-4, 1e-2], "batch_norm": ["before", None]}
    searches = [
        GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2)
    ]
    assert_array_equal(
        searches[0].cv_results_["mean_test_score"],
        searches[1].cv_results_["mean_test_score"],
    )
    _assert_same_outputs(searches[0].best_estimator_, searches[1].best_estimator_, X)


def _round_trip(est, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    path = tmp_path / f"model.{how}"
    if how == "joblib":
        joblib.dump(est, path)
        return joblib.load(path)
    sio.dump(est, path)
    return sio.load(path, trusted=SKOPS_TRUSTED_TYPES)


@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
@pytest.mark.parametrize(("kind", "params"), FITS)
def test_reliability_round_trip_is_identical(tmp_path, how, kind, params):
    """Check that a loaded estimator predicts, refits and trains identically."""
    X, y = _data(kind)
    est = _fit(kind, params, X, y)
    loaded = _round_trip(est, how, tmp_path)
    _assert_same_outputs(loaded, est, X)
    _assert_same_outputs(loaded.fit(X, y), _fit(kind, params, X, y), X)
    # partial_fit refuses early_stopping=True (a ValueError, as in scikit-learn).
    if hasattr(est, "partial_fit") and getattr(est, "early_stopping", 0) is not True:
        extra = {"classes": np.unique(y)} if kind == "classifier" else {}
        _assert_same_outputs(
            loaded.partial_fit(X, y, **extra), est.partial_fit(X, y, **extra), X
        )


# ------------------------------------------------------------------ threads
def _concurrent_calls(method, X, n_threads=8, repeats=3):
    """Call ``method(X)`` from ``n_threads`` threads released at once."""
    barrier = threading.Barrier(n_threads)
    results = [None] * n_threads
    errors = []

    def work(i):
        try:
            barrier.wait()
            results[i] = [method(X) for _ in range(repeats)]
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return [out for per_thread in results for out in per_thread]


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("regressor", "predict"),
        ("classifier", "predict"),
        ("classifier", "predict_proba"),
        ("standardizer", "transform"),
        ("pipeline", "predict"),
    ],
)
def test_reliability_concurrent_inference_equals_serial(kind, method):
    """Check that 8 threads calling one fitted model get exactly the serial result."""
    # More rows than one prediction chunk, so threads interleave chunks.
    n_rows = CHUNK_ROWS + 1000
    X, y = _data("classifier" if kind == "classifier" else "regressor", n_rows, 5)
    if kind == "pipeline":
        est = make_pipeline(Standardizer(), _make("regressor", max_iter=2))
    else:
        est = _make(kind, **({} if kind == "standardizer" else {"max_iter": 2}))
    est.fit(X[:2000], y[:2000])
    serial = getattr(est, method)(X)
    for out in _concurrent_calls(getattr(est, method), X):
        assert_array_equal(out, serial)


# ------------------------------------------------------------------- memory
def _predict_peak(est, X):
    """Peak memory traced during ``est.predict(X)`` and the output's size."""
    tracemalloc.start()
    try:
        out = est.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out.nbytes


def test_reliability_predict_memory_does_not_grow_with_rows():
    """Check that predict's extra memory is O(chunk), not O(rows), e.g. 5M rows."""
    chunk = CHUNK_ROWS
    n_features, width = 20, 100
    X, y = _data("regressor", 500, n_features)
    reg = _make("regressor", hidden_layer_sizes=(width,), max_iter=2)
    reg.fit(X.astype(np.float32), y)
    reg.predict(np.ones((10, n_features), dtype=np.float32))  # warm-up
    extra = {}
    for n_chunks in (2, 6):
        X_big = np.ones((n_chunks * chunk, n_features), dtype=np.float32)
        peak, out_bytes = _predict_peak(reg, X_big)
        extra[n_chunks] = peak - out_bytes
    # Beyond the output, a few chunk-sized activations, whatever the rows (an
    # average's folded layer holds every member's units).
    per_chunk_activation = chunk * reg.coefs_[0].shape[1] * 4
    assert extra[6] <= 3 * per_chunk_activation
    assert abs(extra[6] - extra[2]) < per_chunk_activation / 10
    # Hence for 5M x 20 float32 rows: the output (20 MB) plus this constant,
    # where activations of all rows at once would take 4 GB.
