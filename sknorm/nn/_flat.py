"""Flat storage: many parameter arrays as views of one contiguous vector.

With every parameter a view of one vector, an optimizer step is a handful of
vectorized operations on the whole vector instead of a few per array. Views
do not survive a copy (``copy.deepcopy``, pickling): each view then becomes
an array of its own, so owners detect flatness with :func:`flat_base` each
time they need it instead of assuming it.
"""

import numpy as np

__all__ = ["flat_base", "flat_views"]


def flat_base(arrays):
    """Return the vector that ``arrays`` tile in order, or None.

    Parameters
    ----------
    arrays : sequence of ndarray
        Candidate views.

    Returns
    -------
    base : ndarray of shape (n,) or None
        The 1-D C-contiguous array that owns the memory, when the arrays are
        C-contiguous views of it of one dtype, laid out back to back from its
        first element to its last, in the order given; None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._flat import flat_base, flat_views
    >>> theta = np.arange(6.0)
    >>> weight, bias = flat_views(theta, [(2, 2), (2,)])
    >>> flat_base([weight, bias]) is theta
    True
    >>> flat_base([bias, weight]) is None  # out of storage order
    True
    >>> flat_base([weight.copy(), bias]) is None
    True
    """
    if not arrays:
        return None
    base = arrays[0].base
    if (
        not isinstance(base, np.ndarray)
        or base.ndim != 1
        or not base.flags.c_contiguous
    ):
        return None
    address = base.ctypes.data
    for array in arrays:
        if (
            array.base is not base
            or array.dtype != base.dtype
            or not array.flags.c_contiguous
            or array.ctypes.data != address
        ):
            return None
        address += array.nbytes
    return base if address == base.ctypes.data + base.nbytes else None


def flat_views(flat, shapes):
    """Cut ``flat`` into consecutive views of the given shapes.

    Parameters
    ----------
    flat : ndarray of shape (n,)
        The storage vector; ``n`` must equal the total size of ``shapes``.
    shapes : iterable of tuple of int
        Shapes of the views, in storage order.

    Returns
    -------
    views : list of ndarray
        Views of ``flat`` (writes go through to it).
    """
    views, start = [], 0
    for shape in shapes:
        stop = start + int(np.prod(shape, dtype=np.int64))
        views.append(flat[start:stop].reshape(shape))
        start = stop
    if start != flat.shape[0]:
        raise ValueError(f"Shapes hold {start} values, the vector {flat.shape[0]}.")
    return views
