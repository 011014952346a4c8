"""Display objects for training diagnostics, in scikit-learn's style.

:class:`TrainingCurveDisplay` draws the training loss (and the validation
score under early stopping) per epoch; :class:`PreactivationDisplay`
(:mod:`sknorm._display_preactivation`) draws the 15th, 50th and 85th
percentiles of hidden units' activation inputs over training, the
batch-normalization paper's Figure 1(b, c). Both read the fitted attribute
``history_`` (see :mod:`sknorm._history`); the helpers here are shared.

As in scikit-learn, ``from_estimator`` extracts the data and calls ``plot``,
which can be called again on other axes. matplotlib is imported inside
``plot`` only, so importing sknorm never needs it.
"""

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from sknorm._sklearn_compat import check_matplotlib_support

__all__ = ["TrainingCurveDisplay"]

_X_LABELS = {"epoch": "Epoch", "elapsed_seconds": "Elapsed seconds"}


def _fitted_mlp(estimator):
    """Return the estimator, or a Pipeline's last step, after checking it is fitted."""
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    check_is_fitted(estimator)
    return estimator


def _no_history_error(estimator, needed):
    """Build the ValueError for an estimator without the per-epoch data needed."""
    name = type(estimator).__name__
    solver = getattr(estimator, "solver", None)
    if solver == "lbfgs":
        reason = (
            "solver='lbfgs' records no per-epoch history; fit with solver='adam' "
            "or 'sgd'"
        )
    elif not hasattr(estimator, "history_"):
        reason = "it has no history_ (sknorm's MLPRegressor and MLPClassifier do)"
    else:
        reason = "its history_ is empty"
    return ValueError(f"Cannot plot {needed} of this {name}: {reason}.")


def _x_values(x, epochs, elapsed_seconds):
    """Return the x values to plot and their axis label (None for an array)."""
    if isinstance(x, str):
        if x not in _X_LABELS:
            raise ValueError(
                "x must be 'epoch', 'elapsed_seconds' or an array of shape "
                f"(n_epochs,), got {x!r}."
            )
        if x == "elapsed_seconds" and elapsed_seconds is None:
            raise ValueError(
                "x='elapsed_seconds' needs the elapsed times of history_; this "
                "display has none (it was built from loss_curve_)."
            )
        values = epochs if x == "epoch" else elapsed_seconds
        return np.asarray(values), _X_LABELS[x]
    values = np.asarray(x)
    if values.shape != np.shape(epochs):
        raise ValueError(
            f"x must have shape ({len(epochs)},), one value per epoch, got "
            f"shape {values.shape}."
        )
    return values, None


def _finish_x_axis(ax, x, xlabel):
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if isinstance(x, str) and x == "epoch":
        # Epochs are counts: fractional ticks (2.5) would suggest otherwise.
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _training_curve_data(mlp):
    """Return the TrainingCurveDisplay parameters read from a fitted estimator."""
    history = getattr(mlp, "history_", None)
    if history:
        valid = [entry["valid_score"] for entry in history]
        data = {
            "epochs": np.array([entry["epoch"] for entry in history]),
            "train_loss": np.array([entry["train_loss"] for entry in history]),
            "elapsed_seconds": np.array(
                [entry["elapsed_seconds"] for entry in history]
            ),
            # A warm start may switch early stopping on or off: NaN gaps.
            "valid_score": None
            if all(score is None for score in valid)
            else np.array([np.nan if s is None else s for s in valid], float),
        }
    elif getattr(mlp, "loss_curve_", None):
        scores = getattr(mlp, "validation_scores_", None)
        data = {
            "epochs": np.arange(1, len(mlp.loss_curve_) + 1),
            "train_loss": np.asarray(mlp.loss_curve_, dtype=float),
            "valid_score": np.asarray(scores, dtype=float) if scores else None,
        }
    else:
        raise _no_history_error(mlp, "a training curve")
    if is_classifier(mlp):
        data["score_name"] = "Validation accuracy"
    elif is_regressor(mlp):
        data["score_name"] = "Validation R²"
    return data


def _legend_both_axes(ax, ax_valid):
    # One legend for the lines of both y-axes, on the top axes (a legend on
    # the bottom one would be hidden by the twin's lines).
    handles = [
        line
        for axes in (ax, ax_valid)
        if axes is not None
        for line in axes.get_lines()
        if not line.get_label().startswith("_")
    ]
    (ax_valid or ax).legend(handles=handles)


