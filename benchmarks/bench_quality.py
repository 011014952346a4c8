"""Quality benchmark: sknorm's default MLPs against anchors on real datasets.

Models on the same split of each dataset of ``quality_datasets.py``:

- ``sknorm``: ``Standardizer`` + sknorm's ``MLPRegressor``/``MLPClassifier``
  (``--params`` overrides its parameters), fresh every run;
- ``sk_mlp``: ``StandardScaler`` + scikit-learn's MLP (``max_iter=500``; for
  regression inside ``TransformedTargetRegressor(transformer=StandardScaler())``),
  fresh every run unless ``--sknorm-only``;
- ``hgb`` (HistGradientBoosting, defaults, native categoricals) and
  ``realmlp`` (pytabkit's RealMLP-TD, CPU, one thread): slow anchors, read from
  ``benchmarks/results/anchors.json`` and re-created with ``--refresh-anchors``.

Both MLPs see the same matrix: median-imputed numeric columns, standardized,
then the one-hot encoded categorical columns. Scores are R² (regression) and
accuracy (classification) on the 25 % test split; fit CPU time is
``time.process_time()`` around ``fit`` with BLAS limited to one thread.

    python benchmarks/bench_quality.py --half all --json out.json --plot out.png
    python benchmarks/bench_quality.py --half A --sknorm-only --params alpha=0.001
    python benchmarks/bench_quality.py --quick --seeds 0
    python benchmarks/bench_quality.py --refresh-anchors   # slow, needs [bench]
"""

import argparse
import json
import pathlib
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import quality_datasets as qd

from sknorm import MLPClassifier, MLPRegressor, Standardizer

ANCHORS = pathlib.Path(__file__).parent / "results" / "anchors.json"
#: The score function of each task type (higher is better).
SCORERS = {"regression": r2_score, "classification": accuracy_score}
SCORE_NAMES = {"regression": "R2", "classification": "accuracy"}
TASK_ABBR = {"regression": "reg", "classification": "clf"}
ANCHOR_MODELS = ("hgb", "realmlp")
TIE = 0.005
REALMLP_EPOCHS = 256


# --- splits and models ---------------------------------------------------------


def split(ds):
    """Train/test indices: whole groups if ``ds.groups``, else random; 25 % test."""
    if ds.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    else:
        splitter = ShuffleSplit(n_splits=1, test_size=0.25, random_state=0)
    return next(splitter.split(ds.X, ds.y, groups=ds.groups))


def mlp_matrix(ds, scaler):
    """Median imputation + ``scaler`` for numerics, dense one-hot for categoricals."""
    numeric = [c for c in ds.X.columns if c not in ds.categorical]
    num = make_pipeline(SimpleImputer(strategy="median"), scaler)
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return ColumnTransformer([("num", num, numeric), ("cat", onehot, ds.categorical)])


def task_params(mlp, params):
    """``params`` without those only the other task's MLP has.

    A setting such as ``label_smoothing`` (classifier only) then applies to
    the classification datasets of a run; a name neither MLP has is kept, so
    that a typo still raises.
    """
    other = MLPClassifier if mlp is MLPRegressor else MLPRegressor
    own, others = mlp._get_param_names(), other._get_param_names()
    return {k: v for k, v in params.items() if k in own or k not in others}


def make_sknorm(ds, seed, params):
    """sknorm's pipeline; ``params`` holds the "mlp" and "scaler" overrides."""
    mlp = MLPRegressor if ds.task == "regression" else MLPClassifier
    return make_pipeline(
        mlp_matrix(ds, Standardizer(**params["scaler"])),
        mlp(random_state=seed, **task_params(mlp, params["mlp"])),
    )


def make_sk_mlp(ds, seed, params=None):
    if ds.task == "classification":
        mlp = SkMLPClassifier(max_iter=500, random_state=seed)
        return make_pipeline(mlp_matrix(ds, StandardScaler()), mlp)
    mlp = SkMLPRegressor(max_iter=500, random_state=seed)
    return TransformedTargetRegressor(
        make_pipeline(mlp_matrix(ds, StandardScaler()), mlp),
        transformer=StandardScaler(),
    )


def make_hgb(ds, seed, params=None):
    hgb = (
        HistGradientBoostingRegressor
        if ds.task == "regression"
        else HistGradientBoostingClassifier
    )
    return hgb(categorical_features="from_dtype", random_state=seed)


