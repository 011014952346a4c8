"""Behaviour of MLPRegressor, and of the training loop it shares (BaseMLP)."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from regressor_helpers import FAST, _smooth_data, _unfolded_predict
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from sknorm import MLPRegressor
from sknorm._validation import AUTO_MEMBERS
from sknorm.nn import BatchNorm1d, Dropout, Linear, ReLU, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _record_batches(monkeypatch, *, fail_after=None):
    """Wrap ``Trainer.objective``: record batch sizes and parameters; interrupt."""
    original = Trainer.objective
    calls = []

    def wrapper(trainer, X, Y, sample_weight=None):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt
        calls.append((X.shape[0], trainer.network.get_flat_params()))
        return original(trainer, X, Y, sample_weight)

    monkeypatch.setattr(Trainer, "objective", wrapper)
    return calls


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
def test_regressor_learns_smooth_target(batch_norm):
    """Check that every placement reaches test R^2 > 0.9 on a smooth target.

    Without dropout: on a noise-free target it only slows the fit (0.3, the
    'auto' rate at 300 rows, scores 0.88-0.90 here).
    """
    X, y = _smooth_data(400)
    reg = MLPRegressor(batch_norm=batch_norm, dropout=0, **FAST)
    reg.fit(X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.9


def test_regressor_multi_output():
    """Check that 2-D targets are learned and predicted with their shape."""
    X, Y = _smooth_data(400, n_outputs=2)
    reg = MLPRegressor(**FAST).fit(X[:300], Y[:300])
    assert reg.n_outputs_ == 2
    assert reg.predict(X[300:]).shape == (100, 2)
    assert reg.target_mean_.shape == reg.target_scale_.shape == (2,)
    assert reg.score(X[300:], Y[300:]) > 0.88  # measured: 0.899


# ----------------------------------------------------------------- structure
@pytest.mark.parametrize(
    ("batch_norm", "expected"),
    [
        (None, [Linear, ReLU, Linear, ReLU, Linear]),
        ("before", [Linear, BatchNorm1d, ReLU, Linear, BatchNorm1d, ReLU, Linear]),
        ("after", [Linear, ReLU, BatchNorm1d, Linear, ReLU, BatchNorm1d, Linear]),
    ],
)
def test_regressor_network_structure(batch_norm, expected):
    """Check the layer order and that only BN-before hidden Linears lack a bias."""
    X, y = _smooth_data(50)
    reg = MLPRegressor(
        hidden_layer_sizes=(8, 6),
        batch_norm=batch_norm,
        dropout=0,  # test_regressor_dropout_layers places the Dropouts
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    layers = reg.network_.layers
    assert [type(layer) for layer in layers] == expected
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    for hidden in linears[:-1]:
        assert ("bias" in hidden.params) == (batch_norm != "before")
    assert "bias" in linears[-1].params
    assert reg.n_layers_ == 4
    assert [c.shape for c in reg.coefs_] == [(3, 8), (8, 6), (6, 1)]
    assert [b.shape for b in reg.intercepts_] == [(8,), (6,), (1,)]


def test_regressor_dropout_layers():
    """Check that dropout > 0 adds one Dropout per hidden layer and 0 adds none."""
    X, y = _smooth_data(50)
    params = {"hidden_layer_sizes": (8, 6), "max_iter": 1, "random_state": 0}
    with_dropout = MLPRegressor(dropout=0.3, **params).fit(X, y)
    without = MLPRegressor(dropout=0, **params).fit(X, y)
    # Each hidden layer of each member network ('auto' averages three).
    dropouts = [la for la in with_dropout.network_.layers if isinstance(la, Dropout)]
    assert [layer.rate for layer in dropouts] == [0.3, 0.3] * len(AUTO_MEMBERS)
    assert not any(isinstance(la, Dropout) for la in without.network_.layers)


# --------------------------------------------------------- folded prediction
@pytest.mark.parametrize(
    "params",
    [
        {"batch_norm": "before"},
        {"batch_norm": "after"},
        {"batch_norm": None},
        {"batch_norm": "before", "bn_affine": False},
        {"batch_norm": "after", "bn_affine": False},
        {"batch_norm": "before", "dropout": 0.2},
        {"batch_norm": "after", "dropout": 0.2, "bn_stats": "running"},
        {"loss": "poisson"},
        {"standardize_target": False, "activation": "tanh"},
    ],
)
def test_regressor_predict_matches_unfolded_network(params):
    """Check that the folded predict equals the unfolded network to 1e-10."""
    X, y = _smooth_data(200)
    if params.get("loss") == "poisson":
        y = np.exp(y / 3)
    params = {**FAST, "clip_predictions": None, **params}  # the network alone
    reg = MLPRegressor(max_iter=30, **params).fit(X, 3 * y + 10)
    assert_allclose(reg.predict(X), _unfolded_predict(reg, X), rtol=1e-10, atol=1e-10)


def test_regressor_predict_multi_output_matches_unfolded_network():
    """Check folded vs unfolded prediction for a 2-output regressor."""
    X, Y = _smooth_data(200, n_outputs=2)
    reg = MLPRegressor(max_iter=30, **FAST).fit(X, Y * [1.0, 100.0])
    assert_allclose(reg.predict(X), _unfolded_predict(reg, X), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        {"batch_norm": "before"},
        {"batch_norm": "after"},
        {"batch_norm": None, "solver": "lbfgs"},
        {"loss": "poisson"},
        {"standardize_target": False, "activation": "logistic"},
        {"n_outputs": 2},
    ],
)
def test_regressor_to_sklearn_predicts_identically(params):
    """Check that to_sklearn() gives a fitted sklearn MLP with equal predictions."""
    params = dict(params)
    X, y = _smooth_data(200, n_outputs=params.pop("n_outputs", 1))
    if params.get("loss") == "poisson":
        y = np.exp(y / 3)
    reg = MLPRegressor(max_iter=30, **{**FAST, **params}).fit(X, 50 * y + 7)
    sk = reg.to_sklearn()
    assert type(sk) is SkMLPRegressor
    assert sk.n_features_in_ == 3
    assert sk.out_activation_ == reg.out_activation_
    assert sk.predict(X).dtype == np.float64
    assert_allclose(sk.predict(X), reg.predict(X), rtol=1e-10, atol=1e-10)


def test_regressor_to_sklearn_rejects_leaky_relu():
    """Check that to_sklearn() raises ValueError for leaky_relu."""
    X, y = _smooth_data(50)
    reg = MLPRegressor(activation="leaky_relu", max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="leaky_relu"):
        reg.to_sklearn()


# ------------------------------------------------------- continued training
def test_regressor_warm_start_continues(monkeypatch):
    """Check that warm_start starts from the previous weights and lowers the loss."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(max_iter=10, warm_start=True, batch_norm="before", **FAST)
    reg.fit(X, y)
    first_curve = list(reg.loss_curve_)
    previous = reg.network_.get_flat_params()
    network, t = reg.network_, reg.t_
    calls = _record_batches(monkeypatch)
    reg.fit(X, y)
    assert reg.network_ is network
    assert_array_equal(calls[0][1], previous)
    assert reg.n_iter_ == 10
    assert reg.t_ == t + 10 * 200
    assert reg.loss_curve_[:10] == first_curve
    assert len(reg.loss_curve_) == 20
    assert reg.loss_curve_[-1] < first_curve[-1] < first_curve[0]


