"""Numerically stable feature and target standardization.

This module provides :class:`Standardizer`, a drop-in alternative to
:class:`sklearn.preprocessing.StandardScaler`. Its statistics (two-pass within
a batch, Chan et al.'s merge across ``partial_fit`` calls) live in
:mod:`sknorm._stats`, which the MLP regressor reuses for its targets;
``standardization_stats`` is re-exported here for convenience.
"""

from numbers import Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if
from sklearn.utils.sparsefuncs import inplace_column_scale
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted

from sknorm._callbacks import FitTasks
from sknorm._sklearn_compat import (
    CallbackSupportMixin,
    Interval,
    StrOptions,
    _fit_context,
)
from sknorm._stats import (
    _batch_moments,
    _Moments,
    _validate_weights,
    _variance_and_scale,
    robust_center_scale,
    standardization_stats,
)
from sknorm._validation import frame_dtype, validate_numeric_data

__all__ = ["Standardizer", "standardization_stats"]

_SPARSE_CENTER_MSG = (
    "Cannot center sparse matrices: Standardizer with with_mean=True (or "
    "method='robust') needs dense input. Pass `with_mean=False` (and "
    "method='standard') to only scale sparse data, or convert the data to a "
    "dense array."
)


class Standardizer(
    CallbackSupportMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Standardize features by removing the mean and scaling to unit variance.

    A numerically stable, drop-in equivalent of
    :class:`~sklearn.preprocessing.StandardScaler`: the standard score of a
    sample ``x`` is ``z = (x - u) / s`` with ``u`` the training mean (or 0 if
    ``with_mean=False``) and ``s`` the training standard deviation (or 1 if
    ``with_std=False``). NaNs are disregarded in fit and kept in transform.
    Sparse CSR/CSC input is supported with ``with_mean=False``.

    Parameters
    ----------
    copy : bool, default=True
        If False, try to avoid a copy and scale in place instead. This is not
        guaranteed: e.g. lists, read-only arrays or arrays of another dtype
        are still copied.

    with_mean : bool, default=True
        If True, center the data before scaling. Raises a ValueError on
        sparse input, since centering would densify it.

    with_std : bool, default=True
        If True, scale the data to unit variance.

    method : {'standard', 'robust'}, default='standard'
        ``'standard'``: mean and standard deviation. ``'robust'``: the
        (weighted) median and interquartile range, which outliers and
        missing-value codes such as -9900 barely move (half the range where
        the IQR is 0); dense input and :meth:`fit` only (no
        :meth:`partial_fit`).

    clip : float or None, default=None
        If given, smoothly clip the standardized values to ``(-clip, clip)``
        with ``z / sqrt(1 + (z / clip) ** 2)``: values near 0 barely change,
        outliers end near ``+-clip``. ``clip=3`` with ``method='robust'`` is
        RealMLP's input scaling (Holzmüller et al., 2024).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Per-feature (weighted) mean of the training data (the median with
        ``method='robust'``); 0 for a feature without information (see
        Notes). None when ``with_mean=False`` and ``with_std=False``.

    var_ : ndarray of shape (n_features,) or None
        Per-feature biased (``ddof=0``) variance of the training data, used to
        compute ``scale_``; NaN for a feature without information. None when
        ``with_std=False`` or ``method='robust'``.

    scale_ : ndarray of shape (n_features,) or None
        Per-feature scaling, ``np.sqrt(var_)`` except for constant or
        near-constant features, which get 1 (the interquartile range with
        ``method='robust'``). None when ``with_std=False``.

    n_samples_seen_ : int or ndarray of shape (n_features,)
        Number of samples processed for each feature: an int, or an int array
        when features have different numbers of missing values. With
        ``sample_weight`` it is the (float) sum of the weights seen instead.
        Reset by :meth:`fit`, incremented by :meth:`partial_fit`.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The scikit-learn transformer this
        class reproduces.
    sklearn.compose.TransformedTargetRegressor : Meta-estimator for which this
        class is the target transformer of choice.
    standardization_stats : Function computing the same statistics.

    Notes
    -----
    Differences from :class:`~sklearn.preprocessing.StandardScaler`:

    - Within a batch, the mean and variance are computed in float64 with a
      corrected two-pass algorithm (mean first, then centered squares).
    - Across :meth:`partial_fit` calls, batches are merged with the pairwise
      update of Chan, Golub & LeVeque on (weight sum, mean, sum of squared
      deviations), which never subtracts large running sums. The variance
      stays accurate for data with a large offset relative to their spread
      (e.g. atmospheric pressure in Pa, ``1e5 +/- 10``), where
      ``StandardScaler.partial_fit`` can lose most significant digits.
    - Negative or all-zero sample weights raise a ValueError.
    - With ``sample_weight``, ``n_samples_seen_`` is always the sum of the
      weights, also when ``with_mean=False`` and ``with_std=False`` (where
      ``StandardScaler`` counts samples on dense data).
    - Float32 data are centered against the float64 mean, so the offset does
      not cost float32 precision. Float16 data are transformed in float32
      and rounded to float16 once, so centering cannot overflow float16
      (StandardScaler turns ``[60000, -60000, 60000]`` into ``-inf``).
    - The statistics do not depend on the size of the weights: weights of
      1e300 or 1e-300 give the same ``mean_``, ``var_`` and ``scale_`` as
      weights of 1 (``n_samples_seen_`` is still their sum), also across
      :meth:`partial_fit` calls.
    - A feature without information, whose observations are all NaN or all
      have zero weight, gets ``mean_ = 0``, ``var_ = NaN`` and
      ``scale_ = 1``: transform leaves its values unchanged (StandardScaler
      gives NaN mean and turns the values of a zero-weight feature into NaN).
      A later :meth:`partial_fit` batch with data for it takes over.
    - It is meant to be the ``transformer`` of
      :class:`~sklearn.compose.TransformedTargetRegressor` (1-D or 2-D
      targets); ``y`` is ignored by :meth:`fit`, so it also works inside
      pipelines with any kind of labels.
    - With scikit-learn >= 1.9, :meth:`fit` and :meth:`partial_fit` are
      single tasks for callbacks (``set_callbacks``), as in StandardScaler.

    Features are considered constant, and get ``scale_ = 1``, when their
    variance is within the rounding error bound
    ``n * eps * var + (n * eps * mean) ** 2`` (``n`` non-missing samples,
    ``eps`` the float64 machine epsilon), as in scikit-learn. Exactly
    constant columns get their exact mean and a zero variance, even at 1e300.
    A column spread over more than about 1e154 (say ``+/-1e300``) has a
    variance beyond float64: :meth:`fit` raises a ValueError naming the
    column instead of leaving it unscaled (StandardScaler gives ``var_=inf``
    and scale 1). Pandas and polars frames give bitwise the same statistics
    as the equivalent NumPy array.

    Examples
    --------
    >>> from sknorm._standardizer import Standardizer
    >>> X = [[0, 100000.0], [0, 100002.0], [1, 100004.0], [1, 100006.0]]
    >>> scaler = Standardizer().fit(X)
    >>> scaler
    Standardizer()
    >>> scaler.mean_
    array([5.00000e-01, 1.00003e+05])
    >>> scaler.var_
    array([0.25, 5.  ])
    >>> scaler.transform(X)
    array([[-1.        , -1.34164079],
           [-1.        , -0.4472136 ],
           [ 1.        ,  0.4472136 ],
           [ 1.        ,  1.34164079]])
    >>> scaler.inverse_transform([[3.0, 0.0]])
    array([[2.00000e+00, 1.00003e+05]])
    """

    _parameter_constraints: ClassVar[dict] = {
        "copy": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "method": [StrOptions({"standard", "robust"})],
        "clip": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self, *, copy=True, with_mean=True, with_std=True, method="standard", clip=None
    ):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std
        self.method = method
        self.clip = clip

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the mean and standard deviation used for later scaling.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data used to compute the per-feature mean and standard
            deviation. NaNs are ignored.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative individual weights for each sample, not all zero.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        return self._partial_fit(X, y, sample_weight, reset=True)

    def _check_incremental(self):
        if self.method != "standard":
            raise AttributeError(
                "partial_fit is only available with method='standard': quantiles "
                "of separate batches cannot be merged."
            )
        return True

    @available_if(lambda est: est._check_incremental())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the mean and standard deviation with a batch of samples.

        All of X is processed as a single batch, which is merged with the
        statistics of previous calls (Chan, Golub & LeVeque, "Algorithms for
        computing the sample variance: analysis and recommendations", The
        American Statistician 37.3, 1983). Useful when :meth:`fit` is not
        feasible because the data do not fit in memory or arrive as a stream.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data used to update the per-feature mean and standard
            deviation. NaNs are ignored.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative individual weights for each sample, not all zero.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        return self._partial_fit(
            X, y, sample_weight, reset=not hasattr(self, "n_samples_seen_")
        )

    def _partial_fit(self, X, y, sample_weight, *, reset):
        X = validate_numeric_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            reset=reset,
        )
        if sp.issparse(X) and (self.with_mean or self.method == "robust"):
            raise ValueError(_SPARSE_CENTER_MSG)
        if sample_weight is not None:
            sample_weight = _validate_weights(sample_weight, X)
        # One leaf task: the statistics take a single pass, with no iterations.
        tasks = FitTasks(self, self._init_callback_context(), X, y, sample_weight)
        tasks.begin()
        if self.method == "robust":
            self._fit_robust(X, sample_weight)
            tasks.end()
            return self

        moments = _batch_moments(X, sample_weight)
        weighted = sample_weight is not None
        if not reset:
            moments = _Moments(**self._moments).merge(moments)
            weighted = weighted or self._weighted
        # Checked before any state changes: an overflowing batch raises and
        # leaves the statistics of the previous calls intact.
        var, scale = _variance_and_scale(moments)
        # Stored as a dict of arrays: plain fitted state (loadable by skops).
        self._moments = moments._asdict()
        self._weighted = weighted

        self.n_samples_seen_ = _samples_seen(
            moments.true_weight_sum if weighted else moments.count, weighted
        )

        if self.with_std:
            self.mean_ = moments.mean
            self.var_ = var
            self.scale_ = scale
        else:
            self.mean_ = moments.mean if self.with_mean else None
            self.var_ = None
            self.scale_ = None
        self._centered = self.with_mean
        tasks.end()
        return self

    def _fit_robust(self, X, sample_weight):
        center, scale = robust_center_scale(X, sample_weight)
        present = ~np.isnan(X)
        weighted = sample_weight is not None
        seen = (present * sample_weight[:, None]) if weighted else present
        seen = seen.sum(axis=0)
        self.n_samples_seen_ = _samples_seen(seen, weighted)
        self.mean_ = center if self.with_mean or self.with_std else None
        self.var_ = None
        self.scale_ = scale if self.with_std else None
        self._centered = self.with_mean

    def _centers(self):
        """Whether the fitted model centers: fit's ``with_mean``, not today's.

        ``set_params`` followed by a failed ``fit`` leaves the previous model,
        which transforms as it was fitted (``scale_`` is None without
        scaling). Models pickled before this attribute read the parameter.
        """
        return getattr(self, "_centered", self.with_mean)

    def transform(self, X, copy=None):
        """Standardize the data: center and scale each feature.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to standardize. NaNs are kept as NaN.

        copy : bool, default=None
            Copy the input X or not. If None, ``self.copy`` is used.

        Returns
        -------
        X_tr : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Transformed array, of the same float dtype as the input.
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        X = validate_numeric_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            copy=copy,
            dtype=FLOAT_DTYPES,
            force_writeable=True,
            ensure_all_finite="allow-nan",
        )
        return _via_float32_if_half(self._standardize_in_place, X)

    def _standardize_in_place(self, X):
        if sp.issparse(X):
            if self._centers():
                raise ValueError(_SPARSE_CENTER_MSG)
            if self.scale_ is not None:
                inplace_column_scale(X, 1.0 / self.scale_)
            if self.clip is not None:
                _soft_clip(X.data, self.clip)  # keeps zeros zero
            return
        # The arithmetic runs in float64 against the float64 statistics, so
        # float32 results stay accurate even when the mean is large compared
        # with the spread.
        if self._centers():
            np.subtract(X, self.mean_, out=X, casting="unsafe")
        if self.scale_ is not None:
            np.divide(X, self.scale_, out=X, casting="unsafe")
        if self.clip is not None:
            _soft_clip(X, self.clip)

    def inverse_transform(self, X, copy=None):
        """Scale the data back to the original representation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Standardized data.

        copy : bool, default=None
            Copy the input X or not. If None, ``self.copy`` is used.

        Returns
        -------
        X_original : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Data in the original units, of the same float dtype as the input.
        """
        check_is_fitted(self)
        copy = self.copy if copy is None else copy
        # A polars float32 frame (e.g. set_output's) stays float32, as for
        # NumPy and pandas; check_array alone would make it float64.
        kept = frame_dtype(X)
        X = check_array(
            X,
            accept_sparse=("csr", "csc"),
            copy=copy,
            dtype=kept if kept in FLOAT_DTYPES else FLOAT_DTYPES,
            force_writeable=True,
            ensure_all_finite="allow-nan",
        )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {self.__class__.__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        return _via_float32_if_half(self._unstandardize_in_place, X)

    def _unstandardize_in_place(self, X):
        if self.clip is not None:
            _soft_clip_inverse(X.data if sp.issparse(X) else X, self.clip)
        if sp.issparse(X):
            if self._centers():
                raise ValueError(_SPARSE_CENTER_MSG)
            if self.scale_ is not None:
                inplace_column_scale(X, self.scale_)
            return
        if self.scale_ is not None:
            np.multiply(X, self.scale_, out=X, casting="unsafe")
        if self._centers():
            np.add(X, self.mean_, out=X, casting="unsafe")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = not self.with_mean and self.method == "standard"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _samples_seen(seen, weighted):
    """``n_samples_seen_``: one number (float when weighted) if all columns agree."""
    if np.all(seen == seen[0]):
        return float(seen[0]) if weighted else int(seen[0])
    return seen.copy()


def _via_float32_if_half(in_place, X):
    """Apply ``in_place(X)`` and return X, computing in float32 if X is float16.

    Intermediate float16 values overflow easily: centering 60000 by a mean of
    -20000 gives -80000 > 65504, though the standardized value is about -1.4.
    Float32 holds every intermediate; the result is rounded to float16 once.
    """
    if X.dtype != np.float16:
        in_place(X)
        return X
    X32 = X.astype(np.float32)
    in_place(X32)
    with np.errstate(over="ignore"):
        X16 = X32.astype(np.float16)
    if np.isinf(X16).any() and not np.isinf(X32).any():
        raise ValueError(
            "The result overflows float16 (its values reach "
            f"{float(np.nanmax(np.abs(X32))):.3g}; float16 ends at 65504). "
            "Pass X as float32."
        )
    return X16


def _soft_clip(z, clip):
    """Map ``z`` to ``z / sqrt(1 + (z / clip) ** 2)`` in place (NaN kept)."""
    ratio = z / clip
    ratio *= ratio
    ratio += 1.0
    np.sqrt(ratio, out=ratio)
    z /= ratio


def _soft_clip_inverse(y, clip):
    """Undo :func:`_soft_clip` in place: ``y / sqrt(1 - (y / clip) ** 2)``."""
    with np.errstate(invalid="ignore"):
        outside = np.abs(y) >= clip
    if outside.any():
        raise ValueError(
            f"inverse_transform got values of magnitude at least clip={clip}, "
            "which the smooth clipping never produces."
        )
    ratio = y / clip
    ratio *= ratio
    np.subtract(1.0, ratio, out=ratio)
    np.sqrt(ratio, out=ratio)
    y /= ratio
