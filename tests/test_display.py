"""Training-diagnostic displays (_display.py), drawn headless with Agg."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor
from sklearn.pipeline import make_pipeline

from sknorm import (
    MLPClassifier,
    MLPRegressor,
    PreactivationDisplay,
    Standardizer,
    TrainingCurveDisplay,
)
from sknorm._validation import AUTO_MEMBERS

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DISPLAYS = [TrainingCurveDisplay, PreactivationDisplay]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data(n_samples=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    return X, X[:, 0] - X[:, 1] * X[:, 2]


def _reg(**params):
    defaults = {"hidden_layer_sizes": (6, 5), "max_iter": 4, "random_state": 0}
    # One network: an average's displays are tested in test_members.py.
    return MLPRegressor(**{"batch_norm": "before", **defaults, **params})


@pytest.fixture(scope="module")
def reg():
    return _reg().fit(*_data())


@pytest.fixture(scope="module")
def reg_early_stopping():
    return _reg(early_stopping=True, validation_fraction=0.25).fit(*_data())


def _percentiles(estimator, layer, unit):
    return np.array(
        [e["layers"][layer]["percentiles"][:, unit] for e in estimator.history_]
    )


# ----------------------------------------------------------- TrainingCurveDisplay
def test_training_curve_one_line_without_validation(reg):
    """Check that without early stopping only the loss is drawn, from history_."""
    display = TrainingCurveDisplay.from_estimator(reg)
    assert len(display.lines_) == 1
    assert display.ax_valid_ is None
    assert len(display.ax_.get_lines()) == 1
    (line,) = display.lines_
    assert_array_equal(line.get_xdata(), [e["epoch"] for e in reg.history_])
    assert_array_equal(line.get_ydata(), [e["train_loss"] for e in reg.history_])
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_xlabel() == "Epoch"


def test_training_curve_validation_on_secondary_axis(reg_early_stopping):
    """Check that early stopping adds the validation score on a twin y-axis."""
    est = reg_early_stopping
    display = TrainingCurveDisplay.from_estimator(est)
    assert len(display.lines_) == 2
    loss_line, valid_line = display.lines_
    assert loss_line.axes is display.ax_
    assert valid_line.axes is display.ax_valid_
    assert display.ax_valid_.get_shared_x_axes().joined(display.ax_, display.ax_valid_)
    assert_array_equal(valid_line.get_xdata(), [e["epoch"] for e in est.history_])
    assert_array_equal(valid_line.get_ydata(), est.validation_scores_)
    assert display.ax_valid_.get_ylabel() == "Validation R²"
    legend = display.ax_valid_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "Training loss",
        "Validation R²",
    ]


def test_training_curve_x_elapsed_seconds_and_array(reg):
    """Check that x selects elapsed time or caller-given values."""
    display = TrainingCurveDisplay.from_estimator(reg, x="elapsed_seconds")
    seconds = [e["elapsed_seconds"] for e in reg.history_]
    assert_array_equal(display.lines_[0].get_xdata(), seconds)
    assert display.ax_.get_xlabel() == "Elapsed seconds"
    steps = np.arange(1, reg.n_iter_ + 1) * 10
    display.plot(x=steps)
    assert_array_equal(display.lines_[0].get_xdata(), steps)
    with pytest.raises(ValueError, match="x must be"):
        display.plot(x="step")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        display.plot(x=steps[:-1])


def test_training_curve_falls_back_to_loss_curve():
    """Check that an estimator without history_ is read from loss_curve_."""
    sk = SklearnMLPRegressor(hidden_layer_sizes=(5,), max_iter=3, early_stopping=True)
    sk.fit(*_data())
    display = TrainingCurveDisplay.from_estimator(sk)
    assert_array_equal(display.lines_[0].get_ydata(), sk.loss_curve_)
    assert_array_equal(display.lines_[1].get_ydata(), sk.validation_scores_)
    with pytest.raises(ValueError, match="elapsed times"):
        display.plot(x="elapsed_seconds")


def test_training_curve_classifier_scores_accuracy():
    """Check that a classifier's validation score is labelled accuracy."""
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, early_stopping=True)
    clf.fit(X, y > 0)
    display = TrainingCurveDisplay.from_estimator(clf)
    assert len(display.lines_) == 2
    assert display.ax_valid_.get_ylabel() == "Validation accuracy"


def test_training_curve_name_labels_overlaid_curves():
    """Check that two estimators on one axes keep distinct legend entries."""
    X, y = _data()
    _, ax = plt.subplots()
    for batch_norm in ("before", None):
        est = _reg(batch_norm=batch_norm).fit(X, y)
        TrainingCurveDisplay.from_estimator(est, ax=ax, name=str(batch_norm))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Training loss (before)", "Training loss (None)"]


# ---------------------------------------------------------- PreactivationDisplay
def test_preactivation_three_percentile_lines_of_last_layer(reg):
    """Check the default: 3 lines, last hidden layer, unit 0, history_ values."""
    display = PreactivationDisplay.from_estimator(reg)
    assert display.lines_.shape == (1, 3)
    assert display.layers_ == [1]
    assert display.ax_ is display.axes_[0]
    assert len(display.ax_.get_lines()) == 3
    expected = _percentiles(reg, layer=-1, unit=0)
    for line, column in zip(display.lines_[0], expected.T, strict=True):
        assert_array_equal(line.get_xdata(), range(1, reg.n_iter_ + 1))
        assert_array_equal(line.get_ydata(), column)
    assert [line.get_label() for line in display.lines_[0]] == ["15th", "50th", "85th"]


