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

# Re-exported so that every layer imports from one module.
from sknorm.nn._activations import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    Logistic,
    ReLU,
    Tanh,
)
from sknorm.nn._batchnorm import BatchNorm1d, batch_probabilities

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
    "batch_probabilities",
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
        """Apply the affine map ``x @ weight + bias``.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_in)
            Input batch.
        training : bool
            Unused: the layer behaves the same in training and inference.

        Returns
        -------
        out : ndarray of shape (n_samples, n_out)
            Output batch.
        cache : ndarray of shape (n_samples, n_in)
            ``x`` itself, which the weight gradient needs.
        """
        out = x @ self.params["weight"]
        if "bias" in self.params:
            out += self.params["bias"]
        return out, x

    def backward(self, dout, cache, *, need_dx=True):
        """Propagate the upstream gradient; return the input and parameter grads.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_out)
            Gradient of the loss with respect to the output.
        cache : ndarray of shape (n_samples, n_in)
            The cache returned by :meth:`forward`.
        need_dx : bool, default=True
            A network's first layer passes False: nobody needs the gradient
            of the data, and it would cost a matmul.

        Returns
        -------
        dx : ndarray of shape (n_samples, n_in) or None
            Gradient with respect to the input; None when not ``need_dx``.
        grads : dict
            Gradients keyed like ``params`` (``"weight"``, ``"bias"``).
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

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Dropout
    >>> layer = Dropout(0.5, rng=np.random.default_rng(0))
    >>> out, mask = layer.forward(np.ones((2, 4)), training=True)
    >>> sorted(set(out.ravel().tolist()))  # survivors scaled by 1 / (1 - rate)
    [0.0, 2.0]
    >>> layer.forward(np.ones((1, 2)), training=False)[0]  # inference: identity
    array([[1., 1.]])
    """

    def __init__(self, rate, *, rng=None):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}.")
        self.rate = float(rate)
        self.rng = rng
        self.params = {}
        self.buffers = {}

    def forward(self, x, *, training):
        """Zero inputs at random in training; the identity in inference.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_units)
            Input batch.
        training : bool
            True draws a fresh mask from ``rng``; False (or ``rate == 0``)
            returns ``x`` itself, without copying.

        Returns
        -------
        out : ndarray of shape (n_samples, n_units)
            ``x * mask / (1 - rate)``, or ``x``.
        cache : ndarray of shape (n_samples, n_units) or None
            The scaled mask ``mask / (1 - rate)``, or None when not dropping.
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
        """Propagate the upstream gradient through the same mask.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_units)
            Gradient of the loss with respect to the output.
        cache : ndarray of shape (n_samples, n_units) or None
            The cache returned by :meth:`forward`.

        Returns
        -------
        dx : ndarray of shape (n_samples, n_units)
            ``dout`` times the scaled mask (``dout`` itself without a mask).
        grads : dict
            Always empty: dropout has no parameters.
        """
        mask = cache
        return (dout if mask is None else dout * mask), {}
