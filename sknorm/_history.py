"""Per-epoch training history: loss, schedule, timing and pre-activation statistics.

The stochastic solvers append one plain dict per epoch to the fitted
attribute ``history_``. Besides the loss, validation score, learning rate and
elapsed time, each entry describes, for every hidden layer, the input of its
activation function on a fixed probe of training rows: the quantity of the
batch-normalization paper's Figure 1(b, c) (Ioffe & Szegedy, 2015), whose
drift over training BN is meant to remove.

The probe is drawn once per ``fit`` (or ``partial_fit``) call. Batch
normalization runs as in training, with the probe's own batch statistics
(running averages are not kept during a default fit, whose population
statistics are computed at the end), but writes nothing: recording never
changes training, and a probe of at most ``MAX_PROBE_ROWS`` rows keeps the
cost to a small fraction of an epoch.
Entries hold only Python scalars, ``None`` and NumPy arrays, so they pickle
and compare plainly.
"""

import time

import numpy as np

from sknorm.nn._batchnorm import BatchNorm1d
from sknorm.nn._layout import split_stages

__all__ = ["HistoryRecorder", "choose_probe", "preactivation_statistics"]

# Enough rows for usable 15th/85th percentiles (about 19 rows beyond each),
# few enough that the probe's forward pass is a small fraction of an epoch.
MAX_PROBE_ROWS = 128

_PERCENTILES = (15.0, 50.0, 85.0)


def choose_probe(n_samples, rng, max_rows=MAX_PROBE_ROWS):
    """Return the sorted indices of the probe rows.

    The draw comes from a child of ``rng`` (``Generator.spawn``), which does
    not advance ``rng``'s stream: shuffling and dropout, hence the fitted
    model, are the same as without a history.

    Parameters
    ----------
    n_samples : int
        Number of training rows.
    rng : numpy.random.Generator
        The fit's generator.
    max_rows : int, default=128
        Largest probe.

    Returns
    -------
    ndarray of shape (min(n_samples, max_rows),)
        Row indices, increasing.
    """
    if n_samples <= max_rows:
        return np.arange(n_samples)
    (child,) = rng.spawn(1)
    return np.sort(child.choice(n_samples, size=max_rows, replace=False))


def preactivation_statistics(network, probe):
    """Summarize the input of every hidden activation on ``probe``.

    The network is read as stages (:func:`~sknorm.nn._layout.split_stages`).
    Each layer runs with ``forward(x, training=False)``, except BatchNorm1d,
    which normalizes with the probe's batch statistics as in training; no
    buffer is written. Only one layer's output is
    alive at a time, so memory stays O(probe rows x widest layer).

    Parameters
    ----------
    network : sknorm.nn.Sequential or Parallel
        The network (a Parallel's members side by side, unit by unit); the
        layer output feeding each activation layer is
        summarized (the BN output with BN before the activation, the Linear
        output otherwise).
    probe : ndarray of shape (n_rows, n_features)
        Input rows, at least one.

    Returns
    -------
    list of dict
        One dict per hidden layer, from input to output: ``"percentiles"``,
        a float64 array of shape (3, n_units) with each unit's 15th, 50th and
        85th percentiles over the probe; ``"mean"``, the average over units
        of each unit's mean; ``"std"``, the average over units of each unit's
        standard deviation (its spread over the probe).
    """
    if len(network.members) > 1:
        # Members side by side: each hidden layer's units, member after member.
        per_member = [preactivation_statistics(m, probe) for m in network.members]
        return [_concatenate_units(layer) for layer in zip(*per_member, strict=True)]
    stages = split_stages(network.layers)
    last = [stage for stage in stages if stage.activation is not None][-1:]
    stats, h = [], probe
    for stage in stages if last else []:
        for layer in (stage.linear, stage.bn):
            h = h if layer is None else _probe_forward(layer, h)
        if stage.activation is not None:
            stats.append(_summarize(h))
            if stage is last[0]:
                # Later layers (BN "after", Dropout, the output Linear) feed
                # no activation: they are not run.
                break
            h, _ = stage.activation.forward(h, training=False)
        for layer in stage.rest:
            h = _probe_forward(layer, h)
    return stats


