"""What one fit hands to the next, and what it must not.

A fit that is not a warm start (or ``partial_fit``) starts from nothing: no
optimizer moments, best-epoch snapshot or stopping record of an earlier fit
survives (:func:`clear_fit_state`). A warm start continues the network built
by the first fit, so the parameters that shaped it must not have changed
since (:func:`check_structure`): continuing a ReLU network under a new
``activation`` would train one function and predict another.
"""

import numpy as np

__all__ = [
    "STRUCTURE",
    "check_dtype_parameters",
    "check_structure",
    "clear_fit_state",
    "discard_fit",
]

#: The parameters ``build_mlp`` turns into the network's layers.
STRUCTURE = (
    "hidden_layer_sizes",
    "activation",
    "batch_norm",
    "bn_input",
    "bn_affine",
    "bn_momentum",
    "bn_epsilon",
    "dropout",
)

#: Private training state a fit sets besides the fitted ``*_`` attributes.
_TRAINING_STATE = (
    "_optimizer",
    "_best_state",
    "_no_improvement_count",
    "_built_with",
    "_batch_norm",
    "_fold_digest",
)


def structure_of(estimator):
    """Return the values of ``estimator``'s structural parameters as a dict."""
    built = {name: getattr(estimator, name) for name in estimator._STRUCTURE}
    built["hidden_layer_sizes"] = tuple(estimator._hidden_sizes())
    return built


def check_structure(estimator, incremental):
    """Raise ValueError if a warm start would continue a differently built network.

    Parameters
    ----------
    estimator : BaseMLP
        A fitted estimator about to continue training.
    incremental : bool
        Whether the call is ``partial_fit`` (for the message).
    """
    now = structure_of(estimator)
    changed = [
        name for name, value in estimator._built_with.items() if value != now[name]
    ]
    if not changed:
        return
    was = ", ".join(f"{n}={estimator._built_with[n]!r}" for n in changed)
    call = "partial_fit" if incremental else "fit with warm_start=True"
    raise ValueError(
        f"{call} continues the network built with {was}, but these parameters "
        f"are now {', '.join(f'{n}={now[n]!r}' for n in changed)}. Set them back "
        "to continue training, or refit from scratch (warm_start=False, or a "
        "clone of the estimator)."
    )


def clear_fit_state(estimator, progress_attributes):
    """Delete the training state an earlier fit left on ``estimator``.

    Parameters
    ----------
    estimator : BaseMLP
        The estimator starting a fresh fit.
    progress_attributes : iterable of str
        The attributes of the solver's bookkeeping
        (:attr:`sknorm._solver.Progress.ATTRIBUTES`).
    """
    for name in (*progress_attributes, *_TRAINING_STATE):
        if name in vars(estimator):
            delattr(estimator, name)


def discard_fit(estimator):
    """Leave ``estimator`` unfitted: delete every fitted attribute and fit state.

    Used when a fit fails and no state of the network predicts finite values:
    an unfitted estimator raises ``NotFittedError`` instead of predicting
    garbage.
    """
    for name in list(vars(estimator)):
        fitted = name.endswith("_") and not name.startswith("__")
        if fitted or name in (*_TRAINING_STATE, "_label_binarizer"):
            delattr(estimator, name)


def check_dtype_parameters(estimator, dtype):
    """Raise ValueError for a parameter that rounds to 0 in the training dtype.

    ``bn_epsilon`` and Adam's ``epsilon`` keep divisions finite; a value the
    constraints accept (any positive float) can still be 0 in float32 (or
    subnormal, whose reciprocal square root overflows), which would turn the
    first step into NaN.

    Parameters
    ----------
    estimator : BaseMLP
        The estimator about to fit.
    dtype : numpy floating dtype
        The dtype the network trains in.
    """
    tiny = np.finfo(dtype).tiny
    used = {"bn_epsilon": estimator.batch_norm is not None or estimator.bn_input}
    used["epsilon"] = estimator.solver == "adam"
    for name, in_use in used.items():
        value = getattr(estimator, name)
        if in_use and not np.asarray(value, dtype=dtype) >= tiny:
            raise ValueError(
                f"{name}={value!r} is below the smallest normal {np.dtype(dtype)} "
                f"number ({tiny:.3g}): it rounds to 0 or loses precision in "
                f"training. Use {name} >= {tiny:.3g} (or float64 data)."
            )
