"""Reliability: skops persistence lists only the documented sknorm types."""

import re
from pathlib import Path

import pytest
import skops.io as sio
from numpy.testing import assert_array_equal
from reliability_helpers import _assert_same_outputs, _data, _make
from sklearn.pipeline import make_pipeline
from skops.io.exceptions import UntrustedTypesFoundException

from sknorm import SKOPS_TRUSTED_TYPES, Standardizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

README = Path(__file__).resolve().parents[1] / "README.md"


def _documented_skops_types():
    """The sknorm type names quoted in the README and the docs (if any)."""
    root = README.parent
    texts = [README.read_text()]
    docs = [*root.glob("docs/**/*.rst"), *root.glob("docs/**/*.md")]
    texts += [p.read_text() for p in sorted(docs)]
    return {name for text in texts for name in _SKNORM_TYPE.findall(text)}


_SKNORM_TYPE = re.compile(r'"(sknorm\.(?:_\w+\.|nn\._\w+\.)[A-Z]\w*)"')


def test_reliability_documented_skops_types_are_the_constant():
    """Check that the type names quoted in README/docs are SKOPS_TRUSTED_TYPES."""
    assert _documented_skops_types() <= set(SKOPS_TRUSTED_TYPES)


SKOPS_CONFIGS = [
    pytest.param("standardizer", {}, id="standardizer"),
    *[
        pytest.param(
            kind,
            {"activation": activation, "solver": solver},
            id=f"{kind}-{activation}-{solver}",
        )
        for kind in ("regressor", "classifier")
        for activation, solver in [
            ("relu", "adam"),
            ("tanh", "sgd"),
            ("logistic", "lbfgs"),
            ("identity", "adam"),
            ("leaky_relu", "sgd"),
        ]
    ],
    pytest.param(
        "regressor", {"dropout": 0.2, "early_stopping": True}, id="dropout-es"
    ),
    # One network keeps its optimizer (an average's members start a new one).
    pytest.param(
        "regressor", {"solver": "sgd", "batch_norm": "before"}, id="one-network-sgd"
    ),
    pytest.param(
        "classifier", {"batch_norm": None, "dropout": 0.2}, id="no-bn-dropout"
    ),
    pytest.param(
        "classifier",
        {"batch_norm": "after", "early_stopping": True},
        id="bn-after-es",
    ),
    pytest.param("standardizer", {"method": "robust", "clip": 3.0}, id="robust"),
]


def _fitted_for_skops(kind, params):
    X, y = _data(kind)
    extra = {} if kind == "standardizer" else {"max_iter": 5}
    return _make(kind, **params, **extra).fit(X, y), X


@pytest.mark.parametrize(("kind", "params"), SKOPS_CONFIGS)
def test_reliability_skops_lists_only_documented_types(tmp_path, kind, params):
    """Check that skops sees only the documented sknorm types and loads identically."""
    est, X = _fitted_for_skops(kind, params)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(SKOPS_TRUSTED_TYPES)
    _assert_same_outputs(sio.load(path, trusted=untrusted), est, X)


def test_reliability_skops_documented_types_all_occur():
    """Check that SKOPS_TRUSTED_TYPES is exactly what fitted models contain."""
    seen = set()
    for param in SKOPS_CONFIGS:
        est, _ = _fitted_for_skops(*param.values)
        seen |= set(sio.get_untrusted_types(data=sio.dumps(est)))
    assert seen == set(SKOPS_TRUSTED_TYPES)


def test_reliability_skops_refuses_unlisted_types(tmp_path):
    """Check that loading a model with a type missing from trusted fails safely."""
    est, _ = _fitted_for_skops("regressor", {})
    pipeline = make_pipeline(Standardizer(), est)
    path = tmp_path / "pipeline.skops"
    sio.dump(pipeline, path)
    trusted = [t for t in SKOPS_TRUSTED_TYPES if not t.endswith("Standardizer")]
    with pytest.raises(UntrustedTypesFoundException, match="Standardizer"):
        sio.load(path, trusted=trusted)
    with pytest.raises(UntrustedTypesFoundException, match="MLPRegressor"):
        sio.load(path)
    loaded = sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
    X, _ = _data("regressor")
    assert_array_equal(loaded[-1].predict(X), est.predict(X))
