"""The defaults, one change at a time, on a half of the quality suite.

From sknorm's previous defaults to the current ones, each row adds one
change and runs ``Standardizer`` + ``MLPRegressor``/``MLPClassifier`` with
those settings on every dataset of the chosen half of the quality suite
(``quality_datasets.py``, splits as in ``bench_quality.py``), over several
seeds. Each row reports the mean score over datasets, the mean and the worst
difference to scikit-learn's MLP (fitted fresh, same splits and seeds),
wins/ties/losses against scikit-learn's MLP, HistGradientBoosting and
RealMLP-TD (stored anchors), and the median fit-time ratio to scikit-learn's
MLP. Half A chose the defaults; half B reports them unchanged.

    python benchmarks/bench_defaults.py --half A
    python benchmarks/bench_defaults.py --half B --seeds 0 1 2
    python benchmarks/bench_defaults.py --half A --max-train 750

The 'auto' thresholds are constants, not parameters (``sknorm._validation``:
early stopping from 750 rows, dropout from 30, at 0.3 below 750 rows without
a validation split and 0.1 otherwise): every dataset of the suite
but concrete_strength (746 rows) is above both, so they show with
``--max-train`` (fits on a fixed draw of that many training rows), where the
``early_stopping='auto'`` row holds out rows from 750 on.
"""

import argparse
import pathlib
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import bench_quality as bq
import quality_datasets as qd

#: sknorm's defaults before this benchmark existed, as parameters of today's.
PREVIOUS = {
    "batch_norm": "before",
    "batch_size": 128,
    "early_stopping": False,
    "dropout": 0.0,
    "hidden_layer_sizes": (100, 100),
    "label_smoothing": 0.0,  # MLPClassifier only (bench_quality.task_params)
    "clip_predictions": None,  # MLPRegressor only
}
#: One change per row, each on top of the rows above it.
CHAIN = [
    ("previous defaults", {}),
    ("+ early_stopping='auto'", {"early_stopping": "auto"}),
    ("+ dropout='auto'", {"dropout": "auto"}),
    ("+ hidden_layer_sizes=(64, 64)", {"hidden_layer_sizes": (64, 64)}),
    ("+ label_smoothing='auto' (clf)", {"label_smoothing": "auto"}),
    ("+ clip_predictions=0.1 (reg)", {"clip_predictions": 0.1}),
    ("+ batch_norm=('before', None) (average)", {"batch_norm": ("before", None)}),
    ("+ batch_size='auto'", {"batch_size": "auto"}),
    ("+ batch_norm='auto' (three; defaults)", {"batch_norm": "auto"}),
]


def _row(results):
    """Summary numbers of one setting's results over the datasets."""
    scores = [e["mean"]["sknorm"]["score"] for e in results.values()]
    diff_sk = [
        e["mean"]["sknorm"]["score"] - e["mean"]["sk_mlp"]["score"]
        for e in results.values()
    ]
    row = {"mean": np.mean(scores), "d_sk": np.mean(diff_sk), "worst": min(diff_sk)}
    for anchor in ("sk_mlp", "hgb", "realmlp"):
        s = bq.summarize(results, anchor)
        row[anchor] = "-" if s is None else f"{s['wins']}/{s['ties']}/{s['losses']}"
    row["time"] = bq.summarize(results, "sk_mlp")["median_time_ratio"]
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["A", "B"], default="A")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-train", type=int, help="see bench_quality.py")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    names = [n for n in qd.LOADERS if qd.HALF[n] == args.half]
    anchors = bq.load_anchors(bq.ANCHORS)
    print(f"half {args.half}: {len(names)} datasets, seeds {args.seeds}")
    print(
        f"{'setting':42s} {'mean':>6s} {'vs sk':>7s} {'worst':>7s} "
        f"{'W/T/L sk':>8s} {'hgb':>6s} {'realmlp':>7s} {'time/sk':>7s}"
    )
    settings, sk_mlp = dict(PREVIOUS), None
    for label, change in CHAIN:
        settings.update(change)
        params = {"mlp": dict(settings), "scaler": {}, "max_train": args.max_train}
        fresh = ["sknorm"] if sk_mlp else ["sknorm", "sk_mlp"]
        results = bq.collect(names, args.seeds, params, fresh, anchors)
        if sk_mlp is None:  # fitted once, with the first row
            sk_mlp = {n: results[n]["models"]["sk_mlp"] for n in names}
        for name in names:
            results[name]["models"]["sk_mlp"] = sk_mlp[name]
            results[name]["mean"]["sk_mlp"] = {
                key: bq.mean_of(sk_mlp[name], key)
                for key in ("score", "train_score", "fit_cpu_s", "epochs")
            }
        r = _row(results)
        print(
            f"{label:42s} {r['mean']:6.4f} {r['d_sk']:+7.4f} {r['worst']:+7.3f} "
            f"{r['sk_mlp']:>8s} {r['hgb']:>6s} {r['realmlp']:>7s} {r['time']:7.2f}"
        )


if __name__ == "__main__":
    main()
