"""Activation layers: identity, logistic, tanh, ReLU and leaky ReLU.

Each follows the layer protocol of :mod:`sknorm.nn._layers` with
``params = {}``: ``forward`` caches what ``backward`` needs (the output for
logistic and tanh, the input sign for the ReLUs).
"""

import numpy as np
from scipy.special import expit

__all__ = ["ACTIVATIONS", "Identity", "LeakyReLU", "Logistic", "ReLU", "Tanh"]


class _Activation:
    """Base of the parameterless element-wise activation layers.

    The layer protocol is documented once here; subclasses implement the
    maths in ``_apply`` (returning ``(out, cache)``) and ``_derivative``.
    """

    name = ""

    def __init__(self):
        self.params = {}
        self.buffers = {}

    def forward(self, x, *, training):
        """Apply the activation element-wise.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_units)
            Input batch.
        training : bool
            Unused: activations behave the same in training and inference.

        Returns
        -------
        out : ndarray of shape (n_samples, n_units)
            Activated batch.
        cache : ndarray or None
            What :meth:`backward` needs (the class docstring says which).
        """
        return self._apply(x)

    def backward(self, dout, cache):
        """Propagate the upstream gradient through the activation.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_units)
            Gradient of the loss with respect to ``out``.
        cache : ndarray or None
            The cache returned by :meth:`forward`.

        Returns
        -------
        dx : ndarray of shape (n_samples, n_units)
            Gradient of the loss with respect to ``x``.
        grads : dict
            Always empty: activations have no parameters.
        """
        return self._derivative(dout, cache), {}


class Identity(_Activation):
    """Identity activation, ``out = x``; the cache is None.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Identity
    >>> Identity().forward(np.array([[-1.0, 2.0]]), training=False)[0]
    array([[-1.,  2.]])
    """

    name = "identity"

    def _apply(self, x):
        # No copy: the output may alias the input, nothing writes to it.
        return x, None

    def _derivative(self, dout, cache):
        return dout


class Logistic(_Activation):
    """Logistic sigmoid, ``out = 1 / (1 + exp(-x))``; the cache is ``out``.

    Computed with ``scipy.special.expit``, which does not overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Logistic
    >>> Logistic().forward(np.array([[0.0, -1000.0]]), training=False)[0]
    array([[0.5, 0. ]])
    """

    name = "logistic"

    def _apply(self, x):
        # The derivative out * (1 - out) needs only the output.
        out = expit(x)
        return out, out

    def _derivative(self, dout, cache):
        out = cache
        return dout * out * (1.0 - out)


class Tanh(_Activation):
    """Hyperbolic tangent, ``out = tanh(x)``; the cache is ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import Tanh
    >>> layer = Tanh()
    >>> out, cache = layer.forward(np.array([[0.0, 1.0]]), training=True)
    >>> layer.backward(np.ones((1, 2)), cache)[0].round(3)
    array([[1.   , 0.42]])
    """

    name = "tanh"

    def _apply(self, x):
        # The derivative 1 - out**2 needs only the output.
        out = np.tanh(x)
        return out, out

    def _derivative(self, dout, cache):
        out = cache
        return dout * (1.0 - out * out)


class ReLU(_Activation):
    """Rectified linear activation, ``out = max(x, 0)``; the cache is ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import ReLU
    >>> layer = ReLU()
    >>> out, cache = layer.forward(np.array([[-1.0, 2.0]]), training=True)
    >>> out
    array([[0., 2.]])
    >>> layer.backward(np.array([[5.0, 5.0]]), cache)
    (array([[0., 5.]]), {})
    """

    name = "relu"

    def _apply(self, x):
        # out > 0 exactly where x > 0, so out serves as the derivative's mask.
        out = np.maximum(x, 0)
        return out, out

    def _derivative(self, dout, cache):
        out = cache
        return dout * (out > 0)


class LeakyReLU(_Activation):
    """Leaky rectified linear activation; the cache is ``x``.

    ``out = x`` where ``x > 0``, else ``negative_slope * x``.

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn import LeakyReLU
    >>> LeakyReLU(0.1).forward(np.array([[-1.0, 2.0]]), training=False)[0]
    array([[-0.1,  2. ]])
    """

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def _apply(self, x):
        return np.where(x > 0, x, x * self.negative_slope), x

    def _derivative(self, dout, cache):
        x = cache
        return np.where(x > 0, dout, dout * self.negative_slope)


#: Activation layer classes by the names scikit-learn's MLP uses (+ leaky_relu).
ACTIVATIONS = {cls.name: cls for cls in (Identity, Logistic, Tanh, ReLU, LeakyReLU)}
