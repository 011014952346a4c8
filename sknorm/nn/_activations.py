"""Activation layers: identity, logistic, tanh, ReLU and leaky ReLU.

Each follows the layer protocol of :mod:`sknorm.nn._layers` with
``params = {}``: ``forward`` caches what ``backward`` needs (the output for
logistic and tanh, the input sign for the ReLUs).
"""

import numpy as np
from scipy.special import expit

__all__ = ["ACTIVATIONS", "Identity", "LeakyReLU", "Logistic", "ReLU", "Tanh"]


class _Activation:
    """Base of the parameterless element-wise activation layers."""

    name = ""

    def __init__(self):
        self.params = {}
        self.buffers = {}


class Identity(_Activation):
    """Identity activation, ``out = x``."""

    name = "identity"

    def forward(self, x, *, training):
        """Return ``(x, None)`` without copying ``x``."""
        return x, None

    def backward(self, dout, cache):
        """Return ``(dout, {})``."""
        return dout, {}


class Logistic(_Activation):
    """Logistic sigmoid activation, ``out = 1 / (1 + exp(-x))``, overflow-safe."""

    name = "logistic"

    def forward(self, x, *, training):
        """Return ``(expit(x), out)``; the derivative only needs ``out``."""
        out = expit(x)
        return out, out

    def backward(self, dout, cache):
        """Return ``(dout * out * (1 - out), {})``."""
        out = cache
        return dout * out * (1.0 - out), {}


class Tanh(_Activation):
    """Hyperbolic tangent activation."""

    name = "tanh"

    def forward(self, x, *, training):
        """Return ``(tanh(x), out)``; the derivative only needs ``out``."""
        out = np.tanh(x)
        return out, out

    def backward(self, dout, cache):
        """Return ``(dout * (1 - out**2), {})``."""
        out = cache
        return dout * (1.0 - out * out), {}


class ReLU(_Activation):
    """Rectified linear activation, ``out = max(x, 0)``."""

    name = "relu"

    def forward(self, x, *, training):
        """Return ``(max(x, 0), out)``; ``out > 0`` exactly where ``x > 0``."""
        out = np.maximum(x, 0)
        return out, out

    def backward(self, dout, cache):
        """Return ``(dout * (out > 0), {})``."""
        out = cache
        return dout * (out > 0), {}


class LeakyReLU(_Activation):
    """Leaky rectified linear activation, ``out = x if x > 0 else slope * x``.

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x, *, training):
        """Return ``(leaky_relu(x), x)``."""
        return np.where(x > 0, x, x * self.negative_slope), x

    def backward(self, dout, cache):
        """Return ``(dout where x > 0 else slope * dout, {})``."""
        x = cache
        return np.where(x > 0, dout, dout * self.negative_slope), {}


#: Activation layer classes by the names scikit-learn's MLP uses (+ leaky_relu).
ACTIVATIONS = {cls.name: cls for cls in (Identity, Logistic, Tanh, ReLU, LeakyReLU)}
