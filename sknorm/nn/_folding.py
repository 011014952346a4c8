"""Fold BatchNorm1d layers into neighbouring Linears for inference.

In inference a BatchNorm1d is the per-feature affine map ``z -> s * z + t``
with ``s = gamma / sqrt(running_var + eps)`` and ``t = beta - running_mean * s``,
so it merges into the adjacent Linear and prediction costs no more than a
plain MLP's.
"""

import copy

import numpy as np
import scipy.linalg

from sknorm.nn._batchnorm import BatchNorm1d, inference_scale_shift
from sknorm.nn._layers import Dropout, Linear
from sknorm.nn._layout import split_stages
from sknorm.nn._network import Sequential

__all__ = ["fold_batchnorm", "merge_members"]


def fold_batchnorm(network):
    """Return an inference-only copy of ``network`` without BatchNorm1d or Dropout.

    Every BatchNorm1d is merged, with its running statistics and its
    ``gamma``/``beta``, into a Linear next to it, and every Dropout (the
    identity in inference) is removed. The input network is left untouched.

    Parameters
    ----------
    network : Sequential or Parallel
        The network to fold (a Parallel folds into the one plain MLP that
        averages its folded members, :func:`merge_members`). Each
        BatchNorm1d must directly follow a Linear (``Linear -> BN ->
        activation``) or directly precede one (``activation -> BN ->
        Linear``), Dropout layers being ignored.

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
    sknorm.nn._population.population_statistics : Calibrate the statistics
        to fold.

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
    >>> from sknorm.nn._population import population_statistics
    >>> _ = population_statistics(net, x)
    >>> folded = fold_batchnorm(net)
    >>> [type(layer).__name__ for layer in folded.layers]
    ['Linear', 'ReLU', 'Linear']
    >>> bool(np.allclose(folded.predict(x), net.predict(x)))
    True
    """
    if len(network.members) > 1:
        return merge_members([fold_batchnorm(member) for member in network.members])
    # Dropout is the identity in inference, so dropping it first lets a BN
    # separated from its Linear by a Dropout still be folded.
    layers = [layer for layer in network.layers if not isinstance(layer, Dropout)]
    stages = split_stages(layers)
    folded, pending_bn = [], None
    for k, stage in enumerate(stages):
        if stage.linear is not None:
            # A private copy, so that the result shares no array with the input.
            linear = copy.deepcopy(stage.linear)
            if pending_bn is not None:
                linear, pending_bn = _fold_into_next(pending_bn, linear), None
            if stage.bn is not None:
                linear = _fold_into_previous(linear, stage.bn)
            folded.append(linear)
        tail = [stage.activation] if stage.activation is not None else []
        for j, layer in enumerate([*tail, *stage.rest]):
            if not isinstance(layer, BatchNorm1d):
                folded.append(copy.deepcopy(layer))
            elif j == 0 and folded and isinstance(folded[-1], Linear):
                folded[-1] = _fold_into_previous(folded[-1], layer)
            elif j == len(tail) + len(stage.rest) - 1 and k + 1 < len(stages):
                pending_bn = layer  # folds into the next stage's Linear
            else:
                raise ValueError(_unfoldable_message(layers, layer))
    return Sequential(folded)


def merge_members(members):
    """Return the plain MLP that computes the average of plain ``members``.

    Parameters
    ----------
    members : list of Sequential
        Folded networks (``Linear``, activation, ..., ``Linear``) of the same
        depth and activations, without BatchNorm1d or Dropout.

    Returns
    -------
    Sequential
        Hidden Linears with block-diagonal weights (member after member),
        the output Linear stacking the members' weights divided by their
        number, its bias their average.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layout import build_mlp
    >>> from sknorm.nn._folding import merge_members
    >>> rng = np.random.default_rng(0)
    >>> a, b = (build_mlp(3, 2, hidden_layer_sizes=(4,), batch_norm=None, rng=rng)
    ...         for _ in range(2))
    >>> x = rng.standard_normal((5, 3))
    >>> merged = merge_members([a, b])
    >>> merged.layers[0].params["weight"].shape
    (3, 8)
    >>> bool(np.allclose(merged.predict(x), (a.predict(x) + b.predict(x)) / 2))
    True
    """
    layer_lists = [member.layers for member in members]
    if len({len(layers) for layers in layer_lists}) != 1:
        raise ValueError("Members to merge must have the same depth.")
    n_linears = sum(isinstance(layer, Linear) for layer in layer_lists[0])
    if n_linears < 2:
        raise ValueError("Members to merge need at least one hidden layer.")
    merged, seen = [], 0
    for layers in zip(*layer_lists, strict=True):
        if not isinstance(layers[0], Linear):
            if len({type(layer) for layer in layers}) != 1:
                raise ValueError("Members to merge must share their activations.")
            merged.append(layers[0])
            continue
        seen += 1
        weights = [layer.params["weight"] for layer in layers]
        biases = [
            np.broadcast_to(layer.params.get("bias", 0.0), layer.n_out)
            for layer in layers
        ]
        dtype = weights[0].dtype
        if seen == n_linears:
            # The output Linear averages the members instead of stacking them.
            n = len(layers)
            merged.append(_new_linear(np.vstack(weights) / n, sum(biases) / n, dtype))
        else:
            weight = (
                np.hstack(weights) if seen == 1 else scipy.linalg.block_diag(*weights)
            )
            merged.append(_new_linear(weight, np.concatenate(biases), dtype))
    return Sequential(merged)


def _new_linear(weight, bias, dtype):
    """Build a Linear holding ``weight`` and ``bias`` cast to ``dtype``."""
    n_in, n_out = weight.shape
    linear = Linear(n_in, n_out, bias=True, dtype=dtype)
    linear.params["weight"][...] = weight
    linear.params["bias"][...] = bias
    return linear


def _fold_into_previous(linear, bn):
    """Merge ``bn`` into the Linear that feeds it (``Linear -> BN``)."""
    scale, shift = inference_scale_shift(bn)
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
    scale, shift = inference_scale_shift(bn)
    weight = linear.params["weight"].astype(np.float64)
    bias = linear.params.get("bias", 0.0)
    # (z * s + t) @ W2 + b2 = z @ (s[:, None] * W2) + (b2 + t @ W2)
    return _new_linear(
        scale[:, None] * weight,
        np.asarray(bias, dtype=np.float64) + shift @ weight,
        linear.params["weight"].dtype,
    )


def _unfoldable_message(layers, bn):
    """Explain why ``bn``, a BatchNorm1d of ``layers``, cannot be folded."""
    i = next(i for i, layer in enumerate(layers) if layer is bn)
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
