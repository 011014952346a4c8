"""The per-epoch training history ``history_`` and its statistics (_history.py)."""

import itertools
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sknorm import MLPClassifier, MLPRegressor, _history
from sknorm.nn import BatchNorm1d

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

KEYS = {"epoch", "train_loss", "valid_score", "learning_rate", "elapsed_seconds"}


def _data(n_samples=400, seed=0, scale=1.0, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 4))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] - X[:, 3]
    return X * scale + offset, y


def _reg(**params):
    defaults = {"hidden_layer_sizes": (12, 7), "max_iter": 6, "random_state": 0}
    # One network: an average's history is tested in test_members.py.
    return MLPRegressor(**{"batch_norm": "before", **defaults, **params})


def _without_time(history):
    return [{k: v for k, v in e.items() if k != "elapsed_seconds"} for e in history]


def _assert_histories_equal(a, b):
    assert len(a) == len(b)
    for entry_a, entry_b in zip(_without_time(a), _without_time(b), strict=True):
        layers_a, layers_b = entry_a.pop("layers"), entry_b.pop("layers")
        assert entry_a == entry_b
        for layer_a, layer_b in zip(layers_a, layers_b, strict=True):
            assert_array_equal(layer_a["percentiles"], layer_b["percentiles"])
            assert (layer_a["mean"], layer_a["std"]) == (
                layer_b["mean"],
                layer_b["std"],
            )


def _is_plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return value is None or type(value) in (int, float, np.ndarray)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_history_one_entry_per_epoch(solver):
    """Check that history_ holds one entry per epoch, numbered from 1."""
    reg = _reg(solver=solver).fit(*_data())
    assert len(reg.history_) == reg.n_iter_ == 6
    assert [e["epoch"] for e in reg.history_] == list(range(1, 7))


def test_history_entry_keys_and_layer_shapes():
    """Check that entries have the documented keys and (3, n_units) percentiles."""
    reg = _reg().fit(*_data())
    for entry in reg.history_:
        assert set(entry) == KEYS | {"layers"}
        assert entry["valid_score"] is None
        assert [layer["percentiles"].shape for layer in entry["layers"]] == [
            (3, 12),
            (3, 7),
        ]
        for layer in entry["layers"]:
            assert set(layer) == {"percentiles", "mean", "std"}
            assert np.isfinite(layer["percentiles"]).all()


def test_history_percentiles_are_ordered():
    """Check that each unit's 15th <= 50th <= 85th percentile."""
    reg = _reg(batch_norm=None).fit(*_data())
    for entry in reg.history_:
        for layer in entry["layers"]:
            p15, p50, p85 = layer["percentiles"]
            assert np.all(p15 <= p50)
            assert np.all(p50 <= p85)
            assert np.any(p15 < p85)


def test_history_train_loss_equals_loss_curve():
    """Check that train_loss is loss_curve_, epoch by epoch."""
    reg = _reg(solver="sgd").fit(*_data())
    assert [e["train_loss"] for e in reg.history_] == reg.loss_curve_


def test_history_valid_score_equals_validation_scores():
    """Check that valid_score follows validation_scores_ under early stopping."""
    reg = _reg(early_stopping=True, max_iter=8).fit(*_data())
    assert [e["valid_score"] for e in reg.history_] == reg.validation_scores_


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_history_learning_rate_decays_under_adaptive_schedule(solver):
    """Check that learning_rate drops by 5x when the adaptive schedule triggers."""
    # A huge tol makes every epoch count as "no improvement".
    reg = _reg(
        solver=solver,
        learning_rate="adaptive",
        learning_rate_init=0.01,
        tol=1e6,
        n_iter_no_change=2,
        max_iter=10,
    ).fit(*_data())
    rates = [e["learning_rate"] for e in reg.history_]
    assert rates[0] == 0.01
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates))
    assert_allclose(min(rates), 0.01 / 5**2)


def test_history_bn_before_standardizes_preactivations_on_raw_scale_x():
    """Check that BN-before inputs have median ~0 and unit spread, unlike no BN."""
    X, y = _data(scale=300.0, offset=1000.0)
    stats = {}
    for batch_norm in ("before", None):
        reg = _reg(batch_norm=batch_norm, max_iter=3).fit(X, y)
        stats[batch_norm] = reg.history_[-1]["layers"][0]
    p15, p50, p85 = stats["before"]["percentiles"]
    assert abs(np.median(p50)) < 0.3
    assert 0.6 < np.median((p85 - p15) / 2) < 1.5
    assert 0.6 < stats["before"]["std"] < 1.5
    p15, p50, p85 = stats[None]["percentiles"]
    assert np.median((p85 - p15) / 2) > 20
    assert stats[None]["std"] > 20


