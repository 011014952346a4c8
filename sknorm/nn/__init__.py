"""Pure-NumPy neural-network engine with batch normalization.

It never imports scikit-learn. Layers follow one protocol::

    out, cache = layer.forward(x, training=...)
    dx, grads = layer.backward(dout, cache)

Trainable arrays live in ``layer.params``, batch-norm running statistics in
``layer.buffers``; grads use the params' keys. The caller keeps the caches,
so inference writes no state.

That protocol, run through :class:`Sequential`, is the *reference* path
(checked by finite differences). Training runs the *production* path:
:class:`Trainer` compiles the same layers into fused ``Linear -> BatchNorm1d
-> activation`` blocks with reused buffers, writes one gradient vector and
steps its optimizer on the whole parameter vector. Both paths call the same
batch-norm functions (:mod:`sknorm.nn._batchnorm`), and tests tie them
together. :class:`Parallel` holds member networks, each trained on its own loss and
averaged in inference. :func:`build_mlp` makes the estimators' layout,
:func:`population_statistics` freezes the BN statistics over a data set,
:func:`fold_batchnorm` merges them into the Linears, and
:func:`dense_forward` predicts with the folded network in cache-sized chunks.
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
from sknorm.nn._layout import build_mlp
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
from sknorm.nn._parallel import Parallel
from sknorm.nn._population import population_statistics
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
    "Parallel",
    "ReLU",
    "Sequential",
    "Tanh",
    "Trainer",
    "build_mlp",
    "dense_forward",
    "fold_batchnorm",
    "init_bound",
    "poisson",
    "population_statistics",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "squared_error",
]
