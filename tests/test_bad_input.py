"""Bad inputs: a clear error naming the problem, never a silent NaN.

Every public estimator (Standardizer, MLPRegressor, MLPClassifier) is fed the
inputs real tables contain. ``ERROR_CASES`` lists each input once with the
exact outcome per estimator: the exception type and a message fragment naming
the problem. Inputs that must work, and their correct results, are in
``test_awkward_input.py``.
"""

import re
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp

from sknorm import MLPClassifier, MLPRegressor, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, D = 60, 3
RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, D))
Y = X[:, 0] + X[:, 1] ** 2
LABELS = (X[:, 0] > 0).astype(int)
COLUMNS = ["temp", "pressure", "wind"]


def _make(kind, **params):
    """A small, seeded, fast instance of the estimator named ``kind``."""
    if kind == "standardizer":
        return Standardizer(**params)
    cls = MLPRegressor if kind == "regressor" else MLPClassifier
    return cls(
        **{"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, **params}
    )


def _target(kind):
    return LABELS if kind == "classifier" else Y


def _fit(kind, X_fit, y=None, **fit_params):
    y = _target(kind) if y is None else y
    return _make(kind).fit(X_fit, y, **fit_params)


def _apply(est, X_new):
    """The estimator's main inference method: transform or predict."""
    return est.transform(X_new) if isinstance(est, Standardizer) else est.predict(X_new)


def _with(value, row=3, col=1, base=X):
    """A copy of ``base`` with one entry replaced (``col=None`` for 1-D)."""
    out = base.copy()
    out[row if col is None else (row, col)] = value
    return out


def _frame(**extra):
    """A pandas frame of X plus extra columns."""
    return pd.DataFrame({**dict(zip(COLUMNS, X.T, strict=True)), **extra})


def _huge_pm():
    """X whose first column alternates between 1e300 and -1e300."""
    out = X.copy()
    out[:, 0] = np.where(np.arange(N) % 2, 1e300, -1e300)
    return out


ALL = ("standardizer", "regressor", "classifier")
MLPS = ("regressor", "classifier")
NON_NUMERIC = r"column\(s\) \['city'\] hold strings or categories"
OVERFLOW_X = r"X has values of magnitude up to 1e\+300 .* overflow float64"
OVERFLOW_STATS = r"Standardization statistics overflow float64 in column\(s\) \[0\]"

# (case id, action(kind), {kind: (exception type, message regex)}); a type given
# by name is a ValueError subclass that scikit-learn keeps in a private module.
ERROR_CASES = [
    (
        "inf-in-X",
        lambda k: _fit(k, _with(np.inf)),
        dict.fromkeys(ALL, (ValueError, "Input X contains infinity")),
    ),
    (
        "nan-in-X",
        lambda k: _fit(k, _with(np.nan)),
        dict.fromkeys(MLPS, (ValueError, "Input X contains NaN")),
    ),
    (
        "pandas-NA-in-nullable-column",
        lambda k: _fit(k, _frame(extra=pd.array([1, None] * (N // 2), dtype="Int64"))),
        dict.fromkeys(MLPS, (ValueError, "Input X contains NaN")),
    ),
    (
        "polars-null",
        lambda k: _fit(k, pl.DataFrame({"a": [1.0, None] * (N // 2)})),
        dict.fromkeys(MLPS, (ValueError, "Input X contains NaN")),
    ),
    (
        "string-array",
        lambda k: _fit(k, np.array([["a", "b", "c"]] * N)),
        dict.fromkeys(ALL, (ValueError, "could not convert string to float")),
    ),
    (
        "pandas-mixed-types",
        lambda k: _fit(k, _frame(city=["Paris", "Oslo"] * (N // 2))),
        dict.fromkeys(ALL, (ValueError, NON_NUMERIC)),
    ),
    (
        "pandas-categorical",
        lambda k: _fit(k, _frame(city=pd.Categorical(["Paris", "Oslo"] * (N // 2)))),
        dict.fromkeys(ALL, (ValueError, NON_NUMERIC)),
    ),
    (
        "polars-string-column",
        lambda k: _fit(
            k, pl.DataFrame({"temp": X[:, 0], "city": ["Paris", "Oslo"] * (N // 2)})
        ),
        dict.fromkeys(ALL, (ValueError, NON_NUMERIC)),
    ),
    (
        "complex",
        lambda k: _fit(k, X + 1j),
        dict.fromkeys(ALL, (ValueError, "Complex data not supported")),
    ),
    (
        "empty-X",
        lambda k: _fit(k, np.empty((0, D)), _target(k)[:0]),
        dict.fromkeys(ALL, (ValueError, r"Found array with 0 sample\(s\)")),
    ),
    (
        "zero-features",
        lambda k: _fit(k, np.empty((N, 0))),
        dict.fromkeys(ALL, (ValueError, r"Found array with 0 feature\(s\)")),
    ),
    (
        "3d-X",
        lambda k: _fit(k, X.reshape(N, D, 1)),
        dict.fromkeys(ALL, (ValueError, "Found array with dim 3")),
    ),
    (
        "1d-X",
        lambda k: _fit(k, X[:, 0]),
        dict.fromkeys(ALL, (ValueError, "Expected 2D array, got 1D array")),
    ),
    (
        # batch_norm="auto" builds no BN for one row: ask for it explicitly.
        "one-row",
        lambda k: _make(k, batch_norm="before").fit(X[:1], _target(k)[:1]),
        {
            "regressor": (ValueError, "batch normalization needs at least 2 samples"),
            "classifier": (ValueError, r"at least 2 classes.*only one class: \[1\]"),
        },
    ),
    (
        "nan-in-y",
        lambda k: _fit(k, X, _with(np.nan, row=3, col=None, base=Y)),
        dict.fromkeys(MLPS, (ValueError, "Input y contains NaN")),
    ),
    (
        "inf-in-y",
        lambda k: _fit(k, X, _with(np.inf, row=3, col=None, base=Y)),
        dict.fromkeys(MLPS, (ValueError, "Input y contains infinity")),
    ),
    (
        "y-wrong-length",
        lambda k: _fit(k, X, _target(k)[:-1]),
        dict.fromkeys(MLPS, (ValueError, "inconsistent numbers of samples")),
    ),
    (
        "string-y-for-regressor",
        lambda k: _fit(k, X, np.array(["low", "high"] * (N // 2))),
        {"regressor": (ValueError, "could not convert string to float")},
    ),
    (
        "continuous-y-for-classifier",
        lambda k: _fit(k, X, Y),
        {"classifier": (ValueError, "Unknown label type: continuous")},
    ),
    (
        "single-class",
        lambda k: _fit(k, X, np.full(N, "rain")),
        {"classifier": (ValueError, r"at least 2 classes.*only one class: \['rain'\]")},
    ),
    (
        "labels-mixing-strings-and-numbers",
        lambda k: _fit(k, X, np.array([1, "rain"] * (N // 2), dtype=object)),
        {"classifier": (ValueError, "y mixes string and numeric labels")},
    ),
    (
        "predict-other-n-features",
        lambda k: _apply(_fit(k, X), X[:, :2]),
        {
            k: (
                ValueError,
                f"X has 2 features, but {type(_make(k)).__name__} is "
                "expecting 3 features",
            )
            for k in ALL
        },
    ),
    (
        "predict-other-column-names",
        lambda k: _apply(_fit(k, _frame()), _frame().rename(columns={"wind": "gust"})),
        dict.fromkeys(ALL, (ValueError, "Feature names unseen at fit time:\n- gust")),
    ),
    (
        "predict-reordered-columns",
        lambda k: _apply(_fit(k, _frame()), _frame()[COLUMNS[::-1]]),
        dict.fromkeys(ALL, (ValueError, "must be in the same order")),
    ),
    (
        "sparse-X",
        lambda k: _fit(k, sp.csr_matrix(X)),
        # The MLPs take sparse X (tests/test_sparse.py).
        {"standardizer": (ValueError, "Cannot center sparse matrices")},
    ),
    (
        "sparse-X-at-predict",
        lambda k: _apply(_fit(k, X), sp.csc_matrix(X)),
        # The MLPs take sparse X (tests/test_sparse.py).
        {"standardizer": (ValueError, "Cannot center sparse matrices")},
    ),
    (
        "plus-minus-1e300-in-X",
        lambda k: _fit(k, _huge_pm()),
        {
            "standardizer": (ValueError, OVERFLOW_STATS),
            **dict.fromkeys(MLPS, (ValueError, OVERFLOW_X)),
        },
    ),
    (
        "1e300-outlier-in-X",
        lambda k: _fit(k, _with(1e300, col=0)),
        {
            "standardizer": (ValueError, OVERFLOW_STATS),
            **dict.fromkeys(MLPS, (ValueError, OVERFLOW_X)),
        },
    ),
    (
        "float32-X-beyond-its-square-root-range",
        lambda k: _fit(k, _with(1e18, col=2).astype(np.float32)),
        dict.fromkeys(
            MLPS, (ValueError, r"column\(s\) \[2\]\); squares .* overflow float32")
        ),
    ),
    (
        "1e300-in-y",
        lambda k: _fit(k, X, _with(1e300, row=5, col=None, base=Y)),
        {
            "regressor": (
                ValueError,
                "Cannot standardize y: Standardization statistics overflow",
            )
        },
    ),
    (
        "huge-y-without-target-standardization",
        lambda k: _make(k, standardize_target=False).fit(X, Y * 1e200),
        {"regressor": (ValueError, r"y has values .* set standardize_target=True")},
    ),
    (
        "y-too-large-for-float32-X",
        lambda k: _fit(k, X.astype(np.float32), Y * 1e40),
        {"regressor": (ValueError, "y has values too large for float32")},
    ),
    (
        "predict-output-overflow",
        lambda k: _apply(_fit(k, X), np.full((4, D), 1.7e308)),
        dict.fromkeys(MLPS, (ValueError, "output overflowed to inf or NaN")),
    ),
    (
        "negative-sample-weight",
        lambda k: _fit(k, X, sample_weight=_with(-1.0, col=None, base=np.ones(N))),
        dict.fromkeys(ALL, (ValueError, "Negative values in data passed to")),
    ),
    (
        "nan-sample-weight",
        lambda k: _fit(k, X, sample_weight=_with(np.nan, col=None, base=np.ones(N))),
        dict.fromkeys(ALL, (ValueError, "Input sample_weight contains NaN")),
    ),
    (
        "inf-sample-weight",
        lambda k: _fit(k, X, sample_weight=_with(np.inf, col=None, base=np.ones(N))),
        dict.fromkeys(ALL, (ValueError, "Input sample_weight contains infinity")),
    ),
    (
        "all-zero-sample-weight",
        lambda k: _fit(k, X, sample_weight=np.zeros(N)),
        dict.fromkeys(
            ALL, (ValueError, "Sample weights must contain at least one non-zero")
        ),
    ),
    (
        "sample-weight-wrong-length",
        lambda k: _fit(k, X, sample_weight=np.ones(N - 1)),
        dict.fromkeys(
            ALL, (ValueError, re.escape("sample_weight.shape == (59,), expected (60,)"))
        ),
    ),
    (
        "hidden-layer-size-0",
        lambda k: _make(k, hidden_layer_sizes=0).fit(X, _target(k)),
        dict.fromkeys(
            MLPS, ("InvalidParameterError", "'hidden_layer_sizes' parameter")
        ),
    ),
    (
        "hidden-layer-sizes-with-0",
        lambda k: _make(k, hidden_layer_sizes=(8, 0)).fit(X, _target(k)),
        dict.fromkeys(
            MLPS, (ValueError, re.escape("must be positive integers, got [8, 0]"))
        ),
    ),
    (
        "hidden-layer-sizes-negative",
        lambda k: _make(k, hidden_layer_sizes=(-4,)).fit(X, _target(k)),
        dict.fromkeys(
            MLPS, (ValueError, re.escape("must be positive integers, got [-4]"))
        ),
    ),
    (
        "hidden-layer-sizes-fractional",
        lambda k: _make(k, hidden_layer_sizes=(10.5,)).fit(X, _target(k)),
        dict.fromkeys(
            MLPS, (ValueError, re.escape("must be positive integers, got [10.5]"))
        ),
    ),
    (
        "partial-fit-changed-feature-count",
        lambda k: (
            _make(k)
            .partial_fit(
                X, _target(k), **({"classes": [0, 1]} if k == "classifier" else {})
            )
            .partial_fit(X[:, :2], _target(k))
        ),
        {
            k: (
                ValueError,
                f"X has 2 features, but {type(_make(k)).__name__} is "
                "expecting 3 features",
            )
            for k in ALL
        },
    ),
    (
        "partial-fit-new-class",
        lambda k: (
            _make(k).partial_fit(X, LABELS, classes=[0, 1]).partial_fit(X, LABELS + 1)
        ),
        {"classifier": (ValueError, "`y` has classes not in `self.classes_`")},
    ),
    (
        "partial-fit-without-classes",
        lambda k: _make(k).partial_fit(X, LABELS),
        {"classifier": (ValueError, "classes must be passed on the first call")},
    ),
    (
        "partial-fit-changed-output-count",
        lambda k: _make(k).partial_fit(X, Y).partial_fit(X, np.column_stack([Y, Y])),
        {
            "regressor": (
                ValueError,
                "y has 2 outputs, but this model was fitted with 1",
            )
        },
    ),
    (
        "warm-start-new-class",
        lambda k: _make(k, warm_start=True).fit(X, LABELS).fit(X, LABELS + 1),
        {
            "classifier": (
                ValueError,
                "warm_start can only be used where `y` has the same",
            )
        },
    ),
]


def _error_params():
    for case_id, action, outcomes in ERROR_CASES:
        for kind, (exc, match) in outcomes.items():
            yield pytest.param(kind, action, exc, match, id=f"{kind}-{case_id}")


@pytest.mark.parametrize(("kind", "action", "exc", "match"), list(_error_params()))
def test_bad_input_raises_clear_error(kind, action, exc, match):
    """Check that a bad input raises the exact exception naming the problem."""
    expected = ValueError if isinstance(exc, str) else exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(expected, match=match) as info:
            action(kind)
    name = exc if isinstance(exc, str) else exc.__name__
    assert type(info.value).__name__ == name


def test_bad_input_case_count():
    """Check that the error table covers at least 40 cases over all estimators."""
    params = list(_error_params())
    assert len(params) >= 40
    assert {p.values[0] for p in params} == set(ALL)