def test_preactivation_layer_all_draws_one_axes_per_layer(reg):
    """Check that layer='all' draws n_hidden_layers axes of 3 lines each."""
    display = PreactivationDisplay.from_estimator(reg, layer="all", unit=2)
    assert display.axes_.shape == (2,)
    assert display.ax_ is None
    assert display.layers_ == [0, 1]
    for i, ax in enumerate(display.axes_):
        assert len(ax.get_lines()) == 3
        assert_array_equal(
            display.lines_[i, 1].get_ydata(), _percentiles(reg, i, 2)[:, 1]
        )


def test_preactivation_unit_mean_averages_units(reg):
    """Check that unit='mean' draws each percentile averaged over units."""
    display = PreactivationDisplay.from_estimator(reg, layer=0, unit="mean")
    expected = np.array(
        [e["layers"][0]["percentiles"].mean(axis=1) for e in reg.history_]
    )
    for line, column in zip(display.lines_[0], expected.T, strict=True):
        assert_allclose(line.get_ydata(), column)


def test_preactivation_into_given_axes(reg):
    """Check that given axes are drawn into, one per layer, and counted."""
    fig, axes = plt.subplots(1, 2)
    display = PreactivationDisplay.from_estimator(reg, layer=[1, 0], ax=axes)
    assert display.figure_ is fig
    assert display.layers_ == [1, 0]
    assert list(display.axes_) == list(axes)
    assert_array_equal(display.lines_[0, 0].get_ydata(), _percentiles(reg, 1, 0)[:, 0])
    with pytest.raises(ValueError, match="expected 2, got 1"):
        display.plot(axes[0], layer="all")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"layer": 2}, "layer=2 is out of range: the network has 2 hidden"),
        ({"layer": -3}, "layer=-3 is out of range"),
        ({"layer": "first"}, "layer must be"),
        ({"layer": 1.0}, "layer must be"),
        ({"layer": []}, "No layer selected"),
        ({"unit": 6}, "unit=6 is out of range for hidden layer 1, which has 5"),
        ({"unit": 5, "layer": "all"}, "hidden layer 1, which has 5 units"),
        ({"unit": "median"}, "unit must be"),
        ({"x": "steps"}, "x must be"),
    ],
)
def test_preactivation_bad_arguments(reg, params, match):
    """Check that bad layer, unit and x values raise clear ValueErrors."""
    with pytest.raises(ValueError, match=match):
        PreactivationDisplay.from_estimator(reg, **params)
    # Validation happens before any figure is created.
    assert not plt.get_fignums()


# ----------------------------------------------------------------- both displays
@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_draws_into_given_ax_and_replots(Display, reg):
    """Check that an existing ax is used and plot() redraws on another one."""
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = Display.from_estimator(reg, ax=ax1)
    assert display.ax_ is ax1
    assert display.figure_ is fig
    n_lines = len(ax1.get_lines())
    assert n_lines == (1 if Display is TrainingCurveDisplay else 3)
    assert display.plot(ax=ax2) is display
    assert display.ax_ is ax2
    assert len(ax2.get_lines()) == n_lines
    assert len(ax1.get_lines()) == n_lines


@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_not_fitted(Display):
    """Check that an unfitted estimator raises NotFittedError."""
    with pytest.raises(NotFittedError):
        Display.from_estimator(_reg())


@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_lbfgs_has_no_history(Display):
    """Check that lbfgs (empty history_) raises a ValueError naming the solver."""
    est = _reg(solver="lbfgs").fit(*_data())
    with pytest.raises(ValueError, match="solver='lbfgs' records no per-epoch"):
        Display.from_estimator(est)


def test_preactivation_needs_history_():
    """Check that an estimator without history_ gets a clear ValueError."""
    sk = SklearnMLPRegressor(hidden_layer_sizes=(5,), max_iter=2).fit(*_data())
    with pytest.raises(ValueError, match="it has no history_"):
        PreactivationDisplay.from_estimator(sk)


@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_classifier(Display):
    """Check that both displays work for MLPClassifier."""
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    display = Display.from_estimator(clf.fit(X, y > 0))
    assert len(display.ax_.get_lines()) == (1 if Display is TrainingCurveDisplay else 3)
    # The default averages three networks: the training curve shows every
    # member's epochs, the activation inputs the first member's.
    epochs = 3 * len(AUTO_MEMBERS) if Display is TrainingCurveDisplay else 3
    assert len(display.ax_.get_lines()[0].get_xdata()) == epochs


@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_after_partial_fit(Display):
    """Check that each partial_fit call adds one point to the curves."""
    X, y = _data()
    est = _reg()
    for _ in range(3):
        est.partial_fit(X, y)
    display = Display.from_estimator(est)
    assert_array_equal(display.ax_.get_lines()[0].get_xdata(), [1, 2, 3])


@pytest.mark.parametrize("Display", DISPLAYS)
def test_display_pipeline_uses_last_step(Display):
    """Check that a fitted Pipeline is read through its final MLP."""
    pipe = make_pipeline(Standardizer(), _reg()).fit(*_data())
    display = Display.from_estimator(pipe)
    assert len(display.ax_.get_lines()[0].get_xdata()) == pipe[-1].n_iter_


def test_import_sknorm_does_not_import_matplotlib():
    """Check that matplotlib is imported lazily, only when plotting."""
    code = "import sknorm, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
