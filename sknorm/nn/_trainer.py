"""Trainer: a Sequential's training step with fused layers and reused buffers.

A mini-batch step of a small MLP spends most of its time in NumPy call
overhead and allocations, not in arithmetic. :class:`Trainer` compiles a
:class:`~sknorm.nn.Sequential` once per fit into blocks that each own
preallocated work buffers, and writes every gradient into one vector laid
out like :meth:`Sequential.flat_parameters`, ready for a whole-vector
optimizer step.

``Linear -> [BatchNorm1d] -> [activation]`` runs as one block: batch
statistics are matrix-vector products, the BN scale folds into the weights
of the backward matrix products, and ReLU works in place. Any other layer
(Dropout, a BatchNorm1d after an activation) runs through its own
``forward``/``backward``, so every network trains, only faster when it is
made of the common blocks. The layers' protocol is unchanged, and inference
(``Sequential.predict``) never touches these buffers: a Trainer belongs to
one fit and is not shared between threads.
"""

import itertools

import numpy as np

from sknorm.nn._activations import ACTIVATIONS
from sknorm.nn._flat import flat_views
from sknorm.nn._fused import (
    Batch,
    BiasedDense,
    Dense,
    Generic,
    InputNorm,
    NarrowInputNorm,
)
from sknorm.nn._layers import BatchNorm1d, Linear, batch_probabilities
from sknorm.nn._losses import LOSSES, squared_error

__all__ = ["Trainer"]

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


