"""
Batch-norm folding and export to scikit-learn
=============================================

At inference, batch normalization is one affine map per unit with frozen
statistics, ``s = gamma / sqrt(var + eps)``, so it merges into the linear layer
next to it: BN right after a Linear gives ``W' = W * s`` and
``b' = (b - mu) * s + beta``; BN after the activation folds into the next
Linear. sknorm predicts with the folded network, stores it as ``coefs_`` and
``intercepts_`` (scikit-learn's layout, with the regressor's target scaling
folded in too) and ``to_sklearn()`` hands it to a plain scikit-learn MLP.

This example fits a BN regressor, checks that the unfolded network in
inference mode, the folded network and the exported scikit-learn model predict
the same values, and times the three.

``SKNORM_EXAMPLE_QUICK=1`` uses fewer rows (what CI runs).
"""

# %%
import os
import pathlib
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknorm import MLPRegressor
from sknorm.nn import fold_batchnorm

QUICK = os.environ.get("SKNORM_EXAMPLE_QUICK", "") not in ("", "0")
OUT = (
    pathlib.Path(
        os.environ.get("SKNORM_EXAMPLE_OUTDIR") or pathlib.Path(__file__).parent
    )
    / "folding_export.png"
)
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)
n_train, n_predict = (2_000, 20_000) if QUICK else (20_000, 1_000_000)
X = rng.normal(size=(n_train + n_predict, 8))
y = 300 * np.sin(X[:, 0]) * np.cos(X[:, 1]) + 50 * X[:, 2] ** 2 + 500
X_train, y_train, X_new = X[:n_train], y[:n_train], X[n_train:]

reg = MLPRegressor(
    hidden_layer_sizes=(64, 64),
    batch_norm="before",
    max_iter=30,
    early_stopping=False,
    dropout=0.0,
    # The network's own predictions: scikit-learn's MLP cannot clip them.
    clip_predictions=None,
    random_state=0,
)
reg.fit(X_train, y_train)
print(reg.network_)

# %%
# Three ways to predict. The unfolded network works in the standardized target
# space, so its output is scaled back by hand here.


def unfolded(X):
    return reg.network_.predict(X)[:, 0] * reg.target_scale_[0] + reg.target_mean_[0]


def folded_network(X):
    return fold_batchnorm(reg.network_).predict(X)[:, 0]


sk = reg.to_sklearn()
predictors = {
    "unfolded BN network": unfolded,
    "sknorm predict (folded)": reg.predict,
    "exported sklearn MLP": sk.predict,
}
reference = reg.predict(X_new)
timings = {}
for name, predict in predictors.items():
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        out = predict(X_new)
        runs.append(time.perf_counter() - start)
    timings[name] = min(runs)
    gap = np.max(np.abs(out - reference)) / np.max(np.abs(reference))
    print(f"{name:26s} {timings[name] * 1e3:8.1f} ms   max relative gap {gap:.1e}")
print(
    f"folded network alone: {len(fold_batchnorm(reg.network_).layers)} layers, "
    f"unfolded {len(reg.network_.layers)}"
)
assert np.allclose(sk.predict(X_new), reference, rtol=1e-10, atol=1e-8)
assert np.allclose(unfolded(X_new), reference, rtol=1e-9, atol=1e-7)

# %%
# Bar chart of prediction time.

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.barh(list(timings), [t * 1e3 for t in timings.values()])
ax.set_xlabel(f"predict time for {n_predict:,} rows (ms, best of 3)")
ax.invert_yaxis()
fig.tight_layout()
fig.savefig(OUT, dpi=80)
print(f"saved {OUT}")
