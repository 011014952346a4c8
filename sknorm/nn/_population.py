"""Population ("precise BN") statistics: freeze each BatchNorm1d on a data set.

After training, each BatchNorm1d's running statistics are replaced by the
weighted mean and biased variance of its input over the whole training set
(Ioffe & Szegedy's inference statistics; Wu & Johnson's "precise BN"). The
biased variance is what full-batch training normalizes with, so with L-BFGS
inference reproduces training exactly, and integer weights stay equivalent to
repeated rows.
"""

import numpy as np

from sknorm.nn._batchnorm import BatchNorm1d
from sknorm.nn._folding import fold_batchnorm
from sknorm.nn._inference import CHUNK_ROWS
from sknorm.nn._moments import merge_moments
from sknorm.nn._network import Sequential

__all__ = ["population_statistics"]


def population_statistics(network, x, sample_weight=None, *, chunk_size=CHUNK_ROWS):
    """Set every BatchNorm1d's buffers to statistics of its input over ``x``.

    The BN layers are calibrated from the first to the last, each on the
    output of the layers below it run in inference mode, so a layer sees its
    inputs normalized with the *new* statistics of the layers below. Data are
    streamed in chunks so memory stays bounded; each chunk's moments are
    computed in the network's dtype (two passes) and merged in float64
    (:func:`~sknorm.nn._moments.merge_moments`).

    Parameters
    ----------
    network : Sequential or Parallel
        The network, modified in place (its BatchNorm1d buffers only); each
        member of a Parallel on its own.
    x : ndarray of shape (n_samples, n_features)
        Data, typically the whole training set.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Row weights; rows of zero weight are ignored.
    chunk_size : int, default=CHUNK_ROWS
        Rows propagated at once.

    Returns
    -------
    network : Sequential
        The same network.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import BatchNorm1d, Sequential
    >>> from sknorm.nn._population import population_statistics
    >>> net = Sequential([BatchNorm1d(1)])
    >>> _ = population_statistics(net, np.array([[1.0], [3.0]]))
    >>> net.layers[0].buffers["running_mean"], net.layers[0].buffers["running_var"]
    (array([2.]), array([1.]))
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (x.shape[0],):
            raise ValueError(
                f"sample_weight must have shape ({x.shape[0]},), "
                f"got {sample_weight.shape}."
            )
    for member in network.members:
        _calibrate(member, x, sample_weight, chunk_size)
    return network


def _calibrate(network, x, sample_weight, chunk_size):
    """Calibrate the BatchNorm1d layers of one chain, from input to output."""
    for i, layer in enumerate(network.layers):
        if isinstance(layer, BatchNorm1d):
            below = _inference_network(network.layers[:i])
            layer.set_statistics(*_input_moments(below, x, sample_weight, chunk_size))


def _inference_network(layers):
    """Return ``layers`` with BatchNorm1d folded into the Linears, if possible.

    In inference a BatchNorm1d is an affine map, so a folded prefix computes
    the same outputs with fewer passes over the data; a network that cannot
    be folded runs layer by layer.
    """
    try:
        return fold_batchnorm(Sequential(layers))
    except ValueError:
        return Sequential(layers)


def _input_moments(below, x, sample_weight, chunk_size):
    """Weighted mean and biased variance of ``below``'s output over ``x``."""
    weight_sum, mean, m2 = 0.0, 0.0, 0.0
    for start in range(0, x.shape[0], chunk_size):
        rows = slice(start, start + chunk_size)
        w = None if sample_weight is None else sample_weight[rows]
        chunk_weight = x[rows].shape[0] if w is None else float(w.sum())
        if chunk_weight == 0:
            continue
        h = below.predict(x[rows])
        # Two passes per chunk in the network's dtype (a float32 sum of a
        # chunk's terms is accurate to about 1e-6), merged in float64.
        weights = np.ones(h.shape[0], h.dtype) if w is None else w.astype(h.dtype)
        chunk_mean = (weights @ h) / chunk_weight
        centred = h - chunk_mean
        centred *= centred
        weight_sum, mean, m2 = merge_moments(
            weight_sum,
            mean,
            m2,
            chunk_weight,
            chunk_mean.astype(np.float64),
            (weights @ centred).astype(np.float64),
        )
    if not weight_sum > 0:
        raise ValueError(
            "Population statistics need a positive sample_weight sum, got "
            f"{weight_sum}."
        )
    return mean, m2 / weight_sum
