"""Real weather data: pvlib's Greensboro TMY3 file (tasks T1 and T2)."""

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import (
    WEATHER_FEATURES,
    load_greensboro_ghi,
    load_greensboro_temperature_change,
    make_weather,
    split_by_week,
)


def test_datasets_shapes():
    """Check that the two weather tasks have the documented shapes and scales."""
    X, y = load_greensboro_ghi()
    assert X.shape == (4751, 13)
    assert 260 < y.std() < 275
    X2, y2 = load_greensboro_temperature_change()
    assert X2.shape == (8723, 16)
    assert 3.1 < y2.std() < 3.3


def test_make_weather_scales_and_seeding():
    """Check make_weather's shapes, natural scales and reproducible chunks."""
    X, y = make_weather(2000, random_state=[0, 3])
    assert X.shape == (2000, len(WEATHER_FEATURES))
    assert y.shape == (2000,)
    assert 9e4 < X[:, 2].mean() < 1.1e5  # pressure in Pa
    assert X[:, 1].min() > 0  # humidity
    assert X[:, 1].max() <= 1
    assert 150 < y.std() < 400  # irradiance in W/m^2
    X_again, y_again = make_weather(2000, random_state=[0, 3])
    assert np.array_equal(X, X_again)
    assert np.array_equal(y, y_again)
    assert not np.array_equal(X, make_weather(2000, random_state=[0, 4])[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "load",
    [load_greensboro_ghi, load_greensboro_temperature_change],
    ids=["T1-daytime-GHI", "T2-temperature-change"],
)
def test_default_pipeline_keeps_up_with_scikit_learn_mlp(load):
    """Check the default pipeline against scikit-learn's MLP on held-out weeks.

    The quality target of the defaults: never more than 0.005 R² below
    scikit-learn's MLP (standardized X and y, ``max_iter=500``), here with
    seed 0 on a quarter of the calendar weeks held out.
    """
    X_train, X_test, y_train, y_test = split_by_week(*load())
    model = make_pipeline(Standardizer(), MLPRegressor(random_state=0))
    sk_mlp = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), SkMLPRegressor(max_iter=500, random_state=0)),
        transformer=StandardScaler(),
    )
    scores = {}
    for name, estimator in (("sknorm", model), ("sk_mlp", sk_mlp)):
        estimator.fit(X_train, y_train)
        scores[name] = estimator.score(X_test, y_test)
    assert scores["sknorm"] >= scores["sk_mlp"] - 0.005, scores


def test_split_by_week_holds_out_whole_weeks():
    """Check that no calendar week has rows on both sides of the split."""
    X, y = load_greensboro_temperature_change()
    X_train, X_test, y_train, _ = split_by_week(X, y)
    weeks = {
        name: set(part.index.day_of_year // 7)
        for name, part in (("train", X_train), ("test", X_test))
    }
    assert not weeks["train"] & weeks["test"]
    assert 0.2 < len(X_test) / len(X) < 0.3
    assert y_train.index.equals(X_train.index)
