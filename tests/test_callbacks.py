"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9)."""

import pickle
import re
import warnings
from collections import Counter

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer
from sknorm._sklearn_compat import _NoCallbackSupportMixin
from sknorm._validation import AUTO_MEMBERS

try:
    from sklearn import callback
except ImportError:  # scikit-learn < 1.9: only the stand-in's tests run
    callback = None

requires_callbacks = pytest.mark.skipif(
    callback is None, reason="needs scikit-learn >= 1.9 (sklearn.callback)"
)

# Few epochs of a small network: the tests check the task protocol, not fits.
SMALL = {"hidden_layer_sizes": (8,), "max_iter": 6, "random_state": 0}
ITERATION_TASKS = ("epoch", "lbfgs-iter")


def _regression_data(n_samples=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    return X, X[:, 0] + np.sin(X[:, 1])


def _classification_data(n_samples=60, seed=0):
    X, y = _regression_data(n_samples, seed)
    return X, np.where(y > 0, "pos", "neg")


def _data(Estimator):
    return _classification_data() if Estimator is MLPClassifier else _regression_data()


class Recorder:
    """Record the context and data of every hook call (a plain FitCallback)."""

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, {}))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, {}))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None):
        self.calls.append(("begin", context.task_name, {"X": X, "metadata": metadata}))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None):
        self.calls.append(("end", context.task_name, {"X": X, "metadata": metadata}))

    def hooks(self, hook, task_name):
        return [
            kw for name, task, kw in self.calls if (name, task) == (hook, task_name)
        ]


class PredictionRecorder:
    """Store the predictions of ``fitted_estimator`` after every iteration.

    Returns True (asks to stop) once ``stop_after`` iterations have ended.
    """

    def __init__(self, X, method="predict", stop_after=None):
        self.X, self.method, self.stop_after = X, method, stop_after
        self.predictions = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        # The last L-BFGS subtask never runs and has no fitted_estimator.
        if context.task_name in ITERATION_TASKS and fitted_estimator is not None:
            self.predictions.append(getattr(fitted_estimator, self.method)(self.X))
        return self.stop_after is not None and len(self.predictions) >= self.stop_after


class TaskCounter:
    """Count ended tasks per (estimator, task name); auto-propagated."""

    max_propagation_depth = None

    def __init__(self):
        self.ended = Counter()

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.ended[context.estimator_name, context.task_name] += 1


@requires_callbacks
@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier, Standardizer])
def test_callbacks_supported_by_every_estimator(Estimator):
    """Check that each estimator has scikit-learn's callback support."""
    assert issubclass(Estimator, callback.CallbackSupportMixin)
    est = Estimator().set_callbacks(Recorder())
    assert len(est._skl_callbacks) == 1


@requires_callbacks
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_callbacks_task_tree_of_a_fit(solver):
    """Check the root task and one subtask per epoch (per L-BFGS iteration)."""
    X, y = _regression_data()
    recorder = Recorder()
    est = MLPRegressor(solver=solver, **SMALL).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)

    names = [(hook, task) for hook, task, _ in recorder.calls]
    assert names[:2] == [("setup", "fit"), ("begin", "fit")]
    assert names[-2:] == [("end", "fit"), ("teardown", "fit")]
    task_name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    # L-BFGS ends with a subtask begun by its last iteration that never runs.
    n_tasks = est.n_iter_ + (solver == "lbfgs")
    assert len(recorder.hooks("begin", task_name)) == n_tasks
    assert len(recorder.hooks("end", task_name)) == n_tasks
    for kwargs in recorder.hooks("end", task_name)[: est.n_iter_]:
        assert kwargs["X"] is recorder.hooks("begin", "fit")[0]["X"]
        assert kwargs["metadata"] is None
    assert not hasattr(est, "_callback_fit_ctx")


@requires_callbacks
def test_callbacks_receive_sample_weight_as_metadata():
    """Check that the user's weights (not class-weighted) reach the hooks."""
    X, y = _classification_data()
    weights = np.linspace(0.5, 2.0, len(y))
    recorder = Recorder()
    clf = MLPClassifier(class_weight="balanced", **SMALL).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=weights)
    for kwargs in recorder.hooks("end", "epoch") + recorder.hooks("end", "fit"):
        assert_array_equal(kwargs["metadata"]["sample_weight"], weights)


