"""numpydoc validation of every public class and method in ``sknorm.__all__``."""

import inspect

import pytest

import sknorm
import sknorm.datasets
import sknorm.nn

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# RT02 (type-only single returns) is ignored as scikit-learn does: its
# convention, which we follow, names single returns (``self : object``).
# Methods are documented by their parameters and returns; an extended summary,
# See Also and Examples are for the class docstrings.
METHOD_IGNORE = {"RT02", "EX01", "SA01", "ES01"}
# Methods inherited from scikit-learn's mixins follow scikit-learn's own
# conventions (wrapped summaries, no docstring for generated ``set_*_request``
# helpers): we do not own them.
INHERITED_IGNORE = METHOD_IGNORE | {"GL01", "GL02", "GL08"}


# The engine (sknorm.nn) and the dataset loaders are public but not
# scikit-learn estimators: their classes still need a doctested example, but
# neither See Also nor an extended summary (many are one-line layers).
SUBMODULE_IGNORE = {"SA01", "ES01"}
SUBMODULE_FUNCTION_IGNORE = SUBMODULE_IGNORE | {"EX01"}


def _class_methods(qualname, obj):
    """Yield ``(dotted name, ignored codes)`` for the public methods of a class."""
    for method in sorted(dir(obj)):
        if method.startswith("_") or not callable(getattr(obj, method)):
            continue
        owner = getattr(getattr(obj, method), "__module__", "") or ""
        own = owner.split(".")[0] == "sknorm"
        yield f"{qualname}.{method}", METHOD_IGNORE if own else INHERITED_IGNORE


def _public_names():
    """Yield ``(dotted name, ignored error codes)`` for classes and methods."""
    for name in sorted(set(sknorm.__all__) - {"__version__"}):
        obj = getattr(sknorm, name)
        if not callable(obj):  # constants (SKOPS_TRUSTED_TYPES) have no docstring
            continue
        yield name, set()
        if inspect.isclass(obj):
            yield from _class_methods(name, obj)
    for module in (sknorm.nn, sknorm.datasets):
        prefix = module.__name__.removeprefix("sknorm.")
        for name in sorted(module.__all__):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield f"{prefix}.{name}", SUBMODULE_IGNORE
                yield from _class_methods(f"{prefix}.{name}", obj)
            elif inspect.isfunction(obj):
                yield f"{prefix}.{name}", SUBMODULE_FUNCTION_IGNORE


def _params():
    for name, ignore in _public_names():
        yield pytest.param(name, ignore | {"RT02"}, id=name)


@pytest.mark.parametrize(("name", "ignore"), list(_params()))
def test_docstrings_numpydoc_valid(name, ignore):
    """Check that the docstring of a public name passes numpydoc validation."""
    result = numpydoc_validate.validate(f"sknorm.{name}")
    errors = [
        f"{code}: {message}" for code, message in result["errors"] if code not in ignore
    ]
    assert not errors, f"sknorm.{name}:\n" + "\n".join(errors)


def test_docstrings_cover_every_public_name():
    """Check that the validation covers the estimators and their key methods."""
    names = {name for name, _ in _public_names()}
    for expected in (
        "MLPRegressor",
        "MLPRegressor.fit",
        "MLPRegressor.partial_fit",
        "MLPRegressor.to_sklearn",
        "MLPRegressor.recompute_bn_statistics",
        "MLPClassifier.predict_proba",
        "MLPClassifier.predict_log_proba",
        "Standardizer.transform",
        "nn.BatchNorm1d.backward",
        "nn.Adam.step",
        "datasets.load_greensboro_ghi",
    ):
        assert expected in names
