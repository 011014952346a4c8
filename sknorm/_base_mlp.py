"""BaseMLP: the estimator layer shared by MLPRegressor and MLPClassifier.

It validates input, builds the network (:func:`~sknorm.nn._layout.build_mlp`),
its :class:`~sknorm.nn.Trainer` and optimizer, hands them to a solver of
:mod:`sknorm._solver` with the stopping settings and hooks, copies the
solver's :class:`~sknorm._solver.Progress` to scikit-learn's fitted
attributes, recomputes batch-norm statistics and folds the network into
plain ``coefs_``/``intercepts_`` for prediction. Every fit is a task of
scikit-learn's callbacks (``set_callbacks``, scikit-learn >= 1.9; see
:mod:`sknorm._callbacks`). The 'auto' choices that depend on a fit's rows
are decided once (:func:`~sknorm._fit_plan.plan_fit`). Subclasses only
encode targets (``_encode_targets``, ``_training_targets``) and decode
predictions.
"""

import functools
import warnings
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from sknorm._batches import hold_out
from sknorm._callbacks import FitTasks, IterationTasks
from sknorm._config import get_config
from sknorm._fit_plan import built_batch_norm, plan_fit
from sknorm._fit_state import (
    STRUCTURE,
    check_dtype_parameters,
    check_structure,
    clear_fit_state,
    discard_fit,
    structure_of,
)
from sknorm._fitted_mlp import FittedMLP
from sknorm._history import HistoryRecorder
from sknorm._members import fit_members
from sknorm._sklearn_compat import CallbackSupportMixin, _check_sample_weight
from sknorm._solver import (
    Hooks,
    Progress,
    Stopping,
    TrainingDiverged,
    run_epochs,
    run_lbfgs,
)
from sknorm._validation import (
    MLP_PARAMETER_CONSTRAINTS,
    check_batch_norm_rows,
    check_hidden_layer_sizes,
    check_sparse_bn_input,
    resolve_dropout,
    resolve_n_iter_no_change,
    resolve_weight_decay,
    validate_numeric_data,
)
from sknorm.nn._layers import Dropout
from sknorm.nn._layout import build_mlp
from sknorm.nn._optimizers import SGD, Adam
from sknorm.nn._parallel import Parallel
from sknorm.nn._trainer import Trainer


