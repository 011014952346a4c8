"""MLPClassifier's early stopping, label smoothing, weight decay: the 'auto' values."""

import numpy as np
import pytest
from classifier_helpers import FAST, _blobs
from numpy.testing import assert_allclose
from regressor_helpers import _coefs_equal
from sklearn.datasets import make_moons

from sknorm import MLPClassifier
from sknorm._batches import validation_split
from sknorm._classifier import smooth_labels
from sknorm._validation import AUTO_WEIGHT_DECAY_TINY

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_classifier_early_stopping_restores_best_epoch():
    """Check that the restored classifier scores best_validation_score_ on the
    held-out last rows (running statistics, validation_split='last')."""
    X, y = make_moons(300, noise=0.3, random_state=0)
    clf = MLPClassifier(
        early_stopping=True,
        validation_split="last",
        bn_stats="running",
        hidden_layer_sizes=(64, 64),
        learning_rate_init=0.01,
        batch_size=32,
        batch_norm="before",  # one network ('auto' averages two)
        random_state=0,
    ).fit(X, y)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X[270:], y[270:]) == pytest.approx(clf.best_validation_score_)


def test_classifier_random_split_is_stratified():
    """Check that the random early-stopping split keeps the class shares."""
    y = np.array([0] * 90 + [1] * 10)
    train, valid = validation_split(
        100, 0.2, "random", np.random.default_rng(0), stratify=y
    )
    assert len(valid) == 20
    assert np.sum(y[valid] == 1) == 2
    assert len(np.intersect1d(train, valid)) == 0


@pytest.mark.parametrize("softmax_out", [True, False])
def test_smooth_labels_spreads_the_given_share(softmax_out):
    """Check (1 - eps) Y + eps / K: K classes for softmax, 2 per logistic output."""
    Y = np.eye(4)[[0, 2, 3, 1]]
    smoothed = smooth_labels(Y, 0.2, softmax_out)
    low = 0.2 / 4 if softmax_out else 0.2 / 2
    assert_allclose(smoothed[Y == 1], 0.8 + low)
    assert_allclose(smoothed[Y == 0], low)
    if softmax_out:
        assert_allclose(smoothed.sum(axis=1), 1.0)
    assert smooth_labels(Y, 0.0, softmax_out) is Y
    assert Y.max() == 1.0  # not modified in place


def _entropy(target):
    return -(target * np.log(target)).sum()


@pytest.mark.parametrize(
    ("label_smoothing", "early_stopping", "smoothed"),
    [("auto", True, True), ("auto", False, False), (0.1, False, True)],
)
def test_classifier_label_smoothing_sets_the_training_targets(
    label_smoothing, early_stopping, smoothed
):
    """Check the loss reached against the smoothed targets' entropy.

    Nearly separable blobs: on hard labels the cross-entropy goes near 0; on
    targets smoothed by 0.1 it is bounded by their entropy (0.29 for 3
    classes) and the winning class's probability stays near 0.93, not 1.
    'auto' (the default) smooths exactly when the fit holds out rows.
    Without dropout, which would raise the training loss too; one network
    (an average's loss_ is its members' mean, tested in test_members.py).
    """
    X, y = _blobs()
    clf = MLPClassifier(
        label_smoothing=label_smoothing,
        early_stopping=early_stopping,
        dropout=0,
        batch_norm="before",
        validation_fraction=0.2,
        n_iter_no_change=300,
        **{**FAST, "max_iter": 300},
    ).fit(X, y)
    target = np.array([1 - 0.1 + 0.1 / 3, 0.1 / 3, 0.1 / 3])
    top_proba = clf.predict_proba(X).max(axis=1).mean()
    if smoothed:
        assert _entropy(target) <= clf.loss_ < _entropy(target) + 0.05
        assert top_proba < target[0] + 0.02
    else:
        assert clf.loss_ < 0.05
        assert top_proba > 0.99
    assert clf.score(X, y) > 0.99
    assert MLPClassifier().label_smoothing == "auto"


def test_classifier_label_smoothing_auto_off_with_lbfgs():
    """Check that 'auto' leaves lbfgs (no validation split) on the hard labels."""
    X, y = _blobs()
    clf = MLPClassifier(
        solver="lbfgs", early_stopping=True, hidden_layer_sizes=(8,), random_state=0
    ).fit(X, y)
    assert clf.loss_ < 0.05


@pytest.mark.parametrize("n_samples", [5, 40, 2000])
@pytest.mark.parametrize("labels", [["a", "b"], ["a", "b", "c"]])
def test_classifier_early_stopping_refuses_one_member_class(n_samples, labels):
    """Check a one-row class raises scikit-learn's stratified-split error.

    On small and large data alike, binary or multiclass, before any other
    split error (issue 13, item 4); the message names the class label.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, 2))
    y = np.array(labels[:-1] * n_samples, dtype=object)[:n_samples]
    y[-1] = labels[-1]
    clf = MLPClassifier(early_stopping=True, max_iter=2, random_state=0)
    msg = (
        r"The least populated classes in y have only 1 member, which is too few\. "
        r"The minimum number of groups for any class cannot be less than 2\. "
        rf"Classes with too few members are: \['{labels[-1]}'\]"
    )
    with pytest.raises(ValueError, match=msg):
        clf.fit(X, y)
    # The rows that may be held out are the weighted ones: a second row of
    # the class with zero weight does not make it stratifiable.
    X2, y2 = np.vstack([X, X[-1:]]), np.append(y, labels[-1])
    weights = np.append(np.ones(n_samples), 0.0)
    with pytest.raises(ValueError, match=msg):
        clf.fit(X2, y2, sample_weight=weights)


@pytest.mark.parametrize("weighted_twin", [False, True])
def test_classifier_early_stopping_auto_trains_on_all_rows_for_one_member_class(
    weighted_twin,
):
    """Check 'auto' holds out no rows where a class has one weighted row.

    early_stopping=True raises scikit-learn's error there (test above); the
    default was not asked to split, so it trains on every row, without label
    smoothing, like a fit below 750 rows. A second row of the class with zero
    weight changes nothing; with weight, the split is back.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 3))
    y = np.where(X[:, 0] > 0, "a", "b").astype(object)
    y[0] = "c"
    y[1] = "c" if weighted_twin else y[1]
    weights = np.ones(1000)
    clf = MLPClassifier(max_iter=3, random_state=0)
    clf.fit(X, y, sample_weight=weights)
    assert (clf.validation_scores_ is not None) == weighted_twin
    assert list(clf.classes_) == ["a", "b", "c"]
    if not weighted_twin:
        assert clf.best_loss_ is not None
        weights[1] = 0.0
        y[1] = "c"
        assert clf.fit(X, y, sample_weight=weights).validation_scores_ is None


def test_classifier_weight_decay_auto_below_30_rows():
    """Check weight_decay='auto' decays a fit on 29 rows and not one on 30."""
    X, y = make_moons(30, noise=0.2, random_state=0)

    def fit(value, n_rows):
        clf = MLPClassifier(weight_decay=value, max_iter=5, **FAST)
        return clf.fit(X[:n_rows], y[:n_rows])

    assert _coefs_equal(fit("auto", 29), fit(AUTO_WEIGHT_DECAY_TINY, 29))
    assert not _coefs_equal(fit("auto", 29), fit(0.0, 29))
    assert _coefs_equal(fit("auto", 30), fit(0.0, 30))
