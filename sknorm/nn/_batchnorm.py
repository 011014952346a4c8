"""Batch normalization with sample weights: its maths, written once, and the layer.

The functions here are the one place where each piece of batch-norm maths
lives: row weights to normalized weights (``batch_probabilities``, shared
with the losses), centring with the batch statistics
(``centre_with_batch_statistics``), the normalizing scale
(``normalizing_scale``), the backward pass (``normalize_backward``), the
running-statistics update (``update_running_statistics``) and the affine map
of inference (``inference_scale_shift``, which folding merges into Linears).

:class:`BatchNorm1d` is the reference layer (its gradients are checked by
finite differences) and calls them with freshly allocated arrays; the fused
training step (:mod:`sknorm.nn._fused`) calls the same functions with
preallocated buffers, so both compute bit for bit the same numbers.
Every kernel writes into ``out=`` arrays: in a small-batch step the cost of
an allocation matters as much as the arithmetic.
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "BatchNorm1d",
    "batch_probabilities",
    "centre_with_batch_statistics",
    "check_batch_rows",
    "inference_scale_shift",
    "normalize_backward",
    "normalizing_scale",
    "update_running_statistics",
]

_dot = np.dot


class _InferenceCache(NamedTuple):
    """What an inference-mode :meth:`BatchNorm1d.backward` needs."""

    x: np.ndarray
    scale: np.ndarray
    mean: np.ndarray
    inv_std: np.ndarray


def check_batch_rows(n_samples):
    """Raise a ValueError unless a training batch has the two rows BN needs.

    One row has no variance: its normalized value would be 0 whatever the
    input, and PyTorch raises too. The one place this rule is checked in the
    engine (the layer and the fused step call it).

    Parameters
    ----------
    n_samples : int
        Rows in the batch.
    """
    if n_samples < 2:
        raise ValueError(
            "BatchNorm1d needs more than 1 row per batch in training, got "
            f"n_samples={n_samples}. Use a larger batch, or training=False."
        )


def batch_probabilities(sample_weight, n_samples, dtype):
    """Return ``(p, weight_sum)`` with ``p = w / w.sum()`` cast to ``dtype``.

    The one place that turns row weights into the normalized weights ``p``
    used by batch statistics (BatchNorm1d, the fused Trainer) and by the
    losses; ``sample_weight=None`` means equal weights.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Row weights.
    n_samples : int
        Number of rows.
    dtype : numpy dtype
        dtype of ``p``.

    Returns
    -------
    p : ndarray of shape (n_samples,)
        Normalized weights, summing to one.
    weight_sum : float
        Sum of the raw weights (``n_samples`` without weights).
    """
    if sample_weight is None:
        return np.full(n_samples, 1.0 / n_samples, dtype=dtype), float(n_samples)
    sample_weight = np.asarray(sample_weight)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {sample_weight.shape}."
        )
    weight_sum = float(sample_weight.sum(dtype=np.float64))
    if not weight_sum > 0.0:
        raise ValueError(
            f"The sum of sample_weight is zero or negative (got {weight_sum}): "
            "batch statistics and the loss need a positive sum."
        )
    return (sample_weight / weight_sum).astype(dtype, copy=False), weight_sum


def centre_with_batch_statistics(x, p, mean, var, out, work):
    """Write the weighted batch mean and biased variance; centre ``x`` into ``out``.

    ``mean = p @ x``, ``out = x - mean`` and ``var = p @ out**2`` (biased: this
    is what normalizes the batch). ``out`` may be ``x`` itself (in place).

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features)
        The batch.
    p : ndarray of shape (n_samples,)
        Normalized row weights (:func:`batch_probabilities`).
    mean, var : ndarray of shape (n_features,)
        Receive the batch statistics.
    out, work : ndarray of shape (n_samples, n_features)
        Receive the centred batch; scratch for the squares.
    """
    _dot(p, x, out=mean)
    np.subtract(x, mean, out=out)
    _dot(p, np.multiply(out, out, out=work), out=var)


def normalizing_scale(var, eps, gamma, std, scale):
    """Write ``std = sqrt(var + eps)`` and ``scale = gamma / std`` (``1 / std``).

    Parameters
    ----------
    var : ndarray of shape (n_features,)
        Batch variance.
    eps : float or ndarray
        Added to the variance (an array of the network's dtype keeps float32).
    gamma : ndarray of shape (n_features,) or None
        Learned scale; None without affine parameters.
    std, scale : ndarray of shape (n_features,)
        Receive the results.
    """
    np.add(var, eps, out=std)
    np.sqrt(std, out=std)
    if gamma is None:
        np.reciprocal(std, out=scale)
    else:
        np.divide(gamma, std, out=scale)


def normalize_backward(dy, z, std, p, ones, dgamma, dbeta, coef, work):
    """Return ``u`` such that the gradient before normalization is ``u * scale``.

    With ``x_hat = z / std`` (``z`` the centred batch) and ``scale = gamma /
    std``, the gradient of the input is ``scale * (dy - p * (sum(dy) + x_hat
    * dgamma))``; the product by ``scale`` is left to the caller (the fused
    step moves it onto the smaller weight matrices). ``dy`` is overwritten.

    Parameters
    ----------
    dy : ndarray of shape (n_samples, n_features)
        Gradient of the loss with respect to the normalized output; becomes
        ``u``.
    z : ndarray of shape (n_samples, n_features)
        The centred batch (forward's ``out`` of
        :func:`centre_with_batch_statistics`).
    std : ndarray of shape (n_features,)
        ``sqrt(batch_var + eps)``.
    p : ndarray of shape (n_samples,) or None
        Normalized row weights; None for equal weights (a cheaper path).
    ones : ndarray of shape (n_samples,)
        Ones: column sums as products, faster than ``sum`` on small batches.
    dgamma, dbeta, coef : ndarray of shape (n_features,)
        Receive ``sum(dy * x_hat)``, ``sum(dy)`` and scratch.
    work : ndarray of shape (n_samples, n_features)
        Scratch.

    Returns
    -------
    u : ndarray of shape (n_samples, n_features)
        ``dy`` itself, updated in place.
    """
    n = dy.shape[0]
    _dot(ones, dy, out=dbeta)
    _dot(ones, np.multiply(dy, z, out=work), out=dgamma)
    dgamma /= std
    # coef = dgamma / std: the coefficient of z (not x_hat) below.
    np.divide(dgamma, std, out=coef)
    if p is None:
        inv_n = 1.0 / n
        coef *= inv_n
        dy -= np.multiply(z, coef, out=work)
        dy -= np.multiply(dbeta, inv_n, out=coef)
    else:
        np.multiply(z, coef, out=work)
        work += dbeta
        work *= p[:, None]
        dy -= work
    return dy


def update_running_statistics(buffers, mean, var, momentum, weight_sum, scratch):
    """Move the running statistics towards a batch's (PyTorch convention).

    ``running = (1 - momentum) * running + momentum * batch``, the variance
    Bessel-corrected by ``W / (W - 1)`` with ``W`` the batch's weight sum (1
    when ``W <= 1``, where it is undefined).

    Parameters
    ----------
    buffers : dict of str to ndarray
        A BatchNorm1d's ``buffers``, updated in place.
    mean, var : ndarray of shape (n_features,)
        The batch's mean and biased variance.
    momentum : float
        Weight of the new batch.
    weight_sum : float
        Sum of the batch's row weights (its row count without weights).
    scratch : ndarray of shape (n_features,)
        Work vector.
    """
    bessel = weight_sum / (weight_sum - 1.0) if weight_sum > 1.0 else 1.0
    for name, value, factor in (
        ("running_mean", mean, momentum),
        ("running_var", var, momentum * bessel),
    ):
        running = buffers[name]
        running *= 1.0 - momentum
        running += np.multiply(value, factor, out=scratch)


def inference_scale_shift(bn):
    """Return ``(s, t)`` in float64 such that inference BN is ``x * s + t``.

    ``s = gamma / sqrt(running_var + eps)`` and ``t = beta - running_mean *
    s`` (``gamma = 1``, ``beta = 0`` without affine parameters). The layer's
    inference forward and the folding into Linears both use it.

    Parameters
    ----------
    bn : BatchNorm1d
        The layer.

    Returns
    -------
    scale, shift : ndarray of shape (n_features,), dtype float64
    """
    mean = bn.buffers["running_mean"].astype(np.float64)
    var = bn.buffers["running_var"].astype(np.float64)
    scale = 1.0 / np.sqrt(var + bn.eps)
    shift = -mean * scale
    if bn.affine:
        gamma = bn.params["gamma"].astype(np.float64)
        scale *= gamma
        shift = shift * gamma + bn.params["beta"]
    return scale, shift


class BatchNorm1d:
    """Batch normalization over the rows of a 2-D batch, with sample weights.

    In training, each feature is standardized with the sample-weighted
    statistics of the batch and the running statistics are updated; in
    inference, the running statistics (buffers) are used and nothing is
    written, so a row's output does not depend on the other rows.

    Parameters
    ----------
    n_features : int
        Number of features (columns) to normalize.
    momentum : float, default=0.1
        Weight of the *new* batch in the running statistics (PyTorch
        convention; Keras' ``momentum=0.9`` corresponds to 0.1 here).
    eps : float, default=1e-5
        Added to the variance for numerical stability.
    affine : bool, default=True
        Whether to learn a per-feature scale ``gamma`` and shift ``beta``.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Floating dtype of the parameters and buffers.

    Attributes
    ----------
    n_features, momentum, eps, affine
        The parameters of the same names (``momentum`` and ``eps`` as floats).
    params : dict of str to ndarray
        ``"gamma"`` (ones) and ``"beta"`` (zeros) of shape ``(n_features,)``;
        empty when not ``affine``.
    buffers : dict of str to ndarray
        ``"running_mean"`` (zeros) and ``"running_var"`` (ones) of shape
        ``(n_features,)``; never seen by the optimizer.

    See Also
    --------
    population_statistics : Replace the running statistics with statistics
        over a whole data set ("precise BN").

    Notes
    -----
    Training, with weights ``w`` (all ones by default), ``W = sum(w)`` and
    ``p = w / W``::

        batch_mean = sum_i p_i x_i
        batch_var  = sum_i p_i (x_i - batch_mean)**2          # biased
        x_hat      = (x - batch_mean) / sqrt(batch_var + eps)
        out        = gamma * x_hat + beta                     # x_hat if not affine
        running_mean = (1 - momentum) running_mean + momentum batch_mean
        running_var  = (1 - momentum) running_var + momentum W/(W-1) batch_var

    Inference::

        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta

    The biased variance normalizes the batch, while ``running_var`` stores the
    unbiased one (as PyTorch does). With weights the Bessel factor is
    ``W / (W - 1)``: it equals ``n / (n - 1)`` without weights and keeps
    integer weights equivalent to repeated rows. When ``W <= 1`` (for instance
    weights normalized to sum to one) the factor is undefined and 1 is used.

    Rows of zero weight do not affect the statistics but are still normalized.
    Training needs at least two rows, since one row has no variance.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layers import BatchNorm1d
    >>> bn = BatchNorm1d(2)
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> out, cache = bn.forward(x, training=True)
    >>> out.round(3)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.buffers["running_mean"]
    array([0.2, 2. ])
    """

    def __init__(
        self, n_features, *, momentum=0.1, eps=1e-5, affine=True, dtype=np.float64
    ):
        self.n_features = n_features
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.affine = affine
        self.params = {}
        if affine:
            self.params["gamma"] = np.ones(n_features, dtype=dtype)
            self.params["beta"] = np.zeros(n_features, dtype=dtype)
        self.buffers = {
            "running_mean": np.zeros(n_features, dtype=dtype),
            "running_var": np.ones(n_features, dtype=dtype),
        }

    def forward(self, x, *, training, sample_weight=None, update_running=True):
        """Normalize a batch; return ``(out, cache)``.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch.
        training : bool
            ``True``: normalize with the batch statistics. ``False``:
            normalize with the running statistics and write nothing.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the rows in the batch statistics; ignored in inference.
        update_running : bool, default=True
            In training, whether the batch statistics update the running
            ones. ``False`` leaves every buffer untouched (a probe, or running
            statistics that population statistics will replace anyway).

        Returns
        -------
        out : ndarray of shape (n_samples, n_features)
            Normalized batch.
        cache : tuple
            What :meth:`backward` needs.
        """
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"BatchNorm1d expects shape (n_samples, {self.n_features}), "
                f"got {x.shape}."
            )
        if not training:
            scale, shift = inference_scale_shift(self)
            scale = scale.astype(x.dtype)
            out = x * scale
            out += shift.astype(x.dtype)
            return out, _InferenceCache(x, scale, *self._frozen_statistics())
        n_samples = x.shape[0]
        check_batch_rows(n_samples)
        p, weight_sum = batch_probabilities(sample_weight, n_samples, x.dtype)
        mean, var, std, scale = np.empty((4, self.n_features), dtype=x.dtype)
        z = np.empty_like(x)
        centre_with_batch_statistics(x, p, mean, var, z, np.empty_like(x))
        normalizing_scale(var, self.eps, self.params.get("gamma"), std, scale)
        out = z * scale
        if self.affine:
            out += self.params["beta"]
        if update_running:
            scratch = np.empty_like(mean)
            update_running_statistics(
                self.buffers, mean, var, self.momentum, weight_sum, scratch
            )
        return out, (z, std, scale, None if sample_weight is None else p)

    def backward(self, dout, cache):
        """Propagate the upstream gradient through the normalization.

        After a training forward, ``dx`` accounts for every row moving the
        batch statistics; after an inference forward the running statistics
        are constants.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_features)
            Gradient of the loss with respect to the output.
        cache : tuple
            The cache returned by :meth:`forward`.

        Returns
        -------
        dx : ndarray of shape (n_samples, n_features)
            Gradient with respect to the input.
        grads : dict
            ``"gamma"`` and ``"beta"`` gradients; empty when not ``affine``.
        """
        if isinstance(cache, _InferenceCache):
            # An affine map of the statistics frozen at forward time.
            x_hat = (cache.x - cache.mean) * cache.inv_std
            grads = {}
            if self.affine:
                grads = {
                    "gamma": np.einsum("ij,ij->j", dout, x_hat),
                    "beta": dout.sum(axis=0),
                }
            return dout * cache.scale, grads
        z, std, scale, p = cache
        dgamma, dbeta, coef = np.empty((3, self.n_features), dtype=dout.dtype)
        ones = np.ones(dout.shape[0], dtype=dout.dtype)
        u = normalize_backward(
            dout.copy(), z, std, p, ones, dgamma, dbeta, coef, np.empty_like(z)
        )
        grads = {"gamma": dgamma, "beta": dbeta} if self.affine else {}
        return u * scale, grads

    def _frozen_statistics(self):
        """Return copies of the running mean and ``1 / sqrt(running_var + eps)``.

        Copies: a gradient must not see buffers written after the forward pass.
        """
        mean = self.buffers["running_mean"].copy()
        return mean, 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)

    def set_statistics(self, mean, var):
        """Overwrite ``running_mean`` and ``running_var`` in place.

        Parameters
        ----------
        mean, var : array-like of shape (n_features,)
            The new statistics, cast to the buffers' dtype.
        """
        for key, value in (("running_mean", mean), ("running_var", var)):
            if np.shape(value) != (self.n_features,):
                raise ValueError(
                    f"{key} must have shape ({self.n_features},), "
                    f"got {np.shape(value)}."
                )
            self.buffers[key][...] = value
