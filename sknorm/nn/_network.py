"""Sequential: a chain of layers and its parameters, as arrays or one vector.

A container: it runs the layers forward and backward (the reference path,
checked by finite differences; training runs the fused
:class:`~sknorm.nn.Trainer`, which compiles the same layers), predicts layer
by layer, and exposes the parameters as a list, as views of one flat vector
(:meth:`Sequential.flat_parameters`) or as float64 copies, and its whole
state as a snapshot.
"""

import copy

import numpy as np

from sknorm.nn._flat import flat_base, flat_views
from sknorm.nn._layers import BatchNorm1d, Linear

__all__ = ["Sequential"]


class Sequential:
    """A chain of layers applied one after the other.

    It runs the layers forward and backward, passes ``sample_weight`` to the
    BatchNorm1d layers, and exposes the parameters as a list (for the
    optimizers) or as one vector. It holds no training logic.

    Parameters
    ----------
    layers : iterable of layers
        The layers, from input to output, following the protocol described
        in :mod:`sknorm.nn._layers` (``params``, ``buffers``, ``forward``,
        ``backward``).

    Attributes
    ----------
    layers : list of layers
        The layers, from input to output.

    See Also
    --------
    fold_batchnorm : Merge BatchNorm1d layers into Linears for fast inference.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._layers import BatchNorm1d, Linear, ReLU
    >>> from sknorm.nn._network import Sequential
    >>> rng = np.random.default_rng(0)
    >>> layers = [Linear(3, 4, bias=False, rng=rng), BatchNorm1d(4), ReLU()]
    >>> net = Sequential([*layers, Linear(4, 1, rng=rng)])
    >>> x = rng.standard_normal((8, 3))
    >>> out, caches = net.forward(x, training=True)
    >>> grads = net.backward(np.ones_like(out), caches)
    >>> out.shape, len(grads), net.get_flat_params().shape
    ((8, 1), 4, (25,))
    >>> net.predict(x).shape
    (8, 1)
    """

    def __init__(self, layers):
        self.layers = list(layers)

    @property
    def members(self):
        """Return the member networks: this one alone (a Parallel has several)."""
        return [self]

    def forward(self, x, *, training, sample_weight=None):
        """Run every layer, keeping the caches for :meth:`backward`.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch.
        training : bool
            Mode of every layer (batch statistics and dropout when ``True``).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Passed to the BatchNorm1d layers only; the loss weighs the rows.

        Returns
        -------
        out : ndarray of shape (n_samples, n_outputs)
            Output of the last layer.
        caches : list
            One cache per layer.
        """
        caches = []
        out = x
        for layer in self.layers:
            if isinstance(layer, BatchNorm1d):
                out, cache = layer.forward(
                    out, training=training, sample_weight=sample_weight
                )
            else:
                out, cache = layer.forward(out, training=training)
            caches.append(cache)
        return out, caches

    def backward(self, dout, caches):
        """Backpropagate ``dout`` through every layer.

        Parameters
        ----------
        dout : ndarray of shape (n_samples, n_outputs)
            Gradient of the loss with respect to the network output.
        caches : list
            The caches returned by :meth:`forward`.

        Returns
        -------
        grads_list : list of dict
            One gradient dict per layer, aligned with ``layers`` (``{}`` for
            layers without parameters).
        """
        if len(caches) != len(self.layers):
            raise ValueError(f"Got {len(caches)} caches for {len(self.layers)} layers.")
        grads_list = [None] * len(self.layers)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and isinstance(layer, Linear):
                # Nobody consumes the gradient of the input data.
                _, grads_list[i] = layer.backward(dout, caches[i], need_dx=False)
            else:
                dout, grads_list[i] = layer.backward(dout, caches[i])
        return grads_list

    def predict(self, x):
        """Run every layer in inference mode, keeping no caches.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Input batch.

        Returns
        -------
        out : ndarray of shape (n_samples, n_outputs)
            Output of the last layer. Nothing is written to the layers.
        """
        out = x
        for layer in self.layers:
            out, _ = layer.forward(out, training=False)
        return out

    def parameters(self):
        """Return every trainable array, in layer order then key order.

        Returns
        -------
        params : list of ndarray
            The arrays themselves (not copies), so that in-place updates by
            an optimizer reach the layers.
        """
        return [param for layer in self.layers for param in layer.params.values()]

    def flat_parameters(self):
        """Return one vector holding every parameter, the parameters its views.

        The first call (and the first after a copy or unpickling, which turn
        views into separate arrays) moves the parameters into a new vector and
        rebinds each ``layer.params[key]`` to a view of it, in :meth:`parameters`
        order. Writes to the vector reach the layers: an optimizer can update
        every parameter with a few whole-vector operations.

        Returns
        -------
        theta : ndarray of shape (n_params,)
            The storage itself (not a copy), in the parameters' dtype.

        Raises
        ------
        ValueError
            If the parameters do not share one dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from sknorm.nn._layers import Linear
        >>> from sknorm.nn._network import Sequential
        >>> net = Sequential([Linear(2, 1, rng=np.random.default_rng(0))])
        >>> theta = net.flat_parameters()
        >>> theta[:] = 0.0
        >>> net.layers[0].params["bias"]
        array([0.])
        """
        params = self.parameters()
        dtypes = {param.dtype for param in params}
        if len(dtypes) > 1:
            raise ValueError(
                f"Parameters of several dtypes cannot share a vector: {dtypes}."
            )
        theta = flat_base(params)
        if theta is not None:
            return theta
        dtype = dtypes.pop() if dtypes else np.float64
        theta = (
            np.concatenate([p.ravel() for p in params], dtype=dtype)
            if params
            else np.zeros(0)
        )
        views = iter(flat_views(theta, [param.shape for param in params]))
        for layer in self.layers:
            for key in layer.params:
                layer.params[key] = next(views)
        return theta

    def flat_grads(self, grads_list):
        """Return the gradients aligned with :meth:`parameters`.

        Parameters
        ----------
        grads_list : list of dict
            Output of :meth:`backward`.

        Returns
        -------
        grads : list of ndarray
            ``grads[k]`` is the gradient of ``parameters()[k]``.
        """
        return [
            grads[key]
            for layer, grads in zip(self.layers, grads_list, strict=True)
            for key in layer.params
        ]

    def get_flat_params(self):
        """Return all parameters as one vector, in :meth:`parameters` order.

        Returns
        -------
        theta : ndarray of shape (n_params,), dtype float64
            A copy; scipy's optimizers work in float64.
        """
        return _concatenate_float64(self.parameters())

    def set_flat_params(self, theta):
        """Write a vector from :meth:`get_flat_params` back into the layers.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            New parameter values, cast to each parameter's dtype. The arrays
            are updated in place, so optimizers bound to them stay valid.
        """
        params = self.parameters()
        n_params = sum(param.size for param in params)
        if np.shape(theta) != (n_params,):
            raise ValueError(
                f"theta must have shape ({n_params},), got {np.shape(theta)}."
            )
        start = 0
        for param in params:
            stop = start + param.size
            param[...] = theta[start:stop].reshape(param.shape)
            start = stop

    def pack_grads(self, grads_list):
        """Return the gradients as one vector aligned with :meth:`get_flat_params`.

        Parameters
        ----------
        grads_list : list of dict
            Output of :meth:`backward`.

        Returns
        -------
        grad : ndarray of shape (n_params,), dtype float64
            The flattened gradients.
        """
        return _concatenate_float64(self.flat_grads(grads_list))

    def snapshot(self):
        """Copy every parameter and buffer, to put back with :meth:`restore`.

        Returns
        -------
        list of tuple of dict
            ``(params, buffers)`` copies, one pair per layer.
        """
        return [
            (
                {key: value.copy() for key, value in layer.params.items()},
                {key: value.copy() for key, value in layer.buffers.items()},
            )
            for layer in self.layers
        ]

    def restore(self, snapshot):
        """Write a :meth:`snapshot` back into the layers' arrays, in place.

        Parameters
        ----------
        snapshot : list of tuple of dict
            Output of :meth:`snapshot` on this network.
        """
        for layer, (params, buffers) in zip(self.layers, snapshot, strict=True):
            for key, value in params.items():
                layer.params[key][...] = value
            for key, value in buffers.items():
                layer.buffers[key][...] = value

    def copy(self):
        """Return a deep copy of the network.

        Returns
        -------
        network : Sequential
            An independent copy (layers, parameters and buffers).
        """
        return copy.deepcopy(self)

    def __repr__(self):
        names = ", ".join(type(layer).__name__ for layer in self.layers)
        return f"Sequential([{names}])"


def _concatenate_float64(arrays):
    """Flatten and concatenate ``arrays`` into a new float64 vector."""
    if not arrays:
        return np.zeros(0, dtype=np.float64)
    return np.concatenate([a.ravel() for a in arrays], dtype=np.float64)
