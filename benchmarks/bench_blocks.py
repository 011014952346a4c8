"""Does the specialised fused block pay? Epoch time with and without it.

The Trainer compiles ``Linear -> [BN] -> [activation]`` into ``LinearBNAct``
and, for the first BN block with fewer inputs than units,
``CovarianceLinearBN``, which computes the batch statistics from the small
input covariance. This times training epochs of the estimators' network on
weather-like data with that block and with ``LinearBNAct`` in its place,
interleaved, on one BLAS thread, and prints the median seconds per epoch and
the speed-up. (Two other specialised blocks, a bias inside the product and
a fused input BN, were removed after this benchmark measured 0-2 % and 2-4 %
for them.)

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
from sknorm.nn._fused import LinearBNAct


def _general_linear_block(stage, grads, max_batch, blocks, update_stats):
    """The compiler's choice with CovarianceLinearBN removed."""
    return LinearBNAct(
        stage.linear,
        stage.bn,
        stage.activation,
        grads,
        max_batch,
        need_dx=not trainer_module._data_only(blocks),
        update_stats=update_stats,
    )


def _trainer(X, batch, general):
    """A fresh network and Trainer, compiled with or without the block."""
    net = build_mlp(
        X.shape[1],
        1,
        hidden_layer_sizes=(64, 64),
        dtype=X.dtype,
        rng=np.random.default_rng(0),
    )
    optimizer = Adam(net.parameters(), learning_rate_init=1e-3)
    saved = trainer_module._linear_block
    if general:
        trainer_module._linear_block = _general_linear_block
    try:
        return Trainer(net, "squared_error", batch + 1, optimizer=optimizer)
    finally:
        trainer_module._linear_block = saved


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
    print(f"{args.n_samples:,} rows, {X.shape[1]} features, hidden (64, 64) BN, Adam")
    header = ("dtype", "batch", "CovarianceLinearBN", "LinearBNAct", "speed-up")
    print("{:>7s} {:>5s} {:>18s} {:>11s} {:>8s}".format(*header))
    with threadpool_limits(limits=1, user_api="blas"):
        for dtype in (np.float32, np.float64):
            Xd, Yd = X.astype(dtype), Y.astype(dtype)
            for batch in (128, 200):
                rng = np.random.default_rng(0)
                trainers = [_trainer(Xd, batch, general) for general in (False, True)]
                times = [[], []]
                for _ in range(args.repeats):  # interleaved
                    for k, trainer in enumerate(trainers):
                        times[k].append(_epoch_seconds(trainer, Xd, Yd, batch, rng))
                fused, general = map(statistics.median, times)
                print(
                    f"{np.dtype(dtype).name:>7s} {batch:5d} {fused:16.4f} s "
                    f"{general:9.4f} s {general / fused:7.2f}x"
                )


if __name__ == "__main__":
    main()
