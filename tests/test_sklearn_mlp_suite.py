"""scikit-learn's own MLP tests, run against sknorm (issue 13).

The installed ``sklearn.neural_network.tests.test_mlp`` is imported, never
copied. Its ``MLPClassifier``/``MLPRegressor`` names are pointed at the
subclasses below: sknorm's classes with scikit-learn's defaults
(``batch_norm=None``, ``standardize_target=False``, ``clip_predictions=None``,
``hidden_layer_sizes=(100,)``,
``learning_rate_init=0.001``, ``learning_rate="constant"``,
``batch_size="auto"``, ``early_stopping=False``, ``dropout=0.0``,
``weight_decay=0.0``; every
parameter in the signature, so ``get_params`` and ``clone`` work). Each of its
``test_*`` functions is re-exported here with its parametrization, where
scikit-learn's classes in parameter values become these subclasses.

The MLP items of scikit-learn's common tests (``sklearn/tests/test_common.py``:
the estimator checks with the instances and per-check parameters of its
instance generator, the column-name, parameter-validation and zero-weight
tests) run at the end. The other modules of ``sklearn/neural_network/tests``
test scikit-learn's private loss functions, optimizers and BernoulliRBM.

:data:`EXCEPTIONS` is the one list of tests expected to fail, with the reason;
each is ``xfail(strict=True)``, so a fix is noticed. The README's differences
table lists them too.
"""

import functools
import inspect

