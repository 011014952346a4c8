"""The blocks a :class:`~sknorm.nn._trainer.Trainer` compiles a network into.

``Linear -> [BatchNorm1d] -> [activation]`` runs as one :class:`LinearBNAct`
block that owns preallocated buffers: batch statistics are matrix-vector
products, the BN scale moves onto the (small) weight matrices in the
backward pass, and ReLU works in place. Any other layer runs through its own
``forward`` and ``backward`` in a :class:`LayerStep` block. The batch-norm
maths are the functions of :mod:`sknorm.nn._batchnorm`, which the reference
layer calls too; only :class:`CovarianceLinearBN` computes them in another
(faster, equivalent) form.

Everything here is written for a small-batch step, where the cost of a NumPy
call matters as much as its arithmetic: ``np.dot`` rather than ``matmul``
(less overhead on small products), views of the buffers cached per batch
size, constants kept as arrays of the network's dtype, and no broadcast pass
over ``(n, width)`` that a product or a narrower array can do instead (a
broadcast runs at half the speed of an element-wise pass).
"""

import numpy as np

from sknorm.nn._activations import Identity, ReLU
from sknorm.nn._batchnorm import (
    BatchNorm1d,
    centre_with_batch_statistics,
    normalize_backward,
    normalizing_scale,
    update_running_statistics,
)

__all__ = ["Batch", "CovarianceLinearBN", "LayerStep", "LinearBNAct"]

_dot = np.dot


def _input_product(a, b, out):
    """Return ``a @ b`` in ``out`` for a scipy sparse ``a`` (a batch or its transpose).

    scipy multiplies the sparse data by the dense ``b`` in O(nnz * width)
    without densifying it; the dense result is copied into the block's
    buffer. Only the first block of a Trainer built with ``sparse_input``
    calls it (decided once when the Trainer compiles the network).
    """
    out[...] = a @ b
    return out


class Batch:
    """What every block needs to know about the current batch.

    ``p`` holds the row weights normalized to sum to one (``1 / n`` when
    ``uniform``), ``inv_n`` is ``1 / n`` as a 0-d array of the network's
    dtype, ``weight_sum`` the sum of the raw weights.
    """

    __slots__ = ("inv_n", "n", "p", "sample_weight", "uniform", "weight_sum")


class _Rows:
    """Views of a block's buffers on the first ``n`` rows (a batch's rows)."""

    __slots__ = (
        "d",
        "dx",
        "mask",
        "ones",
        "out",
        "work",
        "xc",
        "xc_aug",
        "z",
        "zeros",
    )


class _BatchNormState:
    """Parameters, gradients and work vectors of a fused BatchNorm1d."""

    def __init__(self, bn, grads, n_features, dtype):
        self.bn = bn
        self.eps = np.array(bn.eps, dtype=dtype)
        self.gamma = bn.params.get("gamma")
        self.beta = bn.params.get("beta")
        vector = lambda: np.empty(n_features, dtype=dtype)  # noqa: E731
        # Without affine parameters their gradients go to scratch vectors.
        self.g_gamma = grads.get("gamma", vector())
        self.g_beta = grads.get("beta", vector())
        self.mean, self.var, self.std = vector(), vector(), vector()
        self.scale, self.coef, self.shift = vector(), vector(), vector()
        self.scale_column = self.scale[:, None]

    def set_scale(self):
        """Set ``std`` and ``scale`` from ``var`` (:func:`normalizing_scale`)."""
        normalizing_scale(self.var, self.eps, self.gamma, self.std, self.scale)

    def update_running(self, weight_sum):
        """Update the layer's running statistics from ``mean`` and ``var``."""
        update_running_statistics(
            self.bn.buffers,
            self.mean,
            self.var,
            self.bn.momentum,
            weight_sum,
            self.shift,
        )


