"""Fold BatchNorm1d layers into neighbouring Linears for inference.

In inference a BatchNorm1d is the per-feature affine map ``z -> s * z + t``
with ``s = gamma / sqrt(running_var + eps)`` and ``t = beta - running_mean * s``,
so it merges into the adjacent Linear and prediction costs no more than a
plain MLP's.
"""

import copy

import numpy as np

from sknorm.nn._layers import BatchNorm1d, Dropout, Linear
from sknorm.nn._network import Sequential

__all__ = ["fold_batchnorm"]


def fold_batchnorm(network):
    """Return an inference-only copy of ``network`` without BatchNorm1d or Dropout.

    Every BatchNorm1d is merged, with its running statistics and its
    ``gamma``/``beta``, into a Linear next to it, and every Dropout (the
    identity in inference) is removed. The input network is left untouched.

    Parameters
    ----------
    network : Sequential
        The network to fold. Each BatchNorm1d must directly follow a Linear
        (``Linear -> BN -> activation``) or directly precede one
        (``activation -> BN -> Linear``), Dropout layers being ignored.

    Returns
    -------
    folded : Sequential
        A new network whose ``predict`` equals ``network.predict`` up to
        rounding. Its Linears all have a bias and the original dtype.

    Raises
    ------
    ValueError
        If a BatchNorm1d has no Linear directly before or after it.

    See Also
    --------
    Sequential.compute_population_statistics : Calibrate the statistics to fold.

    Notes
    -----
    With ``s = gamma / sqrt(running_var + eps)`` and ``mu = running_mean``
    (``gamma = 1``, ``beta = 0`` when not affine), a BN after ``x @ W + b``
    gives ``x @ (W * s) + ((b - mu) * s + beta)``, and a BN before ``x @ W2 +
    b2`` gives ``x @ (s[:, None] * W2) + (b2 + (beta - mu * s) @ W2)``. The
    products are evaluated in float64 and cast back to the network's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._folding import fold_batchnorm
    >>> from sknorm.nn._layers import BatchNorm1d, Linear, ReLU
    >>> from sknorm.nn._network import Sequential
    >>> rng = np.random.default_rng(0)
    >>> layers = [Linear(3, 4, bias=False, rng=rng), BatchNorm1d(4), ReLU()]
    >>> net = Sequential([*layers, Linear(4, 1, rng=rng)])
    >>> x = rng.standard_normal((5, 3))
    >>> _ = net.compute_population_statistics(x)
    >>> folded = fold_batchnorm(net)
    >>> [type(layer).__name__ for layer in folded.layers]
    ['Linear', 'ReLU', 'Linear']
    >>> bool(np.allclose(folded.predict(x), net.predict(x)))
    True
    """
    # Dropout is the identity in inference, so dropping it first lets a BN
    # separated from its Linear by a Dropout still be folded.
    layers = [layer for layer in network.layers if not isinstance(layer, Dropout)]
    folded = []
    pending_bn = None
    for i, layer in enumerate(layers):
        if isinstance(layer, BatchNorm1d):
            if folded and isinstance(folded[-1], Linear):
                folded[-1] = _fold_into_previous(folded[-1], layer)
            elif i + 1 < len(layers) and isinstance(layers[i + 1], Linear):
                pending_bn = layer
            else:
                raise ValueError(_unfoldable_message(layers, i))
        elif pending_bn is not None:
            folded.append(_fold_into_next(pending_bn, layer))
            pending_bn = None
        else:
            # A private copy, so that the result shares no array with the input.
            folded.append(copy.deepcopy(layer))
    return Sequential(folded)


def _scale_shift(bn):
    """Return ``(s, t)`` in float64 such that inference BN is ``z * s + t``."""
    mean = bn.buffers["running_mean"].astype(np.float64)
    var = bn.buffers["running_var"].astype(np.float64)
    scale = 1.0 / np.sqrt(var + bn.eps)
    shift = -mean * scale
    if bn.affine:
        gamma = bn.params["gamma"].astype(np.float64)
        scale *= gamma
        shift = shift * gamma + bn.params["beta"]
    return scale, shift


def _new_linear(weight, bias, dtype):
    """Build a Linear holding ``weight`` and ``bias`` cast to ``dtype``."""
    n_in, n_out = weight.shape
    linear = Linear(n_in, n_out, bias=True, dtype=dtype)
    linear.params["weight"][...] = weight
    linear.params["bias"][...] = bias
    return linear


def _fold_into_previous(linear, bn):
    """Merge ``bn`` into the Linear that feeds it (``Linear -> BN``)."""
    scale, shift = _scale_shift(bn)
    weight = linear.params["weight"]
    bias = linear.params.get("bias", 0.0)
    # BN(x @ W + b) = x @ (W * s) + (b * s + t)
    return _new_linear(
        weight.astype(np.float64) * scale,
        np.asarray(bias, dtype=np.float64) * scale + shift,
        weight.dtype,
    )


def _fold_into_next(bn, linear):
    """Merge ``bn`` into the Linear it feeds (``BN -> Linear``)."""
    scale, shift = _scale_shift(bn)
    weight = linear.params["weight"].astype(np.float64)
    bias = linear.params.get("bias", 0.0)
    # (z * s + t) @ W2 + b2 = z @ (s[:, None] * W2) + (b2 + t @ W2)
    return _new_linear(
        scale[:, None] * weight,
        np.asarray(bias, dtype=np.float64) + shift @ weight,
        linear.params["weight"].dtype,
    )


def _unfoldable_message(layers, i):
    """Explain why ``layers[i]``, a BatchNorm1d, cannot be folded."""
    before = type(layers[i - 1]).__name__ if i > 0 else "nothing (network input)"
    after = (
        type(layers[i + 1]).__name__
        if i + 1 < len(layers)
        else "nothing (network output)"
    )
    return (
        f"Cannot fold the BatchNorm1d at position {i} (counting layers other "
        "than Dropout): it must directly follow or directly precede a Linear "
        f"layer, but it comes after {before} and before {after}."
    )
