"""Numerically stable feature and target standardization.

This module provides :class:`Standardizer`, a drop-in alternative to
:class:`sklearn.preprocessing.StandardScaler`, and
:func:`standardization_stats`, the function it is built on, which the
MLP estimators reuse to standardize regression targets.

All statistics are accumulated in float64 with a (corrected) two-pass
algorithm inside each batch and merged across batches with the pairwise
update of Chan, Golub and LeVeque, which stays accurate when the data have a
large offset compared with their spread (e.g. pressures in Pa).
"""

from typing import ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.sparsefuncs import inplace_column_scale, mean_variance_axis
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from sknorm._sklearn_compat import _check_sample_weight, _fit_context

__all__ = ["Standardizer", "standardization_stats"]

_EPS = np.finfo(np.float64).eps

_SPARSE_CENTER_MSG = (
    "Cannot center sparse matrices: Standardizer with with_mean=True needs "
    "dense input. Pass `with_mean=False` to only scale sparse data, or "
    "convert the data to a dense array."
)


class _Moments(NamedTuple):
    """Sufficient statistics of the columns of a (weighted) sample.

    Every field is an array of shape (n_features,). The mean is stored as
    ``pivot + dmean``: ``pivot`` is a rounded provisional mean and ``dmean`` the
    small remainder, kept at full relative precision, so that merging batches
    of data with a large offset (1e8 +/- 1) does not round the mean to the
    resolution of the offset.

    count : int64, number of non-NaN observations.
    weight_sum : float64, sum of the weights of the non-NaN observations.
    pivot : float64, reference value (0 where ``weight_sum == 0``).
    dmean : float64, weighted mean minus ``pivot`` (NaN where empty).
    m2 : float64, weighted sum of squared deviations from the mean.
    """

    count: np.ndarray
    weight_sum: np.ndarray
    pivot: np.ndarray
    dmean: np.ndarray
    m2: np.ndarray

    @property
    def mean(self):
        """Weighted mean of each column (NaN where empty)."""
        return self.pivot + self.dmean

    def merge(self, other):
        """Combine two sets of moments (Chan, Golub & LeVeque, 1979).

        Works on ``delta = mean_b - mean_a`` expressed relative to a common
        pivot, never on differences of large running sums, so the merge does
        not lose precision for data with a large offset.
        """
        n_a, n_b = self.weight_sum, other.weight_sum
        has_a, has_b = n_a > 0, n_b > 0
        n = n_a + n_b
        pivot = np.where(has_a, self.pivot, other.pivot)
        # ``other``'s mean relative to ``self.pivot``; the pivot difference is
        # exact when both pivots are within a factor 2 (Sterbenz lemma).
        dmean_b = np.where(has_a, (other.pivot - self.pivot) + other.dmean, 0.0)
        delta = dmean_b - self.dmean  # NaN where either side is empty
        frac_b = np.divide(n_b, n, out=np.zeros_like(n), where=has_b)
        dmean = np.where(
            has_a,
            np.where(has_b, self.dmean + delta * frac_b, self.dmean),
            other.dmean,
        )
        cross = np.where(has_a & has_b, delta * delta * n_a * frac_b, 0.0)
        m2 = self.m2 + other.m2 + cross
        return _Moments(self.count + other.count, n, pivot, dmean, m2)


def _column_index_of_stored(X):
    """Column index of every stored element of a CSR or CSC matrix."""
    if X.format == "csr":
        return X.indices
    return np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))


