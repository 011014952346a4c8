"""MLPRegressor's early stopping, and the 'auto' settings that follow the rows."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from regressor_helpers import (
    FAST,
    _assert_bn_population_stats,
    _assert_state_equal,
    _coefs_equal,
    _dropout_rates,
    _smooth_data,
    _state,
)
from sklearn.exceptions import ConvergenceWarning

from sknorm import MLPRegressor
from sknorm._validation import AUTO_MEMBERS
from sknorm._validation import AUTO_WEIGHT_DECAY_TINY as TINY_DECAY
from sknorm.nn._layers import BatchNorm1d

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_regressor_early_stopping_auto_depends_on_rows():
    """Check 'auto': a validation split from 750 rows on, not below nor streamed.

    dropout='auto' follows: 0.3 for fits of 30-749 rows without a validation
    split, 0.1 with one (at any size) and in partial_fit, nothing below 30
    rows.
    """
    X, y = _smooth_data(1000)
    settings = {"early_stopping": "auto", "max_iter": 3, **FAST}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        large = MLPRegressor(**settings).fit(X[:750], y[:750])
        small = MLPRegressor(**settings).fit(X[:749], y[:749])
        validated = MLPRegressor(**{**settings, "early_stopping": True})
        validated.fit(X[:200], y[:200])
        streamed = MLPRegressor(**settings).partial_fit(X, y)
        streamed_small = MLPRegressor(**settings).partial_fit(X[:100], y[:100])
        dropped = MLPRegressor(**settings).fit(X[:30], y[:30])
        below = MLPRegressor(**settings).fit(X[:29], y[:29])
    n_hidden = len(FAST["hidden_layer_sizes"])
    assert _dropout_rates(large) == [0.1] * n_hidden
    assert _dropout_rates(small) == [0.3] * n_hidden
    assert _dropout_rates(dropped) == [0.3] * n_hidden
    assert _dropout_rates(streamed) == [0.1] * n_hidden
    assert _dropout_rates(streamed_small) == [0.1] * n_hidden
    assert _dropout_rates(validated) == [0.1] * n_hidden
    assert _dropout_rates(below) == []
    assert dropped.validation_scores_ is None
    assert len(large.validation_scores_) == large.n_iter_
    assert np.isfinite(large.best_validation_score_)
    assert small.validation_scores_ is None
    assert streamed.validation_scores_ is None
    assert large.to_sklearn().early_stopping
    assert not small.to_sklearn().early_stopping


def test_regressor_dropout_auto_off_with_lbfgs():
    """Check dropout='auto' drops nothing with lbfgs, which needs one objective."""
    X, y = _smooth_data(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lbfgs = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
        adam = MLPRegressor(max_iter=2, random_state=0).fit(X, y)
    assert _dropout_rates(lbfgs) == []
    assert _dropout_rates(adam) == [0.3, 0.3]


def test_regressor_partial_fit_refuses_early_stopping():
    """Check partial_fit with early_stopping=True raises scikit-learn's ValueError.

    Before and after a fit, the fitted model left unchanged (issue 13, item 3).
    """
    X, y = _smooth_data(60)
    msg = "partial_fit does not support early_stopping=True"
    with pytest.raises(ValueError, match=msg):
        MLPRegressor(early_stopping=True).partial_fit(X, y)
    reg = MLPRegressor(early_stopping=True, validation_fraction=0.2, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    before = reg.predict(X)
    with pytest.raises(ValueError, match=msg):
        reg.partial_fit(X, y)
    assert_array_equal(reg.predict(X), before)
    # "auto" never holds rows out in partial_fit, so it streams.
    MLPRegressor(early_stopping="auto", **FAST).partial_fit(X, y)


def test_regressor_early_stopping_restores_best_epoch():
    """Check that early stopping restores the best epoch's weights and BN buffers.

    With ``validation_split='last'`` the model trains on the first 180 rows
    only, so a plain fit on them for the best number of epochs must produce
    bitwise the same network (weights and running statistics). A constant
    rate that nothing stops early keeps the two schedules the same: the
    adaptive one watches the validation score in one fit, the training loss
    in the other.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = np.sin(X[:, 0]) + 0.5 * rng.standard_normal(200)
    params = {
        "hidden_layer_sizes": (64, 64),
        "learning_rate_init": 0.01,
        "batch_size": 32,
        "bn_stats": "running",
        "standardize_target": False,
        "learning_rate": "constant",
        "max_iter": 60,
        "n_iter_no_change": 60,
        "dropout": 0.1,  # 'auto' would give the plain fit 0.3
        "batch_norm": "before",  # one network ('auto' averages two)
        "random_state": 0,
    }
    reg = MLPRegressor(early_stopping=True, validation_split="last", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    scores = reg.validation_scores_
    best_epoch = int(np.argmax(scores)) + 1
    assert best_epoch < reg.n_iter_  # the restore really goes back in time
    assert reg.best_validation_score_ == max(scores)
    assert reg.best_loss_ is None
    reference = MLPRegressor(**{**params, "max_iter": best_epoch})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X[:180], y[:180])
    _assert_state_equal(_state(reg), _state(reference))
    assert_array_equal(reg.predict(X), reference.predict(X))
    # The restored model scores its best validation score on the last rows.
    assert_allclose(reg.score(X[180:], y[180:]), reg.best_validation_score_, rtol=1e-10)


