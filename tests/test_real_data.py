"""Real weather data: pvlib's Greensboro TMY3 file (tasks T1 and T2)."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import (
    WEATHER_FEATURES,
    load_greensboro_ghi,
    load_greensboro_temperature_change,
    make_weather,
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


# HistGradientBoostingRegressor's test R² on the same splits (0.9545, 0.8436;
# examples/plot_weather_regression.py), the targets for sknorm's defaults.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("load", "gradient_boosting_r2"),
    [(load_greensboro_ghi, 0.9545), (load_greensboro_temperature_change, 0.8436)],
    ids=["T1-daytime-GHI", "T2-temperature-change"],
)
def test_default_pipeline_reaches_gradient_boosting(load, gradient_boosting_r2):
    """Check that the default pipeline scores at least gradient boosting's R2."""
    X, y = load()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    model = make_pipeline(Standardizer(), MLPRegressor(random_state=0))
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= gradient_boosting_r2
