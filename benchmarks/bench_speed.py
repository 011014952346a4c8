"""Training and prediction speed of sknorm against scikit-learn (and PyTorch).

On generated weather-style data (``sknorm.datasets.make_weather``: features
on very different scales, a nonlinear target in the hundreds), fit MLPs with
hidden layers (64, 64), Adam and a fixed number of epochs (``tol=0``, no
early stopping): sknorm with and without batch normalization, scikit-learn's
``MLPRegressor`` and, when torch is installed, PyTorch's eager CPU equivalent
with ``BatchNorm1d``. Repeats are
interleaved (A B C A B C ...) and the table reports median seconds per epoch,
test R² and the speed-up over scikit-learn measured in the same run. It then
times ``predict`` on 1M rows and measures the peak memory of ``fit``.

    python benchmarks/bench_speed.py                    # the README table
    python benchmarks/bench_speed.py --n-samples 20000 --epochs 2 --repeats 1

BLAS runs on one thread throughout (sknorm's ``fit`` does so by default; the
others are limited here for a like-for-like comparison).
"""

import argparse
import gc
import platform
import statistics
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from threadpoolctl import threadpool_info, threadpool_limits

import sknorm
from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import make_weather

try:
    import torch
except ImportError:  # optional comparison
    torch = None

HIDDEN = (64, 64)
SEED = 0


# ------------------------------------------------------------------ models
def _shared_params(batch_size, epochs):
    # learning_rate and batch_size given explicitly: sknorm's defaults differ
    # ("adaptive", 128); learning_rate_init keeps each library's default.
    return {
        "hidden_layer_sizes": HIDDEN,
        "solver": "adam",
        "batch_size": batch_size,
        "learning_rate": "constant",
        "max_iter": epochs,
        "tol": 0.0,
        "n_iter_no_change": epochs + 1,
        "random_state": SEED,
    }


def sknorm_model(batch_norm, batch_size, epochs):
    # The same work as scikit-learn's fit: no validation split, no dropout
    # (sknorm's "auto" defaults turn them on from 750 and 30 rows).
    return MLPRegressor(
        batch_norm=batch_norm,
        early_stopping=False,
        dropout=0.0,
        **_shared_params(batch_size, epochs),
    )


def sklearn_model(batch_size, epochs):
    return SkMLPRegressor(**_shared_params(batch_size, epochs))


