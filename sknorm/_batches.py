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


def hold_out(X, Y, sample_weight, *, fraction, how, rng, stratify=None, classes=None):
    """Split the training arrays for early stopping (see :func:`validation_split`).

    Validation rows are drawn among the rows of positive weight only:
    zero-weight rows would give the validation score nothing to average
    (they still train, where they count in batch-norm statistics as in a fit
    without early stopping).

    Returns
    -------
    train_idx : ndarray of int
        The rows kept for training.
    train, valid : tuple of ndarray
        ``(X, Y, sample_weight)`` of the training and of the validation rows.
    """
    train_idx, valid_idx = validation_split(
        X.shape[0],
        fraction,
        how,
        rng,
        stratify=stratify,
        eligible=sample_weight > 0,
        classes=classes,
    )
    return (
        train_idx,
        (X[train_idx], Y[train_idx], sample_weight[train_idx]),
        (X[valid_idx], Y[valid_idx], sample_weight[valid_idx]),
    )


def validation_split(
    n_samples, fraction, how, rng, stratify=None, eligible=None, classes=None
):
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
    eligible : ndarray of bool, default=None
        The rows that may be held out (all when None); at least two of them
        must remain for training.
    classes : ndarray, default=None
        The class labels, when ``stratify`` holds indices into them: an
        error about a class then names its label.

    Returns
    -------
    train_idx, valid_idx : ndarray of int
    """
    pool, n_valid = check_split(n_samples, fraction, how, stratify, eligible, classes)
    if how == "last":
        valid_idx = pool[len(pool) - n_valid :]
    elif stratify is None:
        valid_idx = np.sort(rng.permutation(pool)[:n_valid])
    else:
        valid_idx = pool[_stratified_split(stratify[pool], n_valid, rng)]
    train_mask = np.ones(n_samples, dtype=bool)
    train_mask[valid_idx] = False
    return np.flatnonzero(train_mask), valid_idx


def check_split(n_samples, fraction, how, stratify=None, eligible=None, classes=None):
    """Raise the ValueError :func:`validation_split` would; else return its sizes.

    Parameters are those of :func:`validation_split`.

    Returns
    -------
    pool : ndarray of int
        The rows that may be held out.
    n_valid : int
        How many of them are.
    """
    pool = np.arange(n_samples) if eligible is None else np.flatnonzero(eligible)
    if how == "random" and stratify is not None:
        # First, as in scikit-learn: a class too small to stratify is the
        # problem to report, whatever the size of the data.
        _check_class_counts(stratify[pool], classes)
    n_valid = int(np.ceil(fraction * n_samples))
    _check_sizes(n_samples, n_valid, len(pool), fraction)
    return pool, n_valid


def _check_sizes(n_samples, n_valid, n_pool, fraction):
    """Raise if the split leaves fewer than 2 validation or training rows."""
    if n_valid < 2 or n_samples - n_valid < 2:
        raise ValueError(
            f"The validation set is too small: validation_fraction={fraction} of "
            f"n_samples={n_samples} rows leaves {n_valid} validation and "
            f"{n_samples - n_valid} training rows; both need at least 2. Increase "
            "'validation_fraction' or the size of your dataset."
        )
    if n_pool - n_valid < 2:
        raise ValueError(
            f"Early stopping holds out {n_valid} rows (validation_fraction="
            f"{fraction} of n_samples={n_samples}) among the rows of non-zero "
            f"sample_weight, and only {n_pool} rows have one: at least "
            f"{n_valid + 2} are needed to keep 2 for training. Give more rows a "
            "weight or set early_stopping=False."
        )


def _check_class_counts(labels, classes=None):
    """Raise scikit-learn's stratified-split error for a class of one row.

    ``classes`` (indexed by ``labels``) names the classes in the message.
    """
    present, counts = np.unique(labels, return_counts=True)
    if (counts < 2).any():
        too_few = present[counts < 2]
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too "
            "few. The minimum number of groups for any class cannot be less "
            "than 2. Classes with too few members are: "
            f"{(too_few if classes is None else classes[too_few]).tolist()}"
        )


def _stratified_split(labels, n_valid, rng):
    """Return ``n_valid`` sorted row indices with the class shares of ``labels``."""
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
    return np.sort(np.concatenate(valid))