class BaseMLP(CallbackSupportMixin, FittedMLP, BaseEstimator):
    """Base class for the batch-normalized MLP estimators; not for direct use."""

    _parameter_constraints: ClassVar[dict] = dict(MLP_PARAMETER_CONSTRAINTS)
    # The parameters a warm start must not change (see sknorm._fit_state).
    _STRUCTURE: ClassVar[tuple] = STRUCTURE

    # ------------------------------------------------------------------ build
    def _hidden_sizes(self):
        return check_hidden_layer_sizes(self.hidden_layer_sizes)

    def _build_network(self, n_in, n_out, dtype, rng, dropout, batch_norm):
        if isinstance(batch_norm, tuple):
            if not self._hidden_sizes():
                raise ValueError(
                    "batch_norm as a sequence averages member networks, which "
                    "needs at least one hidden layer (hidden_layer_sizes)."
                )
            return Parallel(
                [
                    self._build_network(n_in, n_out, dtype, rng, dropout, placement)
                    for placement in batch_norm
                ]
            )
        return build_mlp(
            n_in,
            n_out,
            hidden_layer_sizes=self._hidden_sizes(),
            activation=self.activation,
            batch_norm=batch_norm,
            bn_input=self.bn_input,
            bn_affine=self.bn_affine,
            bn_momentum=self.bn_momentum,
            bn_epsilon=self.bn_epsilon,
            dropout=dropout,
            weight_init=self.weight_init,
            dtype=dtype,
            rng=rng,
        )

    def _make_optimizer(self):
        # Parameters as views of one vector: each step updates it in one go.
        self.network_.flat_parameters()
        params = self.network_.parameters()
        if self.solver == "sgd":
            return SGD(
                params,
                learning_rate_init=self.learning_rate_init,
                lr_schedule=self.learning_rate,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
                power_t=self.power_t,
                n_epochs=self.max_iter,
            )
        return Adam(
            params,
            learning_rate_init=self.learning_rate_init,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            lr_schedule=self.learning_rate,
            n_epochs=self.max_iter,
        )

    def _check_partial_fit(self):
        """Return True if ``partial_fit`` applies, else raise AttributeError.

        ``available_if`` hides ``partial_fit`` (``hasattr`` is False) for the
        solvers that cannot take one step on a chunk, as scikit-learn's
        classifier does (its regressor exposes it with 'lbfgs').
        ``early_stopping=True`` is refused by the call instead, with
        scikit-learn's ValueError (see :meth:`_fit`).
        """
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    # -------------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight, incremental):
        if incremental and self.early_stopping is True:
            # scikit-learn's message; raised before anything is touched, so a
            # fitted model stays as it was. ("auto" never holds rows out here.)
            raise ValueError(
                "partial_fit does not support early_stopping=True: one chunk "
                "cannot provide a held-out validation set."
            )
        first_call = not hasattr(self, "network_") or (
            not self.warm_start and not incremental
        )
        X, y = validate_numeric_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=self._y_numeric,
            dtype=(np.float64, np.float32),
            reset=first_call,
            accept_sparse="csr",
        )
        check_sparse_bn_input(X, self.bn_input)
        if not first_call:
            check_structure(self, incremental)
        dtype = X.dtype if first_call else self.network_.parameters()[0].dtype
        check_dtype_parameters(self, dtype)
        self._check_X_magnitude(X)
        given_weight = sample_weight is not None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        # Callbacks score with the user's weights, not the class-weighted ones.
        user_weight = sample_weight if given_weight else None
        Y, sample_weight = self._encode_targets(
            y, sample_weight, first_call, incremental
        )
        plan = plan_fit(
            self, Y, sample_weight, first_call=first_call, incremental=incremental
        )
        Y = self._training_targets(Y, plan.held_out)
        check_batch_norm_rows(X.shape[0], plan.batch_norm)
        context = self._init_callback_context(
            max_subtasks=self._n_callback_subtasks(incremental, plan)
        )
        tasks = FitTasks(self, context, X, y, user_weight)
        tasks.begin()
        self._train(X, Y, sample_weight, first_call, incremental, tasks, plan)
        tasks.end()
        return self

    def _training_targets(self, Y, held_out):
        """Return the targets trained on (the classifier smooths its labels)."""
        return Y

    def _train(self, X, Y, sample_weight, first_call, incremental, tasks, plan):
        """Train the network, or each member network on its own, then join them."""
        if not plan.fits_members:
            self._train_network(
                X, Y, sample_weight, first_call, incremental, tasks, plan
            )
            return

        def train_member(index, placement):
            member_plan = plan._replace(batch_norm=placement)
            self._train_network(
                X, Y, sample_weight, True, False, tasks, member_plan, index
            )

        fit_members(self, plan.batch_norm, train_member, tasks)

    def _train_network(
        self, X, Y, sample_weight, first_call, incremental, tasks, plan, member=0
    ):
        """Build or reuse the network, then run the solver on encoded targets."""
        rng = self._make_rng(incremental, member)
        if first_call:
            # scikit-learn continues from coefs_ assigned to an estimator that
            # was never fitted (partial_fit, warm start): so does sknorm.
            assigned = (incremental or self.warm_start) and hasattr(self, "coefs_")
            # Rows of zero weight count for dropout="auto" as little as for
            # early_stopping="auto": as if they had been left out.
            dropout = resolve_dropout(
                self.dropout,
                plan.n_weighted,
                self.solver,
                incremental=incremental,
                held_out=plan.held_out,
            )
            self._initialize(
                X.shape[1], Y.shape[1], X.dtype, rng, dropout, plan.batch_norm
            )
            if assigned:
                self._load_first_weights()
        elif self._weights_assigned():
            # Training continues from what predict uses (see sknorm._assigned).
            self._load_assigned_weights(self.network_)
        for layer in self.network_.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng
        # Mini-batch products are small: a second BLAS thread mostly waits and,
        # on a busy 2-core machine, made epochs tens of times slower. Users
        # choose with sknorm.set_config / config_context (None: no limit).
        blas_threads = get_config()["fit_blas_threads"]
        # Overflow is checked where it matters (loss, weights, predictions)
        # and raised as a clear error: numpy's warnings would only be noise.
        with (
            threadpool_limits(limits=blas_threads, user_api="blas"),
            np.errstate(all="ignore"),
        ):
            try:
                if self.solver == "lbfgs":
                    self._fit_lbfgs(X, Y, sample_weight, tasks)
                else:
                    self._fit_stochastic(
                        X, Y, sample_weight, rng, incremental, tasks, plan
                    )
            except Exception as exc:
                # A failed fit leaves a model that predicts finite values (the
                # one before a warm start, a diverged fit's last usable state)
                # or none: never a half-built one.
                usable = (
                    exc.usable if isinstance(exc, TrainingDiverged) else not first_call
                )
                # A later member's failure is its caller's: earlier members stand.
                if not usable and member == 0:
                    discard_fit(self)
                raise

    def _load_first_weights(self):
        """Load assigned weights into the network just built, or undo the build."""
        try:
            self._load_assigned_weights(self.network_)
        except ValueError:
            # Without network_, the next call tries the assigned weights again.
            del self.network_
            raise

    def _n_callback_subtasks(self, incremental, plan):
        """Return how many iterations a fit reports to callbacks, at most."""
        if self.solver == "lbfgs":
            # One more: the subtask begun by the last iteration never runs.
            per_network = self.max_iter + 1
        else:
            per_network = 1 if incremental else self.max_iter
        if plan.fits_members:
            return per_network * len(plan.batch_norm)  # members one by one
        return per_network

    def _make_rng(self, incremental, member=0):
        # A fresh generator on every fit (never one stored across fits) makes
        # refits bitwise identical; partial_fit calls differ through t_. The
        # first member of an average draws what a single network would.
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        entropy = [seed, self.t_ if incremental and hasattr(self, "t_") else 0]
        return np.random.default_rng(entropy + [member] * (member > 0))

    def _initialize(self, n_features, n_outputs, dtype, rng, dropout, batch_norm):
        # Nothing of an earlier fit survives a fresh one.
        clear_fit_state(self, Progress.ATTRIBUTES.values())
        self.network_ = self._build_network(
            n_features, n_outputs, dtype, rng, dropout, batch_norm
        )
        self._built_with = structure_of(self)
        self._batch_norm = batch_norm
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.n_iter_ = 0
        self.t_ = 0
        # Filled per epoch by the stochastic solvers; stays empty with lbfgs.
        self.history_ = []

    def _reset_stopping(self, *, early_stopping):
        """Set the stopping bookkeeping of scikit-learn's MLP for this mode."""
        self.validation_scores_ = [] if early_stopping else None
        self.best_validation_score_ = -np.inf if early_stopping else None
        self.best_loss_ = None if early_stopping else np.inf

    # ------------------------------------------------------------ solvers
    def _fit_lbfgs(self, X, Y, sample_weight, tasks):
        iterations = IterationTasks(
            tasks,
            "lbfgs-iter",
            functools.partial(
                self._reconstruction_attributes,
                X,
                sample_weight,
                members_done=tasks.members_done,
            ),
        )
        trainer = Trainer(
            self.network_,
            self._loss_name(),
            X.shape[0],
            alpha=self.alpha,
            sparse_input=sp.issparse(X),
        )
        start = self.network_.snapshot()
        try:
            result = run_lbfgs(
                trainer,
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
            # Leave a usable model (run_lbfgs restored the best point
            # evaluated), then let the interrupt propagate.
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
        self._check_lbfgs_outcome(result.nonfinite, start, X, sample_weight)

    def _start_stochastic(self, early_stopping, incremental):
        """Set up the optimizer and the stopping records of this mode."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if not hasattr(self, "loss_curve_"):
            # The first stochastic fit of this network (it may continue lbfgs).
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self._reset_stopping(early_stopping=False)
        if early_stopping != (self.validation_scores_ is not None):
            # The first fit, or a warm start whose mode resolves anew.
            self._reset_stopping(early_stopping=early_stopping)

    def _fit_stochastic(self, X, Y, sample_weight, rng, incremental, tasks, plan):
        self._start_stochastic(plan.held_out, incremental)
        valid = None
        if plan.held_out:
            X, Y, sample_weight, valid, tasks = self._hold_out(
                X, Y, sample_weight, rng, tasks
            )
        batch_size = self._batch_size(X.shape[0])
        trainer = Trainer(
            self.network_,
            self._loss_name(),
            # minibatch_slices merges a 1-row tail into the previous batch.
            batch_size + 1,
            optimizer=self._optimizer,
            alpha=self.alpha,
            weight_decay=resolve_weight_decay(
                self.weight_decay,
                np.count_nonzero(sample_weight),
                incremental=incremental,
            ),
            update_running_stats=not self._uses_population_stats(incremental)
            or valid is not None,
            sparse_input=sp.issparse(X),
        )
        if not hasattr(self, "history_"):
            self.history_ = []  # a network fitted before history_ existed
        recorder = HistoryRecorder(X, rng, self.history_)
        if not incremental:
            self.n_iter_ = 0
        progress = Progress.read(self)
        try:
            run_epochs(
                trainer,
                X,
                Y,
                sample_weight,
                batch_size=batch_size,
                rng=rng,
                stopping=Stopping.from_params(
                    self.get_params(),
                    incremental=incremental,
                    n_iter_no_change=resolve_n_iter_no_change(
                        self.n_iter_no_change, plan.averages
                    ),
                ),
                progress=progress,
                recorder=recorder,
                hooks=self._epoch_hooks(X, sample_weight, valid, incremental, tasks),
            )
        finally:
            progress.write(self)

    def _hold_out(self, X, Y, sample_weight, rng, tasks):
        """Split off the early-stopping rows; callbacks then see the rest."""
        train_idx, (X, Y, sample_weight), valid = hold_out(
            X,
            Y,
            sample_weight,
            fraction=self.validation_fraction,
            how=self.validation_split,
            rng=rng,
            stratify=self._stratify_labels(Y),
            classes=getattr(self, "classes_", None),
        )
        return X, Y, sample_weight, valid, tasks.on_rows(train_idx, X)

    def _epoch_hooks(self, X, sample_weight, valid, incremental, tasks):
        """Return the solver's view of this estimator: scoring, callbacks, freezing."""
        attributes = functools.partial(
            self._reconstruction_attributes,
            X,
            sample_weight,
            incremental=incremental,
            members_done=tasks.members_done,
        )

        return Hooks(
            validation_score=None
            if valid is None
            else functools.partial(self._validation_score, *valid),
            begin_epoch=functools.partial(tasks.begin_subtask, "epoch", attributes),
            end_epoch=lambda epoch: tasks.end_subtask(epoch, attributes),
            usable=functools.partial(
                self._usable,
                X,
                sample_weight,
                incremental,
                None if valid is None else valid[0],
            ),
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        # Clipped without a warning: the default exceeds many small datasets,
        # where one full batch is the expected behaviour.
        batch_size = min(self.batch_size, n_samples)
        check_batch_norm_rows(batch_size, built_batch_norm(self), "batch_size")
        return batch_size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # bn_input centres the raw features, which sparse X cannot hold.
        tags.input_tags.sparse = not self.bn_input
        return tags
