"""Measure the defaults sknorm changed against scikit-learn's MLP defaults.

For each setting, from scikit-learn's defaults to sknorm's one change at a
time, fit ``make_pipeline(Standardizer(), MLPRegressor(...))`` on
the Greensboro TMY3 tasks (random 25 % test split, ``random_state=0``) with
several seeds, and print test R² per seed, the mean and the epochs run.

    python benchmarks/bench_defaults.py --seeds 0 1 2
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sknorm import MLPClassifier, MLPRegressor, Standardizer
from sknorm.datasets import load_greensboro_ghi, load_greensboro_temperature_change

SKLEARN = {
    "hidden_layer_sizes": (100,),
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
}
# One change at a time, from scikit-learn's defaults to sknorm's.
PREVIOUS = {"hidden_layer_sizes": (100,), "batch_size": 64, "learning_rate_init": 0.01}
SETTINGS = {
    "sklearn's four defaults": SKLEARN,
    "lr 0.01": {**SKLEARN, "learning_rate_init": 0.01},
    "lr 0.01 + adaptive": {
        **SKLEARN,
        "learning_rate_init": 0.01,
        "learning_rate": "adaptive",
    },
    "+ batch 64": PREVIOUS,
    "+ (100, 100)": {**PREVIOUS, "hidden_layer_sizes": (100, 100)},
    "+ batch 128": {**PREVIOUS, "hidden_layer_sizes": (100, 100), "batch_size": 128},
    "sknorm defaults (+ lr 0.02)": {},
    "sknorm defaults, batch_norm=None": {"batch_norm": None},
    "sknorm defaults, batch_norm='after'": {"batch_norm": "after"},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    tasks = {
        "T1 GHI": load_greensboro_ghi(),
        "T2 dT3h": load_greensboro_temperature_change(),
    }
    header = ("task", "setting", "R2 per seed", "mean", "epochs", "s/fit")
    print("{:8s} {:36s} {:28s} {:>6s} {:>14s} {:>6s}".format(*header))
    for task, (X, y) in tasks.items():
        split = train_test_split(X, y, test_size=0.25, random_state=0)
        X_train, X_test, y_train, y_test = split
        for name, params in SETTINGS.items():
            scores, epochs, start = [], [], time.perf_counter()
            for seed in args.seeds:
                model = make_pipeline(
                    Standardizer(), MLPRegressor(random_state=seed, **params)
                ).fit(X_train, y_train)
                scores.append(model.score(X_test, y_test))
                epochs.append(model[-1].n_iter_)
            per_fit = (time.perf_counter() - start) / len(args.seeds)
            per_seed = " ".join(f"{s:.4f}" for s in scores)
            print(
                f"{task:8s} {name:36s} {per_seed:28s} {np.mean(scores):6.4f} "
                f"{epochs!s:>14s} {per_fit:6.1f}"
            )


def classification():
    """Test accuracy of the classifier with scikit-learn's and sknorm's defaults."""
    data = {
        "digits": load_digits(return_X_y=True),
        "moons": make_moons(1000, noise=0.25, random_state=0),
        "breast cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
    }
    print(f"\n{'dataset':14s} {'sklearn defaults':>17s} {'sknorm defaults':>16s}")
    for name, (X, y) in data.items():
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, random_state=0, stratify=y
        )
        scores = []
        for params in (SKLEARN, {}):
            model = make_pipeline(
                Standardizer(), MLPClassifier(random_state=0, **params)
            ).fit(X_train, y_train)
            scores.append(model.score(X_test, y_test))
        print(f"{name:14s} {scores[0]:17.4f} {scores[1]:16.4f}")


if __name__ == "__main__":
    main()
    classification()
