"""Does each specialised fused block pay? Epoch time with and without it.

The Trainer compiles ``Linear -> [BN] -> [activation]`` into
``LinearBNAct`` and, where they apply, three specialised blocks:
``CovarianceLinearBN`` (first BN block with few inputs), ``AugmentedLinear``
(bias inside the product, no BN) and ``InputStandardize`` (input BN). This
times training epochs of the estimators' networks on weather-like data with
each specialised block and with its general replacement (``LinearBNAct``, or
the BatchNorm1d layer for the input BN), interleaved, on one BLAS thread, and
prints the median seconds per epoch and the speed-up. A block is worth its
code if it saves more than 10 %.

    python benchmarks/bench_blocks.py
    python benchmarks/bench_blocks.py --n-samples 5000 --repeats 3
"""

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sknorm import Standardizer
from sknorm.datasets import make_weather
from sknorm.nn import Adam, Trainer, build_mlp
from sknorm.nn import _trainer as trainer_module
from sknorm.nn._fused import InputStandardize, LayerStep, LinearBNAct

CASES = {
    # name: (build_mlp settings, the specialised block it exercises)
    "BN before (CovarianceLinearBN)": ({"batch_norm": "before"}, "covariance"),
    "no BN (AugmentedLinear)": ({"batch_norm": None}, "augmented"),
    "input BN (InputStandardize)": (
        {"batch_norm": "before", "bn_input": True},
        "input",
    ),
}


def _general_linear_block(stage, grads, aug_views, max_batch, blocks, update_stats):
    """The compiler's choice with CovarianceLinearBN and AugmentedLinear removed."""
    first = all(isinstance(block, InputStandardize) for block in blocks)
    return LinearBNAct(
        stage.linear,
        stage.bn,
        stage.activation,
        grads,
        max_batch,
        need_dx=not first,
        update_stats=update_stats,
    )


class _GeneralInput(LayerStep):
    """The BatchNorm1d layer itself in place of the InputStandardize block."""

    def __init__(self, bn, max_batch, dtype, *, update_stats):
        super().__init__(bn, {}, update_stats=update_stats)

    def backward(self, dout, batch):
        """Return None: the data needs no gradient (as InputStandardize)."""
        return None


def _trainer(settings, X, batch, general, kind):
    """A fresh network and Trainer, compiled with or without the block."""
    net = build_mlp(
        X.shape[1],
        1,
        hidden_layer_sizes=(64, 64),
        dtype=X.dtype,
        rng=np.random.default_rng(0),
        **settings,
    )
    optimizer = Adam(net.parameters(), learning_rate_init=1e-3)
    saved = trainer_module._linear_block, trainer_module.InputStandardize
    if general and kind in ("covariance", "augmented"):
        trainer_module._linear_block = _general_linear_block
    if general and kind == "input":
        trainer_module.InputStandardize = _GeneralInput
    try:
        return Trainer(net, "squared_error", batch + 1, optimizer=optimizer)
    finally:
        trainer_module._linear_block, trainer_module.InputStandardize = saved


def _epoch_seconds(trainer, X, Y, batch, rng):
    order = rng.permutation(X.shape[0])
    start = time.perf_counter()
    for begin in range(0, X.shape[0] - 1, batch):
        rows = order[begin : begin + batch]
        trainer.step(*trainer.gather(X, Y, rows))
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    X, y = make_weather(args.n_samples, random_state=0)
    X = Standardizer().fit_transform(X)
    Y = ((y - y.mean()) / y.std()).reshape(-1, 1)
    print(f"{args.n_samples:,} rows, {X.shape[1]} features, hidden (64, 64), Adam")
    header = ("case", "dtype", "batch", "block s/epoch", "general", "speed-up")
    print("{:32s} {:>7s} {:>5s} {:>13s} {:>8s} {:>8s}".format(*header))
    with threadpool_limits(limits=1, user_api="blas"):
        for name, (settings, kind) in CASES.items():
            for dtype in (np.float32, np.float64):
                Xd, Yd = X.astype(dtype), Y.astype(dtype)
                for batch in (128, 200):
                    rng = np.random.default_rng(0)
                    trainers = [
                        _trainer(settings, Xd, batch, general, kind)
                        for general in (False, True)
                    ]
                    times = [[], []]
                    for _ in range(args.repeats):  # interleaved
                        for k, trainer in enumerate(trainers):
                            times[k].append(_epoch_seconds(trainer, Xd, Yd, batch, rng))
                    fused, general = map(statistics.median, times)
                    print(
                        f"{name:32s} {np.dtype(dtype).name:>7s} {batch:5d} "
                        f"{fused:13.4f} {general:8.4f} {general / fused:7.2f}x"
                    )


if __name__ == "__main__":
    main()
