"""Saving fitted sknorm models for model registries: skops and MLflow."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sknorm import SKOPS_TRUSTED_TYPES, MLPRegressor, Standardizer


def _fitted_pipeline():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=80)
    model = make_pipeline(Standardizer(), MLPRegressor(max_iter=20, random_state=0))
    return model.fit(X, y), X


def test_skops_trusted_types_is_a_tuple_of_names():
    assert isinstance(SKOPS_TRUSTED_TYPES, tuple)
    assert len(set(SKOPS_TRUSTED_TYPES)) == len(SKOPS_TRUSTED_TYPES) == 15
    assert all(name.startswith("sknorm.") for name in SKOPS_TRUSTED_TYPES)


def test_skops_round_trip_with_the_constant(tmp_path):
    sio = pytest.importorskip("skops.io")
    model, X = _fitted_pipeline()
    sio.dump(model, tmp_path / "model.skops")
    loaded = sio.load(tmp_path / "model.skops", trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_mlflow_log_and_load_with_skops(tmp_path):
    """Check MLflow 3's skops format with SKOPS_TRUSTED_TYPES (local SQLite store)."""
    mlflow = pytest.importorskip("mlflow")
    model, X = _fitted_pipeline()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    artifacts = (tmp_path / "artifacts").as_uri()
    experiment = mlflow.create_experiment("sknorm", artifact_location=artifacts)
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))