def test_regressor_early_stopping_population_stats_use_training_rows():
    """Check that after early stopping, population BN statistics come from the
    training rows with the restored weights."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(
        early_stopping=True, validation_split="last", max_iter=30, **FAST
    ).fit(X, y)
    _assert_bn_population_stats(reg.network_, X[:180])


def test_regressor_validation_split_last_ignores_last_rows_in_training():
    """Check that with validation_split='last' the last rows never reach training.

    Two targets that differ only in the last 10% of rows must give bitwise the
    same training losses while their validation scores differ.
    """
    X, y = _smooth_data(200)
    y_changed = y.copy()
    y_changed[180:] = 100.0
    params = {
        "early_stopping": True,
        "validation_split": "last",
        "standardize_target": False,
        "n_iter_no_change": 1000,
        "max_iter": 15,
        **FAST,
    }
    a = MLPRegressor(**params).fit(X, y)
    b = MLPRegressor(**params).fit(X, y_changed)
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_scores_ != b.validation_scores_
    # With a shuffled split the changed rows are trained on.
    params["validation_split"] = "random"
    c = MLPRegressor(**params).fit(X, y)
    d = MLPRegressor(**params).fit(X, y_changed)
    assert c.loss_curve_ != d.loss_curve_


def test_regressor_validation_split_too_small():
    """Check that a validation set of fewer than 2 rows raises a clear error."""
    X, y = _smooth_data(10)
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_regressor_zero_weight_rows_do_not_switch_dropout_on():
    """Check dropout='auto' counts rows of non-zero weight, as early stopping does.

    25 weighted rows train without dropout (below 30 rows), with or without
    10 more rows of zero weight; with all 35 weighted, dropout is on.
    """
    rng = np.random.default_rng(0)
    X, y = _smooth_data(25)
    X_extra = np.vstack([X, 10 * rng.standard_normal((10, 3))])
    y_extra = np.concatenate([y, 1e3 * rng.standard_normal(10)])
    w = np.concatenate([np.ones(25), np.zeros(10)])
    params = {"batch_size": "auto", "max_iter": 20, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = MLPRegressor(**params).fit(X_extra, y_extra, w)
        plain = MLPRegressor(**params).fit(X, y)
        all_rows = MLPRegressor(**params).fit(X_extra, y_extra)
    assert _dropout_rates(weighted) == []
    assert _dropout_rates(all_rows) == [0.3, 0.3]
    assert_allclose(weighted.predict(X), plain.predict(X), rtol=1e-7)


def test_regressor_early_stopping_auto_off_when_weighted_rows_cannot_spare_it():
    """Check 'auto' trains on all rows where the weighted rows are too few to split.

    10,000 rows of which 800 weigh something: a tenth of the rows (1,000)
    cannot be held out of 800 (early_stopping=True raises, 'auto' raised
    before); with 1,100 weighted rows the split is back.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 3))
    y = X[:, 0] - X[:, 1] ** 2
    w = np.zeros(10_000)
    w[:800] = 1.0
    reg = MLPRegressor(max_iter=2, random_state=0)
    assert reg.fit(X, y, w).validation_scores_ is None
    assert reg.best_loss_ is not None
    with pytest.raises(ValueError, match="only 800 rows have one"):
        MLPRegressor(early_stopping=True, max_iter=2).fit(X, y, w)
    w[:1100] = 1.0
    # Two epochs of each member.
    assert len(reg.fit(X, y, w).validation_scores_) == 2 * len(AUTO_MEMBERS)


