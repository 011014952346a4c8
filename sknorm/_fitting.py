"""The training loops of the MLP estimators: mini-batch epochs and L-BFGS.

``FitLoopMixin`` holds the parts of :class:`~sknorm._base_mlp.BaseMLP` that
run training with scikit-learn's bookkeeping: the epoch loop with its
stopping rule (``n_iter_no_change``, ``tol``, early stopping), divergence and
interrupt handling, and the L-BFGS call. Each epoch and each L-BFGS
iteration is a task for scikit-learn's callbacks (:mod:`sknorm._callbacks`),
which may also stop training. The arithmetic lives in :mod:`sknorm._training`
and :mod:`sknorm.nn`.
"""

import functools
import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknorm import _history, _training
from sknorm._callbacks import IterationTasks


class FitLoopMixin:
    """Training loops for :class:`~sknorm._base_mlp.BaseMLP`; not for direct use."""

    def _fit_lbfgs(self, X, Y, sample_weight, tasks):
        iterations = IterationTasks(
            tasks,
            "lbfgs-iter",
            functools.partial(self._reconstruction_attributes, X, sample_weight),
        )
        try:
            result = _training.fit_lbfgs(
                self.network_,
                self._loss_fn(),
                self.alpha,
                X,
                Y,
                sample_weight,
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                verbose=self.verbose,
                callback=iterations,
            )
        except KeyboardInterrupt:
            # As in _fit_stochastic: leave a usable model (fit_lbfgs restored
            # the best point evaluated), then let the interrupt propagate.
            self._finalize(X, sample_weight)
            raise
        iterations.close()
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.t_ = X.shape[0] * self.n_iter_
        if not result.success:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}. Increase max_iter or "
                "max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=4,  # fit -> _fit -> _train -> _fit_lbfgs
            )
        self._finalize(X, sample_weight)
        if result.nonfinite:
            raise ValueError(
                "Solver produced non-finite parameter weights. The estimator keeps "
                "the best point L-BFGS evaluated, but it is not a converged fit. "
                "The input data may contain large values and need to be "
                "preprocessed (e.g. sknorm.Standardizer)."
            )

    def _fit_stochastic(self, X, Y, sample_weight, rng, incremental, tasks):
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        valid = None
        if self.early_stopping:
            train_idx, valid = self._hold_out(X, Y, sample_weight, rng)
            X, Y, sample_weight = X[train_idx], Y[train_idx], sample_weight[train_idx]
            tasks = tasks.on_rows(train_idx, X)
        batch_size = self._batch_size(X.shape[0])
        trainer = self._make_trainer(batch_size, incremental or valid is not None)
        if not hasattr(self, "history_"):
            self.history_ = []  # a network fitted before history_ existed
        recorder = _history.HistoryRecorder(X, rng, self.history_)
        if not incremental:
            self.n_iter_ = 0
        # States to fall back on, most recent first: the start of the current
        # epoch (the end of the last completed one), of the previous epoch and
        # of this fit; see _diverged.
        fit_start = _training.snapshot(self.network_)
        last_good = [fit_start]
        fitted_attributes = functools.partial(
            self._reconstruction_attributes, X, sample_weight, incremental=incremental
        )
        try:
            for _ in range(1 if incremental else self.max_iter):
                epoch = tasks.begin_subtask("epoch", fitted_attributes)
                last_good = [_training.snapshot(self.network_), last_good[0], fit_start]
                self._run_epoch(
                    X, Y, sample_weight, batch_size, rng, last_good, trainer
                )
                self._check_epoch_finite(X, sample_weight, last_good)
                stop = self._end_of_epoch(X.shape[0], valid, recorder)
                # A callback's request to stop ends the fit as convergence
                # does: no ConvergenceWarning.
                if tasks.end_subtask(epoch, fitted_attributes) or stop:
                    break
            else:
                if not incremental:
                    self._warn_max_iter()
        except KeyboardInterrupt:
            # Leave a usable model (the last completed epoch), then let the
            # interrupt propagate so scripts and grid searches really stop.
            _training.restore(self.network_, last_good[0])
            self._finalize(X, sample_weight, incremental)
            raise
        if self.early_stopping:
            _training.restore(self.network_, self._best_state)
        self._finalize(X, sample_weight, incremental)

    def _hold_out(self, X, Y, sample_weight, rng):
        """Return the training rows and the early-stopping validation data."""
        train_idx, valid_idx = _training.validation_split(
            X.shape[0],
            self.validation_fraction,
            self.validation_split,
            rng,
            stratify=self._stratify_labels(Y),
        )
        return train_idx, (X[valid_idx], Y[valid_idx], sample_weight[valid_idx])

    def _warn_max_iter(self):
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
            "reached and the optimization hasn't converged yet.",
            ConvergenceWarning,
            # fit -> _fit -> _train -> _fit_stochastic -> here
            stacklevel=5,
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        # Clipped without a warning: the default of 64 exceeds many small
        # datasets, where one full batch is the expected behaviour.
        batch_size = min(self.batch_size, n_samples)
        if batch_size < 2 and self.batch_norm is not None:
            raise ValueError(
                "batch_size=1 cannot be used with batch normalization: a batch "
                "needs at least 2 rows (n_samples=1 per batch)."
            )
        return batch_size

    def _make_trainer(self, batch_size, need_running_stats):
        # Population statistics replace the running ones after a full fit, so
        # updating them would be wasted work (early stopping scores with them;
        # the history_ probe normalizes with its own batch statistics).
        return _training.make_trainer(
            self.network_,
            self._optimizer,
            self._loss_fn(),
            batch_size,
            update_running_stats=need_running_stats or self.bn_stats == "running",
        )

    def _run_epoch(self, X, Y, sample_weight, batch_size, rng, last_good, trainer):
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if self.shuffle else None
        # Weights all 1 (no sample_weight given) take the unweighted fast path.
        unit = sample_weight.min() == 1 == sample_weight.max()
        total_loss, total_weight = 0.0, 0.0
        for rows in _training.minibatch_slices(n_samples, batch_size):
            idx = order[rows] if order is not None else rows
            if unit:
                wb, w_sum = None, float(rows.stop - rows.start)
            else:
                wb = sample_weight[idx]
                w_sum = float(wb.sum())
                if w_sum == 0:
                    continue  # nothing to learn from; avoids dividing by zero
            xb, yb = trainer.gather(X, Y, idx)
            # The trainer as loss_fn selects the fused path (see loss_and_grads).
            loss, grad = _training.loss_and_grads(
                self.network_, trainer, self.alpha, xb, yb, wb
            )
            if not math.isfinite(loss):
                self._diverged(X, sample_weight, last_good)
            self._optimizer.step(grad)
            total_loss += loss * w_sum
            total_weight += w_sum
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = total_loss / total_weight if total_weight else 0.0
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    def _check_epoch_finite(self, X, sample_weight, last_good):
        """Treat parameters that overflowed in an epoch's last step as divergence.

        ``_run_epoch`` checks each batch's loss before its step, so an overflow
        in the very last step of a fit would otherwise go unnoticed and fold
        into NaN ``coefs_``.
        """
        arrays = (
            array
            for layer in self.network_.layers
            for array in (*layer.params.values(), *layer.buffers.values())
        )
        if all(np.isfinite(array).all() for array in arrays):
            return
        # Undo the epoch's bookkeeping: it is reported as the diverged one.
        self.n_iter_ -= 1
        self.t_ -= X.shape[0]
        self.loss_curve_.pop()
        self._diverged(X, sample_weight, last_good)

    def _diverged(self, X, sample_weight, last_good):
        """Restore the last usable state and raise a ValueError explaining why.

        ``last_good`` lists snapshots, most recent first (see _fit_stochastic).
        The end of the last completed epoch comes first, but its final steps
        were never evaluated and can be finite yet so large that inference
        overflows; the first state whose folded network predicts finite
        values on the training rows is kept.

        An error rather than a warning: the weights just before a blow-up are
        rarely a good model, and in model selection an error gives the
        candidate ``error_score`` instead of a score of a broken fit. The
        estimator is still left usable (finite ``predict``) for inspection.
        """
        self.loss_curve_.append(np.nan)
        for state in last_good:
            _training.restore(self.network_, state)
            self._finalize(X, sample_weight)
            with np.errstate(all="ignore"):
                out = self._forward_fast(X)
            if np.isfinite(out.min()) and np.isfinite(out.max()):
                break
        raise ValueError(
            f"Training diverged in epoch {self.n_iter_ + 1}: the loss or the "
            "weights became non-finite. The estimator keeps the latest weights "
            "and batch-norm statistics from before that epoch that predict finite "
            "values, but it is not a converged fit. Lower learning_rate_init, "
            "standardize X (sknorm.Standardizer) or enable batch_norm (and, for "
            "the regressor, keep standardize_target=True)."
        )

    def _end_of_epoch(self, n_samples, valid, recorder):
        """Record history_, update stopping counters; True when training should stop."""
        score = None
        if valid is not None:
            score = self._validation_score(*valid)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = _training.snapshot(self.network_)
            what = "Validation score"
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            what = "Training loss"
        # The rate of the epoch just run, before the schedule updates it.
        learning_rate = getattr(
            self._optimizer, "base_learning_rate", self._optimizer.learning_rate
        )
        recorder.record(self.network_, self.loss_curve_[-1], score, learning_rate)
        self._optimizer.iteration_ends(self.t_)
        if self._no_improvement_count > self.n_iter_no_change:
            msg = (
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs."
            )
            if self._optimizer.trigger_stopping(msg, self.verbose):
                return True
            self._no_improvement_count = 0
        return False
