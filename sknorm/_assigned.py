"""Weights assigned to ``coefs_``/``intercepts_``: detected, then trained from.

scikit-learn's MLPs train from their public ``coefs_``/``intercepts_``, so a
user may set them and continue with ``partial_fit`` or a warm start. sknorm
trains ``network_`` and folds it into ``coefs_``/``intercepts_`` for
prediction; each fold records a digest of what it produced
(:func:`fold_digest`). A training call that finds the attributes changed
since (new arrays, or arrays edited in place) first writes them into the
network (:func:`load_plain_mlp`), so that training continues from what
``predict`` uses.

With batch normalization, ``coefs_`` are the folded weights: the BN layers
are reset to the identity (scale ``gamma`` 1, running mean 0 and variance
``1 - eps``) and the hidden intercepts go where the layout keeps a shift,
so the network's inference function equals the assigned weights to
rounding. Training then normalizes by batch statistics from its first step.
"""

import hashlib

import numpy as np

from sknorm.nn._batchnorm import BatchNorm1d
from sknorm.nn._layers import Dropout
from sknorm.nn._layout import split_stages

__all__ = ["as_weight_lists", "fold_digest", "load_plain_mlp"]


def fold_digest(coefs, intercepts):
    """Return a digest of ``coefs``/``intercepts``: their shapes, dtypes and bytes.

    Compared instead of kept copies, it costs one pass over the weights and
    no memory (a fitted model stays its size, pickled or not).
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in (*coefs, *intercepts):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def as_weight_lists(coefs, intercepts, n_layers):
    """Return the assigned attributes as lists of finite float arrays, or raise.

    Parameters
    ----------
    coefs, intercepts : sequence of array-like
        The values of ``coefs_`` and ``intercepts_``.
    n_layers : int
        The number of Linear layers of the network they must fit.

    Returns
    -------
    coefs, intercepts : list of ndarray of float64
    """
    if len(coefs) != n_layers or len(intercepts) != n_layers:
        raise ValueError(
            f"coefs_ and intercepts_ were assigned {len(coefs)} and "
            f"{len(intercepts)} arrays, but the network has {n_layers} layers; "
            "assigning them cannot change the layout (set hidden_layer_sizes "
            "and refit instead)."
        )
    try:
        arrays = [np.asarray(a, dtype=np.float64) for a in (*coefs, *intercepts)]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"coefs_ and intercepts_ must hold numeric arrays: {exc}"
        ) from exc
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("The assigned coefs_ or intercepts_ contain NaN or inf.")
    return arrays[:n_layers], arrays[n_layers:]


def load_plain_mlp(network, coefs, intercepts):
    """Make ``network`` compute the plain MLP ``coefs``/``intercepts`` in inference.

    Every Linear takes its weights; a hidden intercept goes to the Linear's
    bias, or, when the Linear has none (a BN right after it), to that BN's
    ``beta`` (or, without affine parameters, its running mean, negated).
    Every BatchNorm1d otherwise becomes the identity. Arrays are written in
    place, so an optimizer's views of the parameters stay valid. Nothing is
    written unless every shape fits.

    Parameters
    ----------
    network : Sequential
        A network built by :func:`~sknorm.nn._layout.build_mlp`.
    coefs, intercepts : list of ndarray
        Weights ``(n_in, n_out)`` and biases ``(n_out,)``, one per Linear, in
        the network's output units.
    """
    layers = [layer for layer in network.layers if not isinstance(layer, Dropout)]
    stages = [stage for stage in split_stages(layers) if stage.linear is not None]
    for k, stage in enumerate(stages):
        expected = stage.linear.params["weight"].shape
        for name, array, shape in (
            ("coefs_", coefs[k], expected),
            ("intercepts_", intercepts[k], expected[1:]),
        ):
            if array.shape != shape:
                raise ValueError(
                    f"{name}[{k}] has shape {array.shape}, but the network's "
                    f"layer {k} needs {shape}; assigning {name} cannot change "
                    "the layout (set hidden_layer_sizes and refit instead)."
                )
    for layer in layers:
        if isinstance(layer, BatchNorm1d):
            _reset_to_identity(layer)
    for stage, weight, bias in zip(stages, coefs, intercepts, strict=True):
        stage.linear.params["weight"][...] = weight
        if "bias" in stage.linear.params:
            stage.linear.params["bias"][...] = bias
        elif stage.bn.affine:
            stage.bn.params["beta"][...] = bias
        else:
            # Inference BN gives (z - mean) / 1: the negated bias is a shift.
            stage.bn.buffers["running_mean"][...] = -bias


def _reset_to_identity(bn):
    """Make ``bn`` the identity in inference (scale 1, shift 0)."""
    if bn.affine:
        bn.params["gamma"][...] = 1
        bn.params["beta"][...] = 0
    bn.buffers["running_mean"][...] = 0
    var = bn.buffers["running_var"]
    var[...] = _identity_variance(bn.eps, var.dtype)


def _identity_variance(eps, dtype):
    """Return the ``var`` of ``dtype`` for which float64 ``var + eps`` is nearest 1.

    Inference and folding compute ``1 / sqrt(var + eps)`` in float64; in
    float64 this makes it exactly 1 (in float32, within one float32 rounding).
    """
    var = np.asarray(1.0 - eps, dtype=dtype)
    # (With eps >= 1 the variance is negative; var + eps, all that is used,
    # stays 1.)
    inf = var.dtype.type(np.inf)
    candidates = [np.nextafter(var, -inf), var, np.nextafter(var, inf)]
    return min(candidates, key=lambda v: abs(float(v) + eps - 1.0))
