"""Parameter documentation shared by MLPRegressor and MLPClassifier.

Both estimators take the same 30-odd hyper-parameters; writing their numpydoc
entries once keeps the two docstrings from drifting apart. ``fill_doc``
substitutes ``%(name)s`` placeholders in a class docstring.
"""

_MLP_PARAMETERS = """\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(64, 64)
        The ith element is the number of neurons in the ith hidden layer.
        scikit-learn's default is ``(100,)``. With early stopping and dropout,
        two layers of 64 scored higher than (100, 100), (128, 128),
        (256, 256) and (64, 64, 64) on the quality suite, and fit fastest
        (user guide, "Choosing and tuning").

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'}, \
default='relu'
        Activation of the hidden layers. ``'leaky_relu'`` (slope 0.01 for
        negative inputs) is an addition to scikit-learn's list.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimizer. ``'lbfgs'`` trains on the full batch, so batch
        normalization then uses the statistics of the whole training set.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the linear weights, divided by the sum of
        sample weights of each batch (scikit-learn's convention).

    batch_size : int or 'auto', default='auto'
        Mini-batch size for 'sgd' and 'adam'; ``'auto'`` is
        ``min(200, n_samples)`` (scikit-learn's default). A size above
        ``n_samples`` is clipped to one full batch, silently. A trailing batch of
        a single row is merged into the previous one. With the default
        average of three networks, 200 scored as high as 128 on the quality
        suite at less time, which paid for the third member (user guide,
        "Choosing and tuning").

    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine'}, \
default='adaptive'
        Learning-rate schedule. ``'adaptive'`` divides the step size by 5 each
        time the loss (or validation score) stalls for ``n_iter_no_change``
        epochs, until it falls to 1e-6, for 'sgd' *and* 'adam' (scikit-learn
        applies it to 'sgd' only, and defaults to 'constant').
        ``'cosine'`` (an addition) decays the rate from ``learning_rate_init``
        along half a cosine over ``max_iter`` epochs. ``'invscaling'``
        applies to 'sgd' only.

    learning_rate_init : float, default=0.02
        Initial learning rate ('sgd', 'adam'); scikit-learn's default is 0.001.
        Batch normalization tolerates the larger rate, and the 'adaptive'
        schedule lowers it when the loss stalls.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs ('sgd', 'adam') or L-BFGS iterations.

    shuffle : bool, default=True
        Shuffle rows every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation
        split. A fresh generator is derived on every ``fit``, so two fits with
        the same integer seed are bitwise identical.

    tol : float, default=1e-4
        Improvement threshold of the stopping rule. With the regressor's
        default ``standardize_target=True`` the loss is in standardized units,
        so ``tol`` does not depend on the target's units.

    verbose : bool, default=False
        Print the loss (and validation score) after every epoch.

    warm_start : bool, default=False
        Continue from the previous fit's weights and batch-norm state.

    momentum : float, default=0.9
        Momentum of 'sgd'.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with 'sgd'.

    early_stopping : bool or 'auto', default='auto'
        Hold out ``validation_fraction`` of the rows (stratified for
        classifiers, the last rows with ``validation_split='last'``) and stop
        when the validation score stops improving; the best epoch's weights
        *and* batch-norm statistics are restored. ``'auto'`` (sknorm's
        default; scikit-learn's is False) does so when ``fit`` gets at least
        750 rows of non-zero weight, and never in ``partial_fit``, whose
        chunks cannot spare a validation set; ``partial_fit`` raises a
        ValueError with ``True`` (as in scikit-learn). ``'auto'`` also
        trains on every row where ``True`` would raise: when the rows of
        non-zero weight cannot spare ``validation_fraction`` of the rows, or
        (classifiers) a class has a single such row, which a stratified split
        cannot keep on both sides. On the quality suite
        it was the largest single gain over training on every row for
        ``max_iter`` epochs, and it cuts the fit time.

    validation_fraction : float, default=0.1
        Share of rows held out for early stopping.

    beta_1 : float, default=0.9
        Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, np.inf or 'auto', default='auto'
        Epochs without ``tol`` improvement before stopping (and before the
        'adaptive' rate drops). ``'auto'`` is scikit-learn's 10 for one
        network and 5 for each member of an average of networks (see
        ``batch_norm``), so that the members cost little more than one
        network.

    max_fun : int, default=15000
        Maximum loss evaluations of 'lbfgs'.

    batch_norm : {'before', 'after', 'auto'}, None or tuple, default='auto'
        Where each hidden layer's batch normalization goes: ``'before'`` the
        activation (the paper's placement; the hidden Linear then has no bias,
        since BN's beta replaces it), ``'after'`` it, or None for a plain MLP.
        A tuple of these, such as ``('before', None)``, trains one member
        network per placement and predicts their average (for classifiers,
        of their output-layer logits): a fresh ``fit`` trains the members one
        after the other, each as a single network of its placement would be
        (its own draws, validation split, schedule and best epoch); warm
        starts and ``partial_fit`` continue them together. The average folds
        into one plain MLP whose hidden layers are the members' side by side:
        ``coefs_`` are as wide as all members together.
        ``'auto'`` is ``('before', None, 'after')`` when a ``fit`` of at least 30 rows
        (of non-zero weight) builds the network, with 'adam' or 'sgd' and at
        least one hidden layer (and not from assigned ``coefs_``); None for a
        ``fit`` of fewer than 30 rows: the batch is then the whole tiny set,
        and normalized units let the network fit its noise in a few steps
        (``weight_decay='auto'`` decays the weights there instead); else
        ``'before'`` (``partial_fit`` always builds ``'before'``).

    bn_affine : bool, default=True
        Learn a per-unit scale (gamma) and shift (beta) after normalizing.

    bn_momentum : float, default=0.1
        Weight of the newest batch in the running statistics, PyTorch's
        convention ``running = (1 - m) * running + m * batch``. Keras's
        ``momentum`` weights the old value instead: Keras 0.9 equals 0.1 here.

    bn_epsilon : float, default=1e-5
        Added to the variance before taking its square root.

    bn_stats : {'population', 'running'}, default='population'
        Statistics used at inference. ``'population'`` recomputes each BN
        layer's mean and (biased) variance over the whole training set with the
        final weights, bottom to top ("precise BN"); ``'running'`` keeps the
        running averages of training. ``partial_fit`` always keeps the running
        averages; call :meth:`recompute_bn_statistics` afterwards.

    dropout : float or 'auto', default='auto'
        Inverted-dropout rate after each hidden layer, active only in training
        (scikit-learn's MLP has none). ``'auto'`` depends on the fit that
        builds the network (the first ``fit`` or ``partial_fit``) and its
        rows of non-zero weight (rows of zero weight count as left out): 0.3
        for a ``fit`` of 30-749 rows without a validation split (the
        defaults there), else 0.1 from 30 rows (with early stopping, which
        ``'auto'`` turns on from 750 rows, and in ``partial_fit``, whose
        running statistics average batches that dropout perturbs); 0 with
        ``solver='lbfgs'`` (its line search needs the same objective at every
        evaluation) or below 30 rows: tiny fits then stay deterministic
        functions of the rows, with integer sample weights equivalent to
        repeated rows (dropout draws one mask per row). On the quality suite
        0.1 regularized the early-stopped fits best among 0, 0.05, 0.1, 0.15
        and 0.2; the fits of 30-749 rows, which train every
        epoch without a validation split, scored highest with 0.3 among 0.1,
        0.2, 0.3 and 0.4.

    weight_decay : float or 'auto', default='auto'
        Decoupled weight decay ('sgd', 'adam'; AdamW's, Loshchilov & Hutter
        2019): after every step the linear weights shrink by the factor
        ``1 - learning_rate * weight_decay``, with the epoch's scheduled rate.
        Unlike ``alpha`` it is not part of the gradient, so Adam's
        per-parameter step sizes do not undo it. Biases and batch-norm
        parameters do not decay. 'auto' is 4.0 for a ``fit`` on fewer than
        30 rows (of non-zero weight), where ``dropout='auto'`` does not drop,
        and 0 otherwise (``partial_fit`` included); it is resolved on every
        fit. ``0.0`` is scikit-learn's MLP.

    weight_init : {'glorot', 'he'}, default='glorot'
        Uniform initialization: scikit-learn's Glorot bound
        ``sqrt(6 / (fan_in + fan_out))`` (factor 2 for logistic), or He's
        ``sqrt(6 / fan_in)`` for ReLU-family activations.

    validation_split : {'random', 'last'}, default='random'
        How early stopping holds out rows: a shuffled split (stratified for
        single-output classification) or the *last* ``validation_fraction`` of
        rows, for time-ordered data where a shuffled split leaks the future.

    bn_input : bool, default=False
        With ``batch_norm`` set, also batch-normalize the raw input features
        (no gamma/beta) before the first Linear. It lets the network train on
        unstandardized X whose columns differ by orders of magnitude; at
        inference its frozen statistics fold into the first layer's weights."""