class Trainer:
    """Loss and flat gradient of a Sequential on mini-batches, without allocations.

    Parameters
    ----------
    network : Sequential
        The network to train. Its parameters are moved into one vector
        (:meth:`Sequential.flat_parameters`), so that ``theta`` and ``grad``
        share one layout; the network must not be copied while training.
    loss : str or callable
        A name in :data:`LOSSES` or a function ``f(raw, Y, sample_weight) ->
        (loss, d_raw)`` of the output of the last layer.
    max_batch : int
        Largest number of rows per batch; buffers are sized for it.
    update_running_stats : bool, default=True
        Whether fused BatchNorm1d layers update their running statistics.
        ``False`` saves a little time when they will be replaced anyway
        (population statistics computed after training).

    Attributes
    ----------
    theta : ndarray of shape (n_params,)
        The network's parameters (the storage itself).
    grad : ndarray of shape (n_params,)
        Gradient written by :meth:`loss_and_grad`, laid out like ``theta``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Adam, BatchNorm1d, Linear, ReLU, Sequential
    >>> from sknorm.nn._trainer import Trainer
    >>> rng = np.random.default_rng(0)
    >>> layers = [Linear(3, 8, bias=False, rng=rng), BatchNorm1d(8), ReLU()]
    >>> net = Sequential([*layers, Linear(8, 1, rng=rng)])
    >>> trainer = Trainer(net, "squared_error", max_batch=32)
    >>> opt = Adam(net.parameters(), learning_rate_init=0.01)
    >>> X, Y = rng.standard_normal((32, 3)), rng.standard_normal((32, 1))
    >>> loss = trainer.loss_and_grad(X, Y)
    >>> opt.step(trainer.grad)
    >>> trainer.loss_and_grad(X, Y) < loss
    True
    """

    def __init__(self, network, loss, max_batch, *, update_running_stats=True):
        self.network = network
        self.theta = network.flat_parameters()
        self.grad = np.zeros_like(self.theta)
        self.dtype = self.theta.dtype
        self.max_batch = int(max_batch)
        self.loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
        grads = self._grad_views(self.grad)
        self.blocks = _compile(
            network.layers,
            grads,
            self._aug_views,
            self.max_batch,
            update_running_stats,
        )
        # Both a fused and a stand-alone BatchNorm1d need two rows.
        self._has_bn = any(isinstance(layer, BatchNorm1d) for layer in network.layers)
        # 1 on the Linear weights, 0 elsewhere: the L2 penalty in one product.
        self.weight_mask = np.zeros_like(self.theta)
        for layer, views in zip(
            network.layers, self._grad_views(self.weight_mask).values(), strict=True
        ):
            if isinstance(layer, Linear):
                views["weight"][...] = 1.0
        self._batches, self._l2_masks, self._buffers = {}, {}, {}
        self._scratch = np.empty_like(self.theta)

    def _grad_views(self, flat):
        """Return ``{id(layer): {key: view of flat}}`` laid out like ``theta``."""
        params = self.network.parameters()
        views = iter(flat_views(flat, [param.shape for param in params]))
        return {
            id(layer): {key: next(views) for key in layer.params}
            for layer in self.network.layers
        }

    def _aug_views(self, linear):
        """Return views ``[[W], [b]]`` of ``theta`` and ``grad``, or None.

        Parameters come in layer order, then key order (weight, bias), so a
        Linear's bias directly follows its weight in the flat vectors.
        """
        weight, bias = linear.params["weight"], linear.params.get("bias")
        if bias is None or bias.ctypes.data != weight.ctypes.data + weight.nbytes:
            return None
        start = (weight.ctypes.data - self.theta.ctypes.data) // weight.itemsize
        stop = start + weight.size + bias.size
        shape = (linear.n_in + 1, linear.n_out)
        return self.theta[start:stop].reshape(shape), self.grad[start:stop].reshape(
            shape
        )

    def _rows(self, name, n_rows, n_columns):
        """Return the first ``n_rows`` of a reused buffer of the given role."""
        key = (name, n_rows, n_columns)
        view = self._buffers.get(key)
        if view is None:
            full = self._buffers.get((name, n_columns))
            if full is None:
                full = np.empty((self.max_batch, n_columns), dtype=self.dtype)
                self._buffers[name, n_columns] = full
            view = self._buffers[key] = full[:n_rows]
        return view

    def gather(self, X, Y, rows):
        """Return the batch ``(X[rows], Y[rows])`` in the network's dtype.

        Parameters
        ----------
        X, Y : ndarray of shape (n_samples, n_features) and (n_samples, n_outputs)
            The whole training set.
        rows : slice or ndarray of int
            The batch's rows. A slice gives views; indices copy the rows into
            buffers reused from one call to the next (valid until the next
            call).

        Returns
        -------
        X_batch, Y_batch : ndarray
            The batch's inputs and targets.
        """
        if isinstance(rows, slice):
            return X[rows].astype(self.dtype, copy=False), Y[rows]
        n_rows = rows.shape[0]
        if X.dtype != self.dtype or Y.dtype != self.dtype or n_rows > self.max_batch:
            return X[rows].astype(self.dtype), Y[rows].astype(self.dtype)
        x_out = self._rows("X", n_rows, X.shape[1])
        y_out = self._rows("Y", n_rows, Y.shape[1])
        # mode="clip" skips the bounds check that makes "raise" buffer.
        return (
            X.take(rows, axis=0, out=x_out, mode="clip"),
            Y.take(rows, axis=0, out=y_out, mode="clip"),
        )

    def loss_and_grad(self, X, Y, sample_weight=None):
        """Run a training-mode forward and backward pass on one batch.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            Batch inputs, at most ``max_batch`` rows.
        Y : ndarray of shape (n_rows, n_outputs)
            Batch targets.
        sample_weight : ndarray of shape (n_rows,) or None, default=None
            Row weights of the loss and of the batch statistics; None means
            equal weights of 1 (the fast path).

        Returns
        -------
        loss : float
            The data loss (no penalty); ``grad`` holds its gradient.
        """
        batch = self._prepare_batch(X.shape[0], sample_weight)
        out = X
        for block in self.blocks:
            out = block.forward(out, batch)
        loss, d_out = self._loss(out, Y, batch)
        for block in reversed(self.blocks):
            d_out = block.backward(d_out, batch)
        return loss

    def _prepare_batch(self, n, sample_weight):
        """Return the :class:`Batch` of ``n`` rows (cached when unweighted)."""
        if sample_weight is None:
            batch = self._batches.get(n)
            if batch is None:
                batch = self._batches[n] = self._new_batch(n)
                batch.uniform, batch.weight_sum, batch.sample_weight = True, n, None
                batch.p = np.full(n, 1.0 / n, dtype=self.dtype)
            return batch
        batch = self._new_batch(n)
        batch.p, batch.weight_sum = batch_probabilities(sample_weight, n, self.dtype)
        batch.uniform, batch.sample_weight = False, sample_weight
        return batch

    def _new_batch(self, n):
        if n > self.max_batch:
            raise ValueError(f"Got {n} rows, more than max_batch={self.max_batch}.")
        if n < 2 and self._has_bn:
            raise ValueError(
                "BatchNorm1d needs more than 1 row per batch in training, got "
                f"n_samples={n}."
            )
        batch = Batch()
        batch.n, batch.inv_n = n, np.array(1.0 / n, dtype=self.dtype)
        return batch

    def _loss(self, raw, Y, batch):
        """Return ``(loss, d_raw)``; squared error without weights is fused."""
        if (
            self.loss_fn is not squared_error
            or not batch.uniform
            or raw.shape != Y.shape
        ):
            loss, d_raw = self.loss_fn(raw, Y, batch.sample_weight)
            return float(loss), d_raw
        n, k = raw.shape
        diff = np.subtract(raw, Y, out=self._rows("diff", n, k))
        d_raw = np.multiply(diff, 1.0 / (n * k), out=self._rows("d_raw", n, k))
        return 0.5 * float(np.vdot(d_raw, diff)), d_raw

    def l2_penalty(self, alpha, weight_sum):
        """Add scikit-learn's L2 term to ``grad``; return its value.

        The penalty is ``alpha / (2 * weight_sum) * sum(||W||^2)`` over the
        weights of the Linear layers (biases and BN parameters are free).

        Parameters
        ----------
        alpha : float
            L2 strength.
        weight_sum : float
            Sum of the batch's sample weights (its row count without weights).

        Returns
        -------
        float
            The penalty value.
        """
        if alpha == 0:
            return 0.0
        scale = float(alpha) / weight_sum
        # The mask times the scale is the same for every full batch: cached.
        scaled_mask = self._l2_masks.get(scale)
        if scaled_mask is None:
            if len(self._l2_masks) > 8:
                self._l2_masks.clear()
            scaled_mask = self._l2_masks[scale] = self.weight_mask * scale
        weights = np.multiply(self.theta, scaled_mask, out=self._scratch)
        penalty = float(np.dot(weights, self.theta))
        self.grad += weights
        return 0.5 * penalty


