"""Trainer: the production training step of a Sequential, and its optimizer.

A mini-batch step of a small MLP spends most of its time in NumPy call
overhead and allocations, not in arithmetic. :class:`Trainer` compiles a
:class:`~sknorm.nn.Sequential` once per fit into blocks
(:mod:`sknorm.nn._fused`) that each own preallocated work buffers, and writes
every gradient into one vector laid out like the parameter vector it owns
(:meth:`Sequential.flat_parameters`); its optimizer updates that vector in a
few whole-vector operations.

Two paths compute the same gradients: the layers' own ``forward``/
``backward`` through :class:`Sequential` is the *reference*, checked by
finite differences (``tests/nn/test_layers.py``, ``test_network.py``); this
Trainer is the *production* step, checked against the reference
(``tests/nn/test_trainer.py``, ``test_batchnorm.py``). Both call the batch-norm
functions of :mod:`sknorm.nn._batchnorm`. Inference never touches these
buffers: a Trainer belongs to one fit and is not shared between threads.
"""

import math

import numpy as np
import scipy.sparse as sp

from sknorm.nn._batchnorm import BatchNorm1d, batch_probabilities, check_batch_rows
from sknorm.nn._flat import flat_views
from sknorm.nn._fused import Batch, CovarianceLinearBN, LayerStep, LinearBNAct
from sknorm.nn._layers import Linear
from sknorm.nn._layout import split_stages
from sknorm.nn._losses import LOSSES, squared_error

__all__ = ["Trainer"]


class Trainer:
    """Loss, flat gradient and optimizer step of a Sequential, without allocations.

    Parameters
    ----------
    network : Sequential or Parallel
        The network to train (each member of a Parallel on its own loss,
        :meth:`loss_and_grad` returning their mean). Its parameters are moved
        into one vector (:meth:`Sequential.flat_parameters`), so that
        ``theta`` and ``grad`` share one layout; the network must not be
        copied while training.
    loss : str or callable
        A name in :data:`LOSSES` or a function ``f(raw, Y, sample_weight) ->
        (loss, d_raw)`` of the output of the last layer.
    max_batch : int
        Largest number of rows per batch; buffers are sized for it.
    optimizer : SGD or Adam or None, default=None
        Updates ``theta`` in :meth:`step`. An optimizer built on arrays that
        have since moved (a copied or unpickled network) is pointed at the
        network's current parameters, its state kept.
    alpha : float, default=0.0
        L2 strength of :meth:`objective` and :meth:`step`.
    weight_decay : float, default=0.0
        Decoupled weight decay of :meth:`step` (AdamW, Loshchilov & Hutter):
        after each optimizer step the Linear weights shrink by the factor
        ``1 - epoch_learning_rate * weight_decay``. Unlike ``alpha`` it is not
        part of the gradient, so Adam's per-parameter scaling does not weaken
        it on rarely-updated weights.
    update_running_stats : bool, default=True
        Whether BatchNorm1d layers update their running statistics.
        ``False`` saves a little time when they will be replaced anyway
        (population statistics computed after training).
    sparse_input : bool, default=False
        Whether batches arrive as scipy sparse matrices (CSR rows). The
        first block then multiplies them as they are and never centres them
        (no :class:`~sknorm.nn._fused.CovarianceLinearBN`, which would).

    Attributes
    ----------
    theta : ndarray of shape (n_params,)
        The network's parameters (the storage itself).
    grad : ndarray of shape (n_params,)
        Gradient written by :meth:`loss_and_grad`, laid out like ``theta``.
    chains : list of list
        The compiled blocks of :mod:`sknorm.nn._fused`, one list per member
        of a :class:`~sknorm.nn._parallel.Parallel` (one list otherwise).
    blocks : list
        Every chain's blocks, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Adam, Trainer
    >>> from sknorm.nn._layout import build_mlp
    >>> rng = np.random.default_rng(0)
    >>> net = build_mlp(3, 1, hidden_layer_sizes=(8,), rng=rng)
    >>> opt = Adam(net.parameters(), learning_rate_init=0.01)
    >>> trainer = Trainer(net, "squared_error", max_batch=32, optimizer=opt)
    >>> X, Y = rng.standard_normal((32, 3)), rng.standard_normal((32, 1))
    >>> loss = trainer.step(X, Y)
    >>> trainer.objective(X, Y) < loss
    True
    """

    def __init__(
        self,
        network,
        loss,
        max_batch,
        *,
        optimizer=None,
        alpha=0.0,
        weight_decay=0.0,
        update_running_stats=True,
        sparse_input=False,
    ):
        self.network = network
        self.theta = network.flat_parameters()
        self.grad = np.zeros_like(self.theta)
        self.dtype = self.theta.dtype
        self.max_batch = int(max_batch)
        self.loss_fn = LOSSES[loss] if isinstance(loss, str) else loss
        self.alpha = alpha
        self.weight_decay = float(weight_decay)
        self.optimizer = optimizer
        params = network.parameters()
        if optimizer is not None and any(
            p is not q for p, q in zip(params, optimizer.params, strict=True)
        ):
            optimizer.rebind(params)
        grads = self._grad_views(self.grad)
        # A Parallel's members are separate chains, each trained on its own loss.
        self.chains = [
            _compile(
                member.layers,
                grads,
                self.max_batch,
                update_running_stats,
                dense_input=not sparse_input,
            )
            for member in network.members
        ]
        self.blocks = [block for chain in self.chains for block in chain]
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

    def objective(self, X, Y, sample_weight=None):
        """Return the batch's loss plus L2 penalty; ``grad`` holds its gradient.

        Parameters
        ----------
        X, Y : ndarray
            Batch inputs and 2-D targets.
        sample_weight : ndarray of shape (n_rows,) or None, default=None
            Row weights; None means weights of 1 (the fast path).

        Returns
        -------
        loss : float
            Data loss plus ``alpha / (2 * weight_sum) * sum(||W||^2)`` over
            the Linear weights (scikit-learn's penalty since 1.7).
        """
        loss = self.loss_and_grad(X, Y, sample_weight)
        weight_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        return loss + self.l2_penalty(self.alpha, weight_sum)

    def step(self, X, Y, sample_weight=None):
        """Take one optimizer step on a batch; return its :meth:`objective`.

        A non-finite loss leaves the parameters untouched: the caller decides
        what divergence means.

        Parameters
        ----------
        X, Y : ndarray
            Batch inputs and 2-D targets.
        sample_weight : ndarray of shape (n_rows,) or None, default=None
            Row weights; None means weights of 1.

        Returns
        -------
        loss : float
            The objective before the step.
        """
        loss = self.objective(X, Y, sample_weight)
        if math.isfinite(loss):
            self.optimizer.step(self.grad)
            if self.weight_decay:
                rate = self.optimizer.epoch_learning_rate * self.weight_decay
                decay = np.multiply(
                    self.theta, self._scaled_mask(rate), out=self._scratch
                )
                self.theta -= decay
        return loss

    def _grad_views(self, flat):
        """Return ``{id(layer): {key: view of flat}}`` laid out like ``theta``."""
        params = self.network.parameters()
        views = iter(flat_views(flat, [param.shape for param in params]))
        return {
            id(layer): {key: next(views) for key in layer.params}
            for layer in self.network.layers
        }

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
        if sp.issparse(X):
            # scipy gathers sparse rows into a new CSR batch: O(nnz of the batch).
            return X[rows].astype(self.dtype, copy=False), Y[rows].astype(self.dtype)
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
        total = 0.0
        for chain in self.chains:
            out = X
            for block in chain:
                out = block.forward(out, batch)
            loss, d_out = self._loss(out, Y, batch)
            if len(self.chains) > 1:
                # The mean of the members' losses: each member's gradient is
                # its own loss's, scaled alike (Adam does not see the scale).
                # In place: d_out is the loss's own array or a buffer of ours.
                np.divide(d_out, len(self.chains), out=d_out)
            for block in reversed(chain):
                d_out = block.backward(d_out, batch)
            total += loss
        return total / len(self.chains)

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
        if self._has_bn:
            check_batch_rows(n)
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

    def _scaled_mask(self, scale):
        """Return ``weight_mask * scale``, cached: most batches share a scale."""
        scaled_mask = self._l2_masks.get(scale)
        if scaled_mask is None:
            if len(self._l2_masks) > 8:
                self._l2_masks.clear()
            scaled_mask = self._l2_masks[scale] = self.weight_mask * scale
        return scaled_mask

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
        weights = np.multiply(
            self.theta, self._scaled_mask(float(alpha) / weight_sum), out=self._scratch
        )
        penalty = float(np.dot(weights, self.theta))
        self.grad += weights
        return 0.5 * penalty


