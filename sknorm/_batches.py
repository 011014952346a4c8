"""How training rows are split: mini-batches and the early-stopping hold-out."""

import numpy as np

__all__ = ["hold_out", "minibatch_slices", "validation_split"]


def minibatch_slices(n_samples, batch_size):
    """Yield consecutive slices of ``batch_size`` rows, never a 1-row tail.

    A trailing batch of a single row would reach batch normalization alone
    (zero variance, no gradient; PyTorch raises on it), so it is merged into
    the previous batch instead.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    batch_size : int
        Rows per batch; the last batch may be shorter (or one row longer).

    Yields
    ------
    slice
        Row range of one mini-batch.
    """
    start = 0
    while start < n_samples:
        stop = start + batch_size
        if n_samples - stop == 1 or stop > n_samples:
            stop = n_samples
        yield slice(start, stop)
        start = stop


def hold_out(X, Y, sample_weight, *, fraction, how, rng, stratify=None):
    """Split the training arrays for early stopping (see :func:`validation_split`).

    Returns
    -------
    train_idx : ndarray of int
        The rows kept for training.
    train, valid : tuple of ndarray
        ``(X, Y, sample_weight)`` of the training and of the validation rows.
    """
    train_idx, valid_idx = validation_split(
        X.shape[0], fraction, how, rng, stratify=stratify
    )
    return (
        train_idx,
        (X[train_idx], Y[train_idx], sample_weight[train_idx]),
        (X[valid_idx], Y[valid_idx], sample_weight[valid_idx]),
    )


def validation_split(n_samples, fraction, how, rng, stratify=None):
    """Return (train_idx, valid_idx) for early stopping.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    fraction : float
        Share of rows held out.
    how : {"random", "last"}
        ``"random"`` draws a shuffled split (stratified when ``stratify`` is
        given); ``"last"`` holds out the final rows, so time-ordered data such
        as weather records do not leak future rows into training.
    rng : numpy.random.Generator
        Source of randomness for the random split.
    stratify : ndarray, default=None
        Class labels for a stratified random split.

    Returns
    -------
    train_idx, valid_idx : ndarray of int
    """
    n_valid = int(np.ceil(fraction * n_samples))
    if n_valid < 2 or n_samples - n_valid < 2:
        raise ValueError(
            f"The validation set is too small: validation_fraction={fraction} of "
            f"n_samples={n_samples} rows leaves {n_valid} validation and "
            f"{n_samples - n_valid} training rows; both need at least 2. Increase "
            "'validation_fraction' or the size of your dataset."
        )
    if how == "last":
        return np.arange(n_samples - n_valid), np.arange(n_samples - n_valid, n_samples)
    if stratify is None:
        order = rng.permutation(n_samples)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])
    return _stratified_split(stratify, n_valid, rng)


def _stratified_split(labels, n_valid, rng):
    """Hold out ``n_valid`` rows with class shares close to the full data's."""
    classes, y_idx = np.unique(labels, return_inverse=True)
    n_samples = len(labels)
    valid = []
    counts = np.bincount(y_idx)
    # Largest-remainder allocation keeps the total exactly n_valid.
    quota = counts * n_valid / n_samples
    take = np.floor(quota).astype(int)
    remainder = n_valid - take.sum()
    take[np.argsort(take - quota)[:remainder]] += 1
    for k in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(y_idx == k))
        valid.append(rows[: take[k]])
    valid_idx = np.sort(np.concatenate(valid))
    train_mask = np.ones(n_samples, dtype=bool)
    train_mask[valid_idx] = False
    return np.flatnonzero(train_mask), valid_idx
