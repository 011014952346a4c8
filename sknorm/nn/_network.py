"""Sequential: a chain of layers, its flat parameter vector and precise BN.

The network holds no training logic: estimators drive ``forward``/``backward``
and hand ``parameters()`` to an optimizer, or use the flat ``get_flat_params``/
``set_flat_params``/``pack_grads`` trio with scipy's L-BFGS.
"""

import copy

import numpy as np

from sknorm.nn._flat import flat_base, flat_views
from sknorm.nn._layers import BatchNorm1d, Linear, ReLU

__all__ = ["Sequential"]


class Sequential:
    """A chain of layers applied one after the other.

    It runs the layers forward and backward, passes ``sample_weight`` to the
    BatchNorm1d layers, exposes the parameters as a list (for the stochastic
    optimizers) or as one float64 vector (for L-BFGS), and calibrates the
    BatchNorm1d statistics on a whole data set. It holds no training logic.

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

    def compute_population_statistics(self, x, sample_weight=None, *, chunk_size=1024):
        """Set every BatchNorm1d's buffers to statistics of its input over ``x``.

        This is "precise BN": the BN layers are calibrated from the first to
        the last, each on the output of the layers below it run in inference
        mode, so a layer sees the inputs normalized with the *new* statistics
        of the layers below. The mean and the biased variance are weighted by
        ``sample_weight``; the biased variance is what full-batch training
        normalizes with. Data are streamed in chunks so memory stays bounded.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features)
            Data, typically the whole training set.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Row weights; rows of zero weight are ignored.
        chunk_size : int, default=1024
            Number of rows propagated at once: the extra memory is a few
            buffers of ``chunk_size`` rows by the layers' width.

        Returns
        -------
        self : Sequential
            The network, with updated BatchNorm1d buffers.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (x.shape[0],):
                raise ValueError(
                    f"sample_weight must have shape ({x.shape[0]},), "
                    f"got {sample_weight.shape}."
                )
        for i, layer in enumerate(self.layers):
            if isinstance(layer, BatchNorm1d):
                mean, var = self._input_moments(i, x, sample_weight, chunk_size)
                layer.set_statistics(mean, var)
        return self

    def _input_moments(self, i, x, sample_weight, chunk_size):
        """Weighted mean and biased variance of the input of ``layers[i]``."""
        below = _inference_layers(self.layers[:i])
        weight_sum, mean, m2 = 0.0, 0.0, 0.0
        work = _ChunkBuffers()
        for start in range(0, x.shape[0], chunk_size):
            rows = slice(start, start + chunk_size)
            w = None if sample_weight is None else sample_weight[rows]
            chunk_weight = x[rows].shape[0] if w is None else float(w.sum())
            if chunk_weight == 0:
                continue
            h, owned = _forward_chunk(below, x[rows], work)
            # Two passes per chunk in the network's dtype (a float32 sum of
            # chunk_size terms is accurate to about 1e-6), merged across
            # chunks in float64.
            centred = h if owned else work.get("c", h.shape, h.dtype)
            weights = work.ones(h.shape[0], h.dtype) if w is None else w.astype(h.dtype)
            chunk_mean = (weights @ h) / chunk_weight
            np.subtract(h, chunk_mean, out=centred)
            centred *= centred
            chunk_mean = chunk_mean.astype(np.float64)
            chunk_m2 = (weights @ centred).astype(np.float64)
            # Chan et al.'s pairwise merge: stable where sum(x**2) - n*mean**2
            # would cancel catastrophically.
            delta = chunk_mean - mean
            new_weight_sum = weight_sum + chunk_weight
            mean = mean + delta * (chunk_weight / new_weight_sum)
            m2 = m2 + chunk_m2 + delta**2 * (weight_sum * chunk_weight / new_weight_sum)
            weight_sum = new_weight_sum
        if not weight_sum > 0:
            raise ValueError(
                "compute_population_statistics needs a positive sample_weight "
                f"sum, got {weight_sum}."
            )
        return mean, m2 / weight_sum

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


class _ChunkBuffers:
    """Work arrays reused from one chunk to the next, keyed by role."""

    def __init__(self):
        self._arrays = {}

    def get(self, key, shape, dtype):
        """Return an uninitialized array of ``shape`` for ``key``."""
        array = self._arrays.get(key)
        if array is None or array.shape[1:] != shape[1:] or array.shape[0] < shape[0]:
            array = self._arrays[key] = np.empty(shape, dtype=dtype)
        return array[: shape[0]]

    def ones(self, n, dtype):
        """Return a vector of ``n`` ones (for column sums as products)."""
        ones = self.get(("ones", dtype), (n,), dtype)
        ones[...] = 1.0
        return ones


def _inference_layers(layers):
    """Return ``layers`` with BatchNorm1d folded into the Linears, if possible.

    In inference a BatchNorm1d is an affine map, so a folded prefix computes
    the same outputs with fewer passes over the data; a network that cannot
    be folded runs layer by layer.
    """
    # Imported here: the folding module builds on this one.
    from sknorm.nn._folding import fold_batchnorm

    try:
        return fold_batchnorm(Sequential(layers)).layers
    except ValueError:
        return layers


def _forward_chunk(layers, h, work):
    """Run ``layers`` in inference mode on ``h``; Linear and ReLU in place.

    Outputs go to buffers of ``work`` reused across chunks; ``h`` itself (the
    caller's data) is never written. Returns ``(out, owned)``, ``owned`` when
    ``out`` is such a buffer (free to overwrite).
    """
    owned = False
    for j, layer in enumerate(layers):
        if isinstance(layer, Linear):
            weight = layer.params["weight"]
            dtype = np.result_type(h.dtype, weight.dtype)
            out = work.get(j, (h.shape[0], layer.n_out), dtype)
            h = np.matmul(h, weight, out=out)
            if "bias" in layer.params:
                h += layer.params["bias"]
            owned = True
        elif isinstance(layer, ReLU) and owned:
            np.maximum(h, 0, out=h)
        else:
            h, _ = layer.forward(h, training=False)
            owned = False
    return h, owned


def _concatenate_float64(arrays):
    """Flatten and concatenate ``arrays`` into a new float64 vector."""
    if not arrays:
        return np.zeros(0, dtype=np.float64)
    return np.concatenate([a.ravel() for a in arrays], dtype=np.float64)
