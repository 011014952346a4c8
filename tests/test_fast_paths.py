"""The fast training and prediction paths: results, threads, memory, settings."""

import copy
import pickle
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

import sknorm
from sknorm import MLPClassifier, MLPRegressor
from sknorm._batches import minibatch_slices
from sknorm._validation import resolve_dropout
from sknorm.nn._losses import LOSSES
from sknorm.nn._optimizers import Adam
from sknorm.nn._trainer import Trainer


def _data(n=300, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(n)
    return X, y


def _blas_threads():
    return [
        pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
    ]


# ------------------------------------------------------- same results as before
@pytest.mark.parametrize("batch_norm", ["before", "after", None])
def test_fit_equals_layer_by_layer_training(batch_norm):
    """Check a fused epoch against the layers' own forward/backward.

    The reference replays the epoch from the same initial network and batches
    with ``Sequential.forward``/``backward``, scikit-learn's L2 term and the
    per-array form of Adam.
    """
    X, y = _data()
    params = {
        "hidden_layer_sizes": (24, 20),
        "batch_size": 32,
        "batch_norm": batch_norm,
        "bn_stats": "running",  # keep the statistics the epoch computed
        "alpha": 1e-3,
        "random_state": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = MLPRegressor(max_iter=1, **params).fit(X, y)
    replay = MLPRegressor(**params)
    rng = replay._make_rng(False)  # the generator fit draws from, in order
    dropout = resolve_dropout(
        replay.dropout, X.shape[0], replay.solver, incremental=False, held_out=False
    )
    replay._initialize(X.shape[1], 1, X.dtype, rng, dropout, batch_norm)
    network = replay.network_
    optimizer = Adam(network.parameters(), learning_rate_init=replay.learning_rate_init)
    Y = ((y - fitted.target_mean_) / fitted.target_scale_).reshape(-1, 1)
    order = rng.permutation(X.shape[0])
    for rows in minibatch_slices(X.shape[0], 32):
        idx = order[rows]
        raw, caches = network.forward(X[idx], training=True)
        grads = network.backward(LOSSES["squared_error"](raw, Y[idx])[1], caches)
        for layer, grad in zip(network.layers, grads, strict=True):
            if "weight" in grad:
                grad["weight"] += 1e-3 / len(idx) * layer.params["weight"]
        optimizer.step(network.flat_grads(grads))
    assert_allclose(
        fitted.network_.get_flat_params(),
        network.get_flat_params(),
        rtol=1e-9,
        atol=1e-12,
    )
    for layer, other in zip(fitted.network_.layers, network.layers, strict=True):
        for key, value in layer.buffers.items():
            assert_allclose(value, other.buffers[key], rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------ thread safety
@pytest.mark.parametrize("estimator", [MLPRegressor, MLPClassifier])
def test_predict_from_eight_threads_at_once(estimator):
    """Check that concurrent predict calls give the single-threaded results."""
    X, y = _data(2000)
    if estimator is MLPClassifier:
        y = (y > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = estimator(hidden_layer_sizes=(32, 32), max_iter=3, random_state=0)
        model.fit(X, y)
    method = model.predict if estimator is MLPRegressor else model.predict_proba
    # Blocks of different lengths, so that threads use different chunk sizes.
    inputs = [X[: 500 + 180 * k] * (1 + 0.1 * k) for k in range(8)]
    expected = [method(x) for x in inputs]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(k):
        barrier.wait()
        results[k] = [method(inputs[k]) for _ in range(20)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(8):
        for result in results[k]:
            assert_array_equal(result, expected[k])


# ------------------------------------------------------------------ memory
def _fit_peak(n_rows, n_features, early_stopping):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, n_features)).astype(np.float32)
    y = X[:, 0] + rng.standard_normal(n_rows).astype(np.float32)
    model = MLPRegressor(
        hidden_layer_sizes=(16,),
        batch_size=64,
        max_iter=2,
        early_stopping=early_stopping,
    )
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, X.nbytes


def test_fit_makes_no_copy_of_X():
    """Check that fit's extra memory grows much slower than X with the rows.

    Per row, fit keeps the shuffled order and target-sized vectors; a copy of
    X (per fit or per epoch) would add a whole row of X.
    """
    small, small_bytes = _fit_peak(10_000, 64, early_stopping=False)
    large, large_bytes = _fit_peak(40_000, 64, early_stopping=False)
    assert large - small < 0.5 * (large_bytes - small_bytes)


def test_fit_with_early_stopping_copies_X_once():
    """Check that early stopping (the default from 750 rows) copies X once.

    The validation split copies the training and validation rows once per
    fit, as scikit-learn's MLP does; nothing grows with the epochs.
    """
    small, small_bytes = _fit_peak(10_000, 64, early_stopping="auto")
    large, large_bytes = _fit_peak(40_000, 64, early_stopping="auto")
    assert large - small < 1.5 * (large_bytes - small_bytes)


# ---------------------------------------------------------- BLAS threads
def test_fit_limits_blas_threads_by_default(monkeypatch):
    """Check that fit runs with one BLAS thread unless configured otherwise."""
    seen = []
    original = Trainer.objective

    def spy(*args):
        seen.append(_blas_threads())
        return original(*args)

    monkeypatch.setattr(Trainer, "objective", spy)
    X, y = _data(100)
    outside = _blas_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(max_iter=1).fit(X, y)
        assert all(threads == [1] * len(threads) for threads in seen)
        seen.clear()
        with sknorm.config_context(fit_blas_threads=None):
            MLPRegressor(max_iter=1).fit(X, y)
        assert seen[0] == outside
    assert _blas_threads() == outside


def test_config_set_get_and_context():
    """Check the settings API: defaults, validation, scoping, restoration."""
    assert sknorm.get_config() == {"fit_blas_threads": 1}
    try:
        sknorm.set_config(fit_blas_threads=2)
        assert sknorm.get_config()["fit_blas_threads"] == 2
        sknorm.set_config()  # nothing given: nothing changes
        assert sknorm.get_config()["fit_blas_threads"] == 2
        with sknorm.config_context(fit_blas_threads=None):
            assert sknorm.get_config()["fit_blas_threads"] is None
            seen = []
            other = threading.Thread(
                target=lambda: seen.append(sknorm.get_config()["fit_blas_threads"])
            )
            other.start()
            other.join()
            assert seen == [2]  # the context is this thread's only
        assert sknorm.get_config()["fit_blas_threads"] == 2
    finally:
        sknorm.set_config(fit_blas_threads=1)
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="fit_blas_threads"):
            sknorm.set_config(fit_blas_threads=bad)
    assert sknorm.get_config() == {"fit_blas_threads": 1}


# ------------------------------------------------------- copies and pickles
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_partial_fit_after_copy_trains_the_copy(how):
    """Check that a copied estimator's partial_fit updates the copy, like the
    original's would (the optimizer follows the re-flattened parameters)."""
    X, y = _data()
    model = MLPRegressor(hidden_layer_sizes=(16,), random_state=0)
    model.partial_fit(X, y)
    twin = (
        copy.deepcopy(model) if how == "deepcopy" else pickle.loads(pickle.dumps(model))
    )
    before = twin.network_.get_flat_params()
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert not np.array_equal(twin.network_.get_flat_params(), before)
    assert_array_equal(
        twin.network_.get_flat_params(), model.network_.get_flat_params()
    )
    assert_array_equal(twin.predict(X), model.predict(X))
