"""The choices a fit resolves once from its rows, shared by every step.

``early_stopping``, ``batch_norm``, ``dropout`` and (in the classifier)
``label_smoothing`` have 'auto' values that depend on the rows of the fit.
:func:`plan_fit` counts the rows of non-zero weight and decides the
early-stopping split and the batch-norm placement once; the estimator passes
the :class:`FitPlan` down instead of deciding again at each step.
"""

from typing import NamedTuple

import numpy as np

from sknorm._batches import check_split
from sknorm._validation import resolve_batch_norm, resolve_early_stopping

__all__ = ["FitPlan", "built_batch_norm", "plan_fit"]


class FitPlan(NamedTuple):
    """What a fit decides once from its rows, for every step that needs it."""

    #: Rows of non-zero weight: zero-weight rows count as left out.
    n_weighted: int
    #: Whether the fit holds out early-stopping rows.
    held_out: bool
    #: The batch-norm placement of the network it trains (a tuple: members).
    batch_norm: str | tuple | None
    #: Whether the fit trains member networks one by one (a fresh ``fit``).
    fits_members: bool = False

    @property
    def averages(self):
        """Whether the model is an average of networks (or a member of one)."""
        return self.fits_members or isinstance(self.batch_norm, tuple)


def plan_fit(estimator, Y, sample_weight, *, first_call, incremental):
    """Resolve the 'auto' choices that depend on this fit's rows.

    Parameters
    ----------
    estimator : BaseMLP
        The estimator about to fit (its parameters and, on a warm start,
        the network it built).
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets (the classifier's give the stratification labels).
    sample_weight : ndarray of shape (n_samples,)
        The weights the fit trains with.
    first_call : bool
        Whether the fit builds a new network.
    incremental : bool
        Whether the fit is ``partial_fit``.

    Returns
    -------
    FitPlan
    """
    n_weighted = np.count_nonzero(sample_weight)
    if first_call:
        batch_norm = resolve_batch_norm(
            estimator.batch_norm,
            n_weighted,
            incremental=incremental,
            single=_single_network(estimator, incremental),
        )
    else:
        batch_norm = built_batch_norm(estimator)
    held_out = _holds_out_rows(estimator, Y, sample_weight, n_weighted, incremental)
    fits_members = first_call and not incremental and isinstance(batch_norm, tuple)
    return FitPlan(n_weighted, held_out, batch_norm, fits_members)


def _single_network(estimator, incremental):
    """Whether 'auto' keeps one network where it would average two.

    L-BFGS and ``bn_input=True`` (the average was measured with Adam, on
    standardized inputs: its member without BN has no input BN either), no
    hidden layer (members would be linear models alike), and a first fit
    that continues assigned ``coefs_`` (whose shapes are one network's, as
    in scikit-learn).
    """
    assigned = (incremental or estimator.warm_start) and hasattr(estimator, "coefs_")
    return (
        estimator.solver == "lbfgs"
        or estimator.bn_input
        or not estimator._hidden_sizes()
        or assigned
    )


def built_batch_norm(estimator):
    """Return the batch-norm placement ``estimator``'s network was built with."""
    # Networks pickled before batch_norm='auto' existed lack the record.
    return getattr(estimator, "_batch_norm", estimator.batch_norm)


def _holds_out_rows(estimator, Y, sample_weight, n_weighted, incremental):
    """Whether the fit holds out early-stopping rows ('auto': weighted rows)."""
    if estimator.solver == "lbfgs" or not resolve_early_stopping(
        estimator.early_stopping, n_weighted, incremental
    ):
        return False
    return estimator.early_stopping is True or _can_hold_out(
        estimator, Y, sample_weight
    )


def _can_hold_out(estimator, Y, sample_weight):
    """Whether 'auto' can split without the error ``True`` raises.

    Nobody asked for the split, so where it would fail (the weighted rows
    cannot spare ``validation_fraction`` of the rows, or a stratified split
    cannot keep a class of one weighted row on both sides), the fit trains on
    all rows.
    """
    try:
        check_split(
            len(sample_weight),
            estimator.validation_fraction,
            estimator.validation_split,
            stratify=estimator._stratify_labels(Y),
            eligible=sample_weight > 0,
        )
    except ValueError:
        return False
    return True
