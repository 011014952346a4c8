"""BaseMLP: the estimator layer shared by MLPRegressor and MLPClassifier.

It validates input, builds a :class:`~sknorm.nn.Sequential` from the
hyper-parameters, runs the mini-batch or L-BFGS training loop with
scikit-learn's bookkeeping, recomputes batch-norm statistics and folds the
network into plain ``coefs_``/``intercepts_`` for prediction. Every fit is
a task of scikit-learn's callbacks (``set_callbacks``, scikit-learn >= 1.9;
see :mod:`sknorm._callbacks`). Subclasses only encode targets
(``_encode_targets``) and decode predictions.
"""

import copy
import itertools
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from sknorm._callbacks import FitTasks
from sknorm._config import get_config
from sknorm._fitting import FitLoopMixin
from sknorm._sklearn_compat import (
    CallbackSupportMixin,
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
)
from sknorm._validation import check_magnitude, validate_numeric_data
from sknorm.nn._folding import fold_batchnorm
from sknorm.nn._inference import dense_forward
from sknorm.nn._layers import (
    ACTIVATIONS,
    BatchNorm1d,
    Dropout,
    Linear,
    init_bound,
)
from sknorm.nn._losses import LOSSES, OUTPUT_ACTIVATIONS
from sknorm.nn._network import Sequential
from sknorm.nn._optimizers import SGD, Adam

# Rows per chunk at inference: bounds the extra memory of predict on huge X,
# and a chunk's layer outputs stay in cache (65_536 rows was 1.5x slower).
_PREDICT_CHUNK = 4096