def test_regressor_without_warm_start_restarts(monkeypatch):
    """Check that a second fit without warm_start starts from fresh weights."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(max_iter=5, batch_norm="before", **FAST).fit(X, y)
    initial = MLPRegressor(max_iter=5, batch_norm="before", **FAST)
    calls = _record_batches(monkeypatch)
    initial.fit(X, y)
    start_fresh = calls[0][1]
    reg.fit(X, y)
    assert_array_equal(calls[5][1], start_fresh)
    assert len(reg.loss_curve_) == 5


def test_regressor_partial_fit_continues():
    """Check that repeated partial_fit calls keep lowering the training loss."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(**FAST)
    losses = []
    for i in range(15):
        reg.partial_fit(X, y)
        losses.append(reg.loss_)
        assert reg.n_iter_ == i + 1
        assert reg.t_ == 200 * (i + 1)
    assert losses[-1] < 0.5 * losses[0]
    assert losses[-1] < losses[4]
    assert reg.loss_curve_ == losses


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_regressor_partial_fit_available_for_stochastic_solvers(solver):
    """Check that partial_fit exists for the stochastic solvers."""
    assert hasattr(MLPRegressor(solver=solver), "partial_fit")


def test_regressor_partial_fit_absent_with_lbfgs():
    """Check that partial_fit is absent with solver='lbfgs' (unlike sklearn)."""
    reg = MLPRegressor(solver="lbfgs")
    assert not hasattr(reg, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        getattr(reg, "partial_fit")  # noqa: B009


# --------------------------------------------------- determinism and dtypes
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dropout": 0.2, "early_stopping": True, "batch_size": 64},
        {"solver": "sgd", "batch_norm": "after"},
        {"solver": "lbfgs"},
    ],
)
def test_regressor_same_random_state_is_bitwise_reproducible(params):
    """Check that the same random_state gives bitwise-identical models."""
    X, y = _smooth_data(200)
    first = MLPRegressor(max_iter=20, **{**FAST, **params}).fit(X, y)
    second = MLPRegressor(max_iter=20, **{**FAST, **params}).fit(X, y)
    pred = first.predict(X)
    assert_array_equal(second.predict(X), pred)
    for a, b in zip(
        first.coefs_ + first.intercepts_,
        second.coefs_ + second.intercepts_,
        strict=True,
    ):
        assert_array_equal(a, b)
    first.fit(X, y)  # a refit of the same instance is identical as well
    assert_array_equal(first.predict(X), pred)


