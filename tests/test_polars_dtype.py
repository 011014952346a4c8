"""Polars frames keep the dtype that NumPy arrays and pandas frames keep.

scikit-learn reads no NumPy dtype from a polars frame and casts it to float64;
sknorm's validation applies the pandas rule instead, so a Float32 frame fits
and predicts in float32, bitwise like the same NumPy array (issue 14, item 12).
"""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from numpy.testing import assert_array_equal

from sknorm import MLPClassifier, MLPRegressor, Standardizer
from sknorm._validation import frame_dtype

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X32 = RNG.standard_normal((40, 2)).astype(np.float32)
Y32 = (X32[:, 0] - X32[:, 1] ** 2).astype(np.float32)
LABELS = (X32[:, 0] > 0).astype(int)


def _three_ways(X):
    """The same data as a NumPy array, a pandas frame and a polars frame."""
    columns = {"a": X[:, 0], "b": X[:, 1]}
    return [X, pd.DataFrame(columns), pl.DataFrame(columns)]


@pytest.mark.parametrize(
    ("cls", "y"), [(MLPRegressor, Y32), (MLPClassifier, LABELS)], ids=["reg", "clf"]
)
def test_polars_float32_fits_like_numpy_float32(cls, y):
    """Check float32 weights and bitwise-equal fits for numpy/pandas/polars."""
    inputs = _three_ways(X32)
    fits = [cls(max_iter=3, random_state=0).fit(X, y) for X in inputs]
    for fit, X in zip(fits, inputs, strict=True):
        assert fit.coefs_[0].dtype == np.float32
        for got, expected in zip(fit.coefs_, fits[0].coefs_, strict=True):
            assert_array_equal(got, expected)
        for got, expected in zip(fit.intercepts_, fits[0].intercepts_, strict=True):
            assert_array_equal(got, expected)
        predicted = fit.predict(X)
        assert_array_equal(predicted, fits[0].predict(inputs[0]))
        if cls is MLPRegressor:
            assert predicted.dtype == np.float32
        else:
            proba = fit.predict_proba(X)
            assert proba.dtype == np.float32
            assert_array_equal(proba, fits[0].predict_proba(inputs[0]))


def test_polars_float32_standardizer_like_numpy_float32():
    """Check that the Standardizer keeps polars float32 as it keeps numpy's."""
    inputs = _three_ways(X32)
    outputs = [Standardizer().fit_transform(X) for X in inputs]
    for out in outputs:
        assert out.dtype == np.float32
        assert_array_equal(out, outputs[0])
    # set_output's polars frames round-trip in float32 too.
    est = Standardizer().set_output(transform="polars").fit(inputs[2])
    Z = est.transform(inputs[2])
    assert Z.dtypes == [pl.Float32, pl.Float32]
    back = est.inverse_transform(Z)
    assert back.dtype == np.float32
    assert_array_equal(back, Standardizer().fit(X32).inverse_transform(outputs[0]))


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (np.float64, np.float64),
        (np.int8, np.float32),
        (np.int64, np.float64),
        (np.bool_, np.float32),
    ],
)
def test_polars_mixed_frame_dtype_follows_pandas(other, expected):
    """Check that mixed frames get the dtype pandas gives (the result type)."""
    columns = {"a": X32[:, 0], "b": (X32[:, 1] * 10).astype(other)}
    pandas_out = Standardizer().fit_transform(pd.DataFrame(columns))
    polars_out = Standardizer().fit_transform(pl.DataFrame(columns))
    assert pandas_out.dtype == expected
    assert polars_out.dtype == expected
    assert_array_equal(polars_out, pandas_out)


def test_polars_frame_dtype_of_nulls_and_other_input():
    """Check that integer nulls give float64 and non-polars input gives None."""
    with_null = pl.DataFrame(
        {"a": X32[:3, 0], "b": pl.Series([1, None, 2], dtype=pl.Int8)}
    )
    assert frame_dtype(with_null) == np.float64
    pandas_null = pd.DataFrame(
        {"a": X32[:3, 0], "b": pd.array([1, None, 2], dtype="Int8")}
    )
    for frame in (with_null, pandas_null):
        assert Standardizer().fit_transform(frame).dtype == np.float64
    float_null = pl.DataFrame({"a": pl.Series([1.0, None], dtype=pl.Float32)})
    assert frame_dtype(float_null) == np.float32
    assert frame_dtype(pl.DataFrame({"a": ["x", "y"]})) is None
    assert frame_dtype(pd.DataFrame(X32)) is None
    assert frame_dtype(X32) is None


def test_polars_float16_frame_stays_float16_in_the_standardizer():
    """Check a polars Float16 frame transforms to float16, as the NumPy array does."""
    values = np.array([[0.1], [0.2], [0.4]], dtype=np.float16)
    frame = pl.from_numpy(values, schema=["a"])
    out = Standardizer().fit(frame).transform(frame)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, Standardizer().fit_transform(values))
