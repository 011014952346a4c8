"""MLPRegressor: scikit-learn's MLP regressor with batch normalization."""

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from sknorm._base_mlp import BaseMLP
from sknorm._docstrings import fill_doc
from sknorm._export import to_sklearn_mlp
from sknorm._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
)
from sknorm._stats import standardization_stats
from sknorm._validation import check_magnitude
from sknorm.nn._losses import OUTPUT_ACTIVATIONS


@fill_doc
class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with batch normalization.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, methods and fitted attributes, plus batch
    normalization in every hidden layer, built-in target standardization,
    sample weights everywhere, dropout, leaky ReLU and a time-ordered
    early-stopping split. Prediction runs the folded network (batch
    normalization merged into the linear layers), so it costs the same as a
    plain MLP.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        Loss to minimize. ``'poisson'`` uses a log link (``exp`` output) and
        needs ``y >= 0``.

    %(mlp_parameters)s

    standardize_target : bool, default=True
        Train on standardized targets (sample-weighted mean and scale per
        output) and predict in original units. With ``loss='poisson'`` the
        targets are only divided by their weighted mean, since centering would
        make them negative. The scaling is folded into ``coefs_[-1]`` and
        ``intercepts_[-1]``.

    clip_predictions : float or None, default=0.1
        Clip predictions to the range of the training targets (rows of
        non-zero weight, every call to ``fit`` or ``partial_fit`` since the
        network was built), widened on each side by this fraction of the
        range; None never clips. scikit-learn's MLP does not clip. A ReLU
        network extrapolates linearly, so on small training sets a few test
        rows outside the training rows can get predictions far outside
        anything seen: on half A of the quality suite cut to 30 training
        rows, clipping raised the mean R² by 0.40 (one task from -5.3 to 0.77
        for one seed), by 0.04 at 50 rows, and by 0.0005 on the full data,
        where no task lost more than 0.001 (user guide, "Choosing and
        tuning"). Set None when predictions must follow a trend beyond the
        training targets.

    Attributes
    ----------
    %(mlp_attributes)s

    out_activation_ : str
        ``'identity'`` or ``'exp'`` (Poisson).

    target_mean_ : ndarray of shape (n_outputs,)
        Mean subtracted from y before training (zeros when not standardized).

    target_scale_ : ndarray of shape (n_outputs,)
        Scale y was divided by before training (ones when not standardized).

    target_min_, target_max_ : ndarray of shape (n_outputs,)
        Smallest and largest training target per output (rows of non-zero
        weight), from which ``clip_predictions`` clips.

    See Also
    --------
    MLPClassifier : The classifier with the same network.
    sknorm.Standardizer : Standardizes X (and, in a TransformedTargetRegressor,
        the targets of any other regressor).

    Notes
    -----
    Differences from scikit-learn's MLPRegressor: ``batch_norm='auto'``
    by default (from 30 rows, the average of three networks, with BN before
    the activation, without BN and with BN after it, whose ``coefs_`` are
    three times as wide as ``hidden_layer_sizes``); targets are standardized by
    default, so ``loss_``, ``loss_curve_`` and ``tol`` are in standardized
    units; predictions are clipped to the widened range of the training
    targets (``clip_predictions``); the tags declare multi-output support;
    ``partial_fit`` is absent with ``solver='lbfgs'``; a 1-row trailing
    mini-batch is merged into the previous one.

    %(mlp_callbacks)s

    Reliability (user guide, "Reliability"): a fit whose loss or weights become
    non-finite raises ``ValueError("Training diverged ...")`` after restoring
    the latest earlier state that predicts finite values. ``KeyboardInterrupt``
    propagates after restoring the last completed epoch, which
    ``warm_start=True`` resumes. ``X`` (and, with ``standardize_target=False``,
    ``y``) values whose squares overflow (beyond about 1e151 in float64) raise
    a ValueError, and so does a prediction that would overflow. Fitted models
    load safely with ``skops.io.load`` and the trusted types of the user guide.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sknorm import MLPRegressor, Standardizer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)) * [1.0, 100.0, 1e4]  # wildly different scales
    >>> y = 1000 * np.sin(X[:, 0]) + X[:, 1] / 10
    >>> model = make_pipeline(Standardizer(), MLPRegressor(random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
        "standardize_target": ["boolean"],
        "clip_predictions": [Interval(Real, 0, None, closed="left"), None],
    }
    # The loss fixes the output activation and the target statistics are
    # taken once: a warm start cannot change either.
    _STRUCTURE: ClassVar[tuple] = (*BaseMLP._STRUCTURE, "loss", "standardize_target")
    _y_numeric = True

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(64, 64),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="adaptive",
        learning_rate_init=0.02,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping="auto",
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change="auto",
        max_fun=15000,
        batch_norm="auto",
        bn_affine=True,
        bn_momentum=0.1,
        bn_epsilon=1e-5,
        bn_stats="population",
        dropout="auto",
        weight_decay="auto",
        weight_init="glorot",
        validation_split="random",
        bn_input=False,
        standardize_target=True,
        clip_predictions=0.1,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.batch_norm = batch_norm
        self.bn_affine = bn_affine
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.bn_stats = bn_stats
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.weight_init = weight_init
        self.validation_split = validation_split
        self.bn_input = bn_input
        self.standardize_target = standardize_target
        self.clip_predictions = clip_predictions

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used in the loss, the L2 normalization, the
            batch-norm statistics, the target statistics and the
            early-stopping score.

        Returns
        -------
        MLPRegressor
            The fitted regressor (``self``).
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_partial_fit())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over the given data (only for 'sgd' and 'adam').

        Target statistics come from the first call; the range
        ``clip_predictions`` clips to grows with every call. Batch-norm
        inference uses the running averages until
        :meth:`recompute_bn_statistics` is called.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        MLPRegressor
            The updated regressor (``self``).
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the folded network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values, in the target's original units.
        """
        y_pred = self._clip(self._predict_output(X))
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    def to_sklearn(self):
        """Return an equivalent fitted :class:`sklearn.neural_network.MLPRegressor`.

        Batch normalization and the target scaling are already folded into
        ``coefs_`` and ``intercepts_``, so the plain scikit-learn model predicts
        the same values, except that it does not clip them: where this model
        clips (``clip_predictions``), scikit-learn's predicts the unclipped
        value.

        Returns
        -------
        sklearn.neural_network.MLPRegressor
            A fitted scikit-learn model with copies of this model's weights.
        """
        return to_sklearn_mlp(self)

    # ---------------------------------------------------------- internals
    def _loss_name(self):
        return self.loss

    def _stratify_labels(self, Y):
        return None

    def _encode_targets(self, y, sample_weight, first_call, incremental):
        with np.errstate(over="ignore"):
            Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(sample_weight.dtype)
        if not np.isfinite(Y).all():
            raise ValueError(
                f"y has values too large for {Y.dtype}, the dtype of X; pass X "
                "as float64."
            )
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression."
            )
        if first_call:
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
            self.target_mean_, self.target_scale_ = self._target_stats(Y, sample_weight)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but this model was fitted with "
                f"{self.n_outputs_} outputs."
            )
        Y = (Y - self.target_mean_) / self.target_scale_
        # The network trains on these values: huge ones overflow the loss.
        check_magnitude(
            Y,
            "y (after target standardization)" if self.standardize_target else "y",
            "Divide y by a constant"
            + ("." if self.standardize_target else " or set standardize_target=True."),
        )
        return Y, sample_weight

    def _train(self, X, Y, sample_weight, first_call, incremental, tasks, plan):
        """Train, keeping the range of the targets trained on for clipping.

        A fresh fit takes this call's range before training (an interrupted
        fit keeps a model that clips); a later call widens it only once it
        succeeded, so a failed call leaves the range as it was.
        """
        low, high = self._target_range(Y, sample_weight)
        if first_call:
            self.target_min_, self.target_max_ = low, high
        super()._train(X, Y, sample_weight, first_call, incremental, tasks, plan)
        if not first_call:
            self.target_min_ = np.minimum(self.target_min_, low)
            self.target_max_ = np.maximum(self.target_max_, high)

    def _target_range(self, Y, sample_weight):
        """Return the per-output min and max of the rows of non-zero weight.

        ``Y`` is standardized, so the range is mapped back to y's units.
        """
        rows = Y[sample_weight != 0]
        scale = self.target_scale_.astype(np.float64)
        mean = self.target_mean_.astype(np.float64)
        # min/max pick stored values, so taking them before the float64 cast
        # gives the same numbers without a float64 copy of every row.
        low = rows.min(axis=0).astype(np.float64)
        high = rows.max(axis=0).astype(np.float64)
        return low * scale + mean, high * scale + mean

    def _clip_bounds(self):
        """Return the float64 bounds ``clip_predictions`` clips to, per output."""
        margin = self.clip_predictions * (self.target_max_ - self.target_min_)
        return self.target_min_ - margin, self.target_max_ + margin

    def _clip(self, y_pred):
        """Clip predictions to the widened target range (in place)."""
        if self.clip_predictions is None:
            return y_pred
        low, high = self._clip_bounds()
        with np.errstate(over="ignore"):  # beyond float32: no bound
            low, high = low.astype(y_pred.dtype), high.astype(y_pred.dtype)
        return np.clip(y_pred, low, high, out=y_pred)

    def _target_stats(self, Y, sample_weight):
        n_outputs = Y.shape[1]
        ones = np.ones(n_outputs, dtype=Y.dtype)
        if not self.standardize_target:
            return np.zeros_like(ones), ones
        if self.loss == "poisson":
            # Centering would make Poisson targets negative: divide by the mean.
            mean, _, _ = standardization_stats(Y, sample_weight, with_std=False)
            scale = np.where(mean > 0, mean, ones).astype(Y.dtype)
            return np.zeros_like(ones), scale
        try:
            mean, _, scale = standardization_stats(Y, sample_weight)
        except ValueError as exc:
            raise ValueError(f"Cannot standardize y: {exc}") from exc
        return mean.astype(Y.dtype), scale.astype(Y.dtype)

    def _fold_output(self, coefs, intercepts):
        scale, mean = self.target_scale_, self.target_mean_
        if self.loss == "poisson":
            intercepts[-1] = intercepts[-1] + np.log(scale)
        else:
            coefs[-1] = coefs[-1] * scale
            intercepts[-1] = intercepts[-1] * scale + mean
        return coefs, intercepts

    def _unfold_output(self, coefs, intercepts):
        scale = self.target_scale_.astype(np.float64)
        if self.loss == "poisson":
            intercepts[-1] = intercepts[-1] - np.log(scale)
        else:
            coefs[-1] = coefs[-1] / scale
            intercepts[-1] = (intercepts[-1] - self.target_mean_) / scale
        return coefs, intercepts

    def _score_internal(self, raw, Y, sample_weight):
        y_pred = OUTPUT_ACTIVATIONS[self.out_activation_](raw)
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(Y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        # The Poisson loss refuses negative y: the common checks then shift y.
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags
