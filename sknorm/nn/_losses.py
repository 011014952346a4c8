"""Loss functions and output activations for the network's last layer.

Every loss is a pure function ``f(raw, Y, sample_weight=None) -> (loss, d_raw)``
where ``raw`` is the output of the last ``Linear`` layer *before* the output
activation. Pairing each loss with its canonical link lets the gradient with
respect to ``raw`` take the simple form ``p * (out - Y)`` and lets the value be
computed from ``raw`` directly, which avoids ``log(0)`` and overflow in the
activation.

The loss *values* follow the scaling of scikit-learn's MLP losses exactly: the
per-sample terms are averaged with the normalized weights ``p = w / w.sum()``
(``1 / n`` without weights). ``d_raw`` is the exact derivative of that value.
"""

import numpy as np
from scipy.special import expit, xlogy

from sknorm.nn._batchnorm import batch_probabilities


def _prepare(raw, Y, sample_weight):
    """Validate inputs and return ``raw``, ``Y`` and normalized weights ``p``.

    Parameters
    ----------
    raw : array-like of shape (n_samples, n_outputs)
        Pre-activation network output.
    Y : array-like of shape (n_samples, n_outputs)
        Targets.
    sample_weight : array-like of shape (n_samples,) or None
        Sample weights.

    Returns
    -------
    raw : ndarray of shape (n_samples, n_outputs)
        ``raw`` as a floating array (its dtype is kept).
    Y : ndarray of shape (n_samples, n_outputs)
        Targets cast to ``raw``'s dtype.
    p : ndarray of shape (n_samples,)
        Weights normalized to sum to one, in ``raw``'s dtype.
    """
    raw = np.asarray(raw)
    if not np.issubdtype(raw.dtype, np.floating):
        raw = raw.astype(np.float64)
    dtype = raw.dtype
    # Casting Y keeps float32 computations in float32 (an int64 one-hot Y
    # would otherwise promote every intermediate to float64).
    Y = np.asarray(Y, dtype=dtype)
    if raw.ndim != 2 or Y.shape != raw.shape:
        # Broadcasting (n, 1) against (n,) would silently build an (n, n)
        # array, so shapes must match exactly.
        raise ValueError(
            f"raw and Y must be 2-D arrays of the same shape, got raw.shape="
            f"{raw.shape} and Y.shape={Y.shape}."
        )
    p, _ = batch_probabilities(sample_weight, raw.shape[0], dtype)
    return raw, Y, p


def _log_softmax(raw):
    """Row-wise log-softmax, shifted by the row maximum to avoid overflow.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Pre-activation scores.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_outputs)
        ``log(softmax(raw))``, finite for any finite ``raw``.
    """
    shifted = raw - raw.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _identity(raw):
    """Return ``raw`` itself (no copy).

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Pre-activation output.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
        The same array object.
    """
    return raw


