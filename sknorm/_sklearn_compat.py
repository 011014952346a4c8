"""The only module that imports private scikit-learn names.

scikit-learn does not promise stability for these helpers, so every private
import lives here: when a release moves one, this is the single file to fix.
It also holds the stand-in for ``sklearn.callback`` on scikit-learn < 1.9.
"""

import sklearn
from sklearn.base import _fit_context
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import (
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "CallbackSupportMixin",
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_fit_context",
    "check_matplotlib_support",
]


class _NoCallbackContext:
    """Callback context that does nothing, for scikit-learn without callbacks.

    It answers the calls the training loops make on a
    ``sklearn.callback.CallbackContext``, so they run unchanged (and never
    stop early) whether or not the installed scikit-learn has callbacks.
    """

    def subcontext(self, task_name="", task_id=None, max_subtasks=0, **kwargs):
        return self

    def call_on_fit_task_begin(self, *, estimator, **kwargs):
        return self

    def call_on_fit_task_end(self, *, estimator, **kwargs):
        return False


_NO_CALLBACK_CONTEXT = _NoCallbackContext()


class _NoCallbackSupportMixin:
    """Stand-in for ``sklearn.callback.CallbackSupportMixin`` (scikit-learn < 1.9).

    Fits run as without callbacks; setting callbacks raises a clear error.
    """

    def set_callbacks(self, *callbacks):
        """Refuse callbacks: they need scikit-learn's ``sklearn.callback`` module.

        Parameters
        ----------
        *callbacks : callback instances
            The callbacks that were to be set.

        Raises
        ------
        RuntimeError
            Always: the installed scikit-learn predates ``sklearn.callback``.
        """
        raise RuntimeError(
            "Callbacks need scikit-learn >= 1.9 (sklearn.callback); installed: "
            f"{sklearn.__version__}."
        )

    def _init_callback_context(
        self, task_name="fit", task_id=0, max_subtasks=0, sequential_subtasks=True
    ):
        return _NO_CALLBACK_CONTEXT


try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9
    CallbackSupportMixin = _NoCallbackSupportMixin
