import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from sknorm.nn._optimizers import SGD, Adam

SHAPES = [(3, 2), (2,), (2, 1), (1,)]


def make_params(seed=0, dtype=np.float64):
    """Draw a list of parameter arrays shaped like a small MLP."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for shape in SHAPES]


def make_grads(seed, dtype=np.float64):
    """Draw one gradient per parameter."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for shape in SHAPES]


@pytest.mark.parametrize(
    ("momentum", "nesterov"), [(0.9, True), (0.9, False), (0.0, True), (0.0, False)]
)
def test_sgd_step_matches_closed_form(momentum, nesterov):
    """Check that two SGD steps equal the closed form and update in place."""
    lr = 0.05
    params = make_params()
    initial = [p.copy() for p in params]
    opt = SGD(params, learning_rate_init=lr, momentum=momentum, nesterov=nesterov)
    g1, g2 = make_grads(1), make_grads(2)
    opt.step(g1)
    opt.step(g2)
    for p, p_opt, p0, a, b in zip(params, opt.params, initial, g1, g2, strict=True):
        v1 = -lr * a
        v2 = momentum * v1 - lr * b
        if nesterov:
            expected = p0 + (momentum * v1 - lr * a) + (momentum * v2 - lr * b)
        else:
            expected = p0 + v1 + v2
        assert p_opt is p
        assert_allclose(p, expected, rtol=1e-12, atol=1e-15)
    for v, a, b in zip(opt.velocities, g1, g2, strict=True):
        assert_allclose(v, momentum * (-lr * a) - lr * b, rtol=1e-12, atol=1e-15)


def test_adam_steps_match_closed_form():
    """Check that the first two Adam steps equal the closed form, in place."""
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-8
    params = make_params()
    initial = [p.copy() for p in params]
    opt = Adam(params, learning_rate_init=lr, beta_1=b1, beta_2=b2, epsilon=eps)
    g1, g2 = make_grads(1), make_grads(2)

    opt.step(g1)
    lr_1 = lr * np.sqrt(1 - b2) / (1 - b1)
    after_1 = []
    for p, p0, a in zip(params, initial, g1, strict=True):
        m1, v1 = (1 - b1) * a, (1 - b2) * a**2
        after_1.append(p0 - lr_1 * m1 / (np.sqrt(v1) + eps))
        assert_allclose(p, after_1[-1], rtol=1e-12, atol=1e-15)
    assert opt.t == 1
    assert opt.learning_rate == pytest.approx(lr_1, rel=1e-14)

    opt.step(g2)
    lr_2 = lr * np.sqrt(1 - b2**2) / (1 - b1**2)
    for p, p_opt, p1, a, b in zip(params, opt.params, after_1, g1, g2, strict=True):
        m2 = b1 * (1 - b1) * a + (1 - b1) * b
        v2 = b2 * (1 - b2) * a**2 + (1 - b2) * b**2
        assert p_opt is p
        assert_allclose(p, p1 - lr_2 * m2 / (np.sqrt(v2) + eps), rtol=1e-12)
    assert opt.t == 2
    assert opt.learning_rate == pytest.approx(lr_2, rel=1e-14)


def test_adam_learning_rate_starts_at_init():
    """Check that Adam's learning_rate is learning_rate_init before any step."""
    opt = Adam(make_params(), learning_rate_init=0.003)
    assert opt.learning_rate == 0.003
    assert opt.t == 0
    opt.iteration_ends(100)  # a no-op for Adam
    assert opt.learning_rate == 0.003


@pytest.mark.parametrize(
    ("lr_schedule", "expected"),
    [("constant", 0.1), ("adaptive", 0.1), ("invscaling", 0.1 / 10**0.25)],
)
def test_sgd_iteration_ends_schedules(lr_schedule, expected):
    """Check that only invscaling changes the rate at the end of an epoch."""
    opt = SGD(make_params(), lr_schedule=lr_schedule, power_t=0.25)
    opt.iteration_ends(9)
    assert opt.learning_rate == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_cosine_schedule_decays_over_n_epochs(optimizer):
    """Check the half-cosine rate after each epoch, and that it stays put after."""
    opt = optimizer(
        make_params(), learning_rate_init=0.1, lr_schedule="cosine", n_epochs=4
    )
    rates = [opt.epoch_learning_rate]
    for epoch in range(5):
        opt.iteration_ends(epoch)
        rates.append(opt.epoch_learning_rate)
    expected = [0.1 * (1 + np.cos(np.pi * min(e, 4) / 4)) / 2 for e in range(6)]
    assert_allclose(rates, expected, rtol=1e-14, atol=1e-17)