@requires_callbacks
def test_callbacks_early_stopping_epochs_see_training_rows():
    """Check that epochs report the rows they train on, the fit all rows."""
    X, y = _regression_data(100)
    recorder = Recorder()
    est = MLPRegressor(early_stopping=True, validation_fraction=0.2, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_callbacks(recorder).fit(X, y)
    assert recorder.hooks("end", "fit")[0]["X"].shape == (100, 3)
    assert {kw["X"].shape for kw in recorder.hooks("end", "epoch")} == {(80, 3)}


@requires_callbacks
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "adam"},
        {"solver": "sgd", "batch_norm": "after"},
        {"solver": "adam", "batch_norm": None},
        {"solver": "adam", "bn_stats": "running", "dropout": 0.2},
        {"solver": "adam", "bn_input": True},
        {"solver": "lbfgs"},
        {"solver": "lbfgs", "batch_norm": None},
    ],
    ids=lambda params: "-".join(f"{key}={value}" for key, value in params.items()),
)
@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_callbacks_fitted_estimator_of_last_iteration_is_the_model(Estimator, params):
    """Check that the last iteration's fitted_estimator predicts as the fit."""
    X, y = _data(Estimator)
    method = "predict_proba" if Estimator is MLPClassifier else "predict"
    recorder = PredictionRecorder(X, method)
    est = Estimator(**SMALL, **params).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert len(recorder.predictions) == est.n_iter_
    assert_array_equal(recorder.predictions[-1], getattr(est, method)(X))
    # Earlier iterations are other models: the copies are not shared.
    assert not np.array_equal(recorder.predictions[0], recorder.predictions[-1])


@requires_callbacks
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callbacks_fitted_estimator_leaves_the_fit_unchanged(solver):
    """Check that building fitted_estimator changes neither training nor model."""
    X, y = _regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPRegressor(solver=solver, **SMALL).fit(X, y)
        watched = MLPRegressor(solver=solver, **SMALL)
        watched.set_callbacks(PredictionRecorder(X)).fit(X, y)
    for coef, expected in zip(watched.coefs_, plain.coefs_, strict=True):
        assert_array_equal(coef, expected)
    assert watched.n_iter_ == plain.n_iter_
    if solver != "lbfgs":
        assert watched.loss_curve_ == plain.loss_curve_


@requires_callbacks
def test_callbacks_partial_fit_is_one_epoch():
    """Check that partial_fit reports one epoch, its model being the result."""
    X, y = _classification_data()
    recorder = PredictionRecorder(X, "predict_proba")
    clf = MLPClassifier(**SMALL).set_callbacks(recorder)
    for _ in range(3):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    assert len(recorder.predictions) == 3
    assert_array_equal(recorder.predictions[-1], clf.predict_proba(X))


@requires_callbacks
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callbacks_stop_request_ends_the_fit(solver):
    """Check that a callback returning True stops training, without a warning."""
    X, y = _regression_data()
    recorder = PredictionRecorder(X, stop_after=2)
    est = MLPRegressor(solver=solver, **{**SMALL, "max_iter": 50})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_callbacks(recorder).fit(X, y)
    assert est.n_iter_ == 2
    if solver != "lbfgs":
        assert len(est.loss_curve_) == 2
    assert np.isfinite(est.loss_)
    assert_array_equal(recorder.predictions[-1], est.predict(X))


@requires_callbacks
def test_callbacks_verbose_output_unchanged(capsys):
    """Check that verbose printing is the same with callbacks."""
    X, y = _regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(verbose=True, **SMALL).fit(X, y)
        expected = capsys.readouterr().out
        MLPRegressor(verbose=True, **SMALL).set_callbacks(Recorder()).fit(X, y)
    assert capsys.readouterr().out == expected
    # One line per epoch of each member.
    assert expected.count("Iteration ") == len(AUTO_MEMBERS) * SMALL["max_iter"]


@requires_callbacks
@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_callbacks_scoring_monitor_records_every_epoch(Estimator):
    """Check that ScoringMonitor scores each epoch, the last one as ``score``."""
    X, y = _data(Estimator)
    # scoring=None (the default scorer) fails in ScoringMonitor of scikit-learn
    # 1.9.1 itself: its passthrough scorer returns a float, not a dict.
    scoring = "accuracy" if Estimator is MLPClassifier else "r2"
    monitor = callback.ScoringMonitor(scoring=scoring)
    est = Estimator(**SMALL).set_callbacks(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    log = monitor.get_logs()
    assert log.estimator_name == Estimator.__name__
    epochs = [row for row in log.data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in epochs] == list(range(est.n_iter_))
    assert epochs[-1][scoring] == pytest.approx(est.score(X, y))
    assert len({row[scoring] for row in epochs}) > 1


def _progress_bar():
    pytest.importorskip("rich")
    return callback.ProgressBar()


@requires_callbacks
@pytest.mark.parametrize(
    "make_callback",
    [lambda: callback.ScoringMonitor(scoring="r2"), _progress_bar],
    ids=["ScoringMonitor", "ProgressBar"],
)
def test_callbacks_pickle_and_clone_after_fit(make_callback):
    """Check that a fitted estimator pickles and clones as scikit-learn's do."""
    X, y = _regression_data()
    monitor = make_callback()
    est = MLPRegressor(**SMALL).set_callbacks(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert not hasattr(est, "_callback_fit_ctx")
    assert not hasattr(est, "_skl_callbacks_to_teardown")

    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))
    assert type(restored._skl_callbacks[0]) is type(monitor)

    # clone shares the callback instances, as for scikit-learn's estimators.
    copy = clone(est)
    assert copy._skl_callbacks[0] is monitor
    assert not hasattr(copy, "network_")