class TrainingCurveDisplay:
    """Training loss, and validation score, per epoch of a fitted MLP.

    The loss is drawn on the left y-axis; under early stopping the validation
    score (accuracy for a classifier, R² for a regressor) is drawn, dashed in
    the same color, on a secondary right y-axis (``ax.twinx()``), since the
    two are in different units.

    It is recommended to create a display with :meth:`from_estimator`, which
    reads the fitted attribute ``history_`` (``loss_curve_`` and
    ``validation_scores_`` for an estimator without one, such as
    scikit-learn's MLPs). All parameters are stored as attributes.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers, from 1.

    train_loss : ndarray of shape (n_epochs,)
        Training loss after each epoch.

    valid_score : ndarray of shape (n_epochs,) or None, default=None
        Validation score after each epoch (NaN where none was computed), or
        None without early stopping.

    elapsed_seconds : ndarray of shape (n_epochs,) or None, default=None
        Cumulative wall time at the end of each epoch, or None if unknown.

    score_name : str or None, default=None
        Label of the validation score; None means ``"Validation score"``.

    name : str or None, default=None
        Name of the estimator, appended to the legend labels (to compare
        several estimators on one axes).

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        The training-loss line, then the validation-score line if any.

    ax_ : matplotlib Axes
        Axes with the training loss.

    ax_valid_ : matplotlib Axes or None
        Secondary axes (sharing the x-axis of ``ax_``) with the validation
        score, or None without one.

    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    PreactivationDisplay : Percentiles of hidden units' activation inputs over
        training.
    MLPRegressor : Records ``history_`` with the 'adam' and 'sgd' solvers.
    MLPClassifier : Records ``history_`` with the 'adam' and 'sgd' solvers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw without a window
    >>> from sklearn.datasets import make_regression
    >>> from sknorm import MLPRegressor, TrainingCurveDisplay
    >>> X, y = make_regression(n_samples=300, n_features=4, random_state=0)
    >>> reg = MLPRegressor(early_stopping=True, random_state=0).fit(X, y)
    >>> display = TrainingCurveDisplay.from_estimator(reg)
    >>> [line.get_label() for line in display.lines_]
    ['Training loss', 'Validation R²']
    """

    def __init__(
        self,
        *,
        epochs,
        train_loss,
        valid_score=None,
        elapsed_seconds=None,
        score_name=None,
        name=None,
    ):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_score = valid_score
        self.elapsed_seconds = elapsed_seconds
        self.score_name = score_name
        self.name = name

    def plot(self, ax=None, *, x="epoch", line_kwargs=None, valid_line_kwargs=None):
        """Plot the training curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw the loss on. If None, a new figure and axes are
            created. The validation score goes on a new ``ax.twinx()``.

        x : {"epoch", "elapsed_seconds"} or array-like of shape (n_epochs,), \
                default="epoch"
            The x-axis: epoch number, cumulative training time, or any values
            (e.g. training steps; the x label is then left to the caller).

        line_kwargs : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of the training loss.

        valid_line_kwargs : dict, default=None
            Keyword arguments for matplotlib's ``plot`` of the validation
            score (default: dashed, in the training line's color).

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with ``lines_``, ``ax_``, ``ax_valid_`` and
            ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        x_values, xlabel = _x_values(x, self.epochs, self.elapsed_seconds)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        suffix = "" if self.name is None else f" ({self.name})"
        kwargs = {"label": f"Training loss{suffix}", **(line_kwargs or {})}
        self.lines_ = ax.plot(x_values, self.train_loss, **kwargs)
        ax.set_ylabel("Training loss")
        _finish_x_axis(ax, x, xlabel)
        self.ax_valid_ = None
        if self.valid_score is not None:
            score_name = self.score_name or "Validation score"
            self.ax_valid_ = ax.twinx()
            kwargs = {
                "color": self.lines_[0].get_color(),
                "linestyle": "--",
                "label": f"{score_name}{suffix}",
                **(valid_line_kwargs or {}),
            }
            self.lines_ += self.ax_valid_.plot(x_values, self.valid_score, **kwargs)
            self.ax_valid_.set_ylabel(score_name)
        _legend_both_axes(ax, self.ax_valid_)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        x="epoch",
        ax=None,
        name=None,
        line_kwargs=None,
        valid_line_kwargs=None,
    ):
        """Plot the training curve of a fitted MLP.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`MLPRegressor` or :class:`MLPClassifier` with a
            stochastic solver ('adam', 'sgd'), or a fitted Pipeline ending in
            one. Another estimator with ``loss_curve_`` (such as
            scikit-learn's MLPs) works too, without ``x="elapsed_seconds"``.

        x : {"epoch", "elapsed_seconds"} or array-like of shape (n_epochs,), \
                default="epoch"
            The x-axis, as in :meth:`plot`.

        ax : matplotlib Axes, default=None
            Axes to draw the loss on. If None, a new figure and axes are
            created.

        name : str, default=None
            Name appended to the legend labels.

        line_kwargs : dict, default=None
            Keyword arguments for the training-loss line, as in :meth:`plot`.

        valid_line_kwargs : dict, default=None
            Keyword arguments for the validation line, as in :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with the curves drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        mlp = _fitted_mlp(estimator)
        display = cls(**_training_curve_data(mlp), name=name)
        return display.plot(
            ax, x=x, line_kwargs=line_kwargs, valid_line_kwargs=valid_line_kwargs
        )