def _softmax(raw):
    """Row-wise softmax that cannot overflow.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Pre-activation scores.

    Returns
    -------
    prob : ndarray of shape (n_samples, n_outputs)
        Rows are non-negative and sum to one.
    """
    raw = np.asarray(raw)
    prob = np.exp(raw - raw.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    return prob


def squared_error(raw, Y, sample_weight=None):
    """Half mean squared error with the identity output activation.

    ``loss = 0.5 * mean_k(sum_i p_i * (raw_ik - Y_ik) ** 2)``, which is
    scikit-learn's ``squared_loss`` applied to ``raw``.

    Parameters
    ----------
    raw : array-like of shape (n_samples, n_outputs)
        Output of the last linear layer (the predictions themselves).
    Y : array-like of shape (n_samples, n_outputs)
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; they are normalized to sum to one.

    Returns
    -------
    loss : float
        Loss value.
    d_raw : ndarray of shape (n_samples, n_outputs)
        Gradient of ``loss`` with respect to ``raw``, in ``raw``'s dtype.

    Raises
    ------
    ValueError
        If the shapes do not match or the sample weights sum to zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._losses import squared_error
    >>> loss, d_raw = squared_error(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
    >>> loss
    1.25
    >>> d_raw
    array([[0.5],
           [1. ]])
    """
    raw, Y, p = _prepare(raw, Y, sample_weight)
    diff = raw - Y
    d_raw = p[:, None] * diff / raw.shape[1]
    # d_raw already holds p * diff / k, so one more product gives the loss
    # without a second weighted pass.
    return float(0.5 * np.sum(d_raw * diff)), d_raw


def poisson(raw, Y, sample_weight=None):
    """Half Poisson deviance with the exponential (log-link) output activation.

    ``loss = sum_k sum_i p_i * (Y log(Y / exp(raw)) - Y + exp(raw))``, which is
    scikit-learn's ``poisson_loss`` applied to ``exp(raw)``, evaluated as
    ``Y log Y - Y raw - Y + exp(raw)`` so that ``log(exp(raw))`` is never
    formed.

    Parameters
    ----------
    raw : array-like of shape (n_samples, n_outputs)
        Output of the last linear layer (log of the predicted mean).
    Y : array-like of shape (n_samples, n_outputs)
        Non-negative targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; they are normalized to sum to one.

    Returns
    -------
    loss : float
        Loss value.
    d_raw : ndarray of shape (n_samples, n_outputs)
        ``p * (exp(raw) - Y)``, in ``raw``'s dtype.

    Raises
    ------
    ValueError
        If the shapes do not match or the sample weights sum to zero.

    Notes
    -----
    ``exp(raw)`` is representable only for ``raw`` below ``log`` of the
    largest float (about 709 in float64, 88 in float32). Beyond that the
    loss and gradient are ``inf`` and NumPy warns about the overflow; this is
    deliberately not clipped, because a clipped gradient would be wrong and
    hide the divergence. Callers should treat a non-finite loss as divergence.
    """
    raw, Y, p = _prepare(raw, Y, sample_weight)
    mu = np.exp(raw)
    d_raw = p[:, None] * (mu - Y)
    terms = xlogy(Y, Y) - Y * raw - Y + mu
    return float(p @ terms.sum(axis=1)), d_raw


def softmax_cross_entropy(raw, Y, sample_weight=None):
    """Multiclass cross-entropy with the softmax output activation.

    ``loss = -sum_i p_i sum_k Y_ik log softmax(raw)_ik``, computed with a
    shifted log-sum-exp so that any finite ``raw`` gives a finite loss. This
    matches scikit-learn's ``log_loss`` on ``softmax(raw)`` except that
    scikit-learn clips probabilities at machine epsilon and this does not.

    Parameters
    ----------
    raw : array-like of shape (n_samples, n_classes)
        Output of the last linear layer (class scores).
    Y : array-like of shape (n_samples, n_classes)
        One-hot (or soft) labels; each row must sum to one.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; they are normalized to sum to one.

    Returns
    -------
    loss : float
        Loss value.
    d_raw : ndarray of shape (n_samples, n_classes)
        ``p * (softmax(raw) - Y)``, in ``raw``'s dtype.

    Raises
    ------
    ValueError
        If the shapes do not match or the sample weights sum to zero.
    """
    raw, Y, p = _prepare(raw, Y, sample_weight)
    log_prob = _log_softmax(raw)
    # softmax - Y is the exact derivative only because the rows of Y sum to
    # one; that is what saves computing the softmax a second way.
    d_raw = p[:, None] * (np.exp(log_prob) - Y)
    return float(-(p @ (Y * log_prob).sum(axis=1))), d_raw


def sigmoid_cross_entropy(raw, Y, sample_weight=None):
    """Binary / multilabel cross-entropy with the logistic output activation.

    ``loss = sum_k sum_i p_i (log(1 + exp(raw)) - Y raw)``, the stable form of
    scikit-learn's ``binary_log_loss`` on ``expit(raw)`` (which clips
    probabilities at machine epsilon; this does not).

    Parameters
    ----------
    raw : array-like of shape (n_samples, n_outputs)
        Output of the last linear layer (log-odds).
    Y : array-like of shape (n_samples, n_outputs)
        Indicator labels in ``[0, 1]``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; they are normalized to sum to one.

    Returns
    -------
    loss : float
        Loss value.
    d_raw : ndarray of shape (n_samples, n_outputs)
        ``p * (expit(raw) - Y)``, in ``raw``'s dtype.

    Raises
    ------
    ValueError
        If the shapes do not match or the sample weights sum to zero.
    """
    raw, Y, p = _prepare(raw, Y, sample_weight)
    d_raw = p[:, None] * (expit(raw) - Y)
    terms = np.logaddexp(raw.dtype.type(0), raw) - Y * raw
    return float(p @ terms.sum(axis=1)), d_raw


OUTPUT_ACTIVATIONS = {
    "identity": _identity,
    "exp": np.exp,
    "softmax": _softmax,
    "logistic": expit,
}
"""Map an output activation name to a function ``raw -> predictions``."""

LOSSES = {
    "squared_error": squared_error,
    "poisson": poisson,
    "softmax_cross_entropy": softmax_cross_entropy,
    "sigmoid_cross_entropy": sigmoid_cross_entropy,
}
"""Map a loss name to its ``f(raw, Y, sample_weight=None)`` function."""
