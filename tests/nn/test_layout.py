"""build_mlp and split_stages: the layout made once and read back."""

import numpy as np
import pytest

from sknorm.nn import BatchNorm1d, Dropout, Linear, ReLU, Tanh, build_mlp
from sknorm.nn._layout import split_stages


def _names(layers):
    return [type(layer).__name__ for layer in layers]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"batch_norm": "before"},
            [
                "Linear",
                "BatchNorm1d",
                "ReLU",
                "Linear",
                "BatchNorm1d",
                "ReLU",
                "Linear",
            ],
        ),
        (
            {"batch_norm": "after", "activation": "tanh"},
            [
                "Linear",
                "Tanh",
                "BatchNorm1d",
                "Linear",
                "Tanh",
                "BatchNorm1d",
                "Linear",
            ],
        ),
        ({"batch_norm": None}, ["Linear", "ReLU", "Linear", "ReLU", "Linear"]),
        (
            {"batch_norm": "before", "bn_input": True, "dropout": 0.1},
            ["BatchNorm1d", "Linear", "BatchNorm1d", "ReLU", "Dropout"] * 1
            + ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"],
        ),
    ],
)
def test_build_mlp_layouts(settings, expected):
    """Check the layer chain for each placement, input BN and dropout."""
    net = build_mlp(
        3, 2, hidden_layer_sizes=(4, 5), rng=np.random.default_rng(0), **settings
    )
    assert _names(net.layers) == expected
    linears = [layer for layer in net.layers if isinstance(layer, Linear)]
    assert [(lin.n_in, lin.n_out) for lin in linears] == [(3, 4), (4, 5), (5, 2)]
    # A Linear followed by BN has no bias: beta replaces it.
    has_bias = ["bias" in lin.params for lin in linears]
    assert has_bias == (
        [False, False, True] if settings["batch_norm"] == "before" else [True] * 3
    )


def test_build_mlp_same_rng_same_weights():
    """Check that the weights depend only on the generator's state."""
    first = build_mlp(3, 1, hidden_layer_sizes=(4,), rng=np.random.default_rng(5))
    second = build_mlp(3, 1, hidden_layer_sizes=(4,), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first.get_flat_params(), second.get_flat_params())


def test_split_stages_groups_every_layer_once():
    """Check the stages of a chain with an input BN, BN after, and Dropout."""
    rng = np.random.default_rng(0)
    layers = [
        BatchNorm1d(3, affine=False),
        Linear(3, 4, rng=rng),
        Tanh(),
        BatchNorm1d(4),
        Dropout(0.2),
        Linear(4, 4, bias=False, rng=rng),
        BatchNorm1d(4),
        ReLU(),
        Linear(4, 1, rng=rng),
    ]
    stages = split_stages(layers)
    assert [stage.linear for stage in stages] == [None, layers[1], layers[5], layers[8]]
    assert stages[0].rest == [layers[0]]
    assert stages[1].bn is None
    assert stages[1].activation is layers[2]
    assert stages[1].rest == [layers[3], layers[4]]
    assert stages[2].bn is layers[6]
    assert stages[2].activation is layers[7]
    assert stages[3].bn is None
    assert stages[3].activation is None
    regrouped = [
        layer
        for stage in stages
        for layer in (stage.linear, stage.bn, stage.activation, *stage.rest)
        if layer is not None
    ]
    assert regrouped == layers