import pytest
import sklearn.neural_network
import sklearn.neural_network.tests.test_mlp as sklearn_test_mlp
from _pytest.mark.structures import ParameterSet
from scipy.linalg import LinAlgWarning
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._test_common.instance_generator import (
    INIT_PARAMS,
    PER_ESTIMATOR_CHECK_PARAMS,
)
from sklearn.utils._testing import ignore_warnings
from sklearn.utils.estimator_checks import (
    check_all_zero_sample_weights_error,
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

import sknorm

#: Tests of scikit-learn's test_mlp.py expected to fail, and why: a test name,
#: or ``name[id]`` for one value of a parametrization.
EXCEPTIONS = {
    "test_gradient": (
        "calls the private scikit-learn method _loss_grad_lbfgs; sknorm's "
        "gradients are checked by finite differences in tests/nn/"
    ),
    "test_nonfinite_params": (
        "design choice: X of magnitude 1.8e308 raises sknorm's earlier "
        "ValueError naming the magnitude (squares overflow) before training, "
        "not scikit-learn's 'Solver produced non-finite parameter weights'"
    ),
    "test_mlp_diverging_loss": (
        "design choice: divergence raises ValueError('Training diverged ...') "
        "instead of returning a model whose validation_scores_ end in NaN"
    ),
    "test_early_stopping_stratified": (
        "design choice: the stratified-split error names the class label [1] "
        "where scikit-learn names its internal boolean encoding ['True']; the "
        "message is otherwise scikit-learn's"
    ),
    "test_mlp_regressor_dtypes_casting": (
        "seed-dependent tolerance: float32 and float64 predictions differ by "
        "5.2e-4 relative at this random_state against rtol=5e-4; over seeds "
        "1-12 sknorm's differences (median 2e-5) are like scikit-learn's own, "
        "which exceeds the tolerance at random_state=5 (3.7e-2)"
    ),
    "test_preserve_feature_names[MLPClassifier]": (
        "design choice: y with a single class raises ValueError ('needs "
        "samples of at least 2 classes') instead of fitting a one-class model"
    ),
}


#: scikit-learn's defaults where sknorm's differ (sknorm's additions off).
SKLEARN_DEFAULTS = {
    "hidden_layer_sizes": (100,),
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 0.001,
    "early_stopping": False,
    "batch_norm": None,
    "dropout": 0.0,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "standardize_target": False,
    "clip_predictions": None,
}


def _with_sklearn_defaults(cls):
    """Return a subclass of ``cls`` whose ``__init__`` defaults are scikit-learn's.

    Built from ``cls``'s own signature, so a parameter added to sknorm is
    never missing here (``get_params`` and ``clone`` read the signature).
    """
    signature = inspect.signature(cls.__init__)
    parameters = [
        p.replace(default=SKLEARN_DEFAULTS.get(name, p.default))
        for name, p in signature.parameters.items()
    ]

    def __init__(self, *args, **kwargs):
        bound = __init__.__signature__.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = {k: v for k, v in bound.arguments.items() if k != "self"}
        cls.__init__(self, **params)

    __init__.__signature__ = signature.replace(parameters=parameters)
    namespace = {
        "__init__": __init__,
        "__doc__": f"sknorm's {cls.__name__} with scikit-learn's defaults.",
        "__module__": __name__,
    }
    return type(cls.__name__, (cls,), namespace)


MLPClassifier = _with_sklearn_defaults(sknorm.MLPClassifier)
MLPRegressor = _with_sklearn_defaults(sknorm.MLPRegressor)


_OURS = {
    sklearn.neural_network.MLPClassifier: MLPClassifier,
    sklearn.neural_network.MLPRegressor: MLPRegressor,
}
_THEIRS = {ours: theirs for theirs, ours in _OURS.items()}


@pytest.fixture(params=[42])
def global_random_seed(request):
    """scikit-learn's ``global_random_seed`` fixture, with its default seed."""
    return request.param


def _xfail(key):
    return pytest.mark.xfail(strict=True, reason=EXCEPTIONS[key])


def _retarget_parameter(name, value):
    """Retarget one parametrization value; mark it if EXCEPTIONS names it."""
    value = _retarget(value)
    key = f"{name}[{getattr(value, '__name__', value)}]"
    return pytest.param(value, marks=_xfail(key)) if key in EXCEPTIONS else value


def _retarget(value):
    """Replace scikit-learn's MLP classes in a parameter value by the subclasses."""
    if isinstance(value, ParameterSet):
        return value._replace(values=tuple(_retarget(v) for v in value.values))
    if isinstance(value, tuple | list):
        return type(value)(_retarget(v) for v in value)
    return _OURS.get(value, value) if isinstance(value, type) else value


def _reexport(name, test):
    """Return ``test`` for this module: retargeted parameters, exception marked.

    A wrapper, so that scikit-learn's function keeps its own marks.
    """

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return test(*args, **kwargs)

    marks = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize":
            argnames, argvalues = mark.args
            mark = pytest.mark.parametrize(
                argnames,
                [_retarget_parameter(name, v) for v in argvalues],
                **mark.kwargs,
            ).mark
        marks.append(mark)
    if name in EXCEPTIONS:
        marks.append(_xfail(name).mark)
    wrapper.pytestmark = marks
    return wrapper


sklearn_test_mlp.MLPClassifier = MLPClassifier
sklearn_test_mlp.MLPRegressor = MLPRegressor
_REEXPORTED = {
    name: _reexport(name, test)
    for name, test in vars(sklearn_test_mlp).items()
    if name.startswith("test_") and callable(test)
}
globals().update(_REEXPORTED)


def test_every_exception_names_a_test():
    """Check EXCEPTIONS only lists tests that exist in scikit-learn's file."""
    assert {key.partition("[")[0] for key in EXCEPTIONS} <= set(_REEXPORTED)


# ---------------------------------------------- scikit-learn's common tests
def _common_instances():
    """The MLP instances of scikit-learn's common tests (``INIT_PARAMS``)."""
    return [cls(**INIT_PARAMS.get(theirs, {})) for theirs, cls in _OURS.items()]


def _with_check_params(estimator, check_name):
    """Yield ``estimator`` set up as scikit-learn's common tests set it per check."""
    per_check = PER_ESTIMATOR_CHECK_PARAMS.get(_THEIRS[type(estimator)], {})
    params = per_check.get(check_name, [{}])
    for p in [params] if isinstance(params, dict) else params:
        yield clone(estimator).set_params(**p)


def _check_name(check):
    return getattr(check, "__name__", None) or check.func.__name__


@parametrize_with_checks(_common_instances())
def test_sklearn_common_checks(estimator, check):
    """Check the instances pass scikit-learn's estimator checks (test_estimators)."""
    with ignore_warnings(
        category=(FutureWarning, ConvergenceWarning, UserWarning, LinAlgWarning)
    ):
        for instance in _with_check_params(estimator, _check_name(check)):
            check(instance)


def _column_name_instances():
    """scikit-learn's instances and its early-stopping variants.

    scikit-learn marks the early-stopping ones xfail for its own MLPs ("MLP
    still validates in fit"); sknorm passes them.
    """
    instances = _common_instances()
    early = [
        clone(est).set_params(early_stopping=True, n_iter_no_change=1)
        for est in instances
    ]
    return instances + early


@pytest.mark.parametrize("estimator", _column_name_instances(), ids=repr)
def test_sklearn_pandas_column_name_consistency(estimator):
    """Check feature-name consistency, as scikit-learn's common tests do."""
    for instance in _with_check_params(
        estimator, "check_dataframe_column_names_consistency"
    ):
        with ignore_warnings(category=ConvergenceWarning):
            check_dataframe_column_names_consistency(type(instance).__name__, instance)


@pytest.mark.parametrize(
    "check", [check_param_validation, check_all_zero_sample_weights_error]
)
@pytest.mark.parametrize("estimator", _common_instances(), ids=repr)
def test_sklearn_common_single_checks(estimator, check):
    """Check parameter validation and all-zero weights, as scikit-learn does."""
    check(type(estimator).__name__, clone(estimator))
