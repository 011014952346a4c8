"""Pure-NumPy neural-network engine with batch normalization.

It never imports scikit-learn. Layers follow one protocol::

    out, cache = layer.forward(x, training=...)
    dx, grads = layer.backward(dout, cache)

Trainable arrays live in ``layer.params``, batch-norm running statistics in
``layer.buffers``; grads use the params' keys. The caller keeps the caches,
so inference writes no state.

For speed, :class:`Trainer` runs a whole mini-batch step of a Sequential with
fused ``Linear -> BatchNorm1d -> activation`` blocks and reused buffers,
writing one gradient vector for the optimizers' whole-vector update
(:meth:`Sequential.flat_parameters`); :func:`dense_forward` predicts with a
folded network in cache-sized chunks.
"""

from sknorm.nn._folding import fold_batchnorm
from sknorm.nn._inference import dense_forward
from sknorm.nn._layers import (
    ACTIVATIONS,
    BatchNorm1d,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Logistic,
    ReLU,
    Tanh,
    init_bound,
)
from sknorm.nn._losses import (
    LOSSES,
    OUTPUT_ACTIVATIONS,
    poisson,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    squared_error,
)
from sknorm.nn._network import Sequential
from sknorm.nn._optimizers import SGD, Adam
from sknorm.nn._trainer import Trainer

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OUTPUT_ACTIVATIONS",
    "SGD",
    "Adam",
    "BatchNorm1d",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Logistic",
    "ReLU",
    "Sequential",
    "Tanh",
    "Trainer",
    "dense_forward",
    "fold_batchnorm",
    "init_bound",
    "poisson",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "squared_error",
]
