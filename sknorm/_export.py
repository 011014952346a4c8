"""Export a fitted sknorm MLP as the equivalent plain scikit-learn MLP."""

import copy

from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.utils.validation import check_is_fitted

from sknorm._validation import resolve_n_iter_no_change

# Constructor arguments scikit-learn's MLPs have; everything else is sknorm's.
_SKLEARN_PARAMS = (
    "hidden_layer_sizes",
    "activation",
    "solver",
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "max_iter",
    "shuffle",
    "random_state",
    "tol",
    "verbose",
    "warm_start",
    "momentum",
    "nesterovs_momentum",
    "early_stopping",
    "validation_fraction",
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "max_fun",
)
_FITTED = (
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "n_features_in_",
    "feature_names_in_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
)


def to_sklearn_mlp(est):
    """Build a fitted scikit-learn MLP that predicts exactly like ``est``.

    ``est.coefs_`` and ``est.intercepts_`` already have batch normalization
    (and the regressor's target scaling) folded in, so copying them into a
    scikit-learn estimator of the same shape reproduces the predictions
    (the regressor's before its ``clip_predictions``, which scikit-learn's
    MLP does not have).

    Parameters
    ----------
    est : MLPRegressor or MLPClassifier
        A fitted sknorm estimator.

    Returns
    -------
    sklearn.neural_network.MLPRegressor or MLPClassifier
        The fitted scikit-learn counterpart.
    """
    check_is_fitted(est)
    built = est._built_with  # what the network was trained with
    if built["activation"] == "leaky_relu":
        raise ValueError(
            "activation='leaky_relu' cannot be expressed by scikit-learn's MLP, "
            "which supports identity, logistic, tanh and relu."
        )
    params = {name: getattr(est, name) for name in _SKLEARN_PARAMS}
    # The folded widths: an average of member networks is one wider MLP.
    params["hidden_layer_sizes"] = tuple(c.shape[1] for c in est.coefs_[:-1])
    params["n_iter_no_change"] = resolve_n_iter_no_change(
        est.n_iter_no_change, len(est.network_.members) > 1
    )
    params["activation"] = built["activation"]
    # Settings scikit-learn's MLP does not know, as their nearest equivalent
    # (they only matter if the exported model is refitted).
    params["early_stopping"] = getattr(est, "validation_scores_", None) is not None
    if params["learning_rate"] == "cosine":
        params["learning_rate"] = "constant"
    if hasattr(est, "classes_"):
        sk = SkMLPClassifier(**params)
        sk.classes_ = est.classes_
        sk._label_binarizer = copy.deepcopy(est._label_binarizer)
    else:
        sk = SkMLPRegressor(loss=built["loss"], **params)
    for name in _FITTED:
        if hasattr(est, name):
            setattr(sk, name, copy.deepcopy(getattr(est, name)))
    sk.coefs_ = [c.copy() for c in est.coefs_]
    sk.intercepts_ = [b.copy() for b in est.intercepts_]
    return sk
