"""Scale-out on Dask: model selection on a cluster and out-of-core partial_fit.

One ``LocalCluster`` (two worker processes, one thread each) serves the whole
module. Work sent to it runs in a daemon thread with a timeout: an estimator
whose fitted state cannot be pickled makes joblib's dask backend wait forever
for the result instead of raising, and a test must fail rather than hang.
"""

import pickle
import threading

import dask
import dask.array as da
import joblib
import numpy as np
import pytest
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster, get_task_stream
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Every job below takes about a second; the margin is for a busy CI machine.
TIMEOUT = 120

# Explicit training regime, so the tests do not depend on tuned defaults.
FAST = {
    "hidden_layer_sizes": (16,),
    "learning_rate_init": 0.01,
    "learning_rate": "constant",
    "batch_size": 64,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _on_cluster(client, func):
    """Return ``func()`` run under joblib's dask backend, failing after TIMEOUT.

    Also fails if no task ran on the workers: joblib would otherwise be free
    to run everything in this process and the test would prove nothing.
    """
    outcome = {}

    def target():
        try:
            # parallel_config is thread-local: it must be set in this thread.
            with (
                get_task_stream(client) as stream,
                joblib.parallel_config(backend="dask"),
            ):
                outcome["value"] = func()
            outcome["workers"] = {task["worker"] for task in stream.data}
        except BaseException as exc:  # re-raised in the test's thread below
            outcome["error"] = exc

    # A daemon thread: a hung job must not keep pytest from exiting.
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        pytest.fail(
            f"the Dask job did not finish within {TIMEOUT} s; an unpicklable "
            "fitted attribute makes the dask backend wait forever (see the "
            "workers' 'Failed to serialize' log above)"
        )
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["workers"], "no task ran on the Dask workers"
    return outcome["value"]


def _mixed_scale_data(n_samples, seed=0):
    """X with columns on wildly different scales and a smooth target."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, 3))
    X = Z * [1.0, 100.0, 1e4] + [0.0, 500.0, -3e4]
    y = np.sin(2 * Z[:, 0]) + 0.5 * Z[:, 1] ** 2 - Z[:, 2]
    y += 0.1 * rng.standard_normal(n_samples)
    return X, y


def _classes(y):
    return np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))


def _assert_same_predictions(est, other, X):
    assert_array_equal(est.predict(X), other.predict(X))
    if hasattr(est, "predict_proba"):
        assert_array_equal(est.predict_proba(X), other.predict_proba(X))


# ------------------------------------------------------- model selection
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_dask_grid_search_equals_sequential(client, kind):
    """Check that GridSearchCV on the cluster equals the sequential search."""
    X, y = _mixed_scale_data(240)
    if kind == "classifier":
        y = _classes(y)
        grid = {
            "mlpclassifier__learning_rate_init": [1e-2, 1e-1],
            "mlpclassifier__batch_norm": [None, "before"],
        }
        est = make_pipeline(Standardizer(), MLPClassifier(**FAST, max_iter=10))
    else:
        grid = {
            "mlpregressor__learning_rate_init": [1e-3, 1e-2],
            "mlpregressor__batch_norm": [None, "before", "after"],
        }
        est = make_pipeline(Standardizer(), MLPRegressor(**FAST, max_iter=10))
    sequential = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    on_dask = _on_cluster(
        client, lambda: GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
    )
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        assert_array_equal(on_dask.cv_results_[key], sequential.cv_results_[key])
    assert on_dask.cv_results_["params"] == sequential.cv_results_["params"]
    assert on_dask.best_params_ == sequential.best_params_
    _assert_same_predictions(on_dask.best_estimator_, sequential.best_estimator_, X)


FITTED_STATES = [
    pytest.param(
        "regressor",
        {"batch_norm": "after", "dropout": 0.1, "early_stopping": True},
        id="regressor-bn-after-dropout-early-stopping",
    ),
    pytest.param(
        "regressor", {"solver": "lbfgs", "max_iter": 30}, id="regressor-lbfgs"
    ),
    pytest.param(
        "classifier",
        {"class_weight": "balanced", "bn_stats": "running", "dropout": 0.1},
        id="classifier-balanced-running-bn",
    ),
]


@pytest.mark.parametrize(("kind", "params"), FITTED_STATES)
def test_dask_fitted_estimators_come_back_intact(client, kind, params):
    """Check that estimators fitted on workers predict like local fits."""
    X, y = _mixed_scale_data(240)
    if kind == "classifier":
        y = _classes(y)
        model = MLPClassifier(**{**FAST, "max_iter": 15, **params})
    else:
        model = MLPRegressor(**{**FAST, "max_iter": 15, **params})
    est = make_pipeline(Standardizer(), model)
    cv = KFold(3, shuffle=True, random_state=0)
    local = cross_validate(est, X, y, cv=cv, return_estimator=True)
    remote = _on_cluster(
        client,
        lambda: cross_validate(est, X, y, cv=cv, n_jobs=-1, return_estimator=True),
    )
    assert_array_equal(remote["test_score"], local["test_score"])
    for theirs, ours in zip(remote["estimator"], local["estimator"], strict=True):
        _assert_same_predictions(theirs, ours, X)
        for a, b in zip(theirs[-1].coefs_, ours[-1].coefs_, strict=True):
            assert_array_equal(a, b)


# ------------------------------------------------------------ out of core
def _chunked(X, y, chunk):
    return da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)


def _dask_objects(obj, seen=None):
    """Names of the Dask collections reachable from ``obj``'s attributes."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if dask.is_dask_collection(obj):
        return [type(obj).__name__]
    if isinstance(obj, dict):
        children = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = vars(obj).values()
    else:
        return []
    return [name for child in children for name in _dask_objects(child, seen)]


def test_dask_standardizer_partial_fit_over_chunks_equals_fit():
    """Check that partial_fit over uneven Dask chunks equals one fit."""
    X, _ = _mixed_scale_data(2300)
    Xd = da.from_array(X, chunks=(500, -1))  # the last chunk has 300 rows
    scaler = Standardizer()
    for block in Xd.blocks:
        scaler.partial_fit(block.compute())
    full = Standardizer().fit(X)
    assert scaler.n_samples_seen_ == full.n_samples_seen_ == 2300
    assert_allclose(scaler.mean_, full.mean_, rtol=1e-12)
    assert_allclose(scaler.var_, full.var_, rtol=1e-12)
    assert_allclose(scaler.scale_, full.scale_, rtol=1e-12)
    standardized = Xd.map_blocks(scaler.transform, dtype=Xd.dtype).compute()
    assert_allclose(standardized, full.transform(X), rtol=1e-10, atol=1e-12)


PASSES, CHUNK = 8, 500


def test_dask_incremental_regressor_matches_in_memory_fit(client):
    """Check Incremental partial_fit on the cluster against local fits."""
    X, y = _mixed_scale_data(5000)
    X, X_test, y, y_test = X[:4000], X[4000:], y[:4000], y[4000:]
    Xd, yd = _chunked(X, y, CHUNK)
    scaler = Standardizer()
    for block in Xd.blocks:
        scaler.partial_fit(block.compute())
    X_std = Xd.map_blocks(scaler.transform, dtype=Xd.dtype)
    # A RandomState instance, not an int: every pass gets a new chunk order.
    inc = Incremental(MLPRegressor(**FAST), random_state=np.random.RandomState(0))

    def passes():
        for _ in range(PASSES):
            inc.partial_fit(X_std, yd)
        return inc.estimator_

    streamed = _on_cluster(client, passes)
    assert streamed.t_ == PASSES * len(X)
    assert streamed.n_iter_ == PASSES * Xd.numblocks[0]
    assert _dask_objects(streamed) == []
    assert _dask_objects(inc) == []
    pickle.dumps(inc)

    # The same partial_fit calls in this process, in Incremental's chunk order:
    # fits moved between worker processes after every chunk are identical.
    local = MLPRegressor(**FAST)
    X_np, order_rng = scaler.transform(X), np.random.RandomState(0)
    for _ in range(PASSES):
        order = list(range(Xd.numblocks[0]))
        order_rng.shuffle(order)
        for i in order:
            rows = slice(i * CHUNK, (i + 1) * CHUNK)
            local.partial_fit(X_np[rows], y[rows])
    X_test_std = scaler.transform(X_test)
    assert_array_equal(streamed.predict(X_test_std), local.predict(X_test_std))
    # The lazy path (a Dask array of predictions) agrees with the eager one.
    lazy = inc.predict(da.from_array(X_test_std, chunks=CHUNK)).compute()
    assert_array_equal(lazy, local.predict(X_test_std))

    # Nearly as accurate as the in-memory pipeline of the same network (fit
    # would average two, partial_fit builds one) after as many epochs
    # (measured: 0.923 in memory, where early_stopping='auto' holds out a
    # tenth of the rows, and 0.904 streamed; 0.80 streamed with dropout 0.3).
    same = MLPRegressor(**FAST, max_iter=PASSES, batch_norm="before")
    in_memory = make_pipeline(Standardizer(), same)
    r2_memory = in_memory.fit(X, y).score(X_test, y_test)
    r2_streamed = r2_score(y_test, streamed.predict(X_test_std))
    assert r2_memory > 0.9
    assert r2_streamed > r2_memory - 0.02


def test_dask_incremental_classifier_needs_classes(client):
    """Check that Incremental forwards classes= to every partial_fit call."""
    X, y = _mixed_scale_data(1200)
    X = Standardizer().fit_transform(X)
    y = np.array(["low", "mid", "high"])[_classes(y)]
    Xd, yd = _chunked(X, y, 300)
    without = Incremental(MLPClassifier(**FAST), shuffle_blocks=False)
    with pytest.raises(ValueError, match="classes must be passed"):
        _on_cluster(client, lambda: without.fit(Xd, yd))
    classes = np.unique(y)
    inc = Incremental(MLPClassifier(**FAST), shuffle_blocks=False)
    streamed = _on_cluster(client, lambda: inc.fit(Xd, yd, classes=classes).estimator_)
    local = MLPClassifier(**FAST)
    for start in range(0, len(X), 300):
        local.partial_fit(
            X[start : start + 300], y[start : start + 300], classes=classes
        )
    assert_array_equal(streamed.classes_, classes)
    _assert_same_predictions(streamed, local, X)