class RealMLP:
    """RealMLP-TD on median-imputed numerics + pandas ``category`` columns."""

    def __init__(self, ds, seed):
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        cls = RealMLP_TD_Regressor if ds.task == "regression" else RealMLP_TD_Classifier
        self.model = cls(random_state=seed, n_threads=1, device="cpu", verbosity=0)
        self.numeric = [c for c in ds.X.columns if c not in ds.categorical]
        self.n_iter_ = REALMLP_EPOCHS

    def _impute(self, X):
        X = X.copy()
        X[self.numeric] = X[self.numeric].fillna(self.medians_)
        return X

    def fit(self, X, y):
        import logging

        import torch

        torch.set_num_threads(1)
        for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.medians_ = X[self.numeric].median()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.model.fit(self._impute(X), y)
        return self

    def predict(self, X):
        return self.model.predict(self._impute(X))


FACTORIES = {
    "sknorm": make_sknorm,
    "sk_mlp": make_sk_mlp,
    "hgb": make_hgb,
    "realmlp": lambda ds, seed, params=None: RealMLP(ds, seed),
}


def epochs_run(model):
    """``n_iter_`` of the MLP step (boosting iterations for HGB)."""
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor_
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    return int(model.n_iter_)


def fit_score(model, ds, train, test):
    """Fit on one thread; return test and train score, fit CPU time, epochs."""
    score = SCORERS[ds.task]
    X_train, y_train = ds.X.iloc[train], ds.y[train]
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.process_time()
        model.fit(X_train, y_train)
        cpu = time.process_time() - start
        test_score = score(ds.y[test], model.predict(ds.X.iloc[test]))
        train_score = score(y_train, model.predict(X_train))
    return {
        "score": float(test_score),
        "train_score": float(train_score),
        "fit_cpu_s": round(cpu, 3),
        "epochs": epochs_run(model),
    }


def subsample_train(train, max_train):
    """At most ``max_train`` of the training rows (fixed draw), test untouched."""
    if max_train is None or len(train) <= max_train:
        return train
    return np.sort(np.random.default_rng(0).choice(train, max_train, replace=False))


def run_models(ds, models, seeds, params, log=print):
    """Per model, per seed results of one dataset."""
    train, test = split(ds)
    train = subsample_train(train, params.get("max_train") if params else None)
    out = {}
    for model in models:
        out[model] = {}
        for seed in seeds:
            est = FACTORIES[model](ds, seed, params)
            out[model][str(seed)] = fit_score(est, ds, train, test)
            log(f"  {ds.name} {model} seed {seed}: {out[model][str(seed)]}")
    return out


def sizes(ds, max_train=None):
    train, test = split(ds)
    train = subsample_train(train, max_train)
    return {"n_rows": len(ds.y), "n_train": len(train), "n_test": len(test)}


# --- anchors file --------------------------------------------------------------


def versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "pandas", "torch", "pytabkit"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def refresh_anchors(names, seeds, path, models=ANCHOR_MODELS):
    """Fit the anchors and (re)write their entries in ``path`` after each dataset.

    HistGradientBoosting runs with seed 0 only (deterministic below 10,000
    rows, where it does not early-stop); RealMLP-TD with every seed.
    """
    data = None
    for name in names:
        ds = qd.load(name)
        entry = {**sizes(ds), "models": {}}
        for model in models:
            model_seeds = [0] if model == "hgb" else seeds
            entry["models"][model] = run_models(ds, [model], model_seeds, {})[model]
            data = _write_anchor(path, name, entry)
    return data