def _compile(layers, grads, max_batch, update_stats, *, dense_input=True):
    """Compile the stages of ``layers`` into fused and :class:`LayerStep` blocks."""
    blocks = []
    for stage in split_stages(layers):
        if stage.linear is not None:
            blocks.append(
                _linear_block(
                    stage, grads, max_batch, blocks, update_stats, dense_input
                )
            )
        for layer in stage.rest:
            # Parameterless layers in front of every parameter (an input BN):
            # nobody needs the gradient of what they see.
            need_dx = bool(layer.params) or not _data_only(blocks)
            blocks.append(
                LayerStep(layer, grads, update_stats=update_stats, need_dx=need_dx)
            )
    return blocks


def _data_only(blocks):
    """Whether ``blocks`` only transform the data (no parameter before them)."""
    return all(isinstance(b, LayerStep) and not b.need_dx for b in blocks)


def _linear_block(stage, grads, max_batch, blocks, update_stats, dense_input):
    """Return the fused block for ``Linear -> [bn] -> [activation]``."""
    linear, bn, act = stage.linear, stage.bn, stage.activation
    # The first block's input is the data (or the data standardized by an
    # input BN): nobody needs its gradient.
    first = _data_only(blocks)
    if first and dense_input and bn is not None and linear.n_in < linear.n_out:
        return CovarianceLinearBN(
            linear, bn, act, grads, max_batch, update_stats=update_stats
        )
    return LinearBNAct(
        linear,
        bn,
        act,
        grads,
        max_batch,
        need_dx=not first,
        update_stats=update_stats,
        sparse_input=first and not dense_input,
    )
