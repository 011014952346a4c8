"""Input checks that turn silent overflow or cryptic errors into clear ones.

scikit-learn's ``validate_data`` rejects NaN, inf, wrong shapes and wrong
feature counts. These helpers cover what it lets through: values so large that
squaring them overflows (batch-norm statistics, the squared loss), and
DataFrame columns that cannot be converted to numbers, which scikit-learn
reports without saying which column is at fault.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from sknorm._sklearn_compat import Interval, Options, StrOptions

__all__ = [
    "check_magnitude",
    "frame_dtype",
    "max_magnitude_limit",
    "validate_numeric_data",
]

# The NumPy dtype of each polars column type that converts to a NumPy number.
_POLARS_NUMBERS = ("Float16", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64")
_POLARS_NUMBERS += ("UInt8", "UInt16", "UInt32", "UInt64")
_POLARS_TO_NUMPY = {name: np.dtype(name.lower()) for name in _POLARS_NUMBERS}
_POLARS_TO_NUMPY["Boolean"] = np.dtype(bool)


def max_magnitude_limit(dtype):
    """Largest absolute value the networks accept for inputs of ``dtype``.

    Squares of values up to ``sqrt(finfo.max)`` are finite; the factor 1/1024
    leaves room for the sums of several such squares and products with
    weights (batch-norm variances of ``X @ W``). About 1.3e151 for float64 and
    1.8e16 for float32.

    Parameters
    ----------
    dtype : numpy floating dtype
        The dtype the network computes in.

    Returns
    -------
    float
        The limit.
    """
    return float(np.sqrt(np.finfo(dtype).max)) / 1024.0


def check_magnitude(A, name, advice, feature_names=None):
    """Raise ValueError if ``A`` holds values whose squares would overflow.

    Parameters
    ----------
    A : ndarray or scipy sparse matrix of shape (n_samples,) or (n_samples, n_columns)
        Finite floating data, already validated. A sparse matrix is checked
        on its stored values (its implicit zeros are harmless).
    name : str
        What ``A`` is, for the message (``"X"`` or ``"y"``).
    advice : str
        What the user should do, appended to the message.
    feature_names : ndarray of str or None, default=None
        Column names used in the message instead of indices.

    Raises
    ------
    ValueError
        If some ``abs(A)`` exceeds :func:`max_magnitude_limit`.
    """
    if A.size == 0:
        return
    limit = max_magnitude_limit(A.dtype)
    if sp.issparse(A):
        # abs() copies the stored values only: O(nnz), never dense.
        largest = abs(A).max(axis=0).toarray().ravel()
    else:
        # Column-wise max and min allocate no temporary of A's size (abs()
        # would).
        largest = np.maximum(A.max(axis=0), -A.min(axis=0))
    too_large = np.atleast_1d(largest > limit)
    if not too_large.any():
        return
    columns = np.flatnonzero(too_large)
    if feature_names is not None:
        columns = [str(feature_names[j]) for j in columns]
    else:
        columns = columns.tolist()
    raise ValueError(
        f"{name} has values of magnitude up to {float(np.max(largest)):.3g} "
        f"(column(s) {columns}); squares of values above {limit:.3g} overflow "
        f"{A.dtype} in the batch-normalization statistics and the loss. {advice}"
    )


def _non_numeric_columns(X):
    """Names of the DataFrame columns that cannot be converted to float."""
    names = []
    for name in getattr(X, "columns", []):
        try:
            np.asarray(X[name], dtype=np.float64)
        except (TypeError, ValueError):
            names.append(str(name))
    return names


def frame_dtype(X):
    """Return the NumPy dtype of a polars DataFrame's values (None for others).

    scikit-learn's ``check_array`` reads the dtype of a pandas frame from its
    columns, so a float32 frame stays float32 where float32 is accepted, but
    it finds no NumPy dtype on a polars frame and converts it to the first
    accepted dtype (float64). This applies the pandas rule to polars frames:
    the NumPy result type of the columns. Integer or boolean columns holding
    nulls count as float64, as pandas converts its nullable columns.

    Parameters
    ----------
    X : object
        Input data.

    Returns
    -------
    numpy.dtype or None
        None unless ``X`` is a polars DataFrame whose columns are all
        numbers or booleans.

    Examples
    --------
    >>> import numpy as np
    >>> import polars as pl
    >>> from sknorm._validation import frame_dtype
    >>> frame_dtype(pl.DataFrame({"a": np.ones(2, np.float32), "b": [1, 2]}))
    dtype('float64')
    >>> frame_dtype(pl.DataFrame({"a": np.ones(2, np.float32)}))
    dtype('float32')
    """
    if not type(X).__module__.startswith("polars.") or not hasattr(X, "schema"):
        return None
    dtypes = []
    for name, dtype in X.schema.items():
        numpy_dtype = _POLARS_TO_NUMPY.get(str(dtype))
        if numpy_dtype is None:  # strings, dates, decimals: scikit-learn decides
            return None
        if numpy_dtype.kind != "f" and X.get_column(name).null_count():
            numpy_dtype = np.dtype(np.float64)
        dtypes.append(numpy_dtype)
    return np.result_type(*dtypes) if dtypes else None


def validate_numeric_data(estimator, X, y="no_validation", **kwargs):
    """``validate_data`` that names non-numeric DataFrame columns on failure.

    Parameters
    ----------
    estimator : estimator instance
        Passed to :func:`sklearn.utils.validation.validate_data`.
    X : array-like or DataFrame
        Input data.
    y : array-like or "no_validation", default="no_validation"
        Targets, validated with ``X`` when given.
    **kwargs : dict
        Further arguments of ``validate_data``.

    Returns
    -------
    tuple or ndarray
        What ``validate_data`` returns. A polars frame keeps its dtype
        wherever a pandas frame of the same dtypes would keep it (float32).
    """
    accepted = kwargs.get("dtype")
    kept = frame_dtype(X) if isinstance(accepted, (list, tuple)) else None
    if kept is not None and kept in accepted:
        # check_array sees no dtype on a polars frame and would cast a float32
        # frame to float64, unlike the same data in NumPy or pandas.
        kwargs["dtype"] = kept
    try:
        return validate_data(estimator, X, y, **kwargs)
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        columns = _non_numeric_columns(X)
        if not columns:
            raise
        raise ValueError(
            f"{type(estimator).__name__} needs numeric X, but column(s) {columns} "
            "hold strings or categories. Encode them first, e.g. with "
            "OneHotEncoder or OrdinalEncoder in a ColumnTransformer."
        ) from exc


def check_hidden_layer_sizes(sizes):
    """Return ``hidden_layer_sizes`` as a list of positive ints, or raise.

    Parameters
    ----------
    sizes : int or iterable of int
        The parameter's value.

    Returns
    -------
    list of int
        The widths.
    """
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if any(not isinstance(s, Integral) or s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
    return [int(s) for s in sizes]


# early_stopping="auto" holds out rows from this many rows on: below, a tenth
# of the rows is too few to score epochs reliably, and plain training keeps
# integer sample weights equivalent to repeated rows (the validation split
# draws rows). Half A of the quality suite cut to 750 training rows gained
# 0.03 on average with it (no task lost more than 0.005); cut to 500, it lost.
AUTO_MIN_ROWS_EARLY_STOPPING = 750
# dropout="auto" starts at this many rows (of non-zero weight). Half A of the
# quality suite cut to 30, 40, 50, 75, 100, 150, 300, 500, 700 and 900
# training rows gained 0.004 to 0.05 on average with it, half B cut to 50 and
# 75 rows 0.05 and 0.10; below, on check-sized data (scikit-learn's
# sample-weight checks fit 15 to 27 rows), training stays a deterministic
# function of the rows, with integer sample weights equivalent to repeated
# rows (dropout draws one mask per row, so repeats draw different masks).
AUTO_MIN_ROWS = 30
# The rates of dropout="auto": AUTO_DROPOUT_SMALL when fit gets fewer than
# AUTO_MIN_ROWS_EARLY_STOPPING rows and trains on all of them every epoch
# without a validation split (the defaults there), where dropout is the only
# brake on overfitting (half A cut to 30-700 rows: +0.007 on average over 0.1;
# 0.2 and 0.4 scored lower). AUTO_DROPOUT otherwise: alongside a validation
# split, and in partial_fit, whose running BN statistics average training
# batches that dropout perturbs (a stronger rate shifts them further from
# inference: tests/test_dask.py's streamed fit scored R2 0.80 with 0.3, 0.12
# below the in-memory fit; within 0.02 with 0.1).
AUTO_DROPOUT_SMALL = 0.3
AUTO_DROPOUT = 0.1
# batch_norm="auto" and weight_decay="auto" below AUTO_MIN_ROWS rows, where
# dropout="auto" cannot drop. The batch is then the whole tiny set: with
# batch normalization the hidden units keep unit scale however small the
# weights, and the network fits the noise in a few steps; without it, weight
# decay shrinks the network towards a smooth function. On 10 draws of 15, 20
# and 26 training rows from each task of half A of the quality suite
# (benchmarks/bench_tiny.py --params ...), weight decay 2 alone gained
# 0.02-0.03 over the previous defaults (BN before, no decay); without BN,
# decay 2 gained 0.04-0.06, and 3, 4 and 6 on top of that +0.004, +0.005 and
# +0.003 (1 and 8 lost). From 30 rows on, next to dropout 0.3, decay gained 0.000-0.004
# (50-700 rows) and stays off. Both keep training a deterministic function of
# the rows, so integer sample weights stay equivalent to repeated rows.
AUTO_WEIGHT_DECAY_TINY = 4.0
# batch_norm="auto" from AUTO_MIN_ROWS rows in fit: the average of three
# networks, with BN before the activation, without BN and with BN after it,
# each fitted on its own. Members differing in their BN gained on both halves
# of the quality suite and on the small tables, where members differing only
# in their seed did not; the third member gained on both halves once
# batch_size="auto" (200) made it fit the time budget (docs/user_guide/tuning.md).
AUTO_MEMBERS = ("before", None, "after")
# n_iter_no_change="auto": scikit-learn's 10 for one network, 5 for each
# member of an average (see resolve_n_iter_no_change; 4 lost on both halves).
AUTO_PATIENCE = 10
AUTO_PATIENCE_MEMBERS = 5
# MLPClassifier's label_smoothing="auto" with early stopping (RealMLP-TD's
# value; 0.05 and 0.2 scored the same on half A of the quality suite).
AUTO_LABEL_SMOOTHING = 0.1


def resolve_early_stopping(early_stopping, n_samples, incremental):
    """Return whether a fit holds out validation rows ('auto': 750 rows or more).

    Parameters
    ----------
    early_stopping : bool or 'auto'
        The parameter's value.
    n_samples : int
        Rows given to this fit.
    incremental : bool
        Whether this is ``partial_fit``, where 'auto' never holds out rows.

    Returns
    -------
    bool
    """
    if early_stopping == "auto":
        return not incremental and n_samples >= AUTO_MIN_ROWS_EARLY_STOPPING
    return bool(early_stopping)


def check_batch_norm_rows(n_rows, batch_norm, what="n_samples"):
    """Raise if batch normalization (``batch_norm`` not None) gets 1-row batches."""
    if uses_batch_norm(batch_norm) and n_rows < 2:
        raise ValueError(
            f"Found {what}={n_rows}, but batch normalization needs at least "
            "2 samples per batch to compute batch statistics (n_samples=1 "
            "per batch)."
        )


def check_sparse_bn_input(X, bn_input):
    """Raise ValueError for sparse X with ``bn_input=True``, which would densify it."""
    if sp.issparse(X) and bn_input:
        raise ValueError(
            "bn_input=True normalizes the raw features, which centres them "
            "and would make sparse X dense. Set bn_input=False and scale "
            "the numeric columns instead (e.g. Standardizer(with_mean=False) "
            "on sparse X, or Standardizer on the numeric columns of a "
            "ColumnTransformer)."
        )


def resolve_dropout(dropout, n_samples, solver, *, incremental, held_out):
    """Return the dropout rate ('auto': 0.3 from 30 rows, 0.1 from 750).

    Parameters
    ----------
    dropout : float or 'auto'
        The parameter's value.
    n_samples : int
        Rows of non-zero weight in the fit that builds the network.
    solver : str
        The solver of that fit: 'auto' never drops with 'lbfgs', whose line
        search needs the same objective at every evaluation.
    incremental : bool
        Whether that fit is ``partial_fit``.
    held_out : bool
        Whether that fit holds out early-stopping rows.

    Returns
    -------
    float
        For 'auto': 0 below 30 rows or with 'lbfgs'; 0.3 below 750 rows when
        ``fit`` trains on all rows without a validation split; else 0.1.
    """
    if dropout != "auto":
        return dropout
    if solver == "lbfgs" or n_samples < AUTO_MIN_ROWS:
        return 0.0
    small = n_samples < AUTO_MIN_ROWS_EARLY_STOPPING
    if small and not incremental and not held_out:
        return AUTO_DROPOUT_SMALL
    return AUTO_DROPOUT


def resolve_batch_norm(batch_norm, n_samples, *, incremental, single=False):
    """Return the batch-norm placement ('auto': three members from 30 rows in fit).

    Parameters
    ----------
    batch_norm : {'before', 'after', 'auto'}, None or tuple
        The parameter's value; a tuple (or list) of placements asks for one
        member network per placement.
    n_samples : int
        Rows of non-zero weight in the fit that builds the network.
    incremental : bool
        Whether that fit is ``partial_fit``, whose chunk size says nothing
        about the size of the data.
    single : bool, default=False
        Whether 'auto' must build one network (see ``sknorm._fit_plan``).

    Returns
    -------
    {'before', 'after'}, None or tuple
        For 'auto': None for a ``fit`` of fewer than 30 rows;
        :data:`AUTO_MEMBERS` for a ``fit`` of 30 rows or more, unless
        ``single``; else 'before' (``partial_fit`` always).
    """
    if isinstance(batch_norm, tuple | list):
        return check_member_placements(batch_norm)
    if batch_norm != "auto":
        return batch_norm
    if _tiny_fit(n_samples, incremental):
        return None
    return "before" if incremental or single else AUTO_MEMBERS


def resolve_n_iter_no_change(n_iter_no_change, averages):
    """Return the stopping patience ('auto': 5 for an average of networks, else 10).

    Each member of an average stops after 5 epochs without improvement, so
    that the members cost little more than one network at 10: on the
    quality suite and the small tables, two members at 5 also scored higher
    than at 10, and three members at 5 higher than at 4.
    """
    if n_iter_no_change != "auto":
        return n_iter_no_change
    return AUTO_PATIENCE_MEMBERS if averages else AUTO_PATIENCE


def check_member_placements(placements):
    """Return ``placements`` as a tuple of at least 2 placements, or raise."""
    allowed = ("before", "after", None)
    if len(placements) < 2 or any(p not in allowed for p in placements):
        raise ValueError(
            "batch_norm as a sequence gives one member network per placement: "
            "it needs at least 2 entries among 'before', 'after' and None, got "
            f"{placements!r}."
        )
    return tuple(placements)


def uses_batch_norm(placement):
    """Whether a resolved placement (or any member's) normalizes batches."""
    if isinstance(placement, tuple):
        return any(p is not None for p in placement)
    return placement is not None


def resolve_weight_decay(weight_decay, n_samples, *, incremental):
    """Return the decoupled weight decay ('auto': 4 below 30 rows in fit).

    Parameters
    ----------
    weight_decay : float or 'auto'
        The parameter's value.
    n_samples : int
        Rows of non-zero weight that the fit trains on.
    incremental : bool
        Whether the fit is ``partial_fit``, whose chunk size says nothing
        about the size of the data.

    Returns
    -------
    float
        For 'auto': :data:`AUTO_WEIGHT_DECAY_TINY` for ``fit`` on fewer than
        30 rows, else 0.
    """
    if weight_decay != "auto":
        return weight_decay
    return AUTO_WEIGHT_DECAY_TINY if _tiny_fit(n_samples, incremental) else 0.0


def _tiny_fit(n_samples, incremental):
    """Whether a fit gets the tiny-data 'auto' values (no BN, weight decay).

    Below AUTO_MIN_ROWS rows of ``fit``; never in ``partial_fit``, whose
    chunk size says nothing about the size of the data.
    """
    return not incremental and n_samples < AUTO_MIN_ROWS


def resolve_label_smoothing(label_smoothing, early_stopping):
    """Return MLPClassifier's label smoothing ('auto': with early stopping only).

    Smoothed targets raise the training loss's floor; a fit stopped by the
    training loss (``tol``) then stops and lowers its rate at other epochs,
    which cost accuracy on small fits of the quality suite. With a
    validation split the stopping reads held-out accuracy instead.

    Parameters
    ----------
    label_smoothing : float or 'auto'
        The parameter's value.
    early_stopping : bool
        Whether this fit holds out validation rows (resolved).

    Returns
    -------
    float
    """
    if label_smoothing == "auto":
        return AUTO_LABEL_SMOOTHING if early_stopping else 0.0
    return label_smoothing


# The parameters shared by MLPRegressor and MLPClassifier, checked by
# scikit-learn's validate_params before every fit.
MLP_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": [
        "array-like",
        Interval(Integral, 1, None, closed="left"),
    ],
    "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})],
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
    ],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "cosine"})],
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
    "early_stopping": ["boolean", StrOptions({"auto"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
        StrOptions({"auto"}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "batch_norm": [StrOptions({"before", "after", "auto"}), None, tuple, list],
    "bn_affine": ["boolean"],
    "bn_momentum": [Interval(Real, 0, 1, closed="both")],
    "bn_epsilon": [Interval(Real, 0, None, closed="neither")],
    "bn_stats": [StrOptions({"population", "running"})],
    "dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
    "weight_decay": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    "weight_init": [StrOptions({"glorot", "he"})],
    "validation_split": [StrOptions({"random", "last"})],
    "bn_input": ["boolean"],
}
