"""The estimators inside scikit-learn's composition tools."""

import pickle

import numpy as np
import pytest
import sklearn
from classifier_helpers import FAST
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import make_scorer, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# FAST is the classifier tests' explicit regime (one layer of 32, constant rate
# 0.01), so these tests do not depend on tuned defaults either.


def _mixed_scale_data(n_samples=300, seed=0):
    """X with columns on wildly different scales and a smooth target."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, 3))
    X = Z * [1.0, 100.0, 1e4] + [0.0, 500.0, -3e4]
    y = np.sin(Z[:, 0]) + 0.5 * Z[:, 1] ** 2 - Z[:, 2]
    return X, y


def _classification_data():
    X, y = make_blobs(300, centers=3, random_state=1)
    return X * [1.0, 1000.0], y


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_composition_clone(Estimator):
    """Check that clone copies the parameters and none of the fitted state."""
    X, y = _mixed_scale_data(60)
    if Estimator is MLPClassifier:
        y = (y > 0).astype(int)
    est = Estimator(batch_norm="after", dropout=0.1, **FAST).fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "network_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_composition_pickle_round_trip(Estimator):
    """Check that a pickled model predicts identically and keeps training."""
    X, y = _mixed_scale_data(100)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if Estimator is MLPClassifier:
        y = (y > 0).astype(int)
    est = Estimator(max_iter=20, **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))
    if Estimator is MLPClassifier:
        assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    # Both continue identically: the optimizer state is part of the pickle.
    restored.partial_fit(X, y)
    est.partial_fit(X, y)
    assert_array_equal(restored.predict(X), est.predict(X))


def test_composition_pipeline_with_standardizer():
    """Check that Standardizer + MLPRegressor learns from mixed-scale X.

    Without dropout: on this noise-free target it only slows the fit.
    """
    X, y = _mixed_scale_data(400)
    model = make_pipeline(Standardizer(), MLPRegressor(dropout=0, **FAST))
    model.fit(X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.9


def test_composition_classifier_pipeline_with_string_labels():
    """Check that a Pipeline classifier learns and predicts string labels."""
    X, y = _classification_data()
    labels = np.array(["low", "mid", "high"])[y]
    model = make_pipeline(Standardizer(), MLPClassifier(**FAST))
    model.fit(X[:200], labels[:200])
    assert_array_equal(model.classes_, ["high", "low", "mid"])
    assert model.predict(X[200:]).dtype.kind == "U"
    assert model.score(X[200:], labels[200:]) > 0.95
    assert model.predict_proba(X[200:]).shape == (100, 3)


def test_composition_grid_search_learning_rate_and_placement():
    """Check that GridSearchCV tunes learning_rate_init x batch_norm."""
    X, y = _mixed_scale_data(150)
    grid = {
        "mlpregressor__learning_rate_init": [0.003, 0.03],
        "mlpregressor__batch_norm": [None, "before", "after"],
    }
    model = make_pipeline(Standardizer(), MLPRegressor(**{**FAST, "max_iter": 40}))
    search = GridSearchCV(model, grid, cv=KFold(3)).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert search.best_params_["mlpregressor__batch_norm"] in (None, "before", "after")
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.5
    assert search.predict(X).shape == (150,)


@pytest.mark.parametrize("Estimator", [MLPRegressor, MLPClassifier])
def test_composition_cross_val_score(Estimator):
    """Check that cross_val_score runs and gives good scores."""
    if Estimator is MLPRegressor:
        X, y = _mixed_scale_data(300)
    else:
        X, y = _classification_data()
    model = make_pipeline(Standardizer(), Estimator(**FAST))
    scores = cross_val_score(model, X, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    # 200 training rows: dropout="auto" is on and costs a little on this
    # noiseless function.
    assert scores.min() > 0.8


def test_composition_transformed_target_regressor():
    """Check that TTR with a Standardizer on y equals built-in target scaling."""
    X, y = _mixed_scale_data(300)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = 1000 * y + 5e4
    params = {**FAST, "max_iter": 50}
    ttr = TransformedTargetRegressor(
        regressor=MLPRegressor(standardize_target=False, **params),
        transformer=Standardizer(),
    ).fit(X, y)
    builtin = MLPRegressor(**params).fit(X, y)
    assert ttr.score(X, y) > 0.9
    # Both train on (y - mean) / std: the same model up to rounding.
    assert_allclose(ttr.predict(X), builtin.predict(X), rtol=1e-8)


def test_composition_metadata_routing_sample_weight():
    """Check that routed sample_weight reaches both steps and changes the fit."""
    X, y = _mixed_scale_data(200)
    weights = np.where(np.arange(200) < 100, 5.0, 0.2)
    with sklearn.config_context(enable_metadata_routing=True):
        model = make_pipeline(
            Standardizer().set_fit_request(sample_weight=True),
            MLPRegressor(**{**FAST, "max_iter": 30}).set_fit_request(
                sample_weight=True
            ),
        )
        weighted = clone(model).fit(X, y, sample_weight=weights).predict(X)
        unweighted = clone(model).fit(X, y).predict(X)
    assert not np.allclose(weighted, unweighted, rtol=1e-3)
    # The same as weighting each step by hand.
    scaler = Standardizer().fit(X, sample_weight=weights)
    by_hand = MLPRegressor(**{**FAST, "max_iter": 30}).fit(
        scaler.transform(X), y, sample_weight=weights
    )
    assert_allclose(weighted, by_hand.predict(scaler.transform(X)), rtol=1e-10)


def test_composition_pipeline_step_sample_weight_without_routing():
    """Check that ``mlpregressor__sample_weight`` works without routing."""
    X, y = _mixed_scale_data(100)
    weights = np.linspace(0.1, 2.0, 100)
    model = make_pipeline(Standardizer(), MLPRegressor(**{**FAST, "max_iter": 10}))
    model.fit(X, y, mlpregressor__sample_weight=weights)
    plain = clone(model).fit(X, y)
    assert not np.allclose(model.predict(X), plain.predict(X), rtol=1e-3)


def test_composition_grid_search_routes_sample_weight():
    """Check that routed weights reach the fits and the scorer of each split."""
    X, y = _mixed_scale_data(240)
    weights = np.where(np.arange(240) % 3 == 0, 4.0, 0.5)
    params = {**FAST, "max_iter": 20}
    cv = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(r2_score).set_score_request(sample_weight=True)
        model = make_pipeline(
            Standardizer().set_fit_request(sample_weight=True),
            MLPRegressor(**params).set_fit_request(sample_weight=True),
        )
        search = GridSearchCV(
            model, {"mlpregressor__batch_norm": [None, "before"]}, cv=cv, scoring=scorer
        ).fit(X, y, sample_weight=weights)
    # The first candidate's first split, weighted by hand.
    train, test = next(cv.split(X))
    scaler = Standardizer().fit(X[train], sample_weight=weights[train])
    mlp = MLPRegressor(**{**params, "batch_norm": None}).fit(
        scaler.transform(X[train]), y[train], sample_weight=weights[train]
    )
    by_hand = r2_score(
        y[test], mlp.predict(scaler.transform(X[test])), sample_weight=weights[test]
    )
    assert search.cv_results_["params"][0] == {"mlpregressor__batch_norm": None}
    assert_allclose(search.cv_results_["split0_test_score"][0], by_hand, rtol=1e-10)


@pytest.mark.parametrize("lib", ["pandas", "polars"])
def test_composition_dataframe_feature_names_through_pipeline(lib):
    """Check that column names flow from a DataFrame through set_output to the MLP."""
    module = pytest.importorskip(lib)
    X, y = _mixed_scale_data(120)
    columns = ["irradiance", "pressure", "humidity"]
    frame = module.DataFrame({name: X[:, i] for i, name in enumerate(columns)})
    model = make_pipeline(
        Standardizer().set_output(transform=lib), MLPRegressor(**FAST, max_iter=5)
    ).fit(frame, y)
    assert_array_equal(model[0].get_feature_names_out(), columns)
    assert_array_equal(model[-1].feature_names_in_, columns)
    assert_allclose(model.predict(frame), model[-1].predict(model[0].transform(frame)))
    # pandas renames by keyword, polars by a positional mapping.
    mapping = {"pressure": "p"}
    if lib == "pandas":
        renamed = frame.rename(columns=mapping)
    else:
        renamed = frame.rename(mapping)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(renamed)


@pytest.mark.parametrize("fitted", [False, True])
def test_composition_html_repr(fitted):
    """Check the notebook HTML repr: names, user-set parameters, fitted status."""
    model = make_pipeline(
        Standardizer(), MLPRegressor(**FAST, max_iter=5, batch_norm="after")
    )
    if fitted:
        model.fit(*_mixed_scale_data(60))
    html = model._repr_html_()
    assert "Standardizer" in html
    assert "MLPRegressor" in html
    assert '<td class="param">batch_norm</td>' in html
    assert "&#x27;after&#x27;" in html
    assert ("<span>Fitted</span>" in html) is fitted
    assert ("<span>Not fitted</span>" in html) is not fitted
    assert "text/html" in MLPClassifier()._repr_mimebundle_()
