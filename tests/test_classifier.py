"""Behaviour of MLPClassifier."""

import pickle

import numpy as np
import pytest
from classifier_helpers import FAST, _blobs
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from sklearn.datasets import make_blobs, make_moons, make_multilabel_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from sknorm import MLPClassifier
from sknorm.nn import BatchNorm1d, Linear, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _multilabel(n_samples=200):
    X, Y = make_multilabel_classification(
        n_samples, n_features=5, n_classes=3, random_state=0
    )
    return (X - X.mean(axis=0)) / X.std(axis=0), Y


def _unfolded_proba(clf, X):
    """Probabilities of the unfolded network in inference mode."""
    raw = clf.network_.predict(X)
    if clf.out_activation_ == "softmax":
        return softmax(raw, axis=1)
    prob = expit(raw)
    return np.hstack([1 - prob, prob]) if prob.shape[1] == 1 else prob


def _state(clf):
    return [
        {key: value.copy() for key, value in {**layer.params, **layer.buffers}.items()}
        for layer in clf.network_.layers
    ]


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
def test_classifier_learns_blobs(batch_norm):
    """Check that every placement reaches test accuracy > 0.95 on blobs."""
    X, y = _blobs(400)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    clf = MLPClassifier(batch_norm=batch_norm, **FAST).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    assert clf.out_activation_ == "softmax"


@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
def test_classifier_learns_moons(batch_norm):
    """Check that every placement reaches test accuracy > 0.9 on moons."""
    X, y = make_moons(400, noise=0.1, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    clf = MLPClassifier(batch_norm=batch_norm, **FAST).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.out_activation_ == "logistic"


def test_classifier_multilabel():
    """Check that multilabel indicator targets are learned and predicted."""
    X, Y = _multilabel(300)
    clf = MLPClassifier(**FAST).fit(X[:200], Y[:200])
    assert clf.n_outputs_ == 3
    assert clf.out_activation_ == "logistic"
    pred = clf.predict(X[200:])
    assert pred.shape == (100, 3)
    assert set(np.unique(pred)) <= {0, 1}
    assert clf.predict_proba(X[200:]).shape == (100, 3)
    # Per-label accuracy well above the majority-label baseline.
    baseline = np.maximum(Y[200:].mean(axis=0), 1 - Y[200:].mean(axis=0)).mean()
    assert (pred == Y[200:]).mean() > baseline + 0.05


def test_classifier_string_labels():
    """Check that string labels come back from predict, in classes_ order."""
    X, y = _blobs(200)
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifier(**FAST).fit(X, labels)
    assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    assert clf.predict(X).dtype == labels.dtype
    assert (clf.predict(X) == labels).mean() > 0.95


def test_classifier_predict_proba_consistent():
    """Check that probabilities sum to 1, argmax is predict, and log matches."""
    X, y = _blobs(200)
    clf = MLPClassifier(max_iter=20, **FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)


# --------------------------------------------------------- folded prediction
@pytest.mark.parametrize(
    "params",
    [
        {"batch_norm": "before"},
        {"batch_norm": "after"},
        {"batch_norm": None},
        {"batch_norm": "before", "bn_affine": False},
        {"batch_norm": "after", "bn_affine": False, "activation": "tanh"},
        {"batch_norm": "before", "dropout": 0.2},
        {"batch_norm": "after", "dropout": 0.2, "bn_stats": "running"},
    ],
)
@pytest.mark.parametrize("problem", ["binary", "multiclass", "multilabel"])
def test_classifier_predict_matches_unfolded_network(params, problem):
    """Check that folded probabilities equal the unfolded network's to 1e-10."""
    if problem == "multilabel":
        X, y = _multilabel()
    else:
        X, y = _blobs(200, centers=2 if problem == "binary" else 3)
    clf = MLPClassifier(max_iter=20, **FAST, **params).fit(X, y)
    assert_allclose(
        clf.predict_proba(X), _unfolded_proba(clf, X), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("problem", ["binary", "multiclass", "multilabel", "strings"])
@pytest.mark.parametrize("batch_norm", ["before", "after", None])
def test_classifier_to_sklearn_predicts_identically(problem, batch_norm):
    """Check that to_sklearn() gives a fitted sklearn MLP with equal outputs."""
    if problem == "multilabel":
        X, y = _multilabel()
    else:
        X, y = _blobs(200, centers=2 if problem == "binary" else 3)
    if problem == "strings":
        y = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier(batch_norm=batch_norm, max_iter=20, **FAST).fit(X, y)
    sk = clf.to_sklearn()
    assert type(sk) is SkMLPClassifier
    assert_array_equal(sk.classes_, clf.classes_)
    assert_allclose(sk.predict_proba(X), clf.predict_proba(X), rtol=1e-10, atol=1e-12)
    assert_array_equal(sk.predict(X), clf.predict(X))


def test_classifier_to_sklearn_rejects_leaky_relu():
    """Check that to_sklearn() raises ValueError for leaky_relu."""
    X, y = _blobs(60)
    clf = MLPClassifier(activation="leaky_relu", max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="leaky_relu"):
        clf.to_sklearn()


def test_classifier_predict_does_not_change_state():
    """Check that predict, predict_proba and score leave the model untouched."""
    X, y = _blobs(100)
    clf = MLPClassifier(max_iter=5, dropout=0.3, **FAST).fit(X, y)
    state, pickled = _state(clf), pickle.dumps(clf)
    clf.predict(X)
    clf.predict_proba(X[:3])
    clf.predict_log_proba(X * 5)
    clf.score(X, y)
    for layer, layer_before in zip(_state(clf), state, strict=True):
        for key, value in layer.items():
            assert_array_equal(value, layer_before[key])
    assert pickle.dumps(clf) == pickled


# ------------------------------------------------------- continued training
def test_classifier_warm_start_continues(monkeypatch):
    """Check that warm_start starts from the previous weights and lowers the loss."""
    X, y = _blobs(200)
    clf = MLPClassifier(max_iter=5, warm_start=True, batch_norm="before", **FAST)
    clf.fit(X, y)
    first_curve, previous = list(clf.loss_curve_), clf.network_.get_flat_params()
    original, starts = Trainer.objective, []

    def spy(trainer, *args):
        starts.append(trainer.network.get_flat_params())
        return original(trainer, *args)

    monkeypatch.setattr(Trainer, "objective", spy)
    clf.fit(X, y)
    assert_array_equal(starts[0], previous)
    assert clf.loss_curve_[:5] == first_curve
    assert clf.loss_curve_[-1] < first_curve[-1]


def test_classifier_warm_start_rejects_new_classes():
    """Check that warm_start refuses a y with different classes."""
    X, y = _blobs(200)
    clf = MLPClassifier(max_iter=2, warm_start=True, **FAST).fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, y)


def test_classifier_partial_fit_continues():
    """Check that repeated partial_fit calls lower the loss."""
    X, y = _blobs(300)
    clf = MLPClassifier(**FAST)
    losses = []
    for _ in range(10):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        losses.append(clf.loss_)
    assert clf.n_iter_ == 10
    assert losses[-1] < 0.5 * losses[0]
    assert clf.score(X, y) > 0.95


def test_classifier_partial_fit_requires_classes_on_first_call():
    """Check that the first partial_fit call needs ``classes``."""
    X, y = _blobs(60)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier(**FAST).partial_fit(X, y)


def test_classifier_partial_fit_streams_with_classes():
    """Check that chunks missing some classes work once ``classes`` is given."""
    X, y = _blobs(300)
    clf = MLPClassifier(**FAST)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.out_activation_ == "softmax"
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf.predict_proba(X).shape == (300, 3)
    assert clf.score(X, y) > 0.9


def test_classifier_partial_fit_rejects_unseen_classes():
    """Check that partial_fit rejects labels outside ``classes``."""
    X, y = _blobs(200)
    clf = MLPClassifier(**FAST).partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y)