def _concatenate_units(summaries):
    """One layer's summary over the units of every member (equal widths)."""
    return {
        "percentiles": np.hstack([s["percentiles"] for s in summaries]),
        "mean": float(np.mean([s["mean"] for s in summaries])),
        "std": float(np.mean([s["std"] for s in summaries])),
    }


def _probe_forward(layer, h):
    """Run ``layer`` as the probe does: BN with the probe's statistics."""
    if isinstance(layer, BatchNorm1d):
        return _probe_batch_norm(layer, h)
    return layer.forward(h, training=False)[0]


def _probe_batch_norm(bn, h):
    """Normalize ``h`` with its own statistics, as in training; write nothing.

    The layer's own training-mode forward pass, without the running update,
    so the probe sees exactly the normalization training uses.
    """
    out, _ = bn.forward(h, training=True, update_running=False)
    return out


def _summarize(h):
    # One float64 copy with units as rows: sorting along contiguous rows is
    # the fastest NumPy path (np.percentile partitions, about 8x slower).
    units = np.array(h.T, dtype=np.float64, order="C")
    n_rows = units.shape[1]
    mean = units.sum(axis=1) / n_rows
    centred_squares = np.einsum("ij,ij->i", units, units) / n_rows - mean * mean
    std = np.sqrt(np.maximum(centred_squares, 0.0))
    units.sort(axis=1)
    return {
        "percentiles": _sorted_percentiles(units, _PERCENTILES),
        "mean": float(mean.mean()),
        "std": float(std.mean()),
    }


def _sorted_percentiles(units_sorted, q):
    """Percentiles of each row of a row-sorted array, as columns.

    The values of ``np.percentile(h, q, axis=0)`` with its default "linear"
    method, for ``units_sorted = np.sort(h.T, axis=1)``.
    """
    n_rows = units_sorted.shape[1]
    position = np.asarray(q, dtype=np.float64) / 100.0 * (n_rows - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, n_rows - 1)
    fraction = (position - lower)[:, None]
    low, high = units_sorted[:, lower].T, units_sorted[:, upper].T
    return low + fraction * (high - low)


class HistoryRecorder:
    """Build ``history_`` entries during one ``fit`` or ``partial_fit`` call.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training rows of this call (after any validation split).
    rng : numpy.random.Generator
        The fit's generator, for the probe (see :func:`choose_probe`).
    history : list of dict
        The estimator's ``history_``; entries are appended to it. Epoch
        numbers and elapsed seconds continue from its last entry, so
        ``warm_start`` and ``partial_fit`` extend one timeline.
    """

    def __init__(self, X, rng, history):
        self.probe = X[choose_probe(X.shape[0], rng)]
        self.history = history
        last = history[-1] if history else None
        self._seconds_before = last["elapsed_seconds"] if last else 0.0
        self._start = time.perf_counter()

    def record(self, network, train_loss, valid_score, learning_rate):
        """Append the entry of the epoch just finished.

        Parameters
        ----------
        network : sknorm.nn.Sequential
            The network after the epoch.
        train_loss : float
            The epoch's training loss (the last ``loss_curve_`` value).
        valid_score : float or None
            The validation score, or None without early stopping.
        learning_rate : float
            The learning rate used in the epoch (before any schedule update).
        """
        elapsed = self._seconds_before + time.perf_counter() - self._start
        self.history.append(
            {
                "epoch": len(self.history) + 1,
                "train_loss": float(train_loss),
                "valid_score": None if valid_score is None else float(valid_score),
                "learning_rate": float(learning_rate),
                "elapsed_seconds": float(elapsed),
                "layers": preactivation_statistics(network, self.probe),
            }
        )
