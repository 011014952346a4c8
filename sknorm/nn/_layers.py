"""Layers of the engine: Linear, BatchNorm1d, Dropout and activations.

Every layer follows one protocol: trainable arrays live in ``params`` (a
dict, ``{}`` if none), non-trainable state in ``buffers``, and::

    out, cache = layer.forward(x, training=...)
    dx, grads = layer.backward(dout, cache)   # grads has the keys of params

The caller keeps the cache: layers never store their last input or output,
so running a layer in inference mode writes nothing.

Scalars given by the user (``eps``, ``momentum``, ``rate``, ``negative_slope``)
are stored as Python floats: under NumPy's promotion rules a Python float keeps
a float32 array float32, whereas a float64 NumPy scalar would upcast it.
"""

import numpy as np

# Re-exported so that ``from sknorm.nn._layers import ReLU`` keeps working.
from sknorm.nn._activations import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    Logistic,
    ReLU,
    Tanh,
)

__all__ = [
    "ACTIVATIONS",
    "BatchNorm1d",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Logistic",
    "ReLU",
    "Tanh",
    "init_bound",
]


def init_bound(n_in, n_out, *, activation="relu", init="glorot"):
    """Return the half-width ``b`` of the uniform initialization ``U(-b, b)``.

    Parameters
    ----------
    n_in, n_out : int
        Numbers of inputs (fan-in) and outputs (fan-out) of the layer.
    activation : str, default="relu"
        Activation following the layer; only ``"logistic"`` changes the
        Glorot bound.
    init : {"glorot", "he"}, default="glorot"
        ``"glorot"`` is scikit-learn's MLP rule, ``sqrt(factor / (n_in + n_out))``
        with ``factor = 2`` for the logistic activation and 6 otherwise;
        ``"he"`` is ``sqrt(6 / n_in)``.

    Returns
    -------
    bound : float
        The half-width of the uniform distribution.

    Examples
    --------
    >>> from sknorm.nn._layers import init_bound
    >>> init_bound(4, 2)
    1.0
    >>> init_bound(4, 2, activation="logistic") ** 2
    0.333...
    """
    if init == "glorot":
        factor = 2.0 if activation == "logistic" else 6.0
        return float(np.sqrt(factor / (n_in + n_out)))
    if init == "he":
        return float(np.sqrt(6.0 / n_in))
    raise ValueError(f"init must be 'glorot' or 'he', got {init!r}.")


class Linear:
    """Affine layer ``out = x @ weight + bias``.

    The weight has shape ``(n_in, n_out)`` so that a batch multiplies it from
    the left, as in scikit-learn's ``coefs_``; PyTorch's ``nn.Linear`` stores
    the transpose, ``(n_out, n_in)``.

    Parameters
    ----------
    n_in : int
        Number of input features.
    n_out : int
        Number of output features.
    bias : bool, default=True
        Whether to add a bias. A Linear directly followed by BatchNorm1d does
        not need one: the batch mean removes it and ``beta`` replaces it.
    rng : numpy.random.Generator or None, default=None
        Source of the initial values; ``weight`` is drawn first, then ``bias``.
        With ``None`` all parameters start at zero (layers never create RNGs).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Floating dtype of the parameters.
    init_bound : float or None, default=None
        Half-width ``b`` of the uniform initialization ``U(-b, b)``. ``None``
        uses scikit-learn's Glorot rule ``sqrt(6 / (n_in + n_out))``.

    Attributes
    ----------
    n_in, n_out : int
        Numbers of input and output features.
    params : dict of str to ndarray
        ``"weight"`` of shape ``(n_in, n_out)`` and, if ``bias``, ``"bias"``
        of shape ``(n_out,)``.
    buffers : dict
        Always empty.

    See Also
    --------
    init_bound : Initialization bound for other activations or He's rule.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layers import Linear
    >>> layer = Linear(3, 2, rng=np.random.default_rng(0))
    >>> out, cache = layer.forward(np.ones((4, 3)), training=True)
    >>> dx, grads = layer.backward(np.ones_like(out), cache)
    >>> out.shape, dx.shape, grads["weight"].shape
    ((4, 2), (4, 3), (3, 2))
    """

    def __init__(
        self, n_in, n_out, *, bias=True, rng=None, dtype=np.float64, init_bound=None
    ):
        self.n_in = n_in
        self.n_out = n_out
        bound = np.sqrt(6.0 / (n_in + n_out)) if init_bound is None else init_bound
        shapes = {"weight": (n_in, n_out)}
        if bias:
            shapes["bias"] = (n_out,)
        # Dict order fixes the draw order (weight, then bias), as in scikit-learn.
        self.params = {
            key: (
                np.zeros(shape, dtype=dtype)
                if rng is None
                else rng.uniform(-bound, bound, shape).astype(dtype, copy=False)
            )
            for key, shape in shapes.items()
        }
        self.buffers = {}

    def forward(self, x, *, training):
        """Return ``(x @ weight + bias, x)``; both modes behave the same."""
        out = x @ self.params["weight"]
        if "bias" in self.params:
            out += self.params["bias"]
        return out, x

    def backward(self, dout, cache, *, need_dx=True):
        """Return ``(dx, grads)``; ``dx`` is ``None`` when not ``need_dx``.

        A network's first layer passes ``need_dx=False``: nobody needs the
        gradient of the data, and it would cost a matmul.
        """
        x = cache
        grads = {"weight": x.T @ dout}
        if "bias" in self.params:
            grads["bias"] = dout.sum(axis=0)
        dx = dout @ self.params["weight"].T if need_dx else None
        return dx, grads


class Dropout:
    """Inverted dropout: zero inputs with probability ``rate`` while training.

    Surviving inputs are scaled by ``1 / (1 - rate)`` so the expected output
    equals the input and inference is the identity.

    Parameters
    ----------
    rate : float
        Probability of zeroing an input, in ``[0, 1)``.
    rng : numpy.random.Generator or None, default=None
        Source of the masks. A public attribute: estimators assign a fresh
        generator at each fit. Required to train with ``rate > 0``.

    Attributes
    ----------
    params, buffers : dict
        Always empty (``rate`` and ``rng`` are stored under their own names).
    """

    def __init__(self, rate, *, rng=None):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.rng = rng
        self.params = {}
        self.buffers = {}

    def forward(self, x, *, training):
        """Return ``(x * mask / (1 - rate), mask / (1 - rate))`` with a fresh mask.

        In inference or with ``rate == 0``, return ``(x, None)`` without copying.
        """
        if not training or self.rate == 0.0:
            return x, None
        if self.rng is None:
            raise ValueError("Dropout needs an rng to train with rate > 0.")
        # Folding the scale into the mask makes backward a single product.
        mask = (self.rng.random(x.shape) >= self.rate).astype(x.dtype)
        mask *= 1.0 / (1.0 - self.rate)
        return x * mask, mask

    def backward(self, dout, cache):
        """Return ``(dout * mask / (1 - rate), {})`` (``dout`` if no mask)."""
        mask = cache
        return (dout if mask is None else dout * mask), {}


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
        """Return ``(dx, grads)``; ``grads`` is empty when not ``affine``.

        In training ``dx`` accounts for every row moving the batch statistics;
        after an inference forward the running statistics are constants.
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