def test_sgd_trigger_stopping_adaptive(capsys):
    """Check that adaptive SGD divides the rate by 5 until it is <= 1e-6."""
    opt = SGD(make_params(), learning_rate_init=0.1, lr_schedule="adaptive")
    rates = []
    while not opt.trigger_stopping("Stalled.", verbose=True):
        rates.append(opt.learning_rate)
    # 0.1 / 5**8 = 2.56e-7 is the first rate <= 1e-6.
    assert_allclose(rates, 0.1 / 5.0 ** np.arange(1, 9), rtol=1e-14)
    assert opt.learning_rate == pytest.approx(0.1 / 5**8, rel=1e-14)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Stalled. Setting learning rate to 0.020000"
    assert out[-1] == "Stalled. Learning rate too small. Stopping."
    assert len(out) == 9


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: SGD(p, lr_schedule="constant"),
        lambda p: SGD(p, lr_schedule="invscaling"),
        lambda p: Adam(p),
    ],
)
def test_optimizers_trigger_stopping_non_adaptive(make_opt, capsys):
    """Check that non-adaptive optimizers stop at once and keep their rate."""
    opt = make_opt(make_params())
    rate = opt.learning_rate
    assert opt.trigger_stopping() is True
    assert opt.trigger_stopping("msg", verbose=True) is True
    assert opt.learning_rate == rate
    assert capsys.readouterr().out == "msg Stopping.\n"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"momentum": 0.9, "nesterov": True, "lr_schedule": "invscaling"},
        {"momentum": 0.5, "nesterov": False, "lr_schedule": "adaptive"},
        {"momentum": 0.0, "nesterov": True, "lr_schedule": "constant"},
    ],
)
def test_sgd_matches_sklearn(kwargs):
    """Check that SGD follows sklearn's SGDOptimizer over several steps."""
    ours, theirs = make_params(), make_params()
    opt = SGD(ours, learning_rate_init=0.05, **kwargs)
    ref = SGDOptimizer(theirs, learning_rate_init=0.05, **kwargs)
    for step in range(6):
        grads = make_grads(10 + step)
        opt.step(grads)
        ref.update_params(theirs, grads)
        opt.iteration_ends(step * 32)
        ref.iteration_ends(step * 32)
        if step == 2:
            assert opt.trigger_stopping("", False) == ref.trigger_stopping("", False)
        for p, q in zip(ours, theirs, strict=True):
            assert_allclose(p, q, rtol=1e-13, atol=1e-15)
        assert opt.learning_rate == pytest.approx(ref.learning_rate, rel=1e-15)
    for v, w in zip(opt.velocities, ref.velocities, strict=True):
        assert_allclose(v, w, rtol=1e-13, atol=1e-15)