def test_history_bn_after_summarizes_linear_output():
    """Check that with BN after the activation the Linear output is summarized."""
    X, y = _data()
    reg = _reg(batch_norm="after", hidden_layer_sizes=(5,), max_iter=2).fit(X, y)
    linear = reg.network_.layers[0]
    h, _ = linear.forward(X, training=False)
    (layer,) = _history.preactivation_statistics(reg.network_, X)
    assert_allclose(layer["percentiles"], np.percentile(h, [15, 50, 85], axis=0))
    assert_allclose(layer["mean"], h.mean(axis=0).mean())
    assert_allclose(layer["std"], h.std(axis=0).mean())


def test_preactivation_statistics_match_numpy_on_bn_output():
    """Check that the statistics are those of the BN output on the probe's batch."""
    X, y = _data(n_samples=300)
    reg = _reg(hidden_layer_sizes=(6,), max_iter=3, bn_stats="running").fit(X, y)
    linear, bn = reg.network_.layers[:2]
    z = linear.forward(X, training=False)[0]
    h = (z - z.mean(0)) / np.sqrt(z.var(0) + bn.eps) * bn.params["gamma"]
    h += bn.params["beta"]
    (layer,) = _history.preactivation_statistics(reg.network_, X)
    assert_allclose(layer["percentiles"], np.percentile(h, [15, 50, 85], axis=0))
    assert_allclose([layer["mean"], layer["std"]], [h.mean(0).mean(), h.std(0).mean()])


def test_preactivation_statistics_write_no_bn_buffers():
    """Check that computing the statistics leaves every BN buffer unchanged."""
    X, y = _data()
    reg = _reg().fit(X, y)
    bns = [layer for layer in reg.network_.layers if isinstance(layer, BatchNorm1d)]
    before = [{k: v.copy() for k, v in bn.buffers.items()} for bn in bns]
    _history.preactivation_statistics(reg.network_, X[:50] * 10 + 3)
    for bn, saved in zip(bns, before, strict=True):
        for key, value in saved.items():
            assert_array_equal(bn.buffers[key], value)


def test_history_recording_leaves_the_fit_unchanged(monkeypatch):
    """Check that the fitted weights are bitwise those of a fit without recording."""
    X, y = _data()
    with_history = _reg(dropout=0.1).fit(X, y)
    monkeypatch.setattr(_history.HistoryRecorder, "record", lambda *args: None)
    without = _reg(dropout=0.1).fit(X, y)
    assert without.history_ == []
    for a, b in zip(with_history.coefs_, without.coefs_, strict=True):
        assert_array_equal(a, b)


def test_choose_probe_draws_at_most_128_sorted_rows():
    """Check that the probe is at most 128 distinct sorted rows, all rows if fewer."""
    probe = _history.choose_probe(1000, np.random.default_rng(0))
    assert probe.shape == (128,)
    assert np.all(np.diff(probe) > 0)
    assert probe[-1] < 1000
    assert_array_equal(_history.choose_probe(100, np.random.default_rng(0)), range(100))


def test_history_is_deterministic():
    """Check that two fits record identical histories (elapsed time aside)."""
    X, y = _data()
    first = _reg(shuffle=True).fit(X, y).history_
    second = _reg(shuffle=True).fit(X, y).history_
    _assert_histories_equal(first, second)


def test_history_pickle_round_trip():
    """Check that history_ holds plain types and survives pickling."""
    reg = _reg().fit(*_data())
    assert _is_plain(reg.history_)
    restored = pickle.loads(pickle.dumps(reg))
    _assert_histories_equal(reg.history_, restored.history_)


def test_history_warm_start_appends():
    """Check that a warm-started fit appends its epochs and continues the count."""
    X, y = _data()
    reg = _reg(warm_start=True, max_iter=3).fit(X, y)
    reg.fit(X, y)
    assert [e["epoch"] for e in reg.history_] == list(range(1, 7))
    seconds = [e["elapsed_seconds"] for e in reg.history_]
    assert seconds == sorted(seconds)
    # A cold refit starts a new history.
    reg.set_params(warm_start=False).fit(X, y)
    assert len(reg.history_) == 3


def test_history_partial_fit_appends_one_entry_per_call():
    """Check that each partial_fit call appends exactly one entry."""
    X, y = _data()
    reg = _reg()
    for n_calls in range(1, 4):
        reg.partial_fit(X, y)
        assert len(reg.history_) == n_calls
    assert [e["epoch"] for e in reg.history_] == [1, 2, 3]


def test_history_classifier_records_epochs():
    """Check that MLPClassifier records history_ as the regressor does."""
    X, y = _data()
    clf = MLPClassifier(
        hidden_layer_sizes=(9,), max_iter=4, random_state=0, batch_norm="before"
    )
    clf.fit(X, y > 0)
    assert len(clf.history_) == clf.n_iter_ == 4
    assert clf.history_[0]["layers"][0]["percentiles"].shape == (3, 9)


def test_history_empty_with_lbfgs():
    """Check that the lbfgs solver leaves history_ an empty list."""
    reg = _reg(solver="lbfgs", max_iter=5).fit(*_data())
    assert reg.history_ == []