@requires_callbacks
def test_callbacks_progress_bar(capsys):
    """Check that ProgressBar shows the fit's bar and completes it."""
    pytest.importorskip("rich")
    X, y = _regression_data()
    est = MLPRegressor(**SMALL).set_callbacks(callback.ProgressBar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"MLPRegressor - fit", out)
    assert re.search(r"100%", out)


@requires_callbacks
def test_callbacks_standardizer_is_one_leaf_task():
    """Check that Standardizer's fit and partial_fit are single leaf tasks."""
    X, _ = _regression_data()
    recorder = Recorder()
    scaler = Standardizer().set_callbacks(recorder)
    scaler.fit(X)
    scaler.partial_fit(X, sample_weight=np.ones(len(X)))
    names = [(hook, task) for hook, task, _ in recorder.calls]
    one_fit = [("setup", "fit"), ("begin", "fit"), ("end", "fit"), ("teardown", "fit")]
    assert names == one_fit * 2
    assert recorder.hooks("end", "fit")[0]["metadata"] is None
    assert_array_equal(
        recorder.hooks("end", "fit")[1]["metadata"]["sample_weight"], np.ones(len(X))
    )


@requires_callbacks
def test_callbacks_propagate_through_pipeline():
    """Check that a Pipeline's callbacks reach the Standardizer and every epoch."""
    X, y = _regression_data()
    counter = TaskCounter()
    pipe = make_pipeline(Standardizer(), MLPRegressor(**SMALL))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.set_callbacks(counter).fit(X, y)
    assert counter.ended["Standardizer", "fit"] == 1
    assert counter.ended["MLPRegressor", "fit"] == 1
    assert counter.ended["MLPRegressor", "epoch"] == pipe[-1].n_iter_
    # Propagated callbacks are removed from the steps after the fit.
    assert not hasattr(pipe[-1], "_skl_callbacks")


@requires_callbacks
def test_callbacks_propagate_through_grid_search():
    """Check that GridSearchCV's callbacks reach every fit of the MLP."""
    X, y = _regression_data()
    counter = TaskCounter()
    pipe = make_pipeline(Standardizer(), MLPRegressor(**SMALL))
    search = GridSearchCV(pipe, {"mlpregressor__alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.set_callbacks(counter).fit(X, y)
    # 2 candidates x 2 folds, then the refit; each fit trains every member.
    assert counter.ended["Standardizer", "fit"] == 5
    assert counter.ended["MLPRegressor", "fit"] == 5
    epochs = 5 * len(AUTO_MEMBERS) * SMALL["max_iter"]
    assert counter.ended["MLPRegressor", "epoch"] == epochs


@requires_callbacks
def test_callbacks_progress_bar_through_grid_search(capsys):
    """Check that ProgressBar on GridSearchCV shows the nested sknorm fits."""
    pytest.importorskip("rich")
    X, y = _regression_data()
    search = GridSearchCV(MLPRegressor(**SMALL), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"GridSearchCV - fit", out)
    assert re.search(r"MLPRegressor - fit", out)
    assert not re.search(r"\b[0-9]{1,2}%", out)


def _without_callback_module(Estimator):
    """Return ``Estimator`` as built on scikit-learn < 1.9 (the stand-in mixin)."""
    return type(f"Old{Estimator.__name__}", (_NoCallbackSupportMixin, Estimator), {})


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier, Standardizer])
def test_callbacks_fallback_refuses_callbacks(Estimator):
    """Check the error of set_callbacks without sklearn.callback (< 1.9)."""
    msg = re.escape(
        f"scikit-learn >= 1.9 (sklearn.callback); installed: {sklearn.__version__}"
    )
    with pytest.raises(RuntimeError, match=msg):
        _without_callback_module(Estimator)().set_callbacks(Recorder())


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callbacks_fallback_fits_as_without_callbacks(solver):
    """Check that the no-op stand-in of scikit-learn < 1.9 leaves fits unchanged."""
    old_mlp = _without_callback_module(MLPRegressor)(solver=solver, **SMALL)
    old_scaler = _without_callback_module(Standardizer)()
    new_mlp = MLPRegressor(solver=solver, **SMALL)
    X, y = _regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        old = make_pipeline(old_scaler, old_mlp).fit(X, y)
        new = make_pipeline(Standardizer(), new_mlp).fit(X, y)
    assert_array_equal(old.predict(X), new.predict(X))