def test_regressor_different_random_state_differs():
    """Check that different seeds give different models (the seed is used)."""
    X, y = _smooth_data(100)
    params = {**FAST, "max_iter": 5}
    a = MLPRegressor(**{**params, "random_state": 0}).fit(X, y)
    b = MLPRegressor(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_regressor_preserves_float_dtype(dtype, solver):
    """Check that float32 X trains and predicts in float32, float64 in float64."""
    X, y = _smooth_data(100)
    reg = MLPRegressor(solver=solver, max_iter=10, **FAST).fit(X.astype(dtype), y)
    assert all(c.dtype == dtype for c in reg.coefs_ + reg.intercepts_)
    assert all(p.dtype == dtype for p in reg.network_.parameters())
    assert reg.predict(X.astype(dtype)).dtype == dtype


def test_regressor_float32_matches_float64_roughly():
    """Check that a float32 fit predicts close to the float64 fit."""
    X, y = _smooth_data(200)
    pred64 = MLPRegressor(max_iter=20, **FAST).fit(X, y).predict(X)
    reg32 = MLPRegressor(max_iter=20, **FAST).fit(X.astype(np.float32), y)
    assert_allclose(reg32.predict(X.astype(np.float32)), pred64, atol=1e-2)


# ------------------------------------------------------ target standardization
def test_regressor_target_statistics_are_weighted_mean_and_std():
    """Check that target_mean_/target_scale_ are the weighted mean and std of y."""
    X, Y = _smooth_data(100, n_outputs=2)
    Y = Y * [10.0, 0.1] + [3.0, -2.0]
    w = np.random.default_rng(1).uniform(0.1, 3.0, 100)
    reg = MLPRegressor(max_iter=2, random_state=0).fit(X, Y, sample_weight=w)
    mean = np.average(Y, axis=0, weights=w)
    std = np.sqrt(np.average((Y - mean) ** 2, axis=0, weights=w))
    assert_allclose(reg.target_mean_, mean, rtol=1e-12)
    assert_allclose(reg.target_scale_, std, rtol=1e-12)


def test_regressor_poisson_target_scaled_by_weighted_mean():
    """Check that Poisson targets are only divided by their weighted mean."""
    X, y = _smooth_data(100)
    y = np.exp(y / 3)
    w = np.random.default_rng(1).uniform(0.1, 3.0, 100)
    reg = MLPRegressor(loss="poisson", max_iter=2, random_state=0)
    reg.fit(X, y, sample_weight=w)
    assert_array_equal(reg.target_mean_, [0.0])
    assert_allclose(reg.target_scale_, [np.average(y, weights=w)], rtol=1e-12)


def test_regressor_without_target_standardization():
    """Check that standardize_target=False keeps y as is (mean 0, scale 1)."""
    X, y = _smooth_data(100)
    reg = MLPRegressor(standardize_target=False, max_iter=2, random_state=0)
    reg.fit(X, 5 * y + 100)
    assert_array_equal(reg.target_mean_, [0.0])
    assert_array_equal(reg.target_scale_, [1.0])


def test_regressor_predictions_in_original_units():
    """Check that y and 1000*y+5e4 give proportional predictions and equal losses."""
    X, y = _smooth_data(200)
    params = {**FAST, "max_iter": 50}
    small = MLPRegressor(**params).fit(X, y)
    large = MLPRegressor(**params).fit(X, 1000 * y + 5e4)
    assert_allclose((large.predict(X) - 5e4) / 1000, small.predict(X), atol=1e-8)
    assert_allclose(large.loss_curve_, small.loss_curve_, rtol=1e-8)
    assert large.n_iter_ == small.n_iter_
    assert large.score(X, 1000 * y + 5e4) > 0.9


# ------------------------------------------------------------ mini-batches
@pytest.mark.parametrize("n_samples", [401, 201])
def test_regressor_trailing_one_row_batch_is_merged(monkeypatch, n_samples):
    """Check that a 1-row last mini-batch is merged into the previous batch."""
    X, y = _smooth_data(n_samples)
    calls = _record_batches(monkeypatch)
    params = {**FAST, "batch_size": 200, "batch_norm": "before"}  # one network
    reg = MLPRegressor(max_iter=2, **params).fit(X, y)
    sizes = [size for size, _ in calls]
    per_epoch = [200, 201] if n_samples == 401 else [201]
    assert sizes == per_epoch * 2
    assert np.isfinite(reg.predict(X)).all()


def test_regressor_batch_size_one_with_batch_norm_raises():
    """Check that batch_size=1 with batch normalization raises a clear error.

    40 rows: the default batch_norm='auto' builds batch normalization.
    """
    X, y = _smooth_data(40)
    with pytest.raises(ValueError, match="batch_size=1"):
        MLPRegressor(batch_size=1).fit(X, y)
    with pytest.raises(ValueError, match="batch_size=1"):
        MLPRegressor(batch_size=1, batch_norm="before").fit(X[:20], y[:20])
    MLPRegressor(batch_size=1, batch_norm=None, max_iter=2).fit(X, y)


def test_regressor_batch_norm_needs_two_samples():
    """Check that one sample with batch normalization raises ValueError.

    The default builds none for a fit of one row, but partial_fit builds it.
    """
    X, y = _smooth_data(1)
    with pytest.raises(ValueError, match="n_samples=1"):
        MLPRegressor(batch_norm="before").fit(X, y)
    with pytest.raises(ValueError, match="n_samples=1"):
        MLPRegressor().partial_fit(X, y)


# ------------------------------------------------------------ sample weights
@pytest.mark.parametrize(
    "params",
    [
        {"batch_size": "auto"},
        {"solver": "sgd", "batch_norm": "after", "batch_size": "auto"},
        # L-BFGS amplifies rounding differences over long runs: 30 iterations
        # keep the comparison at rounding level.
        {"solver": "lbfgs", "max_iter": 30},
    ],
)
def test_regressor_integer_sample_weight_equals_repeated_rows(params):
    """Check that integer weights equal repeated rows (full batch, no dropout).

    Dropout draws one mask entry per row, so repeats would draw different ones.
    """
    rng = np.random.default_rng(0)
    X, y = _smooth_data(40)
    w = rng.integers(0, 4, 40)
    params = {"dropout": 0, **params}
    weighted = MLPRegressor(random_state=0, **params).fit(X, y, sample_weight=w)
    repeated = MLPRegressor(random_state=0, **params).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7)


