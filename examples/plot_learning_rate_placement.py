"""
Does batch normalization widen the range of usable learning rates?
==================================================================

``GridSearchCV`` over ``learning_rate_init`` (1e-4 to 1) by ``batch_norm``
(None, "before", "after") for Adam and for SGD with momentum, on the
Greensboro daytime-GHI task (standardized inputs). The learning-rate schedule
is held constant (``learning_rate="constant"``) and training is capped at a
fixed number of epochs, so the heatmaps show how each placement copes with
the step size alone. Cells where training diverged (the estimator raises, so
the search records NaN) are marked "x".

``SKNORM_EXAMPLE_QUICK=1`` runs a smaller grid on fewer rows (what CI runs).
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
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from sknorm import MLPRegressor, Standardizer
from sknorm.datasets import load_greensboro_ghi

QUICK = os.environ.get("SKNORM_EXAMPLE_QUICK", "") not in ("", "0")
OUT = (
    pathlib.Path(
        os.environ.get("SKNORM_EXAMPLE_OUTDIR") or pathlib.Path(__file__).parent
    )
    / "learning_rate_placement.png"
)
warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", category=FitFailedWarning)
warnings.filterwarnings("ignore", category=UserWarning)  # "Scoring failed" notes

X, y = load_greensboro_ghi()
if QUICK:
    X, y = X.iloc[::4], y.iloc[::4]
rates = [1e-4, 1e-3, 1e-2, 1e-1, 1.0] if QUICK else np.logspace(-4, 0, 9)
placements = [None, "before", "after"]

# %%
# One search per solver; 3-fold cross-validated R².

scores = {}
for solver in ("adam", "sgd"):
    model = make_pipeline(
        Standardizer(),
        MLPRegressor(
            solver=solver,
            learning_rate="constant",
            max_iter=10 if QUICK else 40,
            # A fixed 40 epochs for every rate: no validation split, no dropout;
            # the network of the README's figure.
            hidden_layer_sizes=(100, 100),
            early_stopping=False,
            dropout=0.0,
            random_state=0,
        ),
    )
    search = GridSearchCV(
        model,
        {
            "mlpregressor__learning_rate_init": list(rates),
            "mlpregressor__batch_norm": placements,
        },
        cv=KFold(3, shuffle=True, random_state=0),
        error_score=np.nan,
        n_jobs=2,
    )
    start = time.perf_counter()
    search.fit(X, y)
    mean = search.cv_results_["mean_test_score"].reshape(len(placements), len(rates))
    scores[solver] = mean
    print(f"{solver}: {time.perf_counter() - start:.0f} s; best {search.best_params_}")
    for placement, row in zip(placements, mean, strict=True):
        cells = " ".join(f"{v:6.3f}" for v in row)
        print(f"  batch_norm={placement!s:7s} {cells}")

# %%
# Heatmaps: rows are placements, columns learning rates; colour is the
# cross-validated R² (0.5 and below share the darkest colour).

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, (solver, mean) in zip(axes, scores.items(), strict=True):
    image = ax.imshow(np.nan_to_num(mean, nan=0.5), vmin=0.5, vmax=1.0)
    for (i, j), value in np.ndenumerate(mean):
        text = "x" if np.isnan(value) else f"{value:.2f}"
        ax.text(j, i, text, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(rates)), [f"{r:.0e}" for r in rates], rotation=45)
    ax.set_yticks(range(len(placements)), [str(p) for p in placements])
    ax.set_title(f"solver='{solver}'")
    ax.set_xlabel("learning_rate_init")
axes[0].set_ylabel("batch_norm")
fig.colorbar(image, ax=axes, shrink=0.8, label="CV R²")
fig.savefig(OUT, dpi=80, bbox_inches="tight")
print(f"saved {OUT}")
