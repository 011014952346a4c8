"""Real weather data: pvlib's Greensboro TMY3 file (task T1, daytime GHI)."""

import pytest
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import load_greensboro_ghi, load_greensboro_temperature_change


def test_datasets_shapes():
    """Check that the two weather tasks have the documented shapes and scales."""
    X, y = load_greensboro_ghi()
    assert X.shape == (4751, 13)
    assert 260 < y.std() < 275
    X2, y2 = load_greensboro_temperature_change()
    assert X2.shape == (8723, 16)
    assert 3.1 < y2.std() < 3.3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_default_pipeline_daytime_ghi():
    """Check that the default pipeline reaches test R2 >= 0.95 on daytime GHI."""
    X, y = load_greensboro_ghi()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    model = make_pipeline(Standardizer(), MLPRegressor(random_state=0))
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.95
