"""The layout of an MLP: built from its settings, read back as stages.

An MLP is a chain of *stages*: a Linear, optionally a BatchNorm1d right after
it ("before" the activation), an activation, then whatever follows up to the
next Linear (a BatchNorm1d "after" the activation, Dropout). :func:`build_mlp`
makes that chain from the estimators' settings; :func:`split_stages` reads any
chain of layers back into stages, for the code that needs the grouping: the
fused training step (:mod:`sknorm.nn._trainer`), folding
(:mod:`sknorm.nn._folding`) and the pre-activation statistics of
``history_``. Each layout decision is made here once.
"""

import itertools
from typing import NamedTuple

import numpy as np

from sknorm.nn._activations import ACTIVATIONS
from sknorm.nn._batchnorm import BatchNorm1d
from sknorm.nn._layers import Dropout, Linear, init_bound
from sknorm.nn._network import Sequential

__all__ = ["Stage", "build_mlp", "split_stages"]

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


class Stage(NamedTuple):
    """One Linear and the layers after it, up to the next Linear.

    Attributes
    ----------
    linear : Linear or None
        The stage's Linear; None for the layers in front of the first Linear
        (an input BatchNorm1d).
    bn : BatchNorm1d or None
        A BatchNorm1d directly after the Linear (placement "before").
    activation : layer or None
        An activation directly after the Linear (or its BatchNorm1d).
    rest : list of layers
        The other layers of the stage, in order.
    """

    linear: object
    bn: object
    activation: object
    rest: list


def split_stages(layers):
    """Group a chain of layers into :class:`Stage` objects.

    Parameters
    ----------
    layers : list of layers
        Any chain; layers in front of the first Linear form a stage whose
        ``linear`` is None (omitted when there are none).

    Returns
    -------
    list of Stage
        In order; concatenating each stage's layers gives ``layers`` back.

    Examples
    --------
    >>> from sknorm.nn._layout import build_mlp, split_stages
    >>> net = build_mlp(3, 1, hidden_layer_sizes=(4,), batch_norm="before")
    >>> [type(layer).__name__ for layer in net.layers]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    >>> [(s.bn is not None, s.activation is not None) for s in split_stages(net.layers)]
    [(True, True), (False, False)]
    """
    stages, i = [], 0
    while i < len(layers):
        linear = bn = activation = None
        if isinstance(layers[i], Linear):
            linear, i = layers[i], i + 1
            if i < len(layers) and isinstance(layers[i], BatchNorm1d):
                bn, i = layers[i], i + 1
            if i < len(layers) and isinstance(layers[i], _ACTIVATION_TYPES):
                activation, i = layers[i], i + 1
        rest = []
        while i < len(layers) and not isinstance(layers[i], Linear):
            rest.append(layers[i])
            i += 1
        stages.append(Stage(linear, bn, activation, rest))
    return stages


def build_mlp(
    n_in,
    n_out,
    *,
    hidden_layer_sizes,
    activation="relu",
    batch_norm="before",
    bn_input=False,
    bn_affine=True,
    bn_momentum=0.1,
    bn_epsilon=1e-5,
    dropout=0.0,
    weight_init="glorot",
    dtype=np.float64,
    rng=None,
):
    """Build ``[input BN], (Linear -> [BN] -> act -> [BN] -> [Dropout])*, Linear``.

    Parameters
    ----------
    n_in, n_out : int
        Numbers of input features and of outputs.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer.
    activation : str, default="relu"
        Hidden activation, a key of :data:`ACTIVATIONS`.
    batch_norm : {"before", "after"} or None, default="before"
        Placement of each hidden layer's BatchNorm1d relative to its
        activation; a Linear followed by BN has no bias (``beta`` replaces it).
    bn_input : bool, default=False
        With ``batch_norm``, also standardize the input with a BatchNorm1d
        without ``gamma``/``beta``.
    bn_affine : bool, default=True
        ``affine`` of the hidden BatchNorm1d layers.
    bn_momentum : float, default=0.1
        ``momentum`` of every BatchNorm1d.
    bn_epsilon : float, default=1e-5
        ``eps`` of every BatchNorm1d.
    dropout : float, default=0.0
        Rate of a Dropout after each hidden layer (none when 0).
    weight_init : {"glorot", "he"}, default="glorot"
        Initialization rule (:func:`init_bound`).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        dtype of the parameters.
    rng : numpy.random.Generator or None, default=None
        Source of the initial weights (drawn layer by layer, weight then
        bias) and of the dropout masks.

    Returns
    -------
    Sequential
        The network.
    """
    layers = []
    if batch_norm is not None and bn_input:
        # Standardizes raw features by batch statistics (population ones at
        # inference, which fold into the first Linear): BN on hidden units
        # alone cannot undo input scales that differ by orders of magnitude.
        layers.append(
            BatchNorm1d(
                n_in, momentum=bn_momentum, eps=bn_epsilon, affine=False, dtype=dtype
            )
        )
    sizes = [n_in, *hidden_layer_sizes]
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = init_bound(fan_in, fan_out, activation=activation, init=weight_init)
        # BN right after the Linear subtracts the mean: a bias is dead weight.
        layers.append(
            Linear(
                fan_in,
                fan_out,
                bias=batch_norm != "before",
                rng=rng,
                dtype=dtype,
                init_bound=bound,
            )
        )
        bn = BatchNorm1d(
            fan_out, momentum=bn_momentum, eps=bn_epsilon, affine=bn_affine, dtype=dtype
        )
        if batch_norm == "before":
            layers.append(bn)
        layers.append(ACTIVATIONS[activation]())
        if batch_norm == "after":
            layers.append(bn)
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
    bound = init_bound(sizes[-1], n_out, activation=activation, init=weight_init)
    layers.append(Linear(sizes[-1], n_out, rng=rng, dtype=dtype, init_bound=bound))
    return Sequential(layers)