class LinearBNAct:
    """``Linear -> [BatchNorm1d] -> [activation]`` with preallocated buffers.

    Buffers hold ``max_batch`` rows; a shorter batch uses their first rows
    (still contiguous). ``z`` keeps the (centred) pre-activation, ``out`` the
    output, ``d`` the gradient flowing back through the block.
    """

    def __init__(
        self,
        linear,
        bn,
        act,
        grads,
        max_batch,
        *,
        need_dx,
        update_stats,
        sparse_input=False,
    ):
        weight = linear.params["weight"]
        dtype, n_in, n_out = weight.dtype, linear.n_in, linear.n_out
        self.weight, self.weight_view_t = weight, weight.T
        self.bias = linear.params.get("bias")
        self.g_weight = grads[id(linear)]["weight"]
        self.g_bias = grads[id(linear)].get("bias")
        self.bn = None
        if bn is not None:
            self.bn = _BatchNormState(bn, grads[id(bn)], n_out, dtype)
        self.update_stats = update_stats
        self.relu = isinstance(act, ReLU)
        # Identity needs nothing; other activations run their own code.
        self.act = None if act is None or isinstance(act, (ReLU, Identity)) else act
        self.need_dx = need_dx
        self.sparse_input = sparse_input
        self.buffers = {
            "z": np.empty((max_batch, n_out), dtype),
            "d": np.empty((max_batch, n_out), dtype),
            "work": np.empty((max_batch, n_out), dtype),
            "ones": np.ones(max_batch, dtype),
        }
        if bn is not None:
            self.buffers["out"] = np.empty((max_batch, n_out), dtype)
        if self.relu:
            self.buffers["zeros"] = np.zeros((max_batch, n_out), dtype)
            self.buffers["mask"] = np.empty((max_batch, n_out), bool)
        if need_dx:
            self.buffers["dx"] = np.empty((max_batch, n_in), dtype)
            # BLAS is faster on a contiguous copy of the transposed weight.
            self.weight_t = np.empty((n_out, n_in), dtype)
        self._rows = {}

    def rows(self, n):
        """Return (and cache) the views of the buffers on ``n`` rows."""
        rows = self._rows.get(n)
        if rows is None:
            rows = self._rows[n] = _Rows()
            for name, buffer in self.buffers.items():
                setattr(rows, name, buffer[:n])
            if "out" not in self.buffers:
                rows.out = rows.z
        return rows

    def forward(self, x, batch):
        """Return the block's output for the rows ``x`` (training mode)."""
        r = self.r = self.rows(batch.n)
        self.x = x
        if self.sparse_input:
            z = _input_product(x, self.weight, r.z)
        else:
            z = _dot(x, self.weight, out=r.z)
        if self.bias is not None:
            z += self.bias
        out = z if self.bn is None else self._normalize(z, r, batch)
        return self._activate(out, r)

    def _activate(self, out, r):
        """Apply the activation (ReLU in place)."""
        if self.relu:
            return np.maximum(out, r.zeros, out=out)
        if self.act is not None:
            out, self.act_cache = self.act.forward(out, training=True)
        return out

    def _activation_grad(self, dout, r):
        """Return the gradient before the activation (ReLU's into ``d``)."""
        if self.relu:
            return np.multiply(dout, np.greater(r.out, r.zeros, out=r.mask), out=r.d)
        if self.act is not None:
            return self.act.backward(dout, self.act_cache)[0]
        return dout

    def _normalize(self, z, r, batch):
        """Centre ``z`` in place; return ``gamma * z / std + beta`` in ``out``."""
        s = self.bn
        centre_with_batch_statistics(z, batch.p, s.mean, s.var, z, r.work)
        s.set_scale()
        out = np.multiply(z, s.scale, out=r.out)
        if s.beta is not None:
            out += s.beta
        if self.update_stats:
            s.update_running(batch.weight_sum)
        return out

    def backward(self, dout, batch):
        """Write this block's gradients; return the gradient of its input.

        ``dout`` belongs to the step and may be overwritten.
        """
        r = self.r
        dz = self._activation_grad(dout, r)
        if self.bn is not None:
            dz = self._normalize_backward(dz, r, batch)
        elif self.g_bias is not None:
            _dot(r.ones, dz, out=self.g_bias)
        if self.sparse_input:
            _input_product(self.x.T, dz, self.g_weight)
        else:
            _dot(self.x.T, dz, out=self.g_weight)
        if self.bn is not None:
            # dz was left unscaled: (x.T @ u) * s == x.T @ (u * s).
            self.g_weight *= self.bn.scale
        return self._input_grad(dz, r) if self.need_dx else None

    def _normalize_backward(self, dy, r, batch):
        """Return ``u`` such that the pre-BN gradient is ``u * scale``."""
        s = self.bn
        p = None if batch.uniform else batch.p
        return normalize_backward(
            dy, r.z, s.std, p, r.ones, s.g_gamma, s.g_beta, s.coef, r.work
        )

    def _input_grad(self, dz, r):
        """Return ``(dz * scale) @ weight.T`` through a contiguous transpose."""
        weight_t = self.weight_t
        if self.bn is None:
            np.copyto(weight_t, self.weight_view_t)
        else:
            np.multiply(self.weight_view_t, self.bn.scale_column, out=weight_t)
        if weight_t.shape[0] == 1:
            # One output: an outer product, much cheaper than a k=1 product.
            return np.multiply(dz, weight_t, out=r.dx)
        return _dot(dz, weight_t, out=r.dx)