class BaseMLP(CallbackSupportMixin, FitLoopMixin, BaseEstimator):
    """Base class for the batch-normalized MLP estimators; not for direct use."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [
            StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})
        ],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "batch_norm": [StrOptions({"before", "after"}), None],
        "bn_affine": ["boolean"],
        "bn_momentum": [Interval(Real, 0, 1, closed="both")],
        "bn_epsilon": [Interval(Real, 0, None, closed="neither")],
        "bn_stats": [StrOptions({"population", "running"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "weight_init": [StrOptions({"glorot", "he"})],
        "validation_split": [StrOptions({"random", "last"})],
        "bn_input": ["boolean"],
    }

    # ------------------------------------------------------------------ build
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(not isinstance(s, Integral) or s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {sizes}."
            )
        return [int(s) for s in sizes]

    def _build_network(self, n_in, n_out, dtype, rng):
        """[input BN], then Linear -> [BN] -> act -> [BN] -> [Dropout] per layer."""
        layers = []
        if self.batch_norm is not None and self.bn_input:
            # Standardizes raw features by batch statistics (population ones at
            # inference, which fold into the first Linear): BN on hidden units
            # alone cannot undo input scales that differ by orders of magnitude.
            layers.append(
                BatchNorm1d(
                    n_in,
                    momentum=self.bn_momentum,
                    eps=self.bn_epsilon,
                    affine=False,
                    dtype=dtype,
                )
            )
        sizes = [n_in, *self._hidden_sizes()]
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = init_bound(
                fan_in, fan_out, activation=self.activation, init=self.weight_init
            )
            # BN right after the Linear subtracts the mean, so a bias is dead weight.
            bias = self.batch_norm != "before"
            layers.append(
                Linear(
                    fan_in, fan_out, bias=bias, rng=rng, dtype=dtype, init_bound=bound
                )
            )
            bn = BatchNorm1d(
                fan_out,
                momentum=self.bn_momentum,
                eps=self.bn_epsilon,
                affine=self.bn_affine,
                dtype=dtype,
            )
            if self.batch_norm == "before":
                layers.append(bn)
            layers.append(ACTIVATIONS[self.activation]())
            if self.batch_norm == "after":
                layers.append(bn)
            if self.dropout > 0:
                layers.append(Dropout(self.dropout, rng=rng))
        bound = init_bound(
            sizes[-1], n_out, activation=self.activation, init=self.weight_init
        )
        layers.append(Linear(sizes[-1], n_out, rng=rng, dtype=dtype, init_bound=bound))
        return Sequential(layers)

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
            )
        return Adam(
            params,
            learning_rate_init=self.learning_rate_init,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            # sklearn's "invscaling" is SGD-only; "adaptive" applies to Adam too.
            lr_schedule="adaptive" if self.learning_rate == "adaptive" else "constant",
        )

    def _check_partial_fit(self):
        """Return True if ``partial_fit`` applies, else raise AttributeError.

        ``available_if`` hides ``partial_fit`` (``hasattr`` is False) for the
        settings one chunk cannot support, instead of exposing a method that
        always raises (scikit-learn's regressor exposes it with 'lbfgs').
        """
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        if self.early_stopping:
            raise AttributeError(
                "partial_fit is not available with early_stopping=True: one chunk "
                "cannot provide a held-out validation set."
            )
        return True

    # -------------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight, incremental):
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
        )
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
        if self.batch_norm is not None and X.shape[0] < 2:
            raise ValueError(
                f"Found n_samples={X.shape[0]}, but batch normalization needs at least "
                "2 samples to compute batch statistics."
            )
        context = self._init_callback_context(
            max_subtasks=self._n_callback_subtasks(incremental)
        )
        tasks = FitTasks(self, context, X, y, user_weight)
        tasks.begin()
        self._train(X, Y, sample_weight, first_call, incremental, tasks)
        tasks.end()
        return self

    def _train(self, X, Y, sample_weight, first_call, incremental, tasks):
        """Build or reuse the network, then run the solver on encoded targets."""
        rng = self._make_rng(incremental)
        if first_call:
            self._initialize(X.shape[1], Y.shape[1], X.dtype, rng)
        for layer in self.network_.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng
        # Mini-batch products are small: a second BLAS thread mostly waits and,
        # on a busy 2-core machine, made epochs tens of times slower. Users
        # choose with sknorm.set_config / config_context (None: no limit).
        blas_threads = get_config()["fit_blas_threads"]
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight, tasks)
            else:
                self._fit_stochastic(X, Y, sample_weight, rng, incremental, tasks)

    def _n_callback_subtasks(self, incremental):
        """Return how many iterations a fit reports to callbacks, at most."""
        if self.solver == "lbfgs":
            # One more: the subtask begun by the last iteration never runs.
            return self.max_iter + 1
        return 1 if incremental else self.max_iter

    def _check_X_magnitude(self, X):
        check_magnitude(
            X,
            "X",
            "Standardize X first (e.g. sknorm.Standardizer in a pipeline); if "
            "these are missing-value sentinels, replace them by NaN and impute.",
            getattr(self, "feature_names_in_", None),
        )

    def _make_rng(self, incremental):
        # A fresh generator on every fit (never one stored across fits) makes
        # refits bitwise identical; partial_fit calls differ through t_.
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return np.random.default_rng(
            [seed, self.t_ if incremental and hasattr(self, "t_") else 0]
        )

    def _initialize(self, n_features, n_outputs, dtype, rng):
        self.network_ = self._build_network(n_features, n_outputs, dtype, rng)
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.n_iter_ = 0
        self.t_ = 0
        # Filled per epoch by the stochastic solvers; stays empty with lbfgs.
        self.history_ = []
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self.best_loss_ = None if self.early_stopping else np.inf

    def _loss_fn(self):
        return LOSSES[self._loss_name()]

    def _finalize(self, X, sample_weight, incremental=False):
        """Freeze BN statistics (population mode) and fold for prediction."""
        # Every fit gives Dropout a fresh generator: dropping it afterwards
        # keeps the fitted state to arrays and sknorm types (loadable by skops).
        for layer in self.network_.layers:
            if isinstance(layer, Dropout):
                layer.rng = None
        # partial_fit sees one chunk: population statistics of a chunk would be
        # wrong for the whole stream, so it keeps the running averages until the
        # user calls recompute_bn_statistics on the full data.
        if self.bn_stats == "population" and not incremental:
            self.network_.compute_population_statistics(X, sample_weight)
        self._fold()

    def _reconstruction_attributes(
        self, X, sample_weight, theta=None, *, incremental=False
    ):
        """Return the prediction attributes of the model as it stands, for callbacks.

        They are what :meth:`_finalize` would set if the fit stopped now
        (population statistics included), computed on a copy of ``network_``
        with parameters ``theta`` (the current ones when None): the estimator
        itself is not modified. A copy of the estimator with these attributes
        predicts as the fit stopped here would.
        """
        twin = copy.copy(self)
        twin.network_ = self.network_.copy()
        if theta is not None:
            twin.network_.set_flat_params(theta)
        twin._finalize(X, sample_weight, incremental)
        return {
            "network_": twin.network_,
            "coefs_": twin.coefs_,
            "intercepts_": twin.intercepts_,
        }

    def _fold(self):
        folded = fold_batchnorm(self.network_)
        linears = [layer for layer in folded.layers if isinstance(layer, Linear)]
        coefs = [layer.params["weight"].copy() for layer in linears]
        intercepts = [
            layer.params["bias"].copy()
            if "bias" in layer.params
            else np.zeros(layer.n_out, dtype=coefs[0].dtype)
            for layer in linears
        ]
        self.coefs_, self.intercepts_ = self._fold_output(coefs, intercepts)

    def _fold_output(self, coefs, intercepts):
        """Return the output layer unchanged; the regressor folds target scaling."""
        return coefs, intercepts

    # --------------------------------------------------------------- predict
    def _forward_fast(self, X):
        """Output-layer predictions of the folded network (thread-safe, chunked)."""
        output = OUTPUT_ACTIVATIONS[self.out_activation_]
        return dense_forward(
            X,
            self.coefs_,
            self.intercepts_,
            self.activation,
            output,
            chunk=_PREDICT_CHUNK,
        )

    def _predict_output(self, X):
        """Validate X and return the output layer, refusing overflowed values."""
        check_is_fitted(self)
        X = validate_numeric_data(self, X, dtype=(np.float64, np.float32), reset=False)
        out = self._forward_fast(X)
        # min/max propagate NaN and allocate nothing of X's size.
        if not (np.isfinite(out.min()) and np.isfinite(out.max())):
            largest = max(float(X.max()), -float(X.min()))
            raise ValueError(
                "The network's output overflowed to inf or NaN: X holds values "
                f"of magnitude up to {largest:.3g}, far outside the training "
                "range. Check X for missing-value sentinels or unscaled columns."
            )
        return out

    def _validation_score(self, X, Y, sample_weight):
        """Score held-out rows in inference mode with the running statistics."""
        raw = self.network_.predict(X)
        return self._score_internal(raw, Y, sample_weight)

    def recompute_bn_statistics(self, X, sample_weight=None):
        """Recompute every batch-norm layer's statistics over ``X`` ("precise BN").

        With the weights frozen, each BN layer's mean and biased variance are
        computed over all rows of ``X``, from the first layer to the last, the
        layers below already using their new statistics; then the network is
        folded again for prediction. ``fit`` does this automatically when
        ``bn_stats="population"``; call it after a sequence of ``partial_fit``
        calls, with the full training data (or a large representative sample).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the statistics.

        Returns
        -------
        MLPRegressor or MLPClassifier
            The estimator itself (``self``), with updated statistics.
        """
        check_is_fitted(self)
        X = validate_numeric_data(self, X, dtype=(np.float64, np.float32), reset=False)
        X = X.astype(self.coefs_[0].dtype, copy=False)
        self._check_X_magnitude(X)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        self.network_.compute_population_statistics(X, sample_weight)
        self._fold()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