@pytest.mark.parametrize(
    "params", [{"batch_size": "auto"}, {"solver": "lbfgs", "max_iter": 30}]
)
def test_regressor_zero_weight_rows_are_ignored(params):
    """Check that rows of zero weight change nothing, even with wild values.

    Without dropout: its masks are drawn per row, zero-weight rows included.
    """
    params = {"dropout": 0, **params}
    rng = np.random.default_rng(0)
    X, y = _smooth_data(40)
    X_extra = np.vstack([X, 10 * rng.standard_normal((10, 3))])
    y_extra = np.concatenate([y, 1e3 * rng.standard_normal(10)])
    w = np.concatenate([np.ones(40), np.zeros(10)])
    weighted = MLPRegressor(random_state=0, **params).fit(X_extra, y_extra, w)
    plain = MLPRegressor(random_state=0, **params).fit(X, y)
    assert_allclose(weighted.predict(X), plain.predict(X), rtol=1e-7)
    assert_allclose(weighted.target_mean_, plain.target_mean_, rtol=1e-12)


def test_regressor_sample_weight_changes_fit():
    """Check that non-uniform weights pull predictions toward heavy rows."""
    X, y = _smooth_data(200)
    y_shifted = y + np.where(X[:, 0] > 0, 3.0, 0.0)
    heavy = np.where(X[:, 0] > 0, 1.0, 0.0) + 0.01
    params = {**FAST, "max_iter": 50}
    plain = MLPRegressor(**params).fit(X, y_shifted)
    weighted = MLPRegressor(**params).fit(X, y_shifted, sample_weight=heavy)
    right = X[:, 0] > 0
    err_plain = np.mean((plain.predict(X)[right] - y_shifted[right]) ** 2)
    err_weighted = np.mean((weighted.predict(X)[right] - y_shifted[right]) ** 2)
    assert err_weighted < err_plain