class TorchModel:
    """PyTorch eager CPU MLP with BatchNorm1d, trained like the others."""

    def __init__(self, batch_size, epochs, lr=0.01):
        self.batch_size, self.epochs, self.lr = batch_size, epochs, lr

    def fit(self, X, y):
        torch.manual_seed(SEED)
        layers, n_in = [], X.shape[1]
        for width in HIDDEN:
            layers += [
                torch.nn.Linear(n_in, width, bias=False),
                torch.nn.BatchNorm1d(width),
                torch.nn.ReLU(),
            ]
            n_in = width
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, 1))
        # Standardized targets, as sknorm trains by default.
        self.mean, self.scale = float(y.mean()), float(y.std())
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        yt = torch.from_numpy(((y - self.mean) / self.scale).astype(np.float32))
        yt = yt.reshape(-1, 1)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        loss_fn = torch.nn.MSELoss()
        self.net.train()
        for _ in range(self.epochs):
            order = torch.randperm(Xt.shape[0])
            for start in range(0, Xt.shape[0], self.batch_size):
                idx = order[start : start + self.batch_size]
                if idx.shape[0] < 2:
                    continue
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(self.net(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return self

    def predict(self, X):
        self.net.eval()
        with torch.no_grad():
            out = self.net(torch.from_numpy(np.ascontiguousarray(X, np.float32)))
        return out.numpy().ravel() * self.scale + self.mean


def configurations(args):
    """Return ``{name: (factory, dtype)}``; factories build unfitted models."""
    e = args.epochs
    configs = {}
    for dtype, bits in ((np.float32, 32), (np.float64, 64)):
        configs[f"sknorm BN f{bits}"] = (lambda: sknorm_model("before", 200, e), dtype)
        configs[f"sknorm noBN f{bits}"] = (lambda: sknorm_model(None, 200, e), dtype)
        configs[f"sklearn f{bits}"] = (lambda: sklearn_model(200, e), dtype)
    configs["sknorm BN f32 b1024"] = (
        lambda: sknorm_model("before", 1024, e),
        np.float32,
    )
    if torch is not None and not args.no_torch:
        for batch in (200, 1024):
            configs[f"torch BN f32 b{batch}"] = (
                lambda b=batch: TorchModel(b, e),
                np.float32,
            )
    return configs


def one_hot_data(n_samples, n_categorical=10, n_levels=50, n_numeric=10):
    """Sparse CSR X: one-hot columns (2 % dense at the defaults) and numerics.

    Each of ``n_categorical`` columns takes one of ``n_levels`` levels, one-hot
    encoded; ``n_numeric`` standard-normal columns follow. The target adds a
    random effect per level to a nonlinear function of the numerics.
    """
    rng = np.random.default_rng(SEED)
    levels = rng.integers(0, n_levels, size=(n_samples, n_categorical))
    columns = levels + n_levels * np.arange(n_categorical)
    numeric = rng.standard_normal((n_samples, n_numeric))
    rows = np.repeat(np.arange(n_samples), n_categorical)
    one_hot = sp.csr_matrix(
        (np.ones(rows.size), (rows, columns.ravel())),
        shape=(n_samples, n_categorical * n_levels),
    )
    X = sp.hstack([one_hot, sp.csr_matrix(numeric)], format="csr")
    effects = rng.standard_normal(n_categorical * n_levels)
    y = effects[columns].sum(axis=1) + np.sin(numeric[:, 0]) * numeric[:, 1]
    return X, y


def time_sparse(args):
    """Seconds per epoch on one-hot-heavy sparse X: sknorm sparse and dense, sklearn.

    Returns ``{name: seconds per epoch list}``; repeats are interleaved.
    """
    X, y = one_hot_data(args.sparse_rows)
    dense = X.toarray()
    configs = {
        "sknorm BN sparse f64": (lambda: sknorm_model("before", 200, 5), X),
        "sknorm BN dense f64": (lambda: sknorm_model("before", 200, 5), dense),
        "sklearn sparse f64": (lambda: sklearn_model(200, 5), X),
    }
    times = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, (factory, data) in configs.items():
            model = factory()
            gc.collect()
            start = time.perf_counter()
            model.fit(data, y)
            times[name].append((time.perf_counter() - start) / 5)
    density = X.nnz / (X.shape[0] * X.shape[1])
    print(
        f"\nsparse one-hot data: {X.shape[0]:,} rows, {X.shape[1]} columns "
        f"({density:.1%} non-zero), hidden {HIDDEN}, Adam, batch 200, 5 epochs"
    )
    sk = statistics.median(times["sklearn sparse f64"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:24s} {median:7.3f} s/epoch  {sk / median:5.2f}x vs sklearn")
    sparse = statistics.median(times["sknorm BN sparse f64"])
    dense_time = statistics.median(times["sknorm BN dense f64"])
    print(f"  sparse vs dense (sknorm): {dense_time / sparse:5.2f}x (target >= 1)")
    return times


# ------------------------------------------------------------------ timing
def time_fits(configs, data, args):
    """Interleave repeats; return ``{name: (seconds per epoch list, R²)}``."""
    X_train, y_train, X_test, y_test = data
    times = {name: [] for name in configs}
    scores = {}
    for _ in range(args.repeats):
        for name, (factory, dtype) in configs.items():
            X, Xt = X_train.astype(dtype), X_test.astype(dtype)
            y = y_train.astype(dtype)
            model = factory()
            gc.collect()
            start = time.perf_counter()
            model.fit(X, y)
            times[name].append((time.perf_counter() - start) / args.epochs)
            scores[name] = r2_score(y_test, model.predict(Xt))
    return {name: (times[name], scores[name]) for name in configs}


def peak_fit_memory(configs, data, args):
    """Peak bytes allocated during one 1-epoch fit (tracemalloc), per model."""
    X_train, y_train, _, _ = data
    peaks = {}
    for name, (factory, dtype) in configs.items():
        if name.startswith("torch"):
            continue  # torch allocates outside Python's tracked allocators
        X, y = X_train.astype(dtype), y_train.astype(dtype)
        model = factory()
        model.set_params(max_iter=1, n_iter_no_change=2)
        gc.collect()
        tracemalloc.start()
        model.fit(X, y)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peaks


def time_predict(data, args):
    """Median predict seconds on ``args.predict_rows`` rows, per model."""
    X_train, y_train, _, _ = data
    X_big, _ = make_weather(args.predict_rows, random_state=SEED + 1)
    results = {}
    for dtype in (np.float32, np.float64):
        bits = np.dtype(dtype).itemsize * 8
        X, y, Xb = X_train.astype(dtype), y_train.astype(dtype), X_big.astype(dtype)
        fitted = {
            f"sknorm BN f{bits} (folded)": sknorm_model("before", 200, 1),
            f"sknorm noBN f{bits}": sknorm_model(None, 200, 1),
            f"sklearn f{bits}": sklearn_model(200, 1),
        }
        for model in fitted.values():
            model.fit(X, y)
        runs = {name: [] for name in fitted}
        # The same arithmetic for both sknorm models: many short interleaved
        # runs keep machine noise out of their ratio.
        for _ in range(2 * args.repeats + 1):
            for name, model in fitted.items():
                start = time.perf_counter()
                model.predict(Xb)
                runs[name].append(time.perf_counter() - start)
        results.update({name: statistics.median(t) for name, t in runs.items()})
    return results


# ---------------------------------------------------------------- reporting
def print_environment():
    print(f"python {platform.python_version()}, numpy {np.__version__}, ", end="")
    print(f"scikit-learn {sklearn.__version__}, sknorm {sknorm.__version__}", end="")
    print(f", torch {torch.__version__}" if torch is not None else ", torch absent")
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}")
    for pool in threadpool_info():
        print(
            f"threadpool: {pool['user_api']} {pool['internal_api']} "
            f"{pool.get('version')} {pool.get('architecture', '')}, "
            f"num_threads={pool['num_threads']}"
        )
    if torch is not None:
        print(f"torch threads: {torch.get_num_threads()}")


def print_fit_table(results, peaks, data_bytes):
    sk = {bits: statistics.median(results[f"sklearn f{bits}"][0]) for bits in (32, 64)}
    print()
    print(
        f"fit: data {data_bytes / 2**20:.1f} MiB in float32 (twice in float64); "
        "fit peak = largest extra allocation during a 1-epoch fit (tracemalloc)"
    )
    head = ("model", "s/epoch", "min", "vs sklearn", "test R2", "fit peak MiB")
    print("| {:22s} | {:>8s} | {:>7s} | {:>10s} | {:>7s} | {:>12s} |".format(*head))
    print("| " + " | ".join(["-" * 22, *["-" * w for w in (8, 7, 10, 7, 12)]]) + " |")
    for name, (times, score) in results.items():
        median = statistics.median(times)
        bits = 64 if "f64" in name else 32
        peak = f"{peaks[name] / 2**20:.1f}" if name in peaks else "-"
        print(
            f"| {name:22s} | {median:8.3f} | {min(times):7.3f} | "
            f"{sk[bits] / median:9.2f}x | {score:7.4f} | {peak:>12s} |"
        )


def print_predict_table(results, n_rows):
    print()
    print(f"predict on {n_rows:,} rows (median seconds)")
    print("| {:26s} | {:>8s} | {:>10s} |".format("model", "seconds", "vs sklearn"))
    print("| " + " | ".join(["-" * 26, "-" * 8, "-" * 10]) + " |")
    for name, seconds in results.items():
        bits = 64 if "f64" in name else 32
        ratio = results[f"sklearn f{bits}"] / seconds
        print(f"| {name:26s} | {seconds:8.4f} | {ratio:9.2f}x |")


def print_targets(results, predict):
    """Print each target of the speed issue with the ratio measured here."""
    epoch = {name: statistics.median(times) for name, (times, _) in results.items()}
    checks = [
        ("BN f32 vs sklearn f32", epoch["sklearn f32"] / epoch["sknorm BN f32"], 2.0),
        ("BN f64 vs sklearn f64", epoch["sklearn f64"] / epoch["sknorm BN f64"], 1.4),
    ]
    ratio = epoch["sklearn f32"] / epoch["sknorm noBN f32"]
    checks.append(("noBN f32 vs sklearn f32", ratio, 3.0))
    for batch, goal in ((200, 3.0), (1024, 1.5)):
        if f"torch BN f32 b{batch}" in epoch:
            ours = epoch["sknorm BN f32" + ("" if batch == 200 else " b1024")]
            ratio = epoch[f"torch BN f32 b{batch}"] / ours
            checks.append((f"BN f32 vs torch b{batch}", ratio, goal))
    for bits in (32, 64):
        folded = predict[f"sknorm BN f{bits} (folded)"]
        plain = predict[f"sknorm noBN f{bits}"]
        # "at most 1.05x the time" written as "at least 1/1.05 the speed".
        checks.append((f"predict BN/noBN f{bits} speed", plain / folded, 1 / 1.05))
        ratio = predict[f"sklearn f{bits}"] / folded
        checks.append((f"predict BN f{bits} vs sklearn", ratio, 1.0))
    print()
    print("targets (speed ratios, higher is faster)")
    for label, ratio, goal in checks:
        verdict = "met" if ratio >= goal else "MISSED"
        print(f"  {label:32s} {ratio:5.2f}x  (target {goal:.2f}x)  {verdict}")
    ratio = epoch["sklearn f64"] / epoch["sknorm noBN f64"]
    print(f"  {'noBN f64 vs sklearn f64':32s} {ratio:5.2f}x  (no target)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--sparse-rows", type=int, default=20_000)
    parser.add_argument(
        "--sparse-only",
        action="store_true",
        help="only the one-hot sparse comparison",
    )
    parser.add_argument(
        "--raw-features",
        action="store_true",
        help="fit on unstandardized X (default: Standardizer fitted on train)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = make_weather(args.n_samples + args.n_samples // 5, random_state=SEED)
    n = args.n_samples
    if not args.raw_features:
        # The recommended pipeline standardizes X first; fitted outside timing.
        X = Standardizer().fit(X[:n]).transform(X)
    data = (X[:n], y[:n], X[n:], y[n:])
    configs = configurations(args)
    with threadpool_limits(limits=1, user_api="blas"):
        if args.sparse_only:
            print_environment()
            time_sparse(args)
            return
        if torch is not None:
            torch.set_num_threads(1)
        print_environment()
        print(
            f"data: {n:,} train / {X.shape[0] - n:,} test rows, {X.shape[1]} "
            f"features; hidden {HIDDEN}, Adam, batch 200, {args.epochs} epochs, "
            f"{args.repeats} interleaved repeats"
        )
        results = time_fits(configs, data, args)
        peaks = peak_fit_memory(configs, data, args)
        data_bytes = X[:n].astype(np.float32).nbytes + y[:n].astype(np.float32).nbytes
        print_fit_table(results, peaks, data_bytes)
        predict = time_predict(data, args)
        print_predict_table(predict, args.predict_rows)
        print_targets(results, predict)
        time_sparse(args)


if __name__ == "__main__":
    main()
