"""The callback tasks of a fit, for scikit-learn's ``sklearn.callback`` API.

Each ``fit`` or ``partial_fit`` call is one root task ("fit"). The MLPs give
it one subtask per iteration of their solver: an "epoch" for 'sgd' and
'adam', an "lbfgs-iter" for 'lbfgs'; the Standardizer's fit is a single leaf.
A meta-estimator (Pipeline, GridSearchCV, cross_validate) that fits one of
these estimators merges this root task into its own task tree, and its
auto-propagated callbacks (such as ``ProgressBar``) reach the fit:
scikit-learn does both in ``_init_callback_context``.

Hooks that ask for ``fitted_estimator`` get a copy of the estimator with the
``reconstruction_attributes`` of the task. The training loops pass those as
a callable, which scikit-learn calls only for such hooks: a fit whose
callbacks do not ask for it (or a fit without callbacks) copies nothing.
The copy predicts as the fit stopped at that task would, so after the last
iteration it predicts as the fitted model, except with ``early_stopping``,
whose fit ends by restoring the best epoch. Epochs report the rows they train
on: without the early-stopping validation rows.

On scikit-learn < 1.9 the context is a no-op stand-in (see
:mod:`sknorm._sklearn_compat`), so these classes need no special case.
"""

import copy
import functools

__all__ = ["FitTasks", "IterationTasks"]


class FitTasks:
    """The callback tasks of one ``fit`` or ``partial_fit`` call.

    It holds what every hook receives (the estimator, the training data and
    the metadata), so a training loop only says where a task begins and ends.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted.
    context : sklearn.callback.CallbackContext
        Its root context, from ``estimator._init_callback_context``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The training data, as validated.
    y : array-like or None, default=None
        The targets as the user gave them (labels, not their encoding), so
        that a scorer can compare them with ``predict``.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        The user's sample weights, passed as ``metadata`` only when given.
    """

    def __init__(self, estimator, context, X, y=None, sample_weight=None):
        self.estimator = estimator
        self.context = context
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        # Shared with the tasks of on_rows (a copy of these): a stop asked
        # there ends this fit.
        self._stops = []
        # The member networks this fit has finished (MemberFit), shared too:
        # the model a callback sees includes them next to the one in training.
        self.members_done = []

    @property
    def stop_requested(self):
        """Whether a callback asked to stop (the fit trains no further member)."""
        return bool(self._stops)

    def _hook_kwargs(self):
        metadata = (
            None
            if self.sample_weight is None
            else {"sample_weight": self.sample_weight}
        )
        return {
            "estimator": self.estimator,
            "X": self.X,
            "y": self.y,
            "metadata": metadata,
        }

    def begin(self):
        """Call the ``on_fit_task_begin`` hooks of the root task."""
        self.context.call_on_fit_task_begin(**self._hook_kwargs())

    def end(self):
        """Call the ``on_fit_task_end`` hooks of the root task."""
        # The estimator itself is fitted by now: nothing to reconstruct.
        self.context.call_on_fit_task_end(
            reconstruction_attributes={}, **self._hook_kwargs()
        )

    def on_rows(self, rows, X):
        """Return the same tasks for a fit on some of the rows of the data.

        Parameters
        ----------
        rows : ndarray of int
            The rows trained on (the training part of an early-stopping split).
        X : {ndarray, sparse matrix} of shape (len(rows), n_features)
            ``self.X[rows]``, which the caller already holds.

        Returns
        -------
        FitTasks
            Tasks whose hooks receive those rows only.
        """
        # A shallow copy: the same estimator, context and shared lists.
        tasks = copy.copy(self)
        tasks.X = X
        tasks.y = None if self.y is None else self.y[rows]
        if self.sample_weight is not None:
            tasks.sample_weight = self.sample_weight[rows]
        return tasks

    def begin_subtask(self, task_name, reconstruction_attributes):
        """Start a subtask of the root task and call its begin hooks.

        Parameters
        ----------
        task_name : str
            Name of the subtask, e.g. ``"epoch"``.
        reconstruction_attributes : callable
            Returns the fitted attributes of the model as the subtask starts.

        Returns
        -------
        context : sklearn.callback.CallbackContext
            The subtask's context, to pass to :meth:`end_subtask`.
        """
        context = self.context.subcontext(task_name=task_name)
        context.call_on_fit_task_begin(
            reconstruction_attributes=reconstruction_attributes, **self._hook_kwargs()
        )
        return context

    def end_subtask(self, context, reconstruction_attributes):
        """Call the end hooks of a subtask.

        Parameters
        ----------
        context : sklearn.callback.CallbackContext
            The context returned by :meth:`begin_subtask`.
        reconstruction_attributes : callable
            Returns the fitted attributes of the model as the subtask ends.

        Returns
        -------
        stop : bool
            True when a callback asks to stop iterating.
        """
        stop = context.call_on_fit_task_end(
            reconstruction_attributes=reconstruction_attributes, **self._hook_kwargs()
        )
        if stop:
            self._stops.append(True)
        return stop


class IterationTasks:
    """Subtasks for an optimizer that reports only the end of each iteration.

    scipy's ``minimize`` calls ``callback(theta)`` when an iteration ends:
    that call ends the current subtask and begins the next one. The subtask
    begun by the last call never runs, and :meth:`close` ends it without data,
    as scikit-learn's ``LogisticRegression`` does: a run of ``n`` iterations
    has ``n + 1`` subtasks.

    Parameters
    ----------
    tasks : FitTasks
        The tasks of the fit.
    task_name : str
        Name of each subtask.
    reconstruction_attributes : callable
        ``reconstruction_attributes(theta=None)`` returns the fitted
        attributes of the model with parameters ``theta`` (the current ones
        when None).
    """

    def __init__(self, tasks, task_name, reconstruction_attributes):
        self._tasks = tasks
        self._task_name = task_name
        self._attributes = reconstruction_attributes
        self._context = tasks.begin_subtask(task_name, reconstruction_attributes)

    def __call__(self, theta):
        """End the subtask of the iteration that reached ``theta``; begin the next.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            The parameters at the end of the iteration. Read only during this
            call (scipy may reuse the array).

        Returns
        -------
        stop : bool
            True when a callback asks to stop iterating.
        """
        attributes = functools.partial(self._attributes, theta=theta)
        stop = self._tasks.end_subtask(self._context, attributes)
        self._context = self._tasks.begin_subtask(self._task_name, attributes)
        return stop

    def close(self):
        """End the last subtask, which did not run."""
        self._context.call_on_fit_task_end(estimator=self._tasks.estimator)