# ---------------------------------------------------------------- errors
def test_regressor_poisson_rejects_negative_y():
    """Check that the Poisson loss rejects negative targets."""
    X, y = _smooth_data(50)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, y - y.max() - 1)


def test_regressor_poisson_predictions_positive():
    """Check that the Poisson regressor predicts positive values (exp output)."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(loss="poisson", max_iter=30, **FAST).fit(X, np.exp(y / 2))
    assert reg.out_activation_ == "exp"
    assert (reg.predict(X) > 0).all()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_regressor_divergence_raises_and_keeps_finite_model():
    """Check that a diverging sgd run raises ValueError and leaves a usable model."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(
        solver="sgd", learning_rate_init=10.0, batch_norm=None, random_state=0
    )
    with pytest.raises(ValueError, match="diverged"):
        reg.fit(X * 1e3, y)
    assert np.isfinite(reg.predict(X * 1e3)).all()
    assert all(np.isfinite(c).all() for c in reg.coefs_ + reg.intercepts_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_regressor_keyboard_interrupt_leaves_usable_model(monkeypatch, solver):
    """Check that KeyboardInterrupt propagates, leaves a model that predicts finite
    values, and that warm_start continues from it."""
    X, y = _smooth_data(200)
    reg = MLPRegressor(solver=solver, warm_start=True, **{**FAST, "batch_size": 50})
    _record_batches(monkeypatch, fail_after=10)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, y)
    assert np.isfinite(reg.predict(X)).all()
    interrupted = reg.network_.get_flat_params()
    monkeypatch.undo()
    calls = _record_batches(monkeypatch)
    reg.set_params(max_iter=20).fit(X, y)
    assert_array_equal(calls[0][1], interrupted)
    assert reg.n_iter_ > 0
    assert reg.score(X, y) > 0.5


def test_regressor_verbose_prints_iterations(capsys):
    """Check that verbose=True prints the loss of every iteration."""
    X, y = _smooth_data(50)
    MLPRegressor(verbose=True, max_iter=3, random_state=0, batch_norm="before").fit(
        X, y
    )
    out = capsys.readouterr().out
    assert len(re.findall(r"Iteration \d+, loss = ", out)) == 3


def test_regressor_verbose_prints_validation_score(capsys):
    """Check that verbose early stopping also prints the validation score."""
    X, y = _smooth_data(50)
    MLPRegressor(verbose=True, early_stopping=True, max_iter=2, random_state=0).fit(
        X, y
    )
    assert "Validation score" in capsys.readouterr().out


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_regressor_convergence_warning_at_max_iter(solver):
    """Check that reaching max_iter raises a ConvergenceWarning."""
    X, y = _smooth_data(100)
    with pytest.warns(ConvergenceWarning):
        MLPRegressor(solver=solver, max_iter=3, random_state=0).fit(X, y)


def test_regressor_stops_before_max_iter_without_warning():
    """Check that a converged stochastic fit stops early without a warning."""
    X, y = _smooth_data(200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = MLPRegressor(max_iter=500, **FAST).fit(X, y)
    assert reg.n_iter_ < 500