def _write_anchor(path, name, entry):
    """Merge one dataset's refitted anchors into ``path``, read just before.

    Reading the file again before each write lets two runs (one per half)
    refresh it at the same time without one undoing the other's entries.
    """
    data = json.loads(path.read_text()) if path.exists() else {"datasets": {}}
    data["versions"] = versions()
    data["note"] = (
        "hgb: HistGradientBoosting defaults, categorical_features='from_dtype', "
        "seed 0; realmlp: pytabkit RealMLP-TD, CPU, 1 thread"
    )
    stored = data["datasets"].setdefault(name, {})
    stored.update({k: v for k, v in entry.items() if k != "models"})
    stored.setdefault("models", {}).update(entry["models"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return data


def load_anchors(path):
    if not path.exists():
        print(f"(no anchors file {path}: anchors skipped)")
        return {"datasets": {}}
    return json.loads(path.read_text())


# --- report --------------------------------------------------------------------


def mean_of(seeds, key):
    return float(np.mean([r[key] for r in seeds.values()]))


def collect(names, seeds, params, fresh, anchors):
    """Fresh results (models ``fresh``) next to the stored anchors."""
    results = {}
    for name in names:
        ds = qd.load(name)
        entry = {"task": ds.task, "half": ds.half, "domain": ds.domain}
        entry.update(sizes(ds, params.get("max_train")))
        entry["models"] = run_models(ds, fresh, seeds, params, log=lambda _: None)
        stored = anchors["datasets"].get(name, {}).get("models", {})
        for model in ANCHOR_MODELS:
            if model in stored and model not in fresh:
                entry["models"][model] = stored[model]
        for model, per_seed in entry["models"].items():
            entry.setdefault("mean", {})[model] = {
                key: mean_of(per_seed, key)
                for key in ("score", "train_score", "fit_cpu_s", "epochs")
            }
        results[name] = entry
    return results


def dataset_table(results):
    """One line per dataset and model: mean score, train score, CPU s, epochs."""
    head = f"{'dataset':18s} {'task':5s} {'half':4s} {'n_train':>7s} {'model':8s}"
    lines = [head + f" {'score':>7s} {'train':>7s} {'fit_cpu_s':>9s} {'epochs':>6s}"]
    for name, entry in results.items():
        for i, (model, m) in enumerate(entry["mean"].items()):
            first = i == 0
            left = (
                f"{name:18s} {TASK_ABBR[entry['task']]:5s} {entry['half']:4s} "
                f"{entry['n_train']:7d}"
                if first
                else " " * 37
            )
            lines.append(
                f"{left} {model:8s} {m['score']:7.4f} {m['train_score']:7.4f}"
                f" {m['fit_cpu_s']:9.2f} {m['epochs']:6.0f}"
            )
    return "\n".join(lines)


def summarize(results, anchor):
    """sknorm against one anchor: wins/ties/losses, mean diff, median time ratio."""
    pairs = [
        (e["mean"]["sknorm"], e["mean"][anchor])
        for e in results.values()
        if anchor in e["mean"] and "sknorm" in e["mean"]
    ]
    if not pairs:
        return None
    diffs = np.array([s["score"] - a["score"] for s, a in pairs])
    ratios = [s["fit_cpu_s"] / max(a["fit_cpu_s"], 1e-9) for s, a in pairs]
    return {
        "n": len(pairs),
        "wins": int(np.sum(diffs > TIE)),
        "ties": int(np.sum(np.abs(diffs) <= TIE)),
        "losses": int(np.sum(diffs < -TIE)),
        "mean_diff": float(diffs.mean()),
        "median_time_ratio": float(np.median(ratios)),
    }


def summary_table(results):
    lines = [
        f"{'subset':10s} {'anchor':8s} {'n':>3s} {'W/T/L':>9s} "
        f"{'mean diff':>9s} {'time ratio':>10s}"
    ]
    summaries = {}
    halves = sorted({e["half"] for e in results.values()})
    for subset in [*halves, "all"] if len(halves) > 1 else halves:
        part = {k: e for k, e in results.items() if subset in ("all", e["half"])}
        for anchor in ("sk_mlp", *ANCHOR_MODELS):
            s = summarize(part, anchor)
            if s is None:
                continue
            summaries[f"{subset}/{anchor}"] = s
            wtl = f"{s['wins']}/{s['ties']}/{s['losses']}"
            lines.append(
                f"{subset:10s} {anchor:8s} {s['n']:3d} {wtl:>9s} "
                f"{s['mean_diff']:+9.4f} {s['median_time_ratio']:10.2f}"
            )
    return "\n".join(lines), summaries


def plot(results, path, clip=0.1):
    """Per dataset, sknorm's score minus each anchor's (dots); halves marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(results, key=lambda n: (results[n]["half"], n), reverse=True)
    anchors = [a for a in ("sk_mlp", *ANCHOR_MODELS) if summarize(results, a)]
    fig, ax = plt.subplots(figsize=(8, 0.36 * len(names) + 1.6))
    ax.axvspan(-TIE, TIE, color="grey", alpha=0.25, lw=0, label=f"tie (±{TIE})")
    ax.axvline(0, color="grey", lw=0.8)
    for k, (anchor, marker) in enumerate(zip(anchors, "os^D", strict=False)):
        mean = [results[n]["mean"] for n in names]
        diffs = np.array(
            [m["sknorm"]["score"] - m[anchor]["score"] if anchor in m else np.nan
             for m in mean]
        )  # fmt: skip
        pos = np.arange(len(names)) + (k - (len(anchors) - 1) / 2) * 0.2
        shown = np.clip(diffs, -clip, clip)
        ax.plot(shown, pos, marker, ls="none", label=f"sknorm - {anchor}")
        for x, y, d in zip(shown, pos, diffs, strict=True):
            if abs(d) > clip:
                side = 1 if d > 0 else -1
                ax.annotate(f"{d:+.2f}", (x, y), xytext=(6 * side, 0), fontsize=7,
                            textcoords="offset points", va="center",
                            ha="left" if d > 0 else "right")  # fmt: skip
    labels = [f"[{results[n]['half']}] {n}" for n in names]
    ax.set_yticks(np.arange(len(names)), labels)
    halves = [results[n]["half"] for n in names]
    for i in range(1, len(names)):
        if halves[i] != halves[i - 1]:
            ax.axhline(i - 0.5, color="black", lw=1)
    ax.set_xlim(-clip * 1.25, clip * 1.25)
    ax.set_xlabel(f"score difference (R² or accuracy; > 0: sknorm better; "
                  f"clipped at ±{clip})")  # fmt: skip
    ax.set_title("sknorm defaults minus anchors (mean over seeds, test split)")
    fig.legend(loc="lower center", ncol=len(anchors) + 1, fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


# --- command line --------------------------------------------------------------


def parse_params(items):
    """``key=value`` pairs, values parsed as JSON (lists become tuples)."""
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        params[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return params


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["A", "B", "all"], default="all")
    parser.add_argument("--datasets", nargs="+", choices=list(qd.LOADERS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="2 small datasets")
    parser.add_argument("--params", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--scaler-params", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--sknorm-only", action="store_true")
    parser.add_argument(
        "--max-train",
        type=int,
        help="subsample the training rows to at most this many (fixed draw; "
        "the test split is unchanged); the stored anchors used all rows",
    )
    parser.add_argument("--refresh-anchors", action="store_true")
    parser.add_argument("--anchors", type=pathlib.Path, default=ANCHORS)
    parser.add_argument("--json", type=pathlib.Path, help="write all results here")
    parser.add_argument("--plot", type=pathlib.Path, help="write the figure here")
    return parser.parse_args(argv)


def selected(args):
    if args.datasets:
        return args.datasets
    if args.quick:
        return list(qd.QUICK)
    return [n for n, f in qd.LOADERS.items() if args.half in ("all", qd.HALF[n])]


def main(argv=None):
    args = parse_args(argv)
    names = selected(args)
    params = {
        "mlp": parse_params(args.params),
        "scaler": parse_params(args.scaler_params),
        "max_train": args.max_train,
    }
    if args.refresh_anchors:
        refresh_anchors(names, args.seeds, args.anchors)
    fresh = ["sknorm"] if args.sknorm_only else ["sknorm", "sk_mlp"]
    if args.quick:  # self-contained: HGB fitted here (cheap), RealMLP skipped
        anchors, fresh = {"datasets": {}}, [*fresh, "hgb"]
    else:
        anchors = load_anchors(args.anchors)
    start = time.time()
    results = collect(names, args.seeds, params, fresh, anchors)
    command = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"python benchmarks/bench_quality.py {command}")
    print(f"sknorm quality benchmark: {len(names)} datasets, seeds {args.seeds}")
    print(
        f"sknorm params: {params['mlp'] or 'defaults'}, Standardizer "
        f"{params['scaler'] or 'defaults'}; tie = |diff| <= {TIE}"
    )
    source = "--quick: HGB fitted now" if args.quick else args.anchors.name
    print("score: R2 (regression), accuracy (classification); test split 25 %")
    print(f"anchors: {source} {anchors.get('versions', '')}")
    if args.max_train:
        print(f"training rows subsampled to at most {args.max_train}; the stored "
              "anchors used all rows: compare against sk_mlp only")  # fmt: skip
    for half in sorted({e["half"] for e in results.values()}):
        part = {k: e for k, e in results.items() if e["half"] == half}
        print(f"\nHalf {half}\n" + dataset_table(part))
    table, summaries = summary_table(results)
    print("\nsknorm against each anchor (diff = sknorm - anchor, time = sknorm/anchor)")
    print(table)
    print(f"\nwall time {time.time() - start:.0f} s")
    if args.json:
        payload = {
            "params": args.params,
            "scaler_params": args.scaler_params,
            "seeds": args.seeds,
            "results": results,
        }
        payload["summary"] = summaries
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    if args.plot:
        plot(results, args.plot)
    return results


if __name__ == "__main__":
    main()
