"""The weighted merge of two samples' moments (Chan, Golub & LeVeque, 1979).

The one place this formula lives: the Standardizer merges batches of columns
with it (:mod:`sknorm._stats`) and precise batch normalization merges chunks
of activations (:mod:`sknorm.nn._population`).
"""

import numpy as np

__all__ = ["merge_moments"]


def merge_moments(weight_a, mean_a, m2_a, weight_b, mean_b, m2_b):
    """Combine the weighted moments of two samples.

    Works on ``delta = mean_b - mean_a``, never on differences of large
    running sums such as ``sum(x**2) - n * mean**2``, so it stays accurate for
    data with a large offset compared with their spread.

    Parameters
    ----------
    weight_a, weight_b : ndarray
        Sums of the row weights of each sample (per column, or 0-d).
    mean_a, mean_b : ndarray
        Weighted means (expressed relative to the same reference value).
    m2_a, m2_b : ndarray
        Weighted sums of squared deviations from each sample's mean.

    Returns
    -------
    weight, mean, m2 : ndarray
        The moments of the two samples together. Where ``weight_b`` is 0,
        ``mean`` is ``mean_a``; where ``weight_a`` is 0 the caller supplies
        ``mean_b`` (a NaN ``mean_a`` of an empty sample propagates).

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._moments import merge_moments
    >>> a, b = np.array([[1.0], [2.0]]), np.array([[4.0], [5.0], [6.0]])
    >>> moments_a = np.array([2.0]), a.mean(0), a.var(0) * 2
    >>> moments_b = np.array([3.0]), b.mean(0), b.var(0) * 3
    >>> weight, mean, m2 = merge_moments(*moments_a, *moments_b)
    >>> weight, mean, m2 / weight
    (array([5.]), array([3.6]), array([3.44]))
    """
    weight = np.add(weight_a, weight_b)
    frac_b = np.divide(
        weight_b, weight, out=np.zeros_like(weight, dtype=np.float64), where=weight > 0
    )
    delta = mean_b - mean_a
    mean = mean_a + delta * frac_b
    m2 = m2_a + m2_b + delta * delta * weight_a * frac_b
    return weight, mean, m2
