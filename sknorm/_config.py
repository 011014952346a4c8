"""Package settings: how many BLAS threads ``fit`` may use.

A mini-batch step multiplies small matrices (a batch of 64 to 1024 rows by
layers of tens of units): a second BLAS thread mostly waits on the first, and
on a busy machine it can make epochs many times slower. ``fit`` and
``partial_fit`` therefore limit BLAS to ``fit_blas_threads`` threads (1 by
default) for their duration, with threadpoolctl; ``predict`` is not limited.
"""

import threading
from contextlib import contextmanager
from numbers import Integral

__all__ = ["config_context", "get_config", "set_config"]

_global_config = {"fit_blas_threads": 1}
# config_context overrides per thread, so that one thread's context does not
# change the fits running in other threads.
_local = threading.local()


def _check_threads(value):
    if value is None or (
        isinstance(value, Integral) and not isinstance(value, bool) and value >= 1
    ):
        return None if value is None else int(value)
    raise ValueError(f"fit_blas_threads must be a positive int or None, got {value!r}.")


def get_config():
    """Return the current settings.

    The values are those of :func:`set_config`, overridden by any enclosing
    :func:`config_context` of the calling thread.

    Returns
    -------
    config : dict
        ``{"fit_blas_threads": int or None}``: a copy, changing it has no
        effect.

    See Also
    --------
    set_config : Change the settings for the whole process.
    config_context : Change them inside a ``with`` block.

    Examples
    --------
    >>> import sknorm
    >>> sknorm.get_config()
    {'fit_blas_threads': 1}
    """
    return {**_global_config, **getattr(_local, "overrides", {})}


_UNCHANGED = object()


def set_config(*, fit_blas_threads=_UNCHANGED):
    """Set the process-wide settings; those not given keep their value.

    The new values apply to every thread, except inside a
    :func:`config_context`, which takes precedence in its own thread.

    Parameters
    ----------
    fit_blas_threads : int or None, optional
        Number of BLAS threads that ``fit`` and ``partial_fit`` may use (the
        default setting is 1). ``None`` leaves BLAS as it is (usually one
        thread per core). Larger batches and wider layers (thousands of rows
        times hundreds of units) can gain from more threads on an idle machine.

    See Also
    --------
    get_config : Read the current settings.
    config_context : Change them inside a ``with`` block only.

    Examples
    --------
    >>> import sknorm
    >>> sknorm.set_config(fit_blas_threads=2)
    >>> sknorm.get_config()["fit_blas_threads"]
    2
    >>> sknorm.set_config(fit_blas_threads=1)
    """
    if fit_blas_threads is not _UNCHANGED:
        _global_config["fit_blas_threads"] = _check_threads(fit_blas_threads)


@contextmanager
def config_context(*, fit_blas_threads):
    """Change the settings inside a ``with`` block, in this thread only.

    On leaving the block the previous values come back. Other threads keep
    the process-wide values of :func:`set_config`.

    Parameters
    ----------
    fit_blas_threads : int or None
        As in :func:`set_config`.

    Yields
    ------
    None
        Nothing: the block runs with the new settings.

    See Also
    --------
    set_config : Change the settings for the whole process.

    Examples
    --------
    >>> import sknorm
    >>> with sknorm.config_context(fit_blas_threads=None):  # BLAS's own default
    ...     print(sknorm.get_config())
    {'fit_blas_threads': None}
    >>> sknorm.get_config()
    {'fit_blas_threads': 1}
    """
    value = _check_threads(fit_blas_threads)
    previous = getattr(_local, "overrides", {})
    _local.overrides = {**previous, "fit_blas_threads": value}
    try:
        yield
    finally:
        _local.overrides = previous