@pytest.mark.parametrize(
    ("n_rows", "n_zero_weight", "expected"),
    [(29, 0, TINY_DECAY), (30, 0, 0.0), (40, 11, TINY_DECAY), (40, 10, 0.0)],
)
def test_regressor_weight_decay_auto_depends_on_rows(n_rows, n_zero_weight, expected):
    """Check weight_decay='auto': TINY_DECAY below 30 rows of non-zero weight, else 0.

    Below 30 rows dropout='auto' does not drop; decoupled weight decay is the
    deterministic brake there. Each fit must equal the one with the expected
    value set explicitly and differ from the other value.
    """
    X, y = _smooth_data(n_rows)
    sample_weight = np.ones(n_rows)
    sample_weight[:n_zero_weight] = 0.0
    settings = {"max_iter": 5, **FAST}
    fits = {
        value: MLPRegressor(weight_decay=value, **settings).fit(X, y, sample_weight)
        for value in ("auto", 0.0, TINY_DECAY)
    }
    other = 0.0 if expected == TINY_DECAY else TINY_DECAY
    assert _coefs_equal(fits["auto"], fits[expected])
    assert not _coefs_equal(fits["auto"], fits[other])


def test_regressor_weight_decay_auto_off_in_partial_fit():
    """Check weight_decay='auto' never decays in partial_fit (chunks are small)."""
    X, y = _smooth_data(20)
    auto = MLPRegressor(**FAST).partial_fit(X, y).partial_fit(X, y)
    none = MLPRegressor(weight_decay=0.0, **FAST).partial_fit(X, y).partial_fit(X, y)
    assert _coefs_equal(auto, none)


def test_regressor_weight_decay_auto_resolves_on_every_warm_fit():
    """Check a warm start resolves 'auto' again from the rows of that fit."""
    X, y = _smooth_data(60)
    settings = {"max_iter": 3, "warm_start": True, **FAST}
    auto = MLPRegressor(**settings).fit(X, y).fit(X[:20], y[:20])
    explicit = MLPRegressor(weight_decay=0.0, **settings).fit(X, y)
    explicit.set_params(weight_decay=TINY_DECAY).fit(X[:20], y[:20])
    assert _coefs_equal(auto, explicit)


def _has_batch_norm(est):
    return any(isinstance(layer, BatchNorm1d) for layer in est.network_.layers)


@pytest.mark.parametrize(
    ("n_rows", "n_zero_weight", "expected"),
    [(29, 0, False), (30, 0, True), (40, 11, False), (40, 10, True)],
)
def test_regressor_batch_norm_auto_depends_on_rows(n_rows, n_zero_weight, expected):
    """Check batch_norm='auto': none below 30 rows of non-zero weight, else the
    average of a network with BN before the activation and one without.

    The network must equal the one built with the placement set explicitly.
    """
    X, y = _smooth_data(n_rows)
    sample_weight = np.ones(n_rows)
    sample_weight[:n_zero_weight] = 0.0
    settings = {"max_iter": 5, **FAST}
    auto = MLPRegressor(batch_norm="auto", **settings).fit(X, y, sample_weight)
    placement = AUTO_MEMBERS if expected else None
    explicit = MLPRegressor(batch_norm=placement, **settings)
    explicit.fit(X, y, sample_weight)
    assert _has_batch_norm(auto) is expected
    assert _coefs_equal(auto, explicit)
    assert_array_equal(auto.predict(X), explicit.predict(X))


def test_regressor_batch_norm_auto_is_before_in_partial_fit():
    """Check partial_fit builds batch normalization whatever the chunk's size."""
    X, y = _smooth_data(20)
    reg = MLPRegressor(**FAST).partial_fit(X, y)
    assert _has_batch_norm(reg)
    with pytest.raises(ValueError, match="at least 2 samples per batch"):
        reg.partial_fit(X[:1], y[:1])


def test_regressor_batch_norm_auto_warm_start_keeps_the_built_network():
    """Check a warm start on fewer rows continues the network built with BN."""
    X, y = _smooth_data(60)
    reg = MLPRegressor(warm_start=True, max_iter=3, **FAST).fit(X, y)
    reg.fit(X[:10], y[:10])
    assert _has_batch_norm(reg)
    fresh = MLPRegressor(max_iter=3, **FAST).fit(X[:1], y[:1])
    assert not _has_batch_norm(fresh)  # one row: nothing to normalize over
