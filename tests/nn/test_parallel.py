"""Parallel: member networks trained on their own losses, folded into one MLP.

Its finite-difference gradient check is in test_network.py, with Sequential's.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknorm.nn._folding import fold_batchnorm, merge_members
from sknorm.nn._layers import Linear
from sknorm.nn._layout import build_mlp
from sknorm.nn._losses import LOSSES
from sknorm.nn._parallel import Parallel, split_merged
from sknorm.nn._population import population_statistics
from sknorm.nn._trainer import Trainer

PLACEMENTS = [("before", None), ("before", "after"), (None, "after", "before")]


def _pair(placements=("before", None), n_in=3, n_out=2, sizes=(5, 4), seed=0):
    rng = np.random.default_rng(seed)
    return Parallel(
        [
            build_mlp(n_in, n_out, hidden_layer_sizes=sizes, batch_norm=p, rng=rng)
            for p in placements
        ]
    )


def _linears(network):
    return [layer for layer in network.layers if isinstance(layer, Linear)]


def test_parallel_lists_every_member_layer_and_parameter():
    net = _pair()
    assert net.layers == [*net.members[0].layers, *net.members[1].layers]
    assert net.parameters() == [
        *net.members[0].parameters(),
        *net.members[1].parameters(),
    ]
    theta = net.flat_parameters()
    theta[:] = 0.0
    assert not np.any(net.members[1].layers[-1].params["weight"])


def test_parallel_forward_side_by_side_predict_average():
    net = _pair()
    x = np.random.default_rng(1).standard_normal((6, 3))
    out, _ = net.forward(x, training=False)
    a, b = (member.predict(x) for member in net.members)
    assert_allclose(out, np.hstack([a, b]))
    assert_allclose(net.predict(x), (a + b) / 2)


@pytest.mark.parametrize("placements", PLACEMENTS)
@pytest.mark.parametrize("loss", ["squared_error", "softmax_cross_entropy"])
@pytest.mark.parametrize("weighted", [False, True])
def test_trainer_trains_each_member_on_its_own_loss(placements, loss, weighted):
    """The Trainer's loss is the members' mean loss, its gradient theirs."""
    rng = np.random.default_rng(4)
    net = _pair(placements, n_out=3)
    x = rng.standard_normal((16, 3))
    Y = (
        np.eye(3)[rng.integers(0, 3, 16)]
        if "softmax" in loss
        else x @ rng.normal(size=(3, 3))
    )
    w = rng.uniform(0.5, 2.0, 16) if weighted else None
    trainer = Trainer(net.copy(), loss, 16)
    value = trainer.loss_and_grad(x, Y, w)
    out, caches = net.forward(x, training=True, sample_weight=w)
    runs = [LOSSES[loss](block, Y, w) for block in np.hsplit(out, len(placements))]
    d_out = np.hstack([d for _, d in runs]) / len(placements)
    expected = net.pack_grads(net.backward(d_out, caches))
    assert value == pytest.approx(np.mean([v for v, _ in runs]), rel=1e-12)
    assert_allclose(trainer.grad, expected, rtol=1e-10, atol=1e-12)
    assert len(trainer.chains) == len(placements)


@pytest.mark.parametrize("placements", PLACEMENTS)
def test_fold_parallel_predicts_the_members_average(placements):
    """Population statistics per member, folded into one block-diagonal MLP."""
    rng = np.random.default_rng(5)
    net = _pair(placements, sizes=(5, 4))
    x = rng.normal(2.0, 3.0, (40, 3))
    trainer = Trainer(net, "squared_error", 40, update_running_stats=False)
    trainer.loss_and_grad(x, rng.standard_normal((40, 2)))
    population_statistics(net, x)
    for member in net.members:
        alone = member.copy()
        population_statistics(alone, x)
        assert_allclose(alone.predict(x), member.predict(x))
    folded = fold_batchnorm(net)
    assert [lin.params["weight"].shape for lin in _linears(folded)] == [
        (3, 5 * len(placements)),
        (5 * len(placements), 4 * len(placements)),
        (4 * len(placements), 2),
    ]
    assert_allclose(folded.predict(x), net.predict(x), atol=1e-12)


def test_split_merged_undoes_merge():
    members = [
        build_mlp(3, 2, hidden_layer_sizes=(4, 5), batch_norm=None, rng=rng)
        for rng in (np.random.default_rng(6), np.random.default_rng(7))
    ]
    merged = _linears(merge_members(members))
    coefs = [lin.params["weight"] for lin in merged]
    intercepts = [lin.params["bias"] for lin in merged]
    for member, (m_coefs, m_intercepts) in zip(
        members, split_merged(coefs, intercepts, 2), strict=True
    ):
        for lin, w, b in zip(_linears(member), m_coefs, m_intercepts, strict=True):
            assert_allclose(w, lin.params["weight"])
            if lin is not _linears(member)[-1]:
                assert_allclose(b, lin.params["bias"])
    # The output bias goes to both members whole: their average is the merged one.
    assert_allclose(
        split_merged(coefs, intercepts, 2)[0][1][-1], intercepts[-1], atol=0
    )


def test_split_merged_refuses_weights_between_members():
    coefs = [np.ones((3, 4)), np.ones((4, 4)), np.ones((4, 1))]
    intercepts = [np.zeros(4), np.zeros(4), np.zeros(1)]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has non-zero weights between"):
        split_merged(coefs, intercepts, 2)
    with pytest.raises(ValueError, match="does not split into 3 equal members"):
        split_merged(coefs, intercepts, 3)


def test_parallel_and_merge_errors():
    one = build_mlp(3, 2, hidden_layer_sizes=(4,), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 2 members"):
        Parallel([one])
    other = build_mlp(3, 1, hidden_layer_sizes=(4,), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="one number of outputs"):
        Parallel([one, other])
    flat = [build_mlp(3, 1, hidden_layer_sizes=(), batch_norm=None) for _ in "ab"]
    with pytest.raises(ValueError, match="at least one hidden layer"):
        merge_members(flat)