# Below this width a bias added by broadcasting costs less than moving the
# input into a [x, 1] buffer.
_MIN_WIDTH_BIAS_IN_PRODUCT = 16


def _compile(layers, grads, aug_views, max_batch, update_stats):
    """Group ``layers`` into fused and :class:`Generic` blocks."""
    blocks, i = [], 0
    while i < len(layers):
        layer = layers[i]
        if i == 0 and isinstance(layer, BatchNorm1d) and not layer.params:
            dtype = layer.buffers["running_mean"].dtype
            blocks.append(InputNorm(layer, max_batch, dtype, update_stats=update_stats))
            i += 1
            continue
        if not isinstance(layer, Linear):
            blocks.append(Generic(layer, grads))
            i += 1
            continue
        bn = act = None
        i += 1
        if i < len(layers) and isinstance(layers[i], BatchNorm1d):
            bn, i = layers[i], i + 1
        if i < len(layers) and isinstance(layers[i], _ACTIVATION_TYPES):
            act, i = layers[i], i + 1
        blocks.append(
            _dense_block(
                layer, bn, act, grads, aug_views, max_batch, blocks, update_stats
            )
        )
    # A ReLU block writes straight into the [x, 1] input of a BiasedDense.
    for producer, consumer in itertools.pairwise(blocks):
        if isinstance(consumer, BiasedDense) and getattr(producer, "relu", False):
            producer.consumer = consumer
    return blocks


def _dense_block(layer, bn, act, grads, aug_views, max_batch, blocks, update_stats):
    """Return the fused block for ``layer -> [bn] -> [act]``."""
    # The first block's input is the data (or the normalized data of an
    # InputNorm): nobody needs its gradient.
    first = all(isinstance(block, InputNorm) for block in blocks)
    need_dx = not first
    if first and bn is not None and layer.n_in < layer.n_out:
        return NarrowInputNorm(
            layer, bn, act, grads, max_batch, update_stats=update_stats
        )
    aug = aug_views(layer) if bn is None else None
    if aug is not None and layer.n_out >= _MIN_WIDTH_BIAS_IN_PRODUCT:
        return BiasedDense(layer, act, grads, aug, max_batch, need_dx=need_dx)
    return Dense(
        layer,
        bn,
        act,
        grads,
        max_batch,
        need_dx=need_dx,
        update_stats=update_stats,
    )
