"""An average of member networks: batch_norm as a tuple, and batch_norm='auto'."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from regressor_helpers import _smooth_data

from sknorm import MLPClassifier, MLPRegressor
from sknorm.nn import Sequential
from sknorm.nn._parallel import Parallel

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"max_iter": 15, "hidden_layer_sizes": (8, 6), "random_state": 0}


def _params(est):
    return est.network_.get_flat_params()


@pytest.mark.parametrize(
    ("n_rows", "kwargs", "expected"),
    [
        (30, {}, ("before", None, "after")),
        (29, {}, None),
        (200, {"solver": "lbfgs"}, "before"),
        (200, {"batch_norm": ("after", "before")}, ("after", "before")),
        (200, {"batch_norm": ["before", None]}, ("before", None)),
    ],
)
def test_auto_builds_an_average_from_30_rows(n_rows, kwargs, expected):
    X, y = _smooth_data(n_rows)
    reg = MLPRegressor(**{**FAST, **kwargs}).fit(X, y)
    assert reg._batch_norm == expected
    n_members = len(expected) if isinstance(expected, tuple) else 1
    assert isinstance(reg.network_, Parallel) is (n_members > 1)
    widths = [c.shape[1] for c in reg.coefs_[:-1]]
    assert widths == [w * n_members for w in FAST["hidden_layer_sizes"]]


def test_partial_fit_and_assigned_weights_keep_one_network():
    X, y = _smooth_data(200)
    assert isinstance(MLPRegressor(**FAST).partial_fit(X, y).network_, Sequential)
    plain = MLPRegressor(**FAST, batch_norm=None).fit(X, y)
    # scikit-learn continues assigned coefs_ of the asked hidden_layer_sizes.
    reg = MLPRegressor(**FAST, warm_start=True)
    reg.coefs_, reg.intercepts_ = plain.coefs_, plain.intercepts_
    reg.fit(X, y)
    assert reg._batch_norm == "before"
    assert [c.shape for c in reg.coefs_] == [c.shape for c in plain.coefs_]


def test_first_member_is_the_single_network_fit():
    """Member 0 draws, trains and stops as batch_norm='before' alone would."""
    X, y = _smooth_data(1000)
    pair = MLPRegressor(**FAST).fit(X, y)
    alone = MLPRegressor(**FAST, batch_norm="before", n_iter_no_change=5).fit(X, y)
    assert_array_equal(pair.network_.members[0].get_flat_params(), _params(alone))
    first = [e for e in pair.history_ if e["member"] == 0]
    assert len(first) == alone.n_iter_
    assert pair.loss_curve_[: alone.n_iter_] == alone.loss_curve_
    # The second member draws its own weights, split and batches.
    second = pair.network_.members[1]
    assert not np.array_equal(
        second.layers[0].params["weight"], alone.network_.layers[0].params["weight"]
    )


def test_members_bookkeeping_adds_up():
    X, y = _smooth_data(1000)
    reg = MLPRegressor(**FAST).fit(X, y)
    members = [e["member"] for e in reg.history_]
    assert members == sorted(members)
    assert set(members) == {0, 1, 2}
    assert reg.n_iter_ == len(reg.history_) == len(reg.loss_curve_)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert [e["epoch"] for e in reg.history_] == list(range(1, reg.n_iter_ + 1))
    seconds = [e["elapsed_seconds"] for e in reg.history_]
    assert seconds == sorted(seconds)
    # Each member restored its own best epoch: their scores average.
    best = [
        max(e["valid_score"] for e in reg.history_ if e["member"] == m)
        for m in (0, 1, 2)
    ]
    assert reg.best_validation_score_ == pytest.approx(np.mean(best))
    assert reg.best_loss_ is None
    assert reg.history_[0]["layers"][0]["percentiles"].shape == (3, 8)


def test_average_predicts_the_members_mean():
    X, y = _smooth_data(300, n_outputs=2)
    reg = MLPRegressor(**FAST).fit(X, y)
    members = [m.predict(X) for m in reg.network_.members]
    raw = np.mean(members, axis=0)
    expected = raw * reg.target_scale_ + reg.target_mean_
    assert_allclose(reg.predict(X), np.clip(expected, *reg._clip_bounds()))


def test_classifier_averages_the_logits():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = np.digitize(X[:, 0] + X[:, 1] ** 2, [0.5, 1.5])
    clf = MLPClassifier(**{**FAST, "max_iter": 30}).fit(X, y)
    logits = clf.network_.predict(X)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert_allclose(clf.predict_proba(X), expected / expected.sum(1, keepdims=True))
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("continue_with", ["warm_start", "partial_fit"])
def test_warm_start_and_partial_fit_continue_all_members(continue_with):
    X, y = _smooth_data(300)
    reg = MLPRegressor(**{**FAST, "max_iter": 30}).fit(X, y)
    before = [m.get_flat_params() for m in reg.network_.members]
    n_iter, shapes = reg.n_iter_, [c.shape for c in reg.coefs_]
    if continue_with == "warm_start":
        reg.set_params(warm_start=True, max_iter=3).fit(X, y)
        assert reg.n_iter_ == 3
    else:
        reg.partial_fit(X, y)
        assert reg.n_iter_ == n_iter + 1
    assert [c.shape for c in reg.coefs_] == shapes
    for member, old in zip(reg.network_.members, before, strict=True):
        assert not np.array_equal(member.get_flat_params(), old)
    assert reg.history_[-1]["layers"][0]["percentiles"].shape == (3, 24)
    assert "member" not in reg.history_[-1]
    assert reg.score(X, y) > 0.8


def test_assigned_weights_continue_each_member():
    X, y = _smooth_data(300)
    # Without BN the continued network predicts the assigned weights as is.
    reg = MLPRegressor(
        **{**FAST, "max_iter": 1}, batch_norm=(None, None), warm_start=True
    ).fit(X, y)
    reg.coefs_[-1] = reg.coefs_[-1] * 0.5
    halved = reg.predict(X)
    reg.set_params(learning_rate_init=1e-12).fit(X, y)
    assert_allclose(reg.predict(X), halved, rtol=1e-6, atol=1e-6)
    state = _params(reg)
    reg.coefs_[1] = np.ones_like(reg.coefs_[1])
    with pytest.raises(ValueError, match=r"coefs_\[1\] has non-zero weights between"):
        reg.fit(X, y)
    assert_array_equal(_params(reg), state)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_norm": ("before",)}, "at least 2 entries"),
        ({"batch_norm": ("before", "middle")}, "at least 2 entries"),
        (
            {"batch_norm": ("before", None), "hidden_layer_sizes": ()},
            "at least one hidden layer",
        ),
    ],
)
def test_member_placements_are_checked(kwargs, match):
    X, y = _smooth_data(50)
    with pytest.raises(ValueError, match=match):
        MLPRegressor(**{**FAST, **kwargs}).fit(X, y)


def test_interrupted_second_member_joins_the_first(monkeypatch):
    """An interrupt in member 2 leaves the average of member 1 and member 2 so far."""
    from sknorm.nn._trainer import Trainer

    X, y = _smooth_data(300)
    reg = MLPRegressor(**FAST, batch_size=100)
    original, calls = Trainer.objective, []

    def interrupt_late(trainer, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3 * FAST["max_iter"] + 5:
            raise KeyboardInterrupt
        return original(trainer, *args, **kwargs)

    monkeypatch.setattr(Trainer, "objective", interrupt_late)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, y)
    assert isinstance(reg.network_, Parallel)
    assert {e["member"] for e in reg.history_} == {0, 1}
    assert np.isfinite(reg.predict(X)).all()
    assert reg.coefs_[0].shape == (3, 16)


def test_diverged_member_is_left_out_with_a_warning():
    """Unscaled inputs: the member without BN diverges, the BN members stand."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3)) * 1e3
    y = rng.poisson(np.exp(0.5e-3 * X[:, 0]))
    params = {"loss": "poisson", **FAST, "max_iter": 5}
    with pytest.warns(UserWarning, match="batch_norm=None diverged and is left out"):
        reg = MLPRegressor(**params).fit(X, y)
    assert reg._batch_norm == ("before", "after")
    assert len(reg.network_.members) == 2
    assert {e["member"] for e in reg.history_} == {0, 1}
    assert np.isfinite(reg.predict(X)).all()
    # With one member left, the model is that network alone.
    with pytest.warns(UserWarning, match="batch_norm=None diverged and is left out"):
        pair = MLPRegressor(batch_norm=("before", None), **params).fit(X, y)
    alone = MLPRegressor(batch_norm="before", n_iter_no_change=5, **params)
    alone.fit(X, y)
    assert pair._batch_norm == "before"
    assert isinstance(pair.network_, Sequential)
    assert_array_equal(pair.predict(X), alone.predict(X))
    assert "member" not in pair.history_[0]


def test_displays_of_an_average():
    pytest.importorskip("matplotlib")
    from sknorm import PreactivationDisplay, TrainingCurveDisplay

    X, y = _smooth_data(300)
    reg = MLPRegressor(**{**FAST, "max_iter": 4}).fit(X, y)
    assert len(TrainingCurveDisplay.from_estimator(reg).epochs) == reg.n_iter_
    reg.set_params(warm_start=True, max_iter=2).fit(X, y)
    display = PreactivationDisplay.from_estimator(reg)
    # The first member's 4 epochs, then 2 of all members together.
    assert list(display.epochs) == [1, 2, 3, 4, 13, 14]
    assert display.percentiles[0].shape == (6, 3, 8)


def test_verbose_names_each_member(capsys):
    X, y = _smooth_data(300)
    MLPRegressor(**{**FAST, "max_iter": 2}, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    expected = []
    for i, placement in enumerate(["'before'", "None", "'after'"]):
        loss = [line.split(" = ")[1] for line in lines[3 * i + 1 : 3 * i + 3]]
        expected += [
            f"Member {i + 1} of 3: batch_norm={placement}",
            f"Iteration 1, loss = {loss[0]}",
            f"Iteration 2, loss = {loss[1]}",
        ]
    assert lines == expected
