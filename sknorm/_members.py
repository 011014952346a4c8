"""An average of member networks: each fitted on its own, then joined.

``batch_norm`` given as a tuple of placements (and ``batch_norm="auto"`` in
a ``fit`` of 30 rows or more) trains one network per placement. A fresh
``fit`` trains the members one after the other, each exactly as a single
network of that placement would be trained (its own generator, validation
split, learning-rate schedule, stopping and best epoch); :func:`join_members`
then puts them side by side in a :class:`~sknorm.nn._parallel.Parallel`,
which predicts their average and folds into one plain MLP. Training the
members together, on one schedule and one stopping rule, gained less than
half as much on the quality suite (``docs/user_guide/tuning.md``). Warm
starts and ``partial_fit`` continue the joined network: every member on its
own loss, on one schedule. A member after the first that diverges is left
out with a ConvergenceWarning (on unscaled inputs the member without batch
normalization can diverge where the one with it trains), and a callback's
request to stop ends the fit after the member in training: with one member
left, the model is that network alone.

The estimator's bookkeeping describes the whole run: ``n_iter_`` and ``t_``
add the members' up, ``loss_curve_``, ``validation_scores_`` and
``history_`` list the first member's epochs, then the next member's
(``history_`` entries say which in ``"member"``); ``loss_``, ``best_loss_``
and ``best_validation_score_`` are the members' averages.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknorm._solver import TrainingDiverged
from sknorm.nn._parallel import Parallel

__all__ = ["MemberFit", "fit_members", "join_members"]


def fit_members(estimator, placements, train_member, tasks):
    """Fit one member per placement with ``train_member``, then join them.

    Parameters
    ----------
    estimator : BaseMLP
        The estimator; it holds each member while that member trains.
    placements : tuple
        The members' batch-norm placements.
    train_member : callable
        ``train_member(index, placement)`` fits member ``index`` as a fresh
        single network on ``estimator``.
    tasks : FitTasks
        The fit's callback tasks (a stop request ends the fit); its
        ``members_done`` collects the fitted members.
    """
    # Callbacks see the members fitted so far next to the one in training.
    members = tasks.members_done
    kept = []
    try:
        for index, placement in enumerate(placements):
            if estimator.verbose:  # each member prints its own iterations
                print(
                    f"Member {index + 1} of {len(placements)}: batch_norm={placement!r}"
                )
            try:
                train_member(index, placement)
            except TrainingDiverged as exc:
                if not members:
                    raise
                _warn_member_dropped(placement, exc)
                continue
            members.append(MemberFit.take(estimator))
            kept.append(placement)
            if tasks.stop_requested:
                break  # a callback's stop ends the fit, not just this member
    except BaseException:
        # An interrupted member joins the members before it (the solver left
        # it a usable state).
        current = getattr(estimator, "network_", None)
        if members and current is not None and current is not members[-1].network:
            members.append(MemberFit.take(estimator))
            join_members(estimator, members, [*kept, placement])
            estimator._fold()
        raise
    join_members(estimator, members, kept)
    estimator._fold()  # each member froze its own statistics


def _warn_member_dropped(placement, exc):
    """Warn that a member after the first diverged and is left out of the average."""
    reason = str(exc).split(". ")[0]  # the rest speaks of a single network
    warnings.warn(
        f"The member network with batch_norm={placement!r} diverged and is left "
        f"out of the average; the model averages the other members ({reason}).",
        ConvergenceWarning,
        stacklevel=6,
    )


class MemberFit(NamedTuple):
    """What one member's fit left on the estimator."""

    network: object
    n_iter: int
    t: int
    loss: float
    loss_curve: list | None
    best_loss: float | None
    validation_scores: list | None
    best_validation_score: float | None
    history: list

    @classmethod
    def take(cls, estimator):
        """Read the member just fitted off ``estimator`` (lbfgs has no curves)."""
        return cls(
            estimator.network_,
            estimator.n_iter_,
            estimator.t_,
            estimator.loss_,
            getattr(estimator, "loss_curve_", None),
            getattr(estimator, "best_loss_", None),
            getattr(estimator, "validation_scores_", None),
            getattr(estimator, "best_validation_score_", None),
            estimator.history_,
        )


def join_members(estimator, members, placements):
    """Set ``estimator``'s network and bookkeeping to the average of ``members``.

    Parameters
    ----------
    estimator : BaseMLP
        The estimator; its network and bookkeeping are replaced.
    members : list of MemberFit
        The fitted members; with one, the model is that network alone.
    placements : sequence
        Their batch-norm placements.
    """
    if len(members) > 1:
        estimator.network_ = Parallel([member.network for member in members])
        estimator._batch_norm = tuple(placements)
    else:  # the others diverged or a callback stopped the fit: one network
        estimator.network_ = members[0].network
        estimator._batch_norm = placements[0]
    estimator.n_iter_ = sum(member.n_iter for member in members)
    estimator.t_ = sum(member.t for member in members)
    estimator.loss_ = float(np.mean([member.loss for member in members]))
    if members[0].loss_curve is not None:  # a stochastic solver's records
        estimator.loss_curve_ = _joined([m.loss_curve for m in members])
        estimator.best_loss_ = _mean_or_none([m.best_loss for m in members])
        estimator.validation_scores_ = _joined([m.validation_scores for m in members])
        estimator.best_validation_score_ = _mean_or_none(
            [m.best_validation_score for m in members]
        )
    estimator.history_ = _joined_history(members)
    # A warm start continues all members on one schedule: it starts afresh.
    estimator._no_improvement_count = 0
    estimator._best_state = None
    if hasattr(estimator, "_optimizer"):
        del estimator._optimizer


def _joined(lists):
    return None if lists[0] is None else [v for values in lists for v in values]


def _mean_or_none(values):
    if any(value is None for value in values):
        return None
    return float(np.mean(values))


def _joined_history(members):
    """Return the members' epochs one after the other, numbered and timed on."""
    if len(members) == 1:
        return members[0].history
    history, seconds = [], 0.0
    for index, member in enumerate(members):
        for entry in member.history:
            history.append(
                {
                    **entry,
                    "epoch": len(history) + 1,
                    "elapsed_seconds": seconds + entry["elapsed_seconds"],
                    "member": index,
                }
            )
        if member.history:
            seconds += member.history[-1]["elapsed_seconds"]
    return history
