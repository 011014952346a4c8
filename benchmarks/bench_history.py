"""Cost of recording ``history_`` (per-epoch loss and layer statistics).

Fits the default ``MLPRegressor`` for a fixed number of epochs on standardized
Greensboro GHI data (task T1, 4,751 rows) and on generated data of 100,000
rows, timing the per-epoch recorder inside each fit. Timing it in the same
fit, rather than comparing separate fits with and without it, keeps the ratio
meaningful on a busy machine, where two fits' times vary by tens of percent.
The table prints median seconds per epoch for training alone and for the
recording, and their ratio.

    python benchmarks/bench_history.py
    python benchmarks/bench_history.py --epochs 5 --repeats 3
"""

import argparse
import statistics
import time
import warnings
from unittest import mock

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknorm import MLPRegressor, Standardizer, _history
from sknorm.datasets import load_greensboro_ghi


def _datasets():
    X, y = load_greensboro_ghi()
    rng = np.random.default_rng(0)
    X_big = rng.standard_normal((100_000, 13))
    y_big = np.sin(X_big[:, 0]) + X_big[:, 1] * X_big[:, 2]
    return {
        "T1 GHI (4,751 rows)": (Standardizer().fit_transform(X), y),
        "generated (100,000 rows)": (X_big, y_big),
    }


def _timed_fit(X, y, epochs):
    """Return ``(seconds training, seconds recording)`` per epoch of one fit."""
    record = _history.HistoryRecorder.record
    spent = []

    def timed_record(self, *args, **kwargs):
        start = time.perf_counter()
        record(self, *args, **kwargs)
        spent.append(time.perf_counter() - start)

    # Every epoch on every row, as when the figure was measured (no "auto"
    # validation split or dropout).
    model = MLPRegressor(
        random_state=0,
        max_iter=epochs,
        tol=0.0,
        hidden_layer_sizes=(100, 100),
        batch_norm="before",  # one network, as when the figure was measured
        batch_size=128,  # the default then
        early_stopping=False,
        dropout=0.0,
    )
    with mock.patch.object(_history.HistoryRecorder, "record", timed_record):
        start = time.perf_counter()
        model.fit(X, y)
    total = time.perf_counter() - start
    return (total - sum(spent)) / model.n_iter_, sum(spent) / model.n_iter_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print("| data | s/epoch training | s/epoch recording history_ | overhead |")
    print("| --- | ---: | ---: | ---: |")
    for name, (X, y) in _datasets().items():
        times = [_timed_fit(X, y, args.epochs) for _ in range(args.repeats)]
        train = statistics.median(t for t, _ in times)
        record = statistics.median(r for _, r in times)
        print(f"| {name} | {train:.5f} | {record:.6f} | {record / train:.2%} |")


if __name__ == "__main__":
    main()