def test_adam_matches_sklearn():
    """Check that Adam follows sklearn's AdamOptimizer over several steps."""
    ours, theirs = make_params(), make_params()
    kwargs = {"learning_rate_init": 0.01, "beta_1": 0.85, "beta_2": 0.995}
    opt = Adam(ours, **kwargs, epsilon=1e-7)
    ref = AdamOptimizer(theirs, **kwargs, epsilon=1e-7)
    for step in range(6):
        grads = make_grads(20 + step)
        opt.step(grads)
        ref.update_params(theirs, grads)
        for p, q in zip(ours, theirs, strict=True):
            assert_allclose(p, q, rtol=1e-13, atol=1e-15)
        assert opt.learning_rate == pytest.approx(ref.learning_rate, rel=1e-15)
    assert opt.t == ref.t
    for m, m_ref, v, v_ref in zip(opt.ms, ref.ms, opt.vs, ref.vs, strict=True):
        assert_allclose(m, m_ref, rtol=1e-13, atol=1e-15)
        assert_allclose(v, v_ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_optimizers_preserve_float32(optimizer, grad_dtype):
    """Check that float32 params keep float32 state and stay float32."""
    params = make_params(dtype=np.float32)
    ids = [id(p) for p in params]
    opt = optimizer(params)
    for step in range(3):
        opt.step(make_grads(30 + step, dtype=grad_dtype))
    states = opt.velocities if optimizer is SGD else opt.ms + opt.vs
    assert all(s.dtype == np.float32 for s in states)
    assert all(p.dtype == np.float32 for p in params)
    assert [id(p) for p in opt.params] == ids

    # The float32 trajectory stays close to the float64 one.
    params64 = make_params()
    opt64 = optimizer(params64)
    for step in range(3):
        opt64.step(make_grads(30 + step, dtype=grad_dtype))
    for p32, p64 in zip(params, params64, strict=True):
        assert_allclose(p32, p64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("n_grads", [len(SHAPES) - 1, len(SHAPES) + 1])
def test_optimizers_mismatched_grads_raise(optimizer, n_grads):
    """Check that a wrong number of gradients raises and changes nothing."""
    params = make_params()
    initial = [p.copy() for p in params]
    opt = optimizer(params)
    grads = (make_grads(1) + make_grads(2))[:n_grads]
    with pytest.raises(ValueError, match="gradients for"):
        opt.step(grads)
    for p, p0 in zip(params, initial, strict=True):
        assert_array_equal(p, p0)


def test_sgd_unknown_lr_schedule_raises():
    """Check that an unknown lr_schedule is rejected instead of ignored."""
    with pytest.raises(ValueError, match="lr_schedule"):
        SGD(make_params(), lr_schedule="cosine_annealing")


def _flat_params(dtype=np.float64):
    """Parameters as consecutive views of one vector (as flat_parameters gives)."""
    params = make_params(dtype=dtype)
    theta = np.concatenate([p.ravel() for p in params])
    views, start = [], 0
    for p in params:
        views.append(theta[start : start + p.size].reshape(p.shape))
        start += p.size
    return theta, views


@pytest.mark.parametrize(
    "make_opt", [lambda p: SGD(p, momentum=0.9), lambda p: Adam(p)], ids=["sgd", "adam"]
)
def test_optimizers_flat_gradient_equals_list(make_opt):
    """Check that a flat gradient vector and a list give bitwise-equal updates."""
    theta, views = _flat_params()
    listed = make_params()
    opt_flat, opt_list = make_opt(views), make_opt(listed)
    for step in range(4):
        grads = make_grads(40 + step)
        opt_flat.step(np.concatenate([g.ravel() for g in grads]))
        opt_list.step(grads)
    for view, param in zip(views, listed, strict=True):
        assert np.shares_memory(view, theta)
        assert_array_equal(view, param)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_optimizers_flat_gradient_of_wrong_size_raises(optimizer):
    """Check that a flat gradient of the wrong size is rejected."""
    opt = optimizer(make_params())
    with pytest.raises(ValueError, match="gradient vector of size"):
        opt.step(np.zeros(3))


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_optimizers_pickle_keeps_state(optimizer):
    """Check that a pickled optimizer continues exactly, with its state views."""
    import pickle

    _, views = _flat_params()
    opt = optimizer(views)
    opt.step(make_grads(50))
    clone = pickle.loads(pickle.dumps(opt))
    for _ in range(2):
        for o in (opt, clone):
            o.step(make_grads(51))
    for a, b in zip(opt.params, clone.params, strict=True):
        assert_array_equal(a, b)
    states = clone.velocities if optimizer is SGD else clone.ms + clone.vs
    flat = clone._state
    assert all(np.shares_memory(s, flat) for s in states)


def test_optimizers_rebind_keeps_state():
    """Check that rebind moves the updates to new arrays and keeps the moments."""
    params = make_params()
    opt, twin = Adam(params), Adam(make_params())
    opt.step(make_grads(60))
    twin.step(make_grads(60))
    # As after unpickling: new arrays holding the same values.
    others = [p.copy() for p in params]
    opt.rebind(others)
    opt.step(make_grads(61))
    twin.step(make_grads(61))
    for a, b in zip(others, twin.params, strict=True):
        assert_array_equal(a, b)
    with pytest.raises(ValueError, match="same shapes"):
        opt.rebind(others[:-1])
