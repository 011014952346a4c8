"""Batch normalization with sample weights, and the weight normalization it shares.

``BatchNorm1d`` follows the layer protocol of :mod:`sknorm.nn._layers`;
``batch_probabilities`` is the one place that turns row weights into the
normalized weights ``p`` used by batch statistics and by the losses.
"""

import numpy as np

__all__ = ["BatchNorm1d", "batch_probabilities"]


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
    Sequential.compute_population_statistics : Replace the running statistics
        with statistics over a whole data set ("precise BN").

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

    def forward(self, x, *, training, sample_weight=None):
        """Normalize a batch; return ``(out, (x_hat, inv_std, p))``.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch.
        training : bool
            ``True``: normalize with the batch statistics and update the
            running ones. ``False``: normalize with the running statistics,
            write nothing, and return ``p=None`` in the cache.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the rows in the batch statistics; ignored in inference.

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
        if training:
            x_hat, inv_std, p = self._normalize_train(x, sample_weight)
        else:
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            x_hat = x - self.buffers["running_mean"]
            x_hat *= inv_std
            p = None
        if not self.affine:
            return x_hat, (x_hat, inv_std, p)
        out = x_hat * self.params["gamma"]
        out += self.params["beta"]
        return out, (x_hat, inv_std, p)

    def _normalize_train(self, x, sample_weight):
        """Return ``(x_hat, inv_std, p)`` from batch statistics; update buffers."""
        n_samples = x.shape[0]
        if n_samples < 2:
            raise ValueError(
                "BatchNorm1d needs more than 1 row per batch in training, got "
                f"n_samples={n_samples}. Use a larger batch, or training=False."
            )
        p, weight_sum = batch_probabilities(sample_weight, n_samples, x.dtype)
        batch_mean = p @ x
        x_hat = x - batch_mean
        batch_var = p @ (x_hat * x_hat)
        inv_std = 1.0 / np.sqrt(batch_var + self.eps)
        # x_hat held the centred batch; scaling in place saves an (n, d) copy.
        x_hat *= inv_std

        m = self.momentum
        bessel = weight_sum / (weight_sum - 1.0) if weight_sum > 1.0 else 1.0
        running_mean = self.buffers["running_mean"]
        running_var = self.buffers["running_var"]
        running_mean[...] = (1.0 - m) * running_mean + m * batch_mean
        running_var[...] = (1.0 - m) * running_var + (m * bessel) * batch_var
        return x_hat, inv_std, p

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
        x_hat, inv_std, p = cache
        dbeta = dout.sum(axis=0)
        dgamma = np.einsum("ij,ij->j", dout, x_hat)
        grads = {"gamma": dgamma, "beta": dbeta} if self.affine else {}
        if self.affine:
            gamma = self.params["gamma"]
            g, sum_g, sum_g_x_hat = dout * gamma, gamma * dbeta, gamma * dgamma
        else:
            g, sum_g, sum_g_x_hat = dout, dbeta, dgamma
        if p is None:
            return g * inv_std, grads
        # dx = inv_std * (g - p * (sum(g) + x_hat * sum(g * x_hat))), evaluated
        # in place: this is the training hot path and avoids (n, d) temporaries.
        dx = x_hat * sum_g_x_hat
        dx += sum_g
        dx *= p[:, None]
        np.subtract(g, dx, out=dx)
        dx *= inv_std
        return dx, grads

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
