"""Column statistics shared by the Standardizer and the MLP regressor.

All statistics are accumulated in float64 with a (corrected) two-pass
algorithm inside each batch and merged across batches with the pairwise
update of Chan, Golub and LeVeque, which stays accurate when the data have a
large offset compared with their spread (e.g. pressures in Pa). Sample
weights are rescaled by a power of two inside each batch, so the statistics
do not depend on the overall size of the weights (1e300 or 1e-300 give the
same result as 1). :func:`standardization_stats` is the one entry point the
regressor reuses for its targets; :class:`~sknorm.Standardizer` builds on the
same moments.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import FLOAT_DTYPES

from sknorm._sklearn_compat import _check_sample_weight
from sknorm.nn._moments import merge_moments

__all__ = ["standardization_stats"]

_EPS = np.finfo(np.float64).eps


class _Moments(NamedTuple):
    """Sufficient statistics of the columns of a (weighted) sample.

    Every field is an array of shape (n_features,). The mean is stored as
    ``pivot + dmean``: ``pivot`` is a rounded provisional mean and ``dmean`` the
    small remainder, kept at full relative precision, so that merging batches
    of data with a large offset (1e8 +/- 1) does not round the mean to the
    resolution of the offset.

    ``weight_sum`` and ``m2`` are in units of ``2 ** weight_exp`` times the
    true weights: a batch's weights are scaled by a power of two (exactly)
    so that the largest is in [1, 2), which keeps ``m2`` as far from overflow
    and underflow as with unit weights whatever the size of the weights.

    count : int64, number of non-NaN observations.
    weight_sum : float64, sum of the scaled weights of the non-NaN observations.
    pivot : float64, reference value (0 where ``weight_sum == 0``).
    dmean : float64, weighted mean minus ``pivot`` (NaN where empty).
    m2 : float64, scaled-weight sum of squared deviations from the mean.
    weight_exp : int64, the power of two of the weight unit (0 in states
        stored before it existed, whose weights were not scaled).
    """

    count: np.ndarray
    weight_sum: np.ndarray
    pivot: np.ndarray
    dmean: np.ndarray
    m2: np.ndarray
    weight_exp: np.ndarray | int = 0

    @property
    def mean(self):
        """Weighted mean of each column (0 where empty: nothing to center on)."""
        # An overflowing column (inf - inf) is reported by _variance_and_scale.
        with np.errstate(invalid="ignore"):
            return np.where(self.weight_sum > 0, self.pivot + self.dmean, 0.0)

    @property
    def true_weight_sum(self):
        """Sum of the weights as given (inf beyond float64's range)."""
        with np.errstate(over="ignore"):
            return np.ldexp(self.weight_sum, _as_exponent(self.weight_exp))

    def rescaled(self, weight_exp):
        """Express the moments in units of ``2 ** weight_exp``.

        Exact for ``weight_exp >= self.weight_exp``, except that weights
        smaller than 2**-1022 times the new unit underflow, which only
        happens when they are negligible next to the other batch's weights.
        """
        shift = _as_exponent(np.subtract(self.weight_exp, weight_exp))
        with np.errstate(over="ignore", under="ignore"):
            weight_sum = np.ldexp(self.weight_sum, shift)
            m2 = np.ldexp(self.m2, shift)
        return self._replace(weight_sum=weight_sum, m2=m2, weight_exp=weight_exp)

    def merge(self, other):
        """Combine two sets of moments (Chan, Golub & LeVeque, 1979).

        Works on ``delta = mean_b - mean_a`` expressed relative to a common
        pivot, never on differences of large running sums, so the merge does
        not lose precision for data with a large offset.
        """
        has_a, has_b = self.weight_sum > 0, other.weight_sum > 0
        # Express both in the unit of the larger weights, column by column (a
        # column may be observed in one batch only).
        exp_a, exp_b = np.broadcast_arrays(self.weight_exp, other.weight_exp)
        exp = np.where(has_a & has_b, np.maximum(exp_a, exp_b), exp_b)
        exp = np.where(has_a & ~has_b, exp_a, exp)
        a, b = self.rescaled(exp), other.rescaled(exp)
        pivot = np.where(has_a, a.pivot, b.pivot)
        # ``b``'s mean relative to ``a.pivot``; the pivot difference is exact
        # when both pivots are within a factor 2 (Sterbenz lemma).
        dmean_b = np.where(has_a, (b.pivot - a.pivot) + b.dmean, 0.0)
        n, both_dmean, both_m2 = merge_moments(
            a.weight_sum, a.dmean, a.m2, b.weight_sum, dmean_b, b.m2
        )
        # Where a side is empty its mean is NaN: take the other side as is.
        dmean = np.where(has_a, np.where(has_b, both_dmean, a.dmean), b.dmean)
        m2 = np.where(has_a & has_b, both_m2, a.m2 + b.m2)
        return _Moments(a.count + b.count, n, pivot, dmean, m2, exp)


def _as_exponent(exp):
    """``exp`` as the C int array ``np.ldexp`` accepts on every platform."""
    return np.asarray(exp).astype(np.intc)


def _scale_weights(sample_weight):
    """Scale weights by a power of two so that the largest is in [1, 2).

    Multiplying by a power of two is exact, and the moments are invariant to
    a common factor of the weights, so this changes no statistic; it keeps
    weights such as 1e300 from overflowing the sums of squares (and 1e-300
    from underflowing them). Returns the scaled weights and the exponent ``e``
    with ``sample_weight == scaled * 2**e``.
    """
    if sample_weight is None:
        return None, 0
    _, exp = np.frexp(sample_weight.max())
    exp = int(exp) - 1
    if exp == 0:  # weights in [1, 2): unchanged, bitwise the historical path
        return sample_weight, 0
    with np.errstate(under="ignore"):
        return np.ldexp(sample_weight, -exp), exp


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
    # One memory layout for all inputs: column sums of a Fortran-ordered array
    # (pandas frames) round differently, and numpy/pandas/polars inputs of the
    # same data must give bitwise-identical statistics.
    X = np.ascontiguousarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    # Exactly constant columns get exact moments below: squaring the first
    # pass's rounding error would overflow for values beyond ~1e154.
    largest = np.fmax.reduce(X, axis=0)  # fmax/fmin ignore NaN
    constant = largest == np.fmin.reduce(X, axis=0)
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
    mean = np.where(constant & nonempty, largest, mean)
    dmean[constant] = 0.0
    # Without weight a column holds no information: weight 0 times an
    # overflowing deviation would otherwise leave a NaN in m2.
    m2[constant | ~nonempty] = 0.0
    dmean[~nonempty] = np.nan
    # The provisional mean serves as pivot; the exact mean is mean + dmean.
    return _Moments(count, weight_sum, mean, dmean, m2)


def _batch_moments(X, sample_weight=None):
    """Moments of one batch; ``sample_weight`` is None or a float64 1-D array."""
    sample_weight, exp = _scale_weights(sample_weight)
    # Overflow of huge values is reported by _variance_and_scale, not warned.
    with np.errstate(over="ignore", invalid="ignore"):
        if sp.issparse(X):
            moments = _sparse_moments(X, sample_weight)
        else:
            moments = _dense_moments(X, sample_weight)
    return moments._replace(weight_exp=np.full(X.shape[1], exp, dtype=np.int64))


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
    overflow = nonempty & ~(np.isfinite(var) & np.isfinite(moments.mean))
    if overflow.any():
        # An inf variance would pass as "constant" (scale 1) and silently leave
        # the column unscaled.
        raise ValueError(
            "Standardization statistics overflow float64 in column(s) "
            f"{np.flatnonzero(overflow).tolist()}: values spread over more than "
            "about 1e154, whose variance exceeds 1.8e308. Divide those columns "
            "by a large constant first."
        )
    n = moments.count.astype(np.float64)
    # An inf bound (mean beyond ~1e150) is right: no float64 variance can then
    # be told apart from rounding noise.
    with np.errstate(over="ignore"):
        bound = n * _EPS * var + (n * _EPS * moments.mean) ** 2
    constant = ~nonempty | (var <= bound)
    scale = np.where(constant, 1.0, np.sqrt(np.where(constant, 1.0, var)))
    return var, scale


def _validate_weights(sample_weight, X):
    """Validate sample weights: 1-D, finite, non-negative, not all zero."""
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    # scikit-learn 1.9 already rejects all-zero weights; older releases down
    # to our floor (1.6) may not, and a zero sum would make every statistic NaN.
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
    A column without information (all its observations NaN or of zero
    weight) gets mean 0, variance NaN and scale 1, so that standardizing
    leaves its values unchanged. Multiplying all weights by a constant, however
    large or small, does not change the result.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm._stats import standardization_stats
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
    moments = _batch_moments(X, sample_weight)
    var, scale = _variance_and_scale(moments)
    mean = moments.mean if with_mean else np.zeros_like(moments.mean)
    if not with_std:
        scale = np.ones_like(scale)
    return mean, var, scale


def robust_center_scale(X, sample_weight=None):
    """Weighted median and interquartile range of each column, NaN ignored.

    Quantiles are the weighted inverted CDF (the smallest value whose
    cumulative weight reaches the share ``q`` of the column's weight), so
    integer weights equal repeated rows. A column with a zero IQR is scaled by
    half its range instead, and a constant one by 1, as RealMLP's robust
    scaling does (Holzmüller et al., 2024). A column without information (all
    NaN or of zero weight) gets center 0 and scale 1, which leave it unchanged.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense data.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights.

    Returns
    -------
    center : ndarray of shape (n_features,)
        Weighted medians (0 for a column without information).
    scale : ndarray of shape (n_features,)
        Interquartile ranges, with the fallbacks above.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm._stats import robust_center_scale
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [1000.0]])
    >>> robust_center_scale(X)
    (array([3.]), array([2.]))
    """
    n_samples, n_features = X.shape
    # Power-of-two scaling: exact, and keeps cumulative sums of huge weights
    # from overflowing.
    weights, _ = _scale_weights(sample_weight)
    weights = np.ones(n_samples) if weights is None else weights
    center, scale = np.zeros(n_features), np.ones(n_features)
    for j in range(n_features):
        column = X[:, j].astype(np.float64)
        keep = ~np.isnan(column) & (weights > 0)
        if not keep.any():
            continue
        order = np.argsort(column[keep], kind="stable")
        values = column[keep][order]
        cumulative = np.cumsum(weights[keep][order])
        ranks = np.searchsorted(
            cumulative, np.array([0.25, 0.5, 0.75]) * cumulative[-1]
        )
        low, center[j], high = values[np.minimum(ranks, values.size - 1)]
        spread = high - low if high > low else (values[-1] - values[0]) / 2.0
        scale[j] = spread if spread > 0 else 1.0
    return center, scale
