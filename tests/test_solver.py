"""The solvers with explicit inputs: run_epochs and run_lbfgs, observed via hooks."""

import numpy as np
import pytest

from sknorm._history import HistoryRecorder
from sknorm._solver import Hooks, Progress, Stopping, run_epochs, run_lbfgs
from sknorm.nn import Adam, Trainer, build_mlp


def _setup(rng, n=64):
    net = build_mlp(3, 1, hidden_layer_sizes=(8,), rng=rng)
    optimizer = Adam(net.parameters(), learning_rate_init=0.01)
    trainer = Trainer(net, "squared_error", 17, optimizer=optimizer)
    X = rng.standard_normal((n, 3))
    Y = X[:, :1] ** 2 + 0.1 * rng.standard_normal((n, 1))
    return trainer, X, Y


def _stopping(epochs, **changes):
    settings = {
        "epochs": epochs,
        "tol": 1e-4,
        "n_iter_no_change": 10,
        "shuffle": True,
        "verbose": False,
        "max_iter": epochs,
    }
    return Stopping(**{**settings, **changes})


def _hooks(events, *, stop_after=None, validation_score=None):
    def end_epoch(token):
        events.append(("end", token))
        return stop_after is not None and token >= stop_after

    def begin_epoch():
        events.append(("begin", len(events)))
        return sum(kind == "begin" for kind, _ in events)

    def usable():
        events.append(("usable", None))
        return True

    return Hooks(validation_score, begin_epoch, end_epoch, usable)


def test_run_epochs_reports_each_epoch_and_learns():
    """Check progress, history and hook calls over a few epochs."""
    rng = np.random.default_rng(0)
    trainer, X, Y = _setup(rng)
    progress, history, events = Progress(), [], []
    with pytest.warns(Warning, match="Maximum iterations"):
        run_epochs(
            trainer, X, Y, np.ones(64), batch_size=16, rng=rng,
            stopping=_stopping(5), progress=progress,
            recorder=HistoryRecorder(X, rng, history), hooks=_hooks(events),
        )  # fmt: skip
    assert progress.n_iter == 5
    assert progress.t == 5 * 64
    assert len(progress.loss_curve) == len(history) == 5
    assert progress.loss_curve[-1] < progress.loss_curve[0]
    # The fit ends by freezing the model and checking its predictions.
    assert [kind for kind, _ in events] == ["begin", "end"] * 5 + ["usable"]


def test_run_epochs_stops_when_a_hook_asks():
    """Check that end_epoch returning True ends training without a warning."""
    rng = np.random.default_rng(1)
    trainer, X, Y = _setup(rng)
    progress, events = Progress(), []
    run_epochs(
        trainer, X, Y, np.ones(64), batch_size=16, rng=rng, stopping=_stopping(50),
        progress=progress, recorder=HistoryRecorder(X, rng, []),
        hooks=_hooks(events, stop_after=2),
    )  # fmt: skip
    assert progress.n_iter == 2


def test_run_epochs_keeps_the_best_validation_state():
    """Check that the best-scoring epoch's snapshot is kept with its score."""
    rng = np.random.default_rng(2)
    trainer, X, Y = _setup(rng)
    scores = iter([0.1, 0.5, 0.3, 0.2])
    progress = Progress(validation_scores=[], best_validation_score=-np.inf)
    snapshots = []
    original = trainer.network.snapshot

    def snapshot():
        snapshots.append(original())
        return snapshots[-1]

    trainer.network.snapshot = snapshot
    run_epochs(
        trainer, X, Y, np.ones(64), batch_size=16, rng=rng,
        stopping=_stopping(4, warn_at_max_iter=False), progress=progress,
        recorder=HistoryRecorder(X, rng, []),
        hooks=_hooks([], validation_score=lambda: next(scores)),
    )  # fmt: skip
    assert progress.validation_scores == [0.1, 0.5, 0.3, 0.2]
    assert progress.best_validation_score == 0.5
    assert progress.best_state is not None
    assert any(progress.best_state is state for state in snapshots)


def test_run_epochs_interrupt_restores_last_epoch_and_freezes():
    """Check that KeyboardInterrupt mid-epoch restores the epoch start, calls usable."""
    rng = np.random.default_rng(3)
    trainer, X, Y = _setup(rng)
    events, steps = [], []
    original = trainer.step

    def step(*args):
        steps.append(1)
        if len(steps) == 6:  # second epoch, second batch
            raise KeyboardInterrupt
        return original(*args)

    trainer.step = step
    progress = Progress()
    with pytest.raises(KeyboardInterrupt):
        run_epochs(
            trainer, X, Y, np.ones(64), batch_size=16, rng=rng,
            stopping=_stopping(3), progress=progress,
            recorder=HistoryRecorder(X, rng, []), hooks=_hooks(events),
        )  # fmt: skip
    assert progress.n_iter == 1
    assert events[-1] == ("usable", None)


def test_run_lbfgs_minimizes_the_trainer_objective():
    """Check that L-BFGS lowers the full-batch objective and leaves theta there."""
    rng = np.random.default_rng(4)
    net = build_mlp(3, 1, hidden_layer_sizes=(8,), rng=rng)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 1))
    trainer = Trainer(net, "squared_error", 40, alpha=1e-3)
    start = trainer.objective(X, Y)
    result = run_lbfgs(
        trainer, X, Y, np.ones(40), max_iter=30, max_fun=15000, tol=1e-6, verbose=False
    )
    assert not result.nonfinite
    assert result.fun < start
    np.testing.assert_array_equal(trainer.theta, result.x)
