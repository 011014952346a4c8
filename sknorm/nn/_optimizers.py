"""Stochastic optimizers that update parameter arrays in place.

The update rules, learning-rate schedules and stopping logic replicate
scikit-learn's ``neural_network._stochastic_optimizers`` so that an MLP trained
here follows the same trajectory. The difference is that parameters are
updated in place and the optimizer state is kept in the parameters' dtype, so
float32 networks never materialize float64 copies.

The state lives in one vector per moment, whatever the number of parameter
arrays, so that a step is a dozen whole-vector operations rather than a dozen
per array: on a small MLP the per-call overhead of NumPy dominates the
arithmetic. When the parameters are themselves views of one vector
(:meth:`Sequential.flat_parameters`), the update is applied to that vector
in a single operation and ``step`` accepts the gradient as one vector too.
"""

import math

import numpy as np

from sknorm.nn._flat import flat_base, flat_views

_LR_SCHEDULES = ("constant", "adaptive", "invscaling", "cosine")


class _BaseOptimizer:
    """Shared bookkeeping: the parameter list, flat state and gradient layout.

    Parameters
    ----------
    params : list of ndarray
        Arrays updated in place by ``step``.
    learning_rate_init : float
        Initial learning rate.
    """

    # Names of the per-parameter state lists (views of the rows of ``_state``,
    # one row per kind of state, rebuilt after unpickling).
    _state_names: tuple = ()

    def __init__(self, params, learning_rate_init):
        # Keep the caller's array objects (not copies): updating them in place
        # is how the new values reach the layers.
        self.params = list(params)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        # Epochs completed, for the "cosine" schedule.
        self.epochs_done = 0
        dtype = np.result_type(*self.params) if self.params else np.float64
        self._shapes = [param.shape for param in self.params]
        self._size = sum(param.size for param in self.params)
        # All state in one array: Adam updates both moments in one operation.
        self._state = np.zeros((len(self._state_names), self._size), dtype)
        self._bind()

    def _bind(self):
        """Find the parameters' common vector; allocate the scratch vectors."""
        self._theta = flat_base(self.params)
        dtype = self._state.dtype
        if self._theta is not None and self._theta.dtype != dtype:
            self._theta = None
        self._grad = np.empty(self._size, dtype=dtype)
        self._delta = np.empty(self._size, dtype=dtype)
        self._scratch = np.empty_like(self._state)
        # Row views, made once: indexing costs as much as a small operation.
        self._rows = (tuple(self._state), tuple(self._scratch))
        for name, flat in zip(self._state_names, self._state, strict=True):
            setattr(self, name, flat_views(flat, self._shapes))

    def rebind(self, params):
        """Point the optimizer at new arrays holding the same parameters.

        Copying or unpickling a network turns views into separate arrays, and
        :meth:`Sequential.flat_parameters` then moves them into a new vector.
        Call this with the new arrays to keep training them; the optimizer's
        state (moments, step count, learning rate) is kept.

        Parameters
        ----------
        params : list of ndarray
            Arrays of the same shapes and order as the current ones.
        """
        params = list(params)
        if [param.shape for param in params] != self._shapes:
            raise ValueError("rebind needs arrays of the same shapes, in order.")
        self.params = params
        self._bind()

    def __getstate__(self):
        # Views and the shared vector do not survive pickling as views: keep
        # only the flat state and rebuild the rest on loading.
        state = self.__dict__.copy()
        for name in (
            "_theta",
            "_grad",
            "_delta",
            "_scratch",
            "_rows",
            "_factors_key",
            "_factors_cache",
            *self._state_names,
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind()

    def _flat_grad(self, grads):
        """Return the gradient as one vector aligned with the flat state.

        Parameters
        ----------
        grads : ndarray of shape (n_params,) or sequence of ndarray
            One vector in the order of ``params`` (the layout of
            :meth:`Sequential.flat_parameters`), or one gradient per parameter.

        Returns
        -------
        grad : ndarray of shape (n_params,)
            ``grads`` itself when it is already such a vector, else a copy.
        """
        if isinstance(grads, np.ndarray) and grads.ndim == 1:
            if grads.shape[0] != self._size:
                raise ValueError(
                    f"Got a gradient vector of size {grads.shape[0]} for "
                    f"{self._size} parameter values."
                )
            return grads
        grads = list(grads)
        # Checked up front because a mismatch must change no parameter.
        if len(grads) != len(self.params):
            raise ValueError(
                f"Got {len(grads)} gradients for {len(self.params)} parameters."
            )
        for view, grad in zip(flat_views(self._grad, self._shapes), grads, strict=True):
            view[...] = grad
        return self._grad

    def _apply(self, delta):
        """Add the flat ``delta`` to the parameters."""
        if self._theta is not None:
            self._theta += delta
            return
        for param, step in zip(
            self.params, flat_views(delta, self._shapes), strict=True
        ):
            param += step

    # The attribute holding the rate that schedules change: SGD's
    # ``learning_rate``; Adam's base rate (its ``learning_rate`` is the
    # bias-corrected step size of the last step).
    _rate_name = "learning_rate"

    @property
    def epoch_learning_rate(self):
        """The rate an epoch runs at, before any end-of-epoch schedule update."""
        return getattr(self, self._rate_name)

    def iteration_ends(self, time_step):
        """Apply the "cosine" schedule at the end of an epoch.

        After epoch ``e`` of ``n_epochs``, the rate becomes
        ``learning_rate_init * (1 + cos(pi * e / n_epochs)) / 2``: a smooth
        decay that reaches a small rate in the last epoch.

        Parameters
        ----------
        time_step : int
            Number of training samples seen so far.
        """
        if self.lr_schedule != "cosine":
            return
        self.epochs_done += 1
        progress = min(self.epochs_done, self.n_epochs) / self.n_epochs
        factor = 0.5 * (1.0 + math.cos(math.pi * progress))
        setattr(self, self._rate_name, float(self.learning_rate_init) * factor)

    def trigger_stopping(self, msg="", verbose=False):
        """Decide whether training should stop after a stall; always yes here.

        Parameters
        ----------
        msg : str, default=""
            Message printed before the decision when ``verbose``.
        verbose : bool, default=False
            Whether to print the message.

        Returns
        -------
        is_stopping : bool
            Always True.
        """
        if verbose:
            print(msg + " Stopping.")
        return True

    def _shrink_or_stop(self, msg, verbose):
        """Divide the scheduled rate by 5, or stop once it is <= 1e-6.

        scikit-learn's "adaptive" rule; returns True when training should stop.
        """
        rate = getattr(self, self._rate_name)
        if rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        setattr(self, self._rate_name, rate / 5.0)
        if verbose:
            print(msg + f" Setting learning rate to {rate / 5.0:f}")
        return False


class SGD(_BaseOptimizer):
    """Stochastic gradient descent with (Nesterov) momentum.

    ``v = momentum * v - lr * g``; the parameter moves by
    ``momentum * v - lr * g`` with Nesterov momentum and by ``v`` otherwise.

    Parameters
    ----------
    params : list of ndarray
        Arrays updated in place by ``step``.
    learning_rate_init : float, default=0.1
        Initial learning rate.
    lr_schedule : {"constant", "adaptive", "invscaling", "cosine"}, \
default="constant"
        "invscaling" sets ``learning_rate_init / (t + 1) ** power_t`` in
        ``iteration_ends``; "adaptive" divides the rate by 5 in
        ``trigger_stopping`` until it falls to ``1e-6``; "cosine" decays the
        rate over ``n_epochs`` epochs (see ``iteration_ends``).
    momentum : float, default=0.9
        Momentum coefficient, at least 0.
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    n_epochs : int, default=200
        Length of the "cosine" schedule, in epochs.

    Attributes
    ----------
    params : list of ndarray
        The parameter arrays (the caller's objects).
    learning_rate : float
        Current learning rate.
    velocities : list of ndarray
        Momentum buffers aligned with ``params``, in each parameter's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._optimizers import SGD
    >>> w = np.array([1.0, -2.0])
    >>> opt = SGD([w], learning_rate_init=0.1, momentum=0.0)
    >>> opt.step([np.array([0.5, -1.0])])
    >>> w
    array([ 0.95, -1.9 ])
    """

    _state_names = ("velocities",)

    def __init__(
        self,
        params,
        *,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
        n_epochs=200,
    ):
        super().__init__(params, learning_rate_init)
        if lr_schedule not in _LR_SCHEDULES:
            # An unknown schedule would otherwise silently behave as "constant".
            raise ValueError(
                f"lr_schedule must be one of {_LR_SCHEDULES}, got {lr_schedule!r}."
            )
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.n_epochs = n_epochs

    def step(self, grads):
        """Apply one update to every parameter in place.

        Parameters
        ----------
        grads : sequence of ndarray or ndarray of shape (n_params,)
            Gradients aligned with ``params``, or one vector of them all in
            that order (the layout of :meth:`Sequential.flat_parameters`).
        """
        grad = self._flat_grad(grads)
        lr, momentum = float(self.learning_rate), float(self.momentum)
        (velocity,), (lr_grad,) = self._rows
        np.multiply(grad, lr, out=lr_grad)
        velocity *= momentum
        velocity -= lr_grad
        if self.nesterov:
            delta = np.multiply(velocity, momentum, out=self._delta)
            delta -= lr_grad
            self._apply(delta)
        else:
            self._apply(velocity)

    def iteration_ends(self, time_step):
        """Apply the "invscaling" or "cosine" schedule at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Number of training samples seen so far.
        """
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )
        super().iteration_ends(time_step)

    def trigger_stopping(self, msg="", verbose=False):
        """Decide whether to stop after a stall, shrinking the rate if adaptive.

        Parameters
        ----------
        msg : str, default=""
            Message printed before the decision when ``verbose``.
        verbose : bool, default=False
            Whether to print the message.

        Returns
        -------
        is_stopping : bool
            True unless the schedule is "adaptive" and the learning rate is
            still above ``1e-6`` (it is then divided by 5).
        """
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        return self._shrink_or_stop(msg, verbose)


