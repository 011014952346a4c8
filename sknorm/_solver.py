"""The solvers of the MLP estimators: mini-batch epochs and L-BFGS.

Both take everything they use as arguments: the :class:`~sknorm.nn.Trainer`
(which owns the parameters and the optimizer), the data, the stopping
settings, the :class:`Progress` record of scikit-learn's bookkeeping, the
``history_`` recorder and a few named :class:`Hooks`. They never call back
into the estimator: :mod:`sknorm._base_mlp` builds the inputs, runs a solver
and copies :class:`Progress` to the fitted attributes.

Tests observe training through the trainer (``Trainer.step`` and
``Trainer.objective`` are the only places a batch is trained on).
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from sknorm._batches import minibatch_slices

__all__ = [
    "Hooks",
    "Progress",
    "Stopping",
    "TrainingDiverged",
    "run_epochs",
    "run_lbfgs",
]

#: A mini-batch loss this many times the call's first one is divergence, even
#: while finite: no schedule recovers from it, and the weights that produce it
#: overflow at inference (standardized targets start near 1; 1e8 leaves room
#: for any loss a converging fit passes through).
LOSS_GROWTH_LIMIT = 1e8


class TrainingDiverged(ValueError):
    """Training diverged; ``usable`` says whether a finite-predicting state was kept.

    A ValueError, so model selection records ``error_score`` for the
    candidate; with ``usable=False`` the estimator discards the fit.
    """

    def __init__(self, message, *, usable):
        super().__init__(message)
        self.usable = usable


@dataclass
class Stopping:
    """When the epoch loop stops (scikit-learn's MLP parameters of the same names).

    ``epochs`` is the number of epochs of this call (``max_iter``, or 1 for
    ``partial_fit``); ``warn_at_max_iter`` is False for ``partial_fit``.
    """

    epochs: int
    tol: float
    n_iter_no_change: float
    shuffle: bool
    verbose: bool
    max_iter: int
    warn_at_max_iter: bool = True

    @classmethod
    def from_params(cls, params, *, incremental, n_iter_no_change):
        """Build from an estimator's ``get_params()``; one epoch if ``incremental``.

        ``n_iter_no_change`` is the parameter resolved for this fit.
        """
        return cls(
            epochs=1 if incremental else params["max_iter"],
            tol=params["tol"],
            n_iter_no_change=n_iter_no_change,
            shuffle=params["shuffle"],
            verbose=params["verbose"],
            max_iter=params["max_iter"],
            warn_at_max_iter=not incremental,
        )


@dataclass
class Progress:
    """scikit-learn's training bookkeeping, kept across ``partial_fit`` calls.

    The estimator keeps the fields as the attributes that ``ATTRIBUTES``
    names (scikit-learn's fitted attributes, and private counters).
    """

    ATTRIBUTES: ClassVar[dict] = {
        "n_iter": "n_iter_",
        "t": "t_",
        "loss": "loss_",
        "loss_curve": "loss_curve_",
        "no_improvement_count": "_no_improvement_count",
        "best_loss": "best_loss_",
        "validation_scores": "validation_scores_",
        "best_validation_score": "best_validation_score_",
        "best_state": "_best_state",
    }

    n_iter: int = 0
    t: int = 0
    loss: float = np.nan
    loss_curve: list = field(default_factory=list)
    no_improvement_count: int = 0
    best_loss: float | None = np.inf
    validation_scores: list | None = None
    best_validation_score: float | None = None
    best_state: list | None = None

    @classmethod
    def read(cls, estimator):
        """Return the record held in ``estimator``'s attributes (defaults if absent)."""
        attributes = cls.ATTRIBUTES.items()
        return cls(
            **{f: getattr(estimator, a) for f, a in attributes if hasattr(estimator, a)}
        )

    def write(self, estimator):
        """Set ``estimator``'s attributes from this record."""
        for field_name, attribute in self.ATTRIBUTES.items():
            setattr(estimator, attribute, getattr(self, field_name))


class Hooks(NamedTuple):
    """What the epoch loop needs from its caller, as plain functions.

    validation_score : callable or None
        ``validation_score() -> float`` scores the held-out rows with the
        network as it stands; None without early stopping.
    begin_epoch, end_epoch : callable
        ``begin_epoch() -> token`` and ``end_epoch(token) -> bool`` report an
        epoch to scikit-learn's callbacks; True asks to stop.
    usable : callable
        ``usable() -> bool`` freezes the network's statistics and folds it for
        prediction, and says whether it predicts finite values on the
        training rows (after an interrupt or a divergence).
    """

    validation_score: Callable | None
    begin_epoch: Callable
    end_epoch: Callable
    usable: Callable


def run_epochs(
    trainer,
    X,
    Y,
    sample_weight,
    *,
    batch_size,
    rng,
    stopping,
    progress,
    recorder,
    hooks,
):
    """Train ``trainer.network`` for up to ``stopping.epochs`` epochs.

    Each epoch shuffles (if asked), steps through the mini-batches, then
    updates ``progress`` and the stopping counters as scikit-learn's MLP
    does, on the training loss or, with ``hooks.validation_score``, on the
    validation score (keeping the best epoch's state in
    ``progress.best_state``, restored at the end). The network is left
    frozen and folded by ``hooks.usable``, which must confirm it predicts
    finite values on the training rows. An interrupt leaves the last
    completed epoch and propagates; a divergence (a non-finite or exploding
    loss, non-finite validation predictions or training predictions)
    restores a usable earlier state and raises :class:`TrainingDiverged`.

    Parameters
    ----------
    trainer : Trainer
        The network's training step, with its optimizer.
    X, Y : ndarray
        Training rows and 2-D targets.
    sample_weight : ndarray of shape (n_samples,)
        Row weights (all ones when the user gave none).
    batch_size : int
        Rows per mini-batch.
    rng : numpy.random.Generator
        Shuffles the rows.
    stopping : Stopping
        The stopping settings.
    progress : Progress
        Updated in place.
    recorder : HistoryRecorder
        Appends each epoch's ``history_`` entry.
    hooks : Hooks
        The caller's functions.
    """
    loop = _EpochLoop(
        trainer, X, Y, sample_weight, batch_size, rng, stopping, progress, hooks
    )
    network = trainer.network
    try:
        for _ in range(stopping.epochs):
            epoch = hooks.begin_epoch()
            loop.run_epoch()
            stop = loop.end_of_epoch(recorder)
            # A callback's request to stop ends the fit as convergence does:
            # no ConvergenceWarning.
            if hooks.end_epoch(epoch) or stop:
                break
        else:
            if stopping.warn_at_max_iter:
                _warn_max_iter(stopping.max_iter)
        if hooks.validation_score is not None and progress.best_state is not None:
            network.restore(progress.best_state)
        if not hooks.usable():
            loop.diverged(
                progress.n_iter,
                "the fitted network's predictions on its training rows are not finite",
            )
    except KeyboardInterrupt:
        # Leave a usable model (the last completed epoch), then let the
        # interrupt propagate so scripts and grid searches really stop.
        network.restore(loop.last_good[0])
        hooks.usable()
        raise


class _EpochLoop:
    """The state of one :func:`run_epochs` call: data, settings, fallbacks."""

    def __init__(
        self, trainer, X, Y, sample_weight, batch_size, rng, stopping, progress, hooks
    ):
        self.trainer, self.X, self.Y = trainer, X, Y
        self.sample_weight, self.batch_size, self.rng = sample_weight, batch_size, rng
        self.stopping, self.progress, self.hooks = stopping, progress, hooks
        # States to fall back on, most recent first: the start of the current
        # epoch (the end of the last completed one), of the previous epoch
        # and of this call; see diverged.
        self.call_start = trainer.network.snapshot()
        self.last_good = [self.call_start]
        self.loss_limit = None  # LOSS_GROWTH_LIMIT times the first batch's loss

    def run_epoch(self):
        """Step through one shuffled pass over the rows; record the loss."""
        trainer, progress, n_samples = self.trainer, self.progress, self.X.shape[0]
        self.last_good = [
            trainer.network.snapshot(),
            self.last_good[0],
            self.call_start,
        ]
        order = self.rng.permutation(n_samples) if self.stopping.shuffle else None
        # Weights all 1 (no sample_weight given) take the unweighted fast path.
        unit = self.sample_weight.min() == 1 == self.sample_weight.max()
        total_loss, total_weight = 0.0, 0.0
        for rows in minibatch_slices(n_samples, self.batch_size):
            idx = order[rows] if order is not None else rows
            if unit:
                wb, w_sum = None, float(rows.stop - rows.start)
            else:
                wb = self.sample_weight[idx]
                w_sum = float(wb.sum())
                if w_sum == 0:
                    continue  # nothing to learn from; avoids dividing by zero
            loss = trainer.step(*trainer.gather(self.X, self.Y, idx), wb)
            self.check_loss(loss)
            total_loss += loss * w_sum
            total_weight += w_sum
        progress.n_iter += 1
        progress.t += n_samples
        progress.loss = total_loss / total_weight if total_weight else 0.0
        progress.loss_curve.append(progress.loss)
        if self.stopping.verbose:
            print(f"Iteration {progress.n_iter}, loss = {progress.loss:.8f}")
        self.check_finite()

    def check_loss(self, loss):
        """Treat a non-finite loss, or one grown by orders of magnitude, as diverged."""
        if self.loss_limit is None and math.isfinite(loss):
            self.loss_limit = LOSS_GROWTH_LIMIT * max(loss, 1.0)
        if not math.isfinite(loss):
            reason = "the loss became non-finite"
        elif loss > self.loss_limit:
            first = self.loss_limit / LOSS_GROWTH_LIMIT
            reason = f"the loss grew from at most {first:.3g} to {loss:.3g}"
        else:
            return
        self.progress.loss_curve.append(np.nan)
        self.diverged(self.progress.n_iter + 1, reason)

    def undo_epoch(self):
        """Remove the last epoch's bookkeeping: it is reported as the diverged one."""
        self.progress.n_iter -= 1
        self.progress.t -= self.X.shape[0]
        self.progress.loss_curve[-1] = np.nan

    def check_finite(self):
        """Treat parameters that overflowed in an epoch's last step as divergence.

        Each batch's loss is checked before its step, so an overflow in the
        very last step of a fit would otherwise go unnoticed and fold into
        NaN ``coefs_``.
        """
        layers = self.trainer.network.layers
        buffers = (array for layer in layers for array in layer.buffers.values())
        if np.isfinite(self.trainer.theta).all() and all(
            np.isfinite(array).all() for array in buffers
        ):
            return
        self.undo_epoch()
        self.diverged(self.progress.n_iter + 1, "the weights became non-finite")

    def diverged(self, epoch, reason):
        """Restore the last usable state and raise a ValueError explaining why.

        The end of the last completed epoch comes first, but its final steps
        were never evaluated and can be finite yet so large that inference
        overflows; the first state that predicts finite values on the
        training rows is kept.

        An error rather than a warning: the weights just before a blow-up are
        rarely a good model, and in model selection an error gives the
        candidate ``error_score`` instead of a score of a broken fit. The
        estimator is still left usable (finite ``predict``) for inspection
        when some state is; otherwise ``TrainingDiverged.usable`` is False.
        """
        usable = False
        for state in self.last_good:
            self.trainer.network.restore(state)
            if self.hooks.usable():
                usable = True
                break
        kept = (
            "The estimator keeps the latest weights and batch-norm statistics "
            "from before that epoch that predict finite values, but it is not "
            "a converged fit."
            if usable
            else "No earlier state predicts finite values either, so the "
            "estimator is left unfitted."
        )
        raise TrainingDiverged(
            f"Training diverged in epoch {epoch}: {reason}. {kept} Lower "
            "learning_rate_init, standardize X (sknorm.Standardizer) or enable "
            "batch_norm (and, for the regressor, keep standardize_target=True "
            "and pass float64 data when y is huge).",
            usable=usable,
        )

    def end_of_epoch(self, recorder):
        """Record history_, update stopping counters; True when training should stop."""
        progress, stopping, trainer = self.progress, self.stopping, self.trainer
        score = None
        if self.hooks.validation_score is not None:
            score = self.hooks.validation_score()
            if not math.isfinite(score):
                self.undo_epoch()
                self.diverged(
                    progress.n_iter + 1,
                    "the predictions on the validation rows became non-finite",
                )
            progress.validation_scores.append(score)
            if stopping.verbose:
                print(f"Validation score: {score:f}")
            stalled = score < progress.best_validation_score + stopping.tol
            if score > progress.best_validation_score:
                progress.best_validation_score = score
                progress.best_state = trainer.network.snapshot()
            what = "Validation score"
        else:
            stalled = progress.loss_curve[-1] > progress.best_loss - stopping.tol
            progress.best_loss = min(progress.best_loss, progress.loss_curve[-1])
            what = "Training loss"
        progress.no_improvement_count = (
            progress.no_improvement_count + 1 if stalled else 0
        )
        optimizer = trainer.optimizer
        recorder.record(
            trainer.network,
            progress.loss_curve[-1],
            score,
            optimizer.epoch_learning_rate,
        )
        optimizer.iteration_ends(progress.t)
        if progress.no_improvement_count > stopping.n_iter_no_change:
            msg = (
                f"{what} did not improve more than tol={stopping.tol:f} for "
                f"{stopping.n_iter_no_change} consecutive epochs."
            )
            if optimizer.trigger_stopping(msg, stopping.verbose):
                return True
            progress.no_improvement_count = 0
        return False


def _warn_max_iter(max_iter):
    warnings.warn(
        f"Stochastic Optimizer: Maximum iterations ({max_iter}) "
        "reached and the optimization hasn't converged yet.",
        ConvergenceWarning,
        # fit -> _fit -> _train -> _fit_stochastic -> run_epochs -> here
        stacklevel=6,
    )


def run_lbfgs(
    trainer, X, Y, sample_weight, *, max_iter, max_fun, tol, verbose, callback=None
):
    """Minimize the full-batch objective with scipy's L-BFGS-B, as scikit-learn does.

    Every evaluation is a full-batch training-mode pass of ``trainer`` (its
    ``max_batch`` is ``X``'s row count), so batch normalization normalizes
    with the statistics of the whole training set.

    Parameters
    ----------
    trainer : Trainer
        Owns the parameters, trained in place; ``trainer.alpha`` is the L2
        strength.
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
        non-finite parameters, in which case the network holds the best point
        evaluated; otherwise it holds the final parameters.
    """
    # Best point evaluated so far: where an interrupted run leaves the network.
    best = {"loss": np.inf, "theta": trainer.theta.astype(np.float64)}

    def objective(theta):
        trainer.theta[...] = theta
        loss = trainer.objective(X, Y, sample_weight)
        if loss < best["loss"]:
            best["loss"], best["theta"] = loss, theta.copy()
        # A float64 copy: scipy keeps it, and trainer.grad is reused.
        return loss, trainer.grad.astype(np.float64)

    try:
        result = _minimize(
            objective, best["theta"], max_iter, max_fun, tol, verbose, callback
        )
    except KeyboardInterrupt:
        # The network holds the trial point being evaluated, possibly a wild
        # line-search step: leave the best point instead, then propagate.
        trainer.theta[...] = best["theta"]
        raise
    result.nonfinite = not np.isfinite(result.x).all()
    # Non-finite parameters would fold into NaN predictions: keep the best
    # point evaluated instead (the start if no loss was finite); the caller
    # reports the failure.
    trainer.theta[...] = best["theta"] if result.nonfinite else result.x
    return result


def _minimize(objective, theta0, max_iter, max_fun, tol, verbose, callback):
    """Run ``scipy.optimize.minimize``; a callback's stop request is a success."""
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
        return scipy.optimize.minimize(
            objective,
            theta0,
            method="L-BFGS-B",
            jac=True,
            options=options,
            callback=None if callback is None else end_of_iteration,
        )
    except _StopRequested as stop:
        (theta,) = stop.args
        # minimize returned no result: one more pass gives the loss reached.
        loss, _ = objective(theta)
        return scipy.optimize.OptimizeResult(
            x=theta,
            fun=loss,
            nit=n_iter,
            success=True,
            status=0,
            message="A callback asked to stop.",
        )


class _StopRequested(Exception):
    """Raised through scipy's ``minimize`` when a callback asks to stop.

    Not ``StopIteration``: scipy >= 1.11 turns that into a failed result
    (status 2, like a line-search failure), and scipy 1.10 lets it through.
    """