_MLP_ATTRIBUTES = """\
loss_ : float
        Loss (including the L2 penalty) after the last epoch or iteration.

    best_loss_ : float or None
        Lowest training loss seen; None with early stopping or 'lbfgs'.

    loss_curve_ : list of float
        Training loss per epoch ('sgd', 'adam' only).

    history_ : list of dict
        One entry per epoch ('sgd', 'adam'; an empty list with 'lbfgs'),
        appended to by ``warm_start`` and ``partial_fit``: ``"epoch"`` (counted
        over the whole history), ``"train_loss"`` (as in ``loss_curve_``),
        ``"valid_score"`` (None without early stopping), ``"learning_rate"``
        (used in that epoch), ``"elapsed_seconds"`` (cumulative wall time) and
        ``"layers"``: per hidden layer, statistics of the activation's input
        (the BN output with ``batch_norm="before"``, else the Linear output)
        on at most 128 training rows drawn once per call (BN normalizes them
        with their own batch statistics, as in training; nothing is written):
        ``"percentiles"``, an array of shape (3, n_units) of each unit's
        15th/50th/85th percentiles, and floats ``"mean"`` and ``"std"``, the
        average over units of each unit's mean and standard deviation.

    validation_scores_ : list of float or None
        Validation score per epoch with early stopping, else None.

    best_validation_score_ : float or None
        Best validation score with early stopping, else None.

    t_ : int
        Number of training rows seen by the solver.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weights of the equivalent plain MLP: batch normalization (and the
        regressor's target scaling) folded in. ``coefs_[i] @`` maps layer i to
        layer i + 1, exactly as in scikit-learn. Assigned weights (new arrays
        or in-place edits) are what ``partial_fit`` and warm starts continue
        from; with batch normalization its layers then restart as the
        identity (user guide, "Fits and warm starts").

    intercepts_ : list of ndarray of shape (n_fan_out,)
        Biases of the equivalent plain MLP (assignable like ``coefs_``).

    network_ : sknorm.nn.Sequential or sknorm.nn.Parallel
        The trained, unfolded network (Linear, BatchNorm1d, activation and
        Dropout layers; a ``Parallel`` of member networks for an average);
        the source of truth for ``warm_start`` and ``partial_fit``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        Epochs run ('sgd', 'adam') or L-BFGS iterations. A fit of an average
        of networks adds its members' up; its ``loss_curve_``,
        ``validation_scores_`` and ``history_`` list the first member's
        epochs, then the next member's (``history_`` entries name it in
        ``"member"``), and ``loss_``, ``best_loss_`` and
        ``best_validation_score_`` are the members' averages.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs."""


_MLP_CALLBACKS = """\
Callbacks (scikit-learn >= 1.9, ``set_callbacks``): each fit is a task
    whose subtasks are the epochs ('sgd', 'adam') or the L-BFGS iterations
    (of each member in turn, for a fit of an average of networks);
    ``ProgressBar`` follows them, ``ScoringMonitor`` scores the model after
    each one, and a callback returning True from ``on_fit_task_end`` stops
    training as convergence does. Callbacks set on a Pipeline or a search
    reach these fits. With older scikit-learn, ``set_callbacks`` raises a
    RuntimeError."""


def fill_doc(cls):
    """Substitute the shared parameter and attribute blocks into ``cls.__doc__``.

    Parameters
    ----------
    cls : type
        A class whose docstring holds ``%(mlp_parameters)s``,
        ``%(mlp_attributes)s`` and ``%(mlp_callbacks)s``.

    Returns
    -------
    type
        The same class, with its docstring filled in.
    """
    cls.__doc__ = cls.__doc__ % {
        "mlp_parameters": _MLP_PARAMETERS,
        "mlp_attributes": _MLP_ATTRIBUTES,
        "mlp_callbacks": _MLP_CALLBACKS,
    }
    return cls
