"""sknorm: scikit-learn compatible MLPs with batch normalization, in NumPy.

Public estimators:

- :class:`Standardizer`: zero mean, unit variance per column (X or targets).
- :class:`MLPRegressor`, :class:`MLPClassifier`: drop-in replacements for
  scikit-learn's MLPs with batch normalization.

Training diagnostics, drawn from the fitted ``history_`` (matplotlib needed,
imported only when plotting):

- :class:`TrainingCurveDisplay`: training loss and validation score per epoch.
- :class:`PreactivationDisplay`: percentiles of hidden units' activation
  inputs over training (the batch-normalization paper's Figure 1 b, c).

Settings (:func:`get_config`, :func:`set_config`, :func:`config_context`)
choose how many BLAS threads ``fit`` uses. The NumPy engine lives in
:mod:`sknorm.nn`.
"""

from sknorm._classifier import MLPClassifier
from sknorm._config import config_context, get_config, set_config
from sknorm._display import TrainingCurveDisplay
from sknorm._display_preactivation import PreactivationDisplay
from sknorm._regressor import MLPRegressor
from sknorm._standardizer import Standardizer

__version__ = "0.1.0"
__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "PreactivationDisplay",
    "Standardizer",
    "TrainingCurveDisplay",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