class CovarianceLinearBN(LinearBNAct):
    """First block ``Linear -> BatchNorm1d -> [activation]`` with few inputs.

    With ``n_in`` smaller than ``n_out`` (a handful of features feeding a
    wide layer), the row-wise work moves to the narrow centred input ``xc =
    x - mean(x)`` and to ``(n_in, n_out)`` matrices. With ``C = xc.T @
    diag(p) @ xc`` the weighted input covariance:

    - ``z - mean(z) = xc @ W``, so ``var(z) = sum(W * (C @ W), axis=0)``: no
      pass over ``(n, n_out)`` for the statistics (the rounding error of this
      quadratic form is of the order of the one of computing ``xc @ W``);
    - the output ``gamma * (z - mean(z)) / std + beta`` is one product
      ``[xc, 1] @ [[W * scale], [beta]]`` instead of two broadcast passes;
    - as the pre-BN gradient ``dz`` sums to zero over rows, ``x.T @ dz =
      xc.T @ dz``, which with ``G = xc.T @ dy`` is ``(G - (C @ W) * coef) *
      scale``, and ``sum(dy * (z - mean(z)), axis=0) = sum(W * G, axis=0)``.

    This is the one second form of the batch-norm statistics and backward
    pass in the engine, kept because it is faster where it applies (see the
    user guide's code map); ``tests/nn/test_batchnorm.py`` ties it to the
    :class:`~sknorm.nn.BatchNorm1d` layer to 1e-12.
    """

    def __init__(self, linear, bn, act, grads, max_batch, *, update_stats):
        super().__init__(
            linear, bn, act, grads, max_batch, need_dx=False, update_stats=update_stats
        )
        dtype, n_in, n_out = self.weight.dtype, linear.n_in, linear.n_out
        del self.buffers["z"], self.buffers["work"]  # no (n, n_out) statistics
        # The last column stays 1: it adds beta inside the forward product,
        # and gives sum(dy) as the last row of [xc, 1].T @ dy.
        self.buffers["xc_aug"] = np.ones((max_batch, n_in + 1), dtype)
        self.buffers["xc"] = self.buffers["xc_aug"][:, :-1]
        self.w_aug = np.zeros((n_in + 1, n_out), dtype)
        self.grad_aug = np.empty((n_in + 1, n_out), dtype)
        self.mean_x = np.empty(n_in, dtype)
        self.cov_w = np.empty((n_in, n_out), dtype)
        self.small = np.empty((n_in, n_out), dtype)
        self.cov = np.empty((n_in, n_in), dtype)
        self.ones_in = np.ones(n_in, dtype)

    def forward(self, x, batch):
        """Return the block's output for the rows ``x`` (training mode)."""
        s, w = self.bn, self.weight
        r = self.r = self.rows(batch.n)
        np.subtract(x, _dot(batch.p, x, out=self.mean_x), out=r.xc)
        if batch.uniform:
            np.matmul(r.xc.T, r.xc, out=self.cov)
            self.cov *= batch.inv_n
        else:
            np.matmul(r.xc.T, r.xc * batch.p[:, None], out=self.cov)
        cov_w = _dot(self.cov, w, out=self.cov_w)
        _dot(self.ones_in, np.multiply(w, cov_w, out=self.small), out=s.var)
        s.set_scale()
        np.multiply(w, s.scale, out=self.w_aug[:-1])
        if s.beta is not None:
            self.w_aug[-1] = s.beta
        out = _dot(r.xc_aug, self.w_aug, out=r.out)
        if self.update_stats:
            _dot(self.mean_x, w, out=s.mean)
            s.update_running(batch.weight_sum)
        return self._activate(out, r)

    def backward(self, dout, batch):
        """Write this block's gradients (the data needs no gradient)."""
        s, w, r = self.bn, self.weight, self.r
        dy = self._activation_grad(dout, r)
        _dot(r.xc_aug.T, dy, out=self.grad_aug)
        grad_in = self.grad_aug[:-1]
        np.copyto(s.g_beta, self.grad_aug[-1])
        _dot(self.ones_in, np.multiply(w, grad_in, out=self.small), out=s.g_gamma)
        s.g_gamma /= s.std
        coef = np.divide(s.g_gamma, s.std, out=s.coef)
        correction = np.multiply(self.cov_w, coef, out=self.small)
        np.subtract(grad_in, correction, out=self.g_weight)
        self.g_weight *= s.scale


class LayerStep:
    """Any other layer, run through its own ``forward`` and ``backward``.

    ``need_dx=False`` marks a parameterless layer in front of every
    parameter (an input BatchNorm1d without affine, a leading Dropout): its
    backward pass is skipped, as nobody needs the gradient of the data.
    """

    def __init__(self, layer, grads, *, update_stats, need_dx=True):
        self.layer, self.grads = layer, grads.get(id(layer), {})
        self.is_bn = isinstance(layer, BatchNorm1d)
        self.update_stats = update_stats
        self.need_dx = need_dx

    def forward(self, x, batch):
        """Return the layer's training-mode output, keeping its cache."""
        if self.is_bn:
            out, self.cache = self.layer.forward(
                x,
                training=True,
                sample_weight=batch.sample_weight,
                update_running=self.update_stats,
            )
        else:
            out, self.cache = self.layer.forward(x, training=True)
        return out

    def backward(self, dout, batch):
        """Copy the layer's gradients into the flat vector; return ``dx``."""
        if not self.need_dx and not self.grads:
            return None
        dx, grads = self.layer.backward(dout, self.cache)
        for key, view in self.grads.items():
            view[...] = grads[key]
        return dx