def test_classifier_partial_fit_absent_with_lbfgs():
    """Check that partial_fit is absent with solver='lbfgs'."""
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    assert hasattr(MLPClassifier(solver="adam"), "partial_fit")


def test_classifier_partial_fit_absent_with_balanced_class_weight():
    """Check that partial_fit is hidden with class_weight='balanced', not a dict."""
    X, y = _blobs(60)
    assert not hasattr(MLPClassifier(class_weight="balanced"), "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as excinfo:
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    assert "balanced" in str(excinfo.value.__cause__)
    MLPClassifier(class_weight={0: 2.0}).partial_fit(X, y, classes=[0, 1, 2])


# --------------------------------------------------- determinism and dtypes
@pytest.mark.parametrize(
    "params", [{}, {"dropout": 0.2, "early_stopping": True, "batch_size": 32}]
)
def test_classifier_same_random_state_is_bitwise_reproducible(params):
    """Check that the same random_state gives bitwise-identical models."""
    X, y = _blobs(200)
    a = MLPClassifier(max_iter=15, **{**FAST, **params}).fit(X, y)
    b = MLPClassifier(max_iter=15, **{**FAST, **params}).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    for coef_a, coef_b in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        assert_array_equal(coef_a, coef_b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_preserves_float_dtype(dtype):
    """Check that float32 X trains and predicts in float32, float64 in float64."""
    X, y = _blobs(100)
    clf = MLPClassifier(max_iter=10, **FAST).fit(X.astype(dtype), y)
    assert all(c.dtype == dtype for c in clf.coefs_ + clf.intercepts_)
    assert all(p.dtype == dtype for p in clf.network_.parameters())
    assert clf.predict_proba(X.astype(dtype)).dtype == dtype


def test_classifier_network_structure():
    """Check that 'before' removes hidden biases and None has no BatchNorm1d."""
    X, y = _blobs(60)
    plain = MLPClassifier(batch_norm=None, max_iter=1, random_state=0).fit(X, y)
    assert not any(isinstance(la, BatchNorm1d) for la in plain.network_.layers)
    linears = [la for la in plain.network_.layers if isinstance(la, Linear)]
    assert all("bias" in la.params for la in linears)
    bn = MLPClassifier(
        hidden_layer_sizes=(5,), batch_norm="before", max_iter=1, random_state=0
    ).fit(X, y)
    linears = [la for la in bn.network_.layers if isinstance(la, Linear)]
    assert ["bias" in la.params for la in linears] == [False, True]


# ------------------------------------------------------------ sample weights
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"class_weight": "balanced"},
        {"class_weight": {0: 3.0}},
        {"solver": "lbfgs", "max_iter": 30},
    ],
)
def test_classifier_integer_sample_weight_equals_repeated_rows(params):
    """Check that integer weights equal repeated rows (full batch, no dropout).

    Dropout draws one mask entry per row, so repeats would draw different ones.
    """
    params = {"dropout": 0, **params}
    X, y = _blobs(45)
    w = np.random.default_rng(0).integers(0, 4, 45)
    weighted = MLPClassifier(**{**FAST, **params}).fit(X, y, sample_weight=w)
    repeated = MLPClassifier(**{**FAST, **params}).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w)
    )
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-7)


