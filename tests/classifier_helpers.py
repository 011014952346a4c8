"""Settings and data shared by the MLPClassifier test modules."""

from sklearn.datasets import make_blobs

# Explicit training regime, so the tests do not depend on tuned defaults.
FAST = {
    "hidden_layer_sizes": (32,),
    "learning_rate_init": 0.01,
    "learning_rate": "constant",
    "batch_size": "auto",
    "random_state": 0,
}


def _blobs(n_samples=300, centers=3):
    """Well-separated blobs (seed 1), standardized."""
    X, y = make_blobs(n_samples, centers=centers, random_state=1)
    return (X - X.mean(axis=0)) / X.std(axis=0), y
