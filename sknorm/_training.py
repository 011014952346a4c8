"""Training helpers shared by the MLP estimators.

Small functions with explicit inputs: mini-batch slicing, the loss and
gradient of one batch (through the fused :class:`~sknorm.nn._trainer.Trainer`,
for every solver), L-BFGS on the flat parameter vector, the validation split
and snapshots of the network state. The epoch loop that ties them together,
with its sklearn bookkeeping (``loss_curve_``, ``n_iter_``, early stopping),
lives in :class:`sknorm._fitting.FitLoopMixin`.
"""

import numpy as np
import scipy.optimize

from sknorm.nn._trainer import Trainer


def minibatch_slices(n_samples, batch_size):
    """Yield consecutive slices of ``batch_size`` rows, never a 1-row tail.

    A trailing batch of a single row would reach batch normalization alone
    (zero variance, no gradient; PyTorch raises on it), so it is merged into the
    previous batch instead.

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


def loss_and_grads(network, trainer, alpha, X, Y, sample_weight):
    """Loss and gradient of one batch, L2 penalty included, in training mode.

    The single entry point of every solver's step (tests wrap it to observe or
    interrupt training).

    Parameters
    ----------
    network : Sequential
        The network being trained (the one ``trainer`` was compiled for).
    trainer : Trainer
        The fused training step of ``network``.
    alpha : float
        L2 strength: ``alpha / (2 * weight_sum) * sum(||W||^2)`` over the
        Linear weights, scikit-learn's penalty since 1.7.
    X, Y : ndarray
        Batch inputs and 2-D targets.
    sample_weight : ndarray of shape (n_rows,) or None
        Row weights of the batch; None means weights of 1.

    Returns
    -------
    loss : float
        Data loss plus L2 penalty.
    grad : ndarray of shape (n_params,)
        ``trainer.grad``, laid out like ``network.flat_parameters()``; it is
        overwritten by the next call.
    """
    loss = trainer.loss_and_grad(X, Y, sample_weight)
    weight_sum = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    return loss + trainer.l2_penalty(alpha, weight_sum), trainer.grad


def make_trainer(network, optimizer, loss_fn, batch_size, *, update_running_stats):
    """Return a :class:`~sknorm.nn._trainer.Trainer` for this fit's batches.

    Copying or unpickling an estimator turns the parameter views into separate
    arrays; the Trainer then moves them into a new vector, and an optimizer
    kept across ``partial_fit`` calls is pointed at the new arrays.

    Parameters
    ----------
    network : Sequential
        The network to train.
    optimizer : SGD or Adam
        Its optimizer, rebound if the parameters moved.
    loss_fn : callable
        The loss of the output layer.
    batch_size : int
        Rows per mini-batch.
    update_running_stats : bool
        Whether BatchNorm1d running statistics are updated while training.

    Returns
    -------
    Trainer
        Buffers for ``batch_size + 1`` rows: :func:`minibatch_slices` merges
        a 1-row tail into the previous batch.
    """
    trainer = Trainer(
        network, loss_fn, batch_size + 1, update_running_stats=update_running_stats
    )
    params = network.parameters()
    if any(p is not q for p, q in zip(params, optimizer.params, strict=True)):
        optimizer.rebind(params)
    return trainer


def fit_lbfgs(
    network,
    loss_fn,
    alpha,
    X,
    Y,
    sample_weight,
    *,
    max_iter,
    max_fun,
    tol,
    verbose,
    callback=None,
):
    """Minimize the full-batch loss with scipy's L-BFGS-B, as scikit-learn does.

    Every evaluation is a full-batch training-mode pass, so batch normalization
    normalizes with the statistics of the whole training set.

    Parameters
    ----------
    network : Sequential
        Trained in place.
    loss_fn : callable
        ``loss_fn(raw, Y, sample_weight) -> (loss, d_raw)``.
    alpha : float
        L2 strength.
    X, Y : ndarray
        Training inputs and 2-D targets.
    sample_weight : ndarray of shape (n_samples,)
        Row weights.
    max_iter, max_fun : int
        L-BFGS iteration and function-evaluation limits.
    tol : float
        Gradient tolerance (``gtol``).
    verbose : bool or int
        Print scipy's progress.
    callback : callable, default=None
        ``callback(theta) -> bool``, called at the end of every iteration
        with the parameters reached; True stops the run there, as a success.

    Returns
    -------
    scipy.optimize.OptimizeResult
        The optimizer's result, plus ``nonfinite``: True when it ended at
        non-finite parameters, in which case ``network`` holds the best point
        evaluated; otherwise ``network`` holds the final parameters.
    """
    # One full batch: the same fused step as the mini-batch solvers, with its
    # buffers allocated once instead of at every function evaluation.
    trainer = Trainer(network, loss_fn, X.shape[0])
    # Best point evaluated so far: where an interrupted run leaves the network.
    best = {"loss": np.inf, "theta": network.get_flat_params()}

    def objective(theta):
        trainer.theta[...] = theta
        loss, grad = loss_and_grads(network, trainer, alpha, X, Y, sample_weight)
        if loss < best["loss"]:
            best["loss"], best["theta"] = loss, theta.copy()
        # A float64 copy: scipy keeps it, and trainer.grad is reused.
        return loss, grad.astype(np.float64)

    n_iter = 0

    def end_of_iteration(theta):
        nonlocal n_iter
        n_iter += 1
        if callback(theta):
            raise _StopRequested(theta.copy())

    options = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
    if verbose:
        options["disp"] = True
    try:
        result = scipy.optimize.minimize(
            objective,
            best["theta"],
            method="L-BFGS-B",
            jac=True,
            options=options,
            callback=None if callback is None else end_of_iteration,
        )
    except _StopRequested as stop:
        (theta,) = stop.args
        # minimize returned no result: one more pass gives the loss reached.
        loss, _ = objective(theta)
        result = scipy.optimize.OptimizeResult(
            x=theta,
            fun=loss,
            nit=n_iter,
            success=True,
            status=0,
            message="A callback asked to stop.",
        )
    except KeyboardInterrupt:
        # The network holds the trial point being evaluated, possibly a wild
        # line-search step: leave the best point instead, then propagate.
        network.set_flat_params(best["theta"])
        raise
    result.nonfinite = not np.isfinite(result.x).all()
    # Non-finite parameters would fold into NaN predictions: keep the best
    # point evaluated instead (the start if no loss was finite); the caller
    # reports the failure.
    network.set_flat_params(best["theta"] if result.nonfinite else result.x)
    return result


class _StopRequested(Exception):
    """Raised through scipy's ``minimize`` when a callback asks to stop.

    Not ``StopIteration``: scipy >= 1.11 turns that into a failed result
    (status 2, like a line-search failure), and scipy 1.10 lets it through.
    """


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
        given); ``"last"`` holds out the final rows, so time-ordered data such as
        weather records do not leak future rows into training.
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


def snapshot(network):
    """Copy every parameter and buffer, to restore later with :func:`restore`."""
    return [
        (
            {k: v.copy() for k, v in layer.params.items()},
            {k: v.copy() for k, v in layer.buffers.items()},
        )
        for layer in network.layers
    ]


def restore(network, state):
    """Write a :func:`snapshot` back into the network's arrays in place."""
    for layer, (params, buffers) in zip(network.layers, state, strict=True):
        for key, value in params.items():
            layer.params[key][...] = value
        for key, value in buffers.items():
            layer.buffers[key][...] = value
