"""Stochastic optimizers that update parameter arrays in place.

The update rules, learning-rate schedules and stopping logic replicate
scikit-learn's ``neural_network._stochastic_optimizers`` so that an MLP trained
here follows the same trajectory. The difference is that parameters are
updated in place and the optimizer state is kept in each parameter's dtype,
so float32 networks never materialize float64 copies.
"""

import numpy as np

_LR_SCHEDULES = ("constant", "adaptive", "invscaling")


class _BaseOptimizer:
    """Shared bookkeeping: the parameter list and the gradient check.

    Parameters
    ----------
    params : list of ndarray
        Arrays updated in place by ``step``.
    learning_rate_init : float
        Initial learning rate.
    """

    def __init__(self, params, learning_rate_init):
        # Keep the caller's array objects (not copies): updating them in place
        # is how the new values reach the layers.
        self.params = list(params)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def _check_grads(self, grads):
        """Return ``grads`` as a list after checking it aligns with ``params``.

        Parameters
        ----------
        grads : sequence of ndarray
            One gradient per parameter.

        Returns
        -------
        grads : list of ndarray
            The same gradients, as a list.
        """
        grads = list(grads)
        # Checked up front because zip(strict=True) only notices a mismatch
        # after it has already updated the common prefix of the parameters.
        if len(grads) != len(self.params):
            raise ValueError(
                f"Got {len(grads)} gradients for {len(self.params)} parameters."
            )
        return grads

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch (no-op here).

        Parameters
        ----------
        time_step : int
            Number of training samples seen so far.
        """

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
    lr_schedule : {"constant", "adaptive", "invscaling"}, default="constant"
        "invscaling" sets ``learning_rate_init / (t + 1) ** power_t`` in
        ``iteration_ends``; "adaptive" divides the rate by 5 in
        ``trigger_stopping`` until it falls to ``1e-6``.
    momentum : float, default=0.9
        Momentum coefficient, at least 0.
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.

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

    def __init__(
        self,
        params,
        *,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
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
        self.velocities = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        """Apply one update to every parameter in place.

        Parameters
        ----------
        grads : sequence of ndarray
            Gradients aligned with ``params``.
        """
        grads = self._check_grads(grads)
        lr, momentum = self.learning_rate, self.momentum
        for param, velocity, grad in zip(
            self.params, self.velocities, grads, strict=True
        ):
            velocity *= momentum
            velocity -= lr * grad
            if self.nesterov:
                param += momentum * velocity - lr * grad
            else:
                param += velocity

    def iteration_ends(self, time_step):
        """Apply the "invscaling" schedule at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Number of training samples seen so far.
        """
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

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
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


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
    lr_schedule : {"constant", "adaptive"}, default="constant"
        "adaptive" divides the base step size by 5 in ``trigger_stopping``
        until it falls to ``1e-6`` (scikit-learn applies this to SGD only).

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

    def __init__(
        self,
        params,
        *,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        lr_schedule="constant",
    ):
        super().__init__(params, learning_rate_init)
        if lr_schedule not in ("constant", "adaptive"):
            raise ValueError(
                f"Adam's lr_schedule must be 'constant' or 'adaptive', got "
                f"{lr_schedule!r}."
            )
        self.lr_schedule = lr_schedule
        self.base_learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in self.params]
        self.vs = [np.zeros_like(p) for p in self.params]

    def step(self, grads):
        """Apply one update to every parameter in place.

        Parameters
        ----------
        grads : sequence of ndarray
            Gradients aligned with ``params``.
        """
        grads = self._check_grads(grads)
        beta_1, beta_2 = self.beta_1, self.beta_2
        self.t += 1
        self.learning_rate = float(
            self.base_learning_rate * np.sqrt(1 - beta_2**self.t) / (1 - beta_1**self.t)
        )
        for param, m, v, grad in zip(self.params, self.ms, self.vs, grads, strict=True):
            m *= beta_1
            m += (1 - beta_1) * grad
            v *= beta_2
            v += (1 - beta_2) * grad**2
            denom = np.sqrt(v)
            denom += self.epsilon
            param -= self.learning_rate * m / denom

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
        if self.base_learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.base_learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.base_learning_rate:f}")
        return False