class Adam(_BaseOptimizer):
    """Adam optimizer (Kingma & Ba, 2014) with scikit-learn's bias correction.

    The bias correction is folded into the step size
    ``lr_t = learning_rate_init * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` and
    ``epsilon`` is added to ``sqrt(v)`` (not to the corrected ``v``), as in
    scikit-learn.

    Parameters
    ----------
    params : list of ndarray
        Arrays updated in place by ``step``.
    learning_rate_init : float, default=0.001
        Base learning rate.
    beta_1 : float, default=0.9
        Decay rate of the first-moment estimate, in ``[0, 1)``.
    beta_2 : float, default=0.999
        Decay rate of the second-moment estimate, in ``[0, 1)``.
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.
    lr_schedule : {"constant", "adaptive", "invscaling", "cosine"}, \
default="constant"
        "adaptive" divides the base step size by 5 in ``trigger_stopping``
        until it falls to ``1e-6`` (scikit-learn applies this to SGD only);
        "cosine" decays it over ``n_epochs`` epochs (see ``iteration_ends``).
        "invscaling" is accepted and behaves as "constant", as scikit-learn's
        Adam ignores ``learning_rate`` (its schedules are SGD's).
    n_epochs : int, default=200
        Length of the "cosine" schedule, in epochs.

    Attributes
    ----------
    params : list of ndarray
        The parameter arrays (the caller's objects).
    learning_rate : float
        ``lr_t`` of the last step (``learning_rate_init`` before any step).
    t : int
        Number of steps taken.
    ms, vs : list of ndarray
        First and second moment estimates aligned with ``params``, in each
        parameter's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sknorm.nn._optimizers import Adam
    >>> w = np.array([1.0, -2.0])
    >>> opt = Adam([w], learning_rate_init=0.1)
    >>> opt.step([np.array([0.5, -1.0])])
    >>> w.round(6)
    array([ 0.9, -1.9])
    """

    _state_names = ("ms", "vs")

    def __init__(
        self,
        params,
        *,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
        n_epochs=200,
    ):
        super().__init__(params, learning_rate_init)
        if lr_schedule not in _LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {_LR_SCHEDULES}, got {lr_schedule!r}."
            )
        self.lr_schedule = lr_schedule
        self.base_learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_epochs = n_epochs
        self.t = 0

    _rate_name = "base_learning_rate"

    def step(self, grads):
        """Apply one update to every parameter in place.

        Parameters
        ----------
        grads : sequence of ndarray or ndarray of shape (n_params,)
            Gradients aligned with ``params``, or one vector of them all in
            that order (the layout of :meth:`Sequential.flat_parameters`).
        """
        grad = self._flat_grad(grads)
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        self.t += 1
        self.learning_rate = float(
            self.base_learning_rate
            * math.sqrt(1 - beta_2**self.t)
            / (1 - beta_1**self.t)
        )
        moments, scratch, delta = self._state, self._scratch, self._delta
        (m, v), (scratch_m, scratch_v) = self._rows
        # Both moments at once: rows (m, v) of one array, per-row factors.
        # The same products and sums as scikit-learn's per-array update
        # (b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2), so each element
        # rounds identically, in fewer NumPy calls.
        np.copyto(scratch_m, grad)
        np.multiply(grad, grad, out=scratch_v)
        decay, weight = self._factors(beta_1, beta_2)
        scratch *= weight
        moments *= decay
        moments += scratch
        denom = np.sqrt(v, out=scratch_v)
        denom += float(self.epsilon)
        # -(lr * m) / denom added equals (lr * m) / denom subtracted, exactly.
        np.multiply(m, -self.learning_rate, out=delta)
        delta /= denom
        self._apply(delta)

    def _factors(self, beta_1, beta_2):
        """Return the columns ``[[b1], [b2]]`` and ``[[1 - b1], [1 - b2]]``."""
        key = (beta_1, beta_2)
        if getattr(self, "_factors_key", None) != key:
            self._factors_key = key
            self._factors_cache = (
                np.array([[beta_1], [beta_2]], dtype=self._state.dtype),
                np.array([[1 - beta_1], [1 - beta_2]], dtype=self._state.dtype),
            )
        return self._factors_cache

    def trigger_stopping(self, msg="", verbose=False):
        """Decide whether to stop after a stall, shrinking the rate if adaptive.

        With ``lr_schedule="adaptive"`` the base step size is divided by 5 on
        every stall until it falls to ``1e-6``, as scikit-learn's SGD does.
        Mini-batch noise (strong with batch normalization) makes a constant
        rate plateau early; decaying it keeps the loss going down.

        Parameters
        ----------
        msg : str, default=""
            Message printed before the decision when ``verbose``.
        verbose : bool, default=False
            Whether to print the message.

        Returns
        -------
        is_stopping : bool
            True unless the schedule is "adaptive" and the base rate is still
            above ``1e-6``.
        """
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        return self._shrink_or_stop(msg, verbose)
