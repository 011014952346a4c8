"""What one fit hands to the next (sknorm._fit_state), from the fuzzer's findings.

Each test is a reproducer of issue 14: state leaking between fits, warm
starts after structural changes, parameters that round to 0 in the
training dtype, zero-weight validation rows and warnings from handled cases.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sknorm import MLPClassifier, MLPRegressor
from sknorm._solver import Progress


def _poisson_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 2)), rng.poisson(1.0, 40).astype(float)


def _regression_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, 2.0, -1.0] + np.sin(3 * X[:, 0])


def _fresh_and_refit(first, second, X, y):
    """Fit a fresh ``second`` and ``first`` refitted as ``second``; return both."""
    fresh = MLPRegressor(**{**first, **second})
    refit = MLPRegressor(**first).fit(X, y).set_params(**second)
    return fresh, refit


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_refit_starts_from_fresh_state():
    """Check a non-warm refit equals a fresh fit: nothing of the first survives."""
    X, y = _regression_data()
    first = {"early_stopping": True, "max_iter": 30, "random_state": 0}
    second = {"early_stopping": False, "solver": "adam", "max_iter": 7}
    fresh, refit = _fresh_and_refit(first, second, X, y)
    fresh.fit(X, y)
    refit.fit(X, y)
    for a, b in zip(fresh.coefs_, refit.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert refit.loss_curve_ == fresh.loss_curve_
    assert refit.validation_scores_ is None
    assert refit._best_state is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_refit_never_restores_an_earlier_fits_best_state():
    """Check the issue's reproducer: a refit never returns the first fit's weights.

    The second fit's validation predictions may overflow (X * 1e3 under a
    log link): that is divergence, not "no improvement, restore the old best"
    (which returned the first fit's weights, or raised a KeyError when the
    layers had changed).
    """
    X, y = _poisson_data()
    est = MLPRegressor(
        loss="poisson",
        batch_norm="before",  # the reproducer's network
        early_stopping=True,
        hidden_layer_sizes=(1,),
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    first = [c.copy() for c in est.coefs_]
    for change in ({"bn_momentum": 0.0, "random_state": 1}, {"bn_affine": False}):
        est.set_params(**change)
        try:
            est.fit(X * 1e3, y)
        except ValueError as exc:
            message = str(exc)
        else:
            message = "validation rows became non-finite (no error)"
        assert "validation rows became non-finite" in message
        assert not any(
            c.shape == f.shape and np.array_equal(c, f)
            for c, f in zip(est.coefs_, first, strict=True)
        )
        assert np.isfinite(est.predict(X * 1e3)).all()
        est.set_params(bn_affine=True, bn_momentum=0.1, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "change",
    [
        {"activation": "logistic"},
        {"hidden_layer_sizes": (7,)},
        {"batch_norm": "after"},
        {"bn_affine": False},
        {"dropout": 0.3},
        {"loss": "poisson"},
        {"standardize_target": False},
    ],
)
@pytest.mark.parametrize("incremental", [False, True])
def test_warm_start_after_structural_change_raises(change, incremental):
    """Check warm starts and partial_fit refuse a network built otherwise.

    The model is left as it was: the same predictions as before the call.
    """
    X, y = _regression_data()
    est = MLPRegressor(warm_start=True, max_iter=20, random_state=0).fit(X, y)
    before = est.predict(X)
    est.set_params(**change)
    name = next(iter(change))
    call = est.partial_fit if incremental else est.fit
    with pytest.raises(ValueError, match=f"continues the network built with {name}="):
        call(X, y)
    np.testing.assert_array_equal(est.predict(X), before)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_predict_uses_the_trained_activation():
    """Check set_params(activation=...) without a refit keeps the predictions."""
    X, y = _regression_data()
    est = MLPRegressor(max_iter=20, random_state=0).fit(X, y)
    before = est.predict(X)
    est.set_params(activation="logistic")
    np.testing.assert_array_equal(est.predict(X), before)
    assert est.to_sklearn().activation == "relu"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_across_solver_families_continues():
    """Check lbfgs -> adam (and back) warm starts continue from the weights."""
    X, y = _regression_data()
    est = MLPRegressor(warm_start=True, solver="lbfgs", max_iter=20, random_state=0)
    est.fit(X, y)
    lbfgs_score = est.score(X, y)
    est.set_params(solver="adam", max_iter=5).fit(X, y)
    assert len(est.loss_curve_) == 5
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.score(X, y) > lbfgs_score - 0.2  # continued, not restarted
    est.set_params(early_stopping=True).fit(X, y)
    assert len(est.validation_scores_) >= 1
    est.set_params(solver="lbfgs", warm_start=False).fit(X, y)
    for name in ("loss_curve_", "best_loss_", "validation_scores_"):
        assert not hasattr(est, name), name


def test_bn_epsilon_that_rounds_to_zero_in_float32_is_refused():
    """Check parameters are validated for the dtype they are used in."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 2)).astype(np.float32)
    y = np.array([1.0, 2.0], dtype=np.float32)
    est = MLPRegressor(batch_norm="after", bn_epsilon=1e-300, max_iter=5)
    with pytest.raises(ValueError, match=r"bn_epsilon=1e-300 is below .* float32"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    with pytest.raises(ValueError, match=r"epsilon=1e-300 is below .* float32"):
        MLPRegressor(epsilon=1e-300, max_iter=5).fit(X, y)
    # float64 represents it: accepted.
    MLPRegressor(batch_norm="after", bn_epsilon=1e-300, max_iter=2).fit(
        X.astype(np.float64), y.astype(np.float64)
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", [MLPRegressor, MLPClassifier])
def test_early_stopping_holds_out_only_weighted_rows(cls):
    """Check zero-weight rows never make up the validation set."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int) if cls is MLPClassifier else X[:, 1]
    w = np.ones(200)
    w[-20:] = 0  # exactly the rows validation_split="last" held out before
    est = cls(early_stopping=True, validation_split="last", max_iter=5)
    est.fit(X, y, sample_weight=w)
    assert np.isfinite(est.validation_scores_).all()
    w[3:] = 0
    with pytest.raises(ValueError, match="only 3 rows have one"):
        est.fit(X, y, sample_weight=w)


def test_balanced_class_weight_with_a_zero_weight_class_does_not_warn():
    """Check a handled case (a class whose rows all weigh 0) emits no RuntimeWarning."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.repeat([0, 1, 2], 20)
    w = np.ones(60)
    w[:20] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # ConvergenceWarning
        est = MLPClassifier(class_weight="balanced", max_iter=5, random_state=0)
        proba = est.fit(X, y, sample_weight=w).predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_progress_attributes_cover_the_stopping_bookkeeping():
    """Check the attributes a fresh fit clears include every solver record."""
    assert {"loss_curve_", "best_loss_", "validation_scores_", "_best_state"} <= set(
        Progress.ATTRIBUTES.values()
    )


# ------------------------------------------- assigned coefs_ (issue 13, item 2)
_PLACEMENTS = [
    {"batch_norm": None},
    {"batch_norm": "before"},
    {"batch_norm": "after"},
    {"batch_norm": "before", "bn_affine": False},
    {"batch_norm": "after", "bn_input": True},
]
# A step of 1e-12 leaves the weights where they were; bn_momentum=0 keeps the
# running statistics, so the model after one more pass is the starting one.
_STILL = {"learning_rate_init": 1e-12, "bn_momentum": 0.0, "bn_stats": "running"}


def _changed(est, rng):
    """Assign new arrays to ``est.coefs_``/``intercepts_``; return them."""
    coefs = [w + 0.3 * rng.standard_normal(w.shape) for w in est.coefs_]
    intercepts = [b + 0.3 * rng.standard_normal(b.shape) for b in est.intercepts_]
    est.coefs_, est.intercepts_ = coefs, intercepts
    return coefs, intercepts


@pytest.mark.parametrize("placement", _PLACEMENTS)
@pytest.mark.parametrize(
    "make",
    [
        lambda **p: MLPRegressor(**p),
        lambda **p: MLPRegressor(loss="poisson", **p),
        lambda **p: MLPClassifier(**p),
    ],
    ids=["squared_error", "poisson", "classifier"],
)
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_training_continues_from_assigned_weights(make, placement, how):
    """Check partial_fit and warm starts train from assigned coefs_/intercepts_.

    As scikit-learn's MLPs do: the next pass starts from the model predict
    uses, not from the network before the assignment (with batch
    normalization, the BN layers become the identity).
    """
    X, y = _poisson_data()
    if "classifier" in repr(make(**placement)).lower():
        y = (y > 1).astype(int)
    est = make(max_iter=5, random_state=0, **placement, **_STILL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        _changed(est, np.random.default_rng(1))
        assigned = est.predict_proba(X) if hasattr(est, "classes_") else est.predict(X)
        if how == "partial_fit":
            est.partial_fit(X, y)
        else:
            est.set_params(warm_start=True, max_iter=1).fit(X, y)
    after = est.predict_proba(X) if hasattr(est, "classes_") else est.predict(X)
    np.testing.assert_allclose(after, assigned, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("placement", _PLACEMENTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_assigned_weights_load_exactly(placement, dtype):
    """Check the loaded network folds back to the assigned weights.

    Exactly in float64 (BN reset to scale 1, shift 0); to float32 rounding.
    """
    X, y = _poisson_data()
    clf = MLPClassifier(max_iter=3, random_state=0, **placement)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X.astype(dtype), y > 1)
    coefs, intercepts = _changed(clf, np.random.default_rng(2))
    assert clf._weights_assigned()
    clf._load_assigned_weights(clf.network_)
    clf._fold()
    assert not clf._weights_assigned()
    rtol = 0 if dtype == np.float64 else 1e-6
    for got, want in zip(clf.coefs_ + clf.intercepts_, coefs + intercepts, strict=True):
        np.testing.assert_allclose(got, want.astype(dtype), rtol=rtol, atol=0)


def test_in_place_edits_are_noticed():
    """Check editing coefs_ in place counts as an assignment, not only new arrays."""
    X, y = _regression_data(60)
    reg = MLPRegressor(batch_norm=None, max_iter=3, random_state=0, **_STILL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert not reg._weights_assigned()
    reg.coefs_[0][0, 0] += 1.0
    assert reg._weights_assigned()
    edited = reg.predict(X)
    reg.partial_fit(X, y)
    np.testing.assert_allclose(reg.predict(X), edited, rtol=1e-6, atol=1e-9)


def test_assigned_weights_of_another_layout_raise():
    """Check assigned weights that do not fit the network raise and change nothing."""
    X, y = _regression_data(60)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    before = reg.predict(X)
    network = reg.network_.snapshot()
    reg.coefs_ = [np.zeros((3, 5)), np.zeros((5, 1))]
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(3, 5\)"):
        reg.partial_fit(X, y)
    reg.coefs_ = reg.coefs_[:1]
    with pytest.raises(ValueError, match="network has 2 layers"):
        reg.partial_fit(X, y)
    reg.coefs_ = [np.full((3, 4), np.nan), np.zeros((4, 1))]
    with pytest.raises(ValueError, match="NaN or inf"):
        reg.partial_fit(X, y)
    for (params, _), (kept, _) in zip(network, reg.network_.snapshot(), strict=True):
        for key, value in params.items():
            np.testing.assert_array_equal(kept[key], value)
    reg.coefs_ = [np.zeros((3, 4)), np.zeros((4, 1))]
    reg.intercepts_ = [np.zeros(4), np.zeros(1)]
    assert before.std() > 0
    assert np.all(reg.predict(X) == 0)


def test_unfitted_estimator_trains_from_assigned_weights():
    """Check coefs_ set on a never-fitted estimator are where partial_fit starts."""
    X, y = _regression_data(60)
    rng = np.random.default_rng(0)
    coefs = [rng.normal(size=(3, 4)), rng.normal(size=(4, 1))]
    intercepts = [rng.normal(size=4), rng.normal(size=1)]
    reg = MLPRegressor(hidden_layer_sizes=(4,), batch_norm=None, **_STILL)
    reg.coefs_, reg.intercepts_ = coefs, intercepts
    reg.partial_fit(X, y)
    plain = np.maximum(X @ coefs[0] + intercepts[0], 0) @ coefs[1] + intercepts[1]
    np.testing.assert_allclose(reg.predict(X), plain.ravel(), rtol=1e-6)


def test_recompute_bn_statistics_uses_assigned_weights():
    """Check recompute_bn_statistics starts from assigned weights, not network_."""
    X, y = _regression_data(60)
    reg = MLPRegressor(max_iter=3, random_state=0, batch_norm="before")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    plain = reg.predict(X)
    _changed(reg, np.random.default_rng(3))
    reg.recompute_bn_statistics(X)
    assert not reg._weights_assigned()
    assert not np.allclose(reg.predict(X), plain)