def _sparse_moments(X, sample_weight):
    """Moments of the columns of a CSR/CSC matrix, ignoring NaN."""
    n_samples, n_features = X.shape
    X = X.astype(np.float64, copy=False)
    weights = (
        np.ones(n_samples, dtype=np.float64) if sample_weight is None else sample_weight
    )
    mean, var, weight_sum = mean_variance_axis(
        X, axis=0, weights=weights, return_sum_weights=True
    )
    mean = np.asarray(mean, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    weight_sum = np.asarray(weight_sum, dtype=np.float64)
    nan_stored = np.isnan(X.data)
    nan_count = np.bincount(
        _column_index_of_stored(X)[nan_stored], minlength=n_features
    )
    count = (n_samples - nan_count).astype(np.int64)
    nonempty = weight_sum > 0
    pivot = np.where(nonempty, mean, 0.0)
    dmean = np.where(nonempty, 0.0, np.nan)
    m2 = np.where(nonempty, np.maximum(var, 0.0) * weight_sum, 0.0)
    return _Moments(count, weight_sum, pivot, dmean, m2)


def _dense_moments(X, sample_weight):
    """Moments of the columns of a dense 2-D array, ignoring NaN.

    Corrected two-pass algorithm: a first pass gives a provisional mean, the
    second pass accumulates the deviations from it, and their (weighted) sum
    corrects both the mean and the sum of squares for the rounding error of
    the first pass.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    nan_mask = np.isnan(X)
    has_nan = bool(nan_mask.any())
    if has_nan:
        X = np.where(nan_mask, 0.0, X)
        count = n_samples - nan_mask.sum(axis=0)
    else:
        count = np.full(n_features, n_samples)
    count = count.astype(np.int64)

    if sample_weight is None:
        weight_sum = count.astype(np.float64)
        total = X.sum(axis=0)
    else:
        weight_sum = (
            sample_weight @ ~nan_mask
            if has_nan
            else np.full(n_features, sample_weight.sum())
        )
        total = sample_weight @ X
    nonempty = weight_sum > 0
    mean = np.divide(total, weight_sum, out=np.zeros(n_features), where=nonempty)

    # Second pass: deviations from the provisional mean.
    dev = X - mean
    if has_nan:
        dev[nan_mask] = 0.0
    if sample_weight is None:
        correction = dev.sum(axis=0)
        dev *= dev
        m2 = dev.sum(axis=0)
    else:
        correction = sample_weight @ dev
        dev *= dev
        m2 = sample_weight @ dev
    dmean = np.divide(correction, weight_sum, out=np.zeros(n_features), where=nonempty)
    m2 -= correction * dmean  # == correction**2 / weight_sum
    np.maximum(m2, 0.0, out=m2)
    dmean[~nonempty] = np.nan
    # The provisional mean serves as pivot; the exact mean is mean + dmean.
    return _Moments(count, weight_sum, mean, dmean, m2)


def _batch_moments(X, sample_weight=None):
    """Moments of one batch; ``sample_weight`` is None or a float64 1-D array."""
    if sp.issparse(X):
        return _sparse_moments(X, sample_weight)
    return _dense_moments(X, sample_weight)


def _variance_and_scale(moments):
    """Biased variance and safe scale derived from accumulated moments.

    A column counts as constant when its variance is within the error bound
    of the two-pass algorithm, ``n * eps * var + (n * eps * mean) ** 2``
    (the rule used by scikit-learn), with ``n`` the number of non-NaN
    observations and ``eps`` the float64 machine epsilon (the statistics are
    always computed in float64). Constant and empty columns get scale 1.
    """
    weight_sum = moments.weight_sum
    nonempty = weight_sum > 0
    var = np.divide(
        moments.m2, weight_sum, out=np.full_like(weight_sum, np.nan), where=nonempty
    )
    n = moments.count.astype(np.float64)
    bound = n * _EPS * var + (n * _EPS * moments.mean) ** 2
    constant = ~nonempty | (var <= bound)
    scale = np.where(constant, 1.0, np.sqrt(np.where(constant, 1.0, var)))
    return var, scale


def _validate_weights(sample_weight, X):
    """Validate sample weights: 1-D, finite, non-negative, not all zero."""
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if not np.any(sample_weight > 0):
        raise ValueError(
            "Sample weights must contain at least one positive value; "
            "all sample weights are zero."
        )
    return sample_weight


def standardization_stats(X, sample_weight=None, *, with_mean=True, with_std=True):
    """Compute per-column mean, variance and scale for standardization.

    This is the computation behind :meth:`Standardizer.fit`, exposed so that
    estimators can standardize 2-D targets without building a transformer.
    ``(X - mean) / scale`` equals
    ``Standardizer(with_mean=with_mean, with_std=with_std).fit_transform(X)``
    and ``Z * scale + mean`` undoes it.

    Statistics are computed in float64 with a corrected two-pass algorithm
    (mean first, then centered squares), so large offsets do not spoil the
    variance. NaN values are ignored.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data, typically the 2-D regression targets. Infinite values raise.

    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights, not all zero. If None, all samples weigh 1.

    with_mean : bool, default=True
        If False, the returned ``mean`` is all zeros (no centering).

    with_std : bool, default=True
        If False, the returned ``scale`` is all ones (no scaling).

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Weighted mean of each column, or zeros if ``with_mean=False``.

    var : ndarray of shape (n_features,)
        Weighted biased variance (``ddof=0``) of each column, always computed
        around the column mean whatever ``with_mean`` is.

    scale : ndarray of shape (n_features,)
        ``sqrt(var)``, with 1 for constant or near-constant columns (variance
        within the rounding error bound ``n * eps * var + (n * eps * mean)**2``
        of the algorithm), or ones if ``with_std=False``.

    See Also
    --------
    Standardizer : Transformer API around the same computation.

    Notes
    -----
    A column whose observations are all NaN (or all have zero weight) gets
    mean and variance NaN and scale 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm._standardizer import standardization_stats
    >>> Y = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
    >>> mean, var, scale = standardization_stats(Y, sample_weight=[1, 1, 2])
    >>> mean
    array([ 2.25, 10.  ])
    >>> var
    array([0.6875, 0.    ])
    >>> scale
    array([0.8291562, 1.       ])
    """
    X = check_array(
        X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", input_name="X"
    )
    if sample_weight is not None:
        sample_weight = _validate_weights(sample_weight, X)
    moments = _dense_moments(X, sample_weight)
    var, scale = _variance_and_scale(moments)
    mean = moments.mean if with_mean else np.zeros_like(moments.mean)
    if not with_std:
        scale = np.ones_like(scale)
    return mean, var, scale


class Standardizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
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

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        Per-feature (weighted) mean of the training data. None when
        ``with_mean=False`` and ``with_std=False``.

    var_ : ndarray of shape (n_features,) or None
        Per-feature biased (``ddof=0``) variance of the training data, used to
        compute ``scale_``. None when ``with_std=False``.

    scale_ : ndarray of shape (n_features,) or None
        Per-feature scaling, ``np.sqrt(var_)`` except for constant or
        near-constant features, which get 1. None when ``with_std=False``.

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
      not cost float32 precision.
    - It is meant to be the ``transformer`` of
      :class:`~sklearn.compose.TransformedTargetRegressor` (1-D or 2-D
      targets); ``y`` is ignored by :meth:`fit`, so it also works inside
      pipelines with any kind of labels.

    Features are considered constant, and get ``scale_ = 1``, when their
    variance is within the rounding error bound
    ``n * eps * var + (n * eps * mean) ** 2`` (``n`` non-missing samples,
    ``eps`` the float64 machine epsilon), as in scikit-learn.

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
    }

    def __init__(self, *, copy=True, with_mean=True, with_std=True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

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
        return self._partial_fit(X, sample_weight, reset=True)

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
            X, sample_weight, reset=not hasattr(self, "n_samples_seen_")
        )

    def _partial_fit(self, X, sample_weight, *, reset):
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            reset=reset,
        )
        if sp.issparse(X) and self.with_mean:
            raise ValueError(_SPARSE_CENTER_MSG)
        if sample_weight is not None:
            sample_weight = _validate_weights(sample_weight, X)

        moments = _batch_moments(X, sample_weight)
        weighted = sample_weight is not None
        if not reset:
            moments = self._moments.merge(moments)
            weighted = weighted or self._weighted
        self._moments = moments
        self._weighted = weighted

        if weighted:
            seen = moments.weight_sum
            self.n_samples_seen_ = (
                float(seen[0]) if np.all(seen == seen[0]) else seen.copy()
            )
        else:
            seen = moments.count
            self.n_samples_seen_ = (
                int(seen[0]) if np.all(seen == seen[0]) else seen.copy()
            )

        var, scale = _variance_and_scale(moments)
        if self.with_std:
            self.mean_ = moments.mean
            self.var_ = var
            self.scale_ = scale
        else:
            self.mean_ = moments.mean if self.with_mean else None
            self.var_ = None
            self.scale_ = None
        return self

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
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc"),
            copy=copy,
            dtype=FLOAT_DTYPES,
            force_writeable=True,
            ensure_all_finite="allow-nan",
        )
        if sp.issparse(X):
            if self.with_mean:
                raise ValueError(_SPARSE_CENTER_MSG)
            if self.with_std:
                inplace_column_scale(X, 1.0 / self.scale_)
            return X
        # Computing in float64 and rounding once keeps float32 results
        # accurate even when the mean is large compared with the spread.
        if self.with_mean:
            np.subtract(X, self.mean_, out=X, casting="unsafe")
        if self.with_std:
            np.divide(X, self.scale_, out=X, casting="unsafe")
        return X

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
        X = check_array(
            X,
            accept_sparse=("csr", "csc"),
            copy=copy,
            dtype=FLOAT_DTYPES,
            force_writeable=True,
            ensure_all_finite="allow-nan",
        )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {self.__class__.__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        if sp.issparse(X):
            if self.with_mean:
                raise ValueError(_SPARSE_CENTER_MSG)
            if self.with_std:
                inplace_column_scale(X, self.scale_)
            return X
        if self.with_std:
            np.multiply(X, self.scale_, out=X, casting="unsafe")
        if self.with_mean:
            np.add(X, self.mean_, out=X, casting="unsafe")
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = not self.with_mean
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
