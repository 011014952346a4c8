"""The batch-normalization paper's Figure 1(b, c) view of ``history_``.

:class:`PreactivationDisplay` draws, per epoch, the 15th, 50th and 85th
percentiles of a hidden unit's activation input recorded in ``history_``
(see :mod:`sknorm._history`), for one or several hidden layers.
"""

import numbers

import numpy as np

from sknorm._display import (
    _finish_x_axis,
    _fitted_mlp,
    _no_history_error,
    _x_values,
)
from sknorm._sklearn_compat import check_matplotlib_support

__all__ = ["PreactivationDisplay"]

_PERCENTILE_LABELS = ("15th", "50th", "85th")


def _draw_percentiles(ax, x_values, values, line_kwargs):
    """Draw the (n_epochs, 3) percentiles as three lines; return them."""
    lines = []
    for j, label in enumerate(_PERCENTILE_LABELS):
        # The median stands out; the 15th/85th band around it is lighter.
        kwargs = {
            "color": "C0",
            "alpha": 1.0 if j == 1 else 0.5,
            "label": label,
            **(line_kwargs or {}),
        }
        lines += ax.plot(x_values, values[:, j], **kwargs)
    ax.legend(title="percentile", fontsize="small")
    return lines


class PreactivationDisplay:
    """Percentiles of hidden units' activation inputs over training.

    The batch-normalization paper's Figure 1(b, c) (Ioffe & Szegedy, 2015):
    for one unit of a hidden layer, the 15th, 50th and 85th percentiles of
    the input of its activation function (the batch-norm output with
    ``batch_norm="before"``, else the linear output) over a fixed probe of
    training rows, after each epoch. Without batch normalization this
    distribution drifts during training; with it, it stays steady.

    It is recommended to create a display with :meth:`from_estimator`, which
    reads the fitted attribute ``history_``. All parameters are stored as
    attributes. Hidden layers and units are indexed from 0, as in
    ``history_``; axes titles count layers from 1 ("Hidden layer 3 of 3").

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
        Epoch numbers, from 1.

    percentiles : list of ndarray of shape (n_epochs, 3, n_units)
        One array per hidden layer, from input to output: each unit's 15th,
        50th and 85th percentiles after each epoch.

    elapsed_seconds : ndarray of shape (n_epochs,) or None, default=None
        Cumulative wall time at the end of each epoch, or None if unknown.

    Attributes
    ----------
    lines_ : ndarray of matplotlib Line2D of shape (n_plotted_layers, 3)
        The 15th, 50th and 85th percentile lines of each plotted layer.

    axes_ : ndarray of matplotlib Axes of shape (n_plotted_layers,)
        One axes per plotted layer.

    ax_ : matplotlib Axes or None
        The axes when a single layer is plotted, else None.

    layers_ : list of int
        Indices (from 0, non-negative) of the plotted hidden layers.

    figure_ : matplotlib Figure
        Figure containing the axes.

    See Also
    --------
    TrainingCurveDisplay : Training loss and validation score per epoch.
    MLPRegressor : Records ``history_`` with the 'adam' and 'sgd' solvers.
    MLPClassifier : Records ``history_`` with the 'adam' and 'sgd' solvers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw without a window
    >>> from sklearn.datasets import make_regression
    >>> from sknorm import MLPRegressor, PreactivationDisplay
    >>> X, y = make_regression(n_samples=300, n_features=4, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(16, 8), random_state=0).fit(X, y)
    >>> display = PreactivationDisplay.from_estimator(reg, layer="all")
    >>> display.lines_.shape  # 2 hidden layers, 3 percentiles each
    (2, 3)
    """

    def __init__(self, *, epochs, percentiles, elapsed_seconds=None):
        self.epochs = epochs
        self.percentiles = percentiles
        self.elapsed_seconds = elapsed_seconds

    def _check_layers(self, layer):
        """Return the non-negative indices of the layers selected by ``layer``."""
        n_layers = len(self.percentiles)
        if isinstance(layer, str):
            if layer != "all":
                raise ValueError(
                    f"layer must be an int, a list of ints or 'all', got {layer!r}."
                )
            layers = list(range(n_layers))
        elif isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
            layers = [layer]
        else:
            layers = list(layer) if np.iterable(layer) else [layer]
        if not layers:
            raise ValueError(f"No layer selected by layer={layer!r}.")
        for index in layers:
            if not isinstance(index, numbers.Integral) or isinstance(index, bool):
                raise ValueError(
                    f"layer must be an int, a list of ints or 'all', got {layer!r}."
                )
            if not -n_layers <= index < n_layers:
                raise ValueError(
                    f"layer={index} is out of range: the network has {n_layers} "
                    f"hidden layers, indexed 0 to {n_layers - 1} (or from -1 "
                    "backwards)."
                )
        return [int(index) % n_layers for index in layers]

    def _unit_percentiles(self, index, unit):
        """Return the (n_epochs, 3) percentiles of ``unit`` and its description."""
        values = np.asarray(self.percentiles[index])
        n_units = values.shape[2]
        if isinstance(unit, str) and unit == "mean":
            return values.mean(axis=2), f"mean over {n_units} units"
        if not isinstance(unit, numbers.Integral) or isinstance(unit, bool):
            raise ValueError(f"unit must be an int or 'mean', got {unit!r}.")
        if not -n_units <= unit < n_units:
            raise ValueError(
                f"unit={unit} is out of range for hidden layer {index}, which has "
                f"{n_units} units."
            )
        return values[:, :, unit], f"unit {int(unit) % n_units}"

    def _prepare_axes(self, ax, n_axes):
        import matplotlib.pyplot as plt

        if ax is None:
            figsize = None if n_axes == 1 else (4.0 * n_axes, 3.5)
            _, axes = plt.subplots(
                1, n_axes, figsize=figsize, squeeze=False, layout="constrained"
            )
            return axes.ravel()
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != n_axes:
            raise ValueError(
                f"ax must hold one Axes per plotted layer: expected {n_axes}, got "
                f"{axes.size}."
            )
        return axes

    def plot(self, ax=None, *, layer=-1, unit=0, x="epoch", line_kwargs=None):
        """Plot the percentiles of one unit's activation input over training.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw on, one per plotted layer. If None, a new figure with
            one row of axes is created.

        layer : int, list of int or "all", default=-1
            Hidden layer(s) to plot, indexed from 0 (negative from the last):
            by default the last hidden layer, as in the paper.

        unit : int or "mean", default=0
            Unit whose percentiles are drawn, or ``"mean"`` for each
            percentile averaged over the layer's units (a typical unit).

        x : {"epoch", "elapsed_seconds"} or array-like of shape (n_epochs,), \
                default="epoch"
            The x-axis: epoch number, cumulative training time, or any values
            (e.g. training steps; the x label is then left to the caller).

        line_kwargs : dict, default=None
            Keyword arguments for matplotlib's ``plot``, applied to the three
            lines (default: color "C0", the 15th and 85th lighter).

        Returns
        -------
        display : PreactivationDisplay
            The display, with ``lines_``, ``axes_``, ``ax_``, ``layers_`` and
            ``figure_`` set.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        layers = self._check_layers(layer)
        selected = [self._unit_percentiles(index, unit) for index in layers]
        x_values, xlabel = _x_values(x, self.epochs, self.elapsed_seconds)
        axes = self._prepare_axes(ax, len(layers))
        self.lines_ = np.empty((len(layers), 3), dtype=object)
        for i, (axes_i, index, (values, what)) in enumerate(
            zip(axes, layers, selected, strict=True)
        ):
            self.lines_[i] = _draw_percentiles(axes_i, x_values, values, line_kwargs)
            axes_i.set(
                title=f"Hidden layer {index + 1} of {len(self.percentiles)}, {what}",
                ylabel="Activation input",
            )
            _finish_x_axis(axes_i, x, xlabel)
        self.axes_ = axes
        self.ax_ = axes[0] if len(axes) == 1 else None
        self.layers_ = layers
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, layer=-1, unit=0, x="epoch", ax=None, line_kwargs=None
    ):
        """Plot the percentiles of a fitted MLP's hidden activation inputs.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`MLPRegressor` or :class:`MLPClassifier` with a
            stochastic solver ('adam', 'sgd'), or a fitted Pipeline ending in
            one.

        layer : int, list of int or "all", default=-1
            Hidden layer(s) to plot, as in :meth:`plot`.

        unit : int or "mean", default=0
            Unit whose percentiles are drawn, as in :meth:`plot`.

        x : {"epoch", "elapsed_seconds"} or array-like of shape (n_epochs,), \
                default="epoch"
            The x-axis, as in :meth:`plot`.

        ax : matplotlib Axes or array-like of Axes, default=None
            Axes to draw on, one per plotted layer. If None, a new figure is
            created.

        line_kwargs : dict, default=None
            Keyword arguments for the three lines, as in :meth:`plot`.

        Returns
        -------
        display : PreactivationDisplay
            The display, with the percentiles drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        mlp = _fitted_mlp(estimator)
        history = getattr(mlp, "history_", None)
        if not history:
            raise _no_history_error(mlp, "activation-input percentiles")
        # An average of networks shows its first member's units: the epochs
        # that member was fitted alone, then those of all members together
        # (warm starts), whose units start with the first member's.
        history = [entry for entry in history if entry.get("member", 0) == 0]
        n_layers = len(history[0]["layers"])
        widths = [
            min(entry["layers"][i]["percentiles"].shape[1] for entry in history)
            for i in range(n_layers)
        ]
        display = cls(
            epochs=np.array([entry["epoch"] for entry in history]),
            percentiles=[
                np.stack(
                    [entry["layers"][i]["percentiles"][:, :width] for entry in history]
                )
                for i, width in enumerate(widths)
            ],
            elapsed_seconds=np.array([entry["elapsed_seconds"] for entry in history]),
        )
        return display.plot(ax, layer=layer, unit=unit, x=x, line_kwargs=line_kwargs)