def test_classifier_zero_weight_rows_are_ignored():
    """Check that rows of zero weight change nothing.

    Without dropout: its masks are drawn per row, zero-weight rows included.
    """
    X, y = _blobs(60)
    rng = np.random.default_rng(0)
    X_extra = np.vstack([X, 5 * rng.standard_normal((10, 2))])
    y_extra = np.concatenate([y, rng.integers(0, 3, 10)])
    w = np.concatenate([np.ones(60), np.zeros(10)])
    params = {**FAST, "dropout": 0}
    weighted = MLPClassifier(**params).fit(X_extra, y_extra, sample_weight=w)
    plain = MLPClassifier(**params).fit(X, y)
    assert_allclose(weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-7)


def _overlapping_blobs():
    X, y = make_blobs(400, centers=[[0, 0], [1.5, 0]], random_state=0)
    return X, y


@pytest.mark.parametrize(("heavy", "sign"), [(1, 1), (0, -1)])
def test_classifier_class_weight_dict_favours_heavy_class(heavy, sign):
    """Check that a class_weight dict moves predictions toward the heavy class."""
    X, y = _overlapping_blobs()
    plain = MLPClassifier(**FAST).fit(X, y)
    weighted = MLPClassifier(class_weight={heavy: 5.0}, **FAST).fit(X, y)
    share_plain = np.mean(plain.predict(X) == 1)
    share_weighted = np.mean(weighted.predict(X) == 1)
    assert sign * (share_weighted - share_plain) > 0.15


def test_classifier_class_weight_balanced_favours_minority():
    """Check that 'balanced' predicts the minority class more often."""
    X, y = _overlapping_blobs()
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40]])
    X, y = X[keep], y[keep]
    plain = MLPClassifier(**FAST).fit(X, y)
    balanced = MLPClassifier(class_weight="balanced", **FAST).fit(X, y)
    assert np.mean(balanced.predict(X) == 1) > np.mean(plain.predict(X) == 1) + 0.1


def test_classifier_class_weight_equals_sample_weight():
    """Check that class_weight acts exactly like the equivalent sample_weight."""
    X, y = _blobs(90)
    by_class = MLPClassifier(class_weight={0: 2.0, 2: 0.5}, **FAST).fit(X, y)
    w = np.choose(y, [2.0, 1.0, 0.5])
    by_sample = MLPClassifier(**FAST).fit(X, y, sample_weight=w)
    assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-10)


def test_classifier_class_weight_rejected_for_multilabel():
    """Check that class_weight with multilabel targets raises ValueError."""
    X, Y = _multilabel(60)
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("multilabel", [True, False])
def test_classifier_logistic_proba_strictly_inside_unit_interval(dtype, multilabel):
    """Check saturated logistic outputs stay inside (0, 1) (issue 13, item 5).

    Only the values that round to exactly 0 or 1 move (to the nearest float
    inside); log-probabilities are finite, binary rows still sum to 1 and
    ``predict`` is unchanged.
    """
    if multilabel:
        X, y = make_multilabel_classification(60, n_classes=3, random_state=0)
    else:
        X, y = make_moons(60, random_state=0)
    X = X.astype(dtype)
    clf = MLPClassifier(batch_norm=None, solver="lbfgs", random_state=0).fit(X, y)
    labels = clf.predict(X)
    # Logits of +-1e4 saturate expit in both dtypes.
    clf.coefs_[-1] = clf.coefs_[-1] * 1e4
    clf.intercepts_[-1] = clf.intercepts_[-1] * 1e4
    proba = clf.predict_proba(X)
    assert proba.dtype == dtype
    # Binary: the logistic output is the positive column (the other is 1 - p,
    # as in scikit-learn).
    logistic = proba if multilabel else proba[:, 1]
    assert logistic.min() > 0
    assert logistic.max() < 1
    assert (logistic == np.nextafter(dtype(1), dtype(0))).any()
    assert np.isfinite(clf.predict_log_proba(X)).all()
    assert_array_equal(clf.predict(X), labels)
    if not multilabel:
        assert_allclose(proba.sum(axis=1), 1)
