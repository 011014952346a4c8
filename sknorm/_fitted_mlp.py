"""FittedMLP: the fitted model of the MLP estimators, frozen and folded.

After training, batch-norm statistics are frozen (population statistics
over the training rows, or the running averages), the network is folded
into plain ``coefs_``/``intercepts_`` and prediction runs on those alone.
:class:`~sknorm._base_mlp.BaseMLP` trains; this base class holds what the
fitted model does: fold, check that it predicts finite values, predict and
recompute its statistics. ``_fold_output`` is the one step subclasses change
(the regressor folds its target scaling into the output layer).
"""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sknorm._assigned import as_weight_lists, fold_digest, load_plain_mlp
from sknorm._sklearn_compat import _check_sample_weight
from sknorm._solver import TrainingDiverged
from sknorm._validation import check_magnitude, validate_numeric_data
from sknorm.nn._folding import fold_batchnorm
from sknorm.nn._inference import dense_forward
from sknorm.nn._layers import Dropout, Linear
from sknorm.nn._losses import OUTPUT_ACTIVATIONS
from sknorm.nn._parallel import Parallel, split_merged
from sknorm.nn._population import population_statistics


class FittedMLP:
    """Folding and prediction of a trained network; not for direct use."""

    def __sklearn_is_fitted__(self):
        # coefs_ appear with the first usable model and go with a failed fit.
        return hasattr(self, "coefs_")

    def _check_X_magnitude(self, X):
        check_magnitude(
            X,
            "X",
            "Standardize X first (e.g. sknorm.Standardizer in a pipeline); if "
            "these are missing-value sentinels, replace them by NaN and impute.",
            getattr(self, "feature_names_in_", None),
        )

    def _uses_population_stats(self, incremental):
        """Whether this fit ends by computing population BN statistics.

        Not in ``partial_fit``: a chunk's statistics would be wrong for the
        stream; ``recompute_bn_statistics`` computes them on the full data.
        """
        return self.bn_stats == "population" and not incremental

    def _finalize(self, X, sample_weight, incremental=False):
        """Freeze BN statistics (population mode) and fold for prediction."""
        # Every fit gives Dropout a fresh generator: dropping it afterwards
        # keeps the fitted state to arrays and sknorm types (loadable by skops).
        for layer in self.network_.layers:
            if isinstance(layer, Dropout):
                layer.rng = None
        if self._uses_population_stats(incremental):
            population_statistics(self.network_, X, sample_weight)
        self._fold()

    def _usable(self, X, sample_weight, incremental=False, X_held_out=None):
        """Finalize on ``X``; return whether the model predicts all rows finitely.

        ``X_held_out`` (the early-stopping rows) is checked too: every row
        the user gave to the fit must be predictable.
        """
        self._finalize(X, sample_weight, incremental)
        return self._predicts_finite(X) and (
            X_held_out is None or self._predicts_finite(X_held_out)
        )

    def _check_lbfgs_outcome(self, nonfinite, start, X, sample_weight):
        """Finalize; raise TrainingDiverged unless the result predicts finitely.

        ``start`` is the network before L-BFGS ran, the fallback when the
        best point evaluated overflows at inference.
        """
        usable = self._usable(X, sample_weight)
        if usable and not nonfinite:
            return
        if usable:
            kept = (
                "The estimator keeps the best point L-BFGS evaluated, but it is "
                "not a converged fit."
            )
        else:
            self.network_.restore(start)
            usable = self._usable(X, sample_weight)
            kept = (
                "The estimator keeps the weights it started from."
                if usable
                else "No point predicts finite values, so the estimator is left "
                "unfitted."
            )
        raise TrainingDiverged(
            "Solver produced non-finite parameter weights or predictions. "
            f"{kept} The input data may contain large values and need to be "
            "preprocessed (e.g. sknorm.Standardizer).",
            usable=usable,
        )

    def _predicts_finite(self, X):
        """Whether ``coefs_``/``intercepts_`` and the predictions for ``X`` are finite.

        The weights are checked too: a ReLU turns an infinite bias into 0,
        so predictions alone can look fine on a corrupted model.
        """
        if not all(np.isfinite(a).all() for a in self.coefs_ + self.intercepts_):
            return False
        with np.errstate(all="ignore"):
            return _all_finite(self._dense_forward(X))

    def _twin(self):
        """Return a shallow copy with its own ``network_`` (self stays untouched)."""
        twin = copy.copy(self)
        twin.network_ = self.network_.copy()
        return twin

    def _reconstruction_attributes(
        self, X, sample_weight, theta=None, *, incremental=False, members_done=()
    ):
        """Return the prediction attributes of the model as it stands, for callbacks.

        They are what :meth:`_finalize` would set if the fit stopped now
        (population statistics included), computed on a copy of ``network_``
        with parameters ``theta`` (the current ones when None): the estimator
        itself is not modified. A copy of the estimator with these attributes
        predicts as the fit stopped here would. ``members_done`` are the
        members of an average fitted before this one (MemberFit): the model
        returned is their average with this one, as the fit would join them.
        """
        twin = self._twin()
        if theta is not None:
            twin.network_.set_flat_params(theta)
        twin._finalize(X, sample_weight, incremental)
        if members_done:
            networks = [member.network.copy() for member in members_done]
            twin.network_ = Parallel([*networks, twin.network_])
            twin._fold()
        return {
            "network_": twin.network_,
            "coefs_": twin.coefs_,
            "intercepts_": twin.intercepts_,
        }

    def _fold(self):
        folded = fold_batchnorm(self.network_)
        linears = [layer for layer in folded.layers if isinstance(layer, Linear)]
        coefs = [layer.params["weight"].copy() for layer in linears]
        intercepts = [
            layer.params["bias"].copy()
            if "bias" in layer.params
            else np.zeros(layer.n_out, dtype=coefs[0].dtype)
            for layer in linears
        ]
        self.coefs_, self.intercepts_ = self._fold_output(coefs, intercepts)
        # What training compares against to notice assigned weights.
        self._fold_digest = fold_digest(self.coefs_, self.intercepts_)

    def _fold_output(self, coefs, intercepts):
        """Return the output layer unchanged; the regressor folds target scaling."""
        return coefs, intercepts

    def _unfold_output(self, coefs, intercepts):
        """Undo :meth:`_fold_output` (float64 arrays, changed in place)."""
        return coefs, intercepts

    # ------------------------------------------------------ assigned weights
    def _weights_assigned(self):
        """Whether ``coefs_``/``intercepts_`` changed since the last fold.

        A model pickled before the digest existed has none to compare with.
        """
        recorded = getattr(self, "_fold_digest", None)
        if recorded is None:
            return False
        try:
            return fold_digest(self.coefs_, self.intercepts_) != recorded
        except (TypeError, ValueError):
            return True  # not arrays at all: load_assigned_weights says why

    def _load_assigned_weights(self, network):
        """Write the assigned ``coefs_``/``intercepts_`` into ``network``.

        See :mod:`sknorm._assigned`: with batch normalization the BN layers
        become the identity, so ``network`` predicts the assigned weights.
        """
        members = network.members
        n_layers = sum(isinstance(layer, Linear) for layer in members[0].layers)
        coefs, intercepts = as_weight_lists(self.coefs_, self.intercepts_, n_layers)
        coefs, intercepts = self._unfold_output(coefs, intercepts)
        if len(members) == 1:
            load_plain_mlp(network, coefs, intercepts)
            return
        # An average of members holds block-diagonal weights: each member
        # gets its blocks back (weights across members cannot be trained).
        for member, weights in zip(
            members, split_merged(coefs, intercepts, len(members)), strict=True
        ):
            load_plain_mlp(member, *weights)

    # --------------------------------------------------------------- predict
    def _dense_forward(self, X):
        """Output-layer predictions of the folded network (thread-safe, chunked)."""
        output = OUTPUT_ACTIVATIONS[self.out_activation_]
        # The activation the network was trained with, whatever set_params did.
        activation = self._built_with["activation"]
        return dense_forward(X, self.coefs_, self.intercepts_, activation, output)

    def _predict_output(self, X):
        """Validate X and return the output layer, refusing overflowed values."""
        check_is_fitted(self)
        X = validate_numeric_data(
            self, X, dtype=(np.float64, np.float32), reset=False, accept_sparse="csr"
        )
        with np.errstate(all="ignore"):
            out = self._dense_forward(X)
        if not _all_finite(out):
            largest = max(float(X.max()), -float(X.min()))
            # A fit only returns a model that predicts its own training rows
            # finitely, so these rows are unlike them.
            raise ValueError(
                "The network's output overflowed to inf or NaN: X holds values "
                f"of magnitude up to {largest:.3g}, outside the range of the "
                "rows the model was fitted on, which it predicts finitely. "
                "Check X for missing-value sentinels or unscaled columns."
            )
        return out

    def _validation_score(self, X, Y, sample_weight):
        """Score held-out rows in inference mode with the running statistics."""
        raw = self.network_.predict(X)
        return self._score_internal(raw, Y, sample_weight)

    def recompute_bn_statistics(self, X, sample_weight=None):
        """Recompute every batch-norm layer's statistics over ``X`` ("precise BN").

        With the weights frozen, each BN layer's mean and biased variance are
        computed over all rows of ``X``, from the first layer to the last, the
        layers below already using their new statistics; then the network is
        folded again for prediction. ``fit`` does this automatically when
        ``bn_stats="population"``; call it after a sequence of ``partial_fit``
        calls, with the full training data (or a large representative sample).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the statistics.

        Returns
        -------
        MLPRegressor or MLPClassifier
            The estimator itself (``self``), with updated statistics.
        """
        check_is_fitted(self)
        X = validate_numeric_data(
            self, X, dtype=(np.float64, np.float32), reset=False, accept_sparse="csr"
        )
        X = X.astype(self.coefs_[0].dtype, copy=False)
        self._check_X_magnitude(X)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        # On a twin: statistics that make the model overflow on X are
        # refused without touching the fitted model.
        twin = self._twin()
        if self._weights_assigned():
            # The statistics are those of the model predict uses.
            self._load_assigned_weights(twin.network_)
        with np.errstate(all="ignore"):
            population_statistics(twin.network_, X, sample_weight)
            twin._fold()
        if not twin._predicts_finite(X):
            raise ValueError(
                "The recomputed batch-norm statistics make the network's "
                "predictions on X non-finite, so the fitted model is left "
                "unchanged. Check X for extreme or constant columns."
            )
        for name in ("network_", "coefs_", "intercepts_", "_fold_digest"):
            setattr(self, name, getattr(twin, name))
        return self


def _all_finite(out):
    """Whether ``out`` is all finite; min/max propagate NaN and allocate nothing."""
    return bool(np.isfinite(out.min()) and np.isfinite(out.max()))
