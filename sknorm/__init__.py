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
choose how many BLAS threads ``fit`` uses.

Deployment: :func:`register_onnx_converters` lets ``skl2onnx.to_onnx``
convert fitted pipelines holding sknorm estimators; :data:`SKOPS_TRUSTED_TYPES`
names the types to trust when loading a saved model with skops or MLflow.
The NumPy engine lives in :mod:`sknorm.nn`.
"""

from sknorm._classifier import MLPClassifier
from sknorm._config import config_context, get_config, set_config
from sknorm._display import TrainingCurveDisplay
from sknorm._display_preactivation import PreactivationDisplay
from sknorm._onnx import register_onnx_converters
from sknorm._registries import SKOPS_TRUSTED_TYPES
from sknorm._regressor import MLPRegressor
from sknorm._standardizer import Standardizer

__version__ = "0.1.0"
__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "MLPClassifier",
    "MLPRegressor",
    "PreactivationDisplay",
    "Standardizer",
    "TrainingCurveDisplay",
    "__version__",
    "config_context",
    "get_config",
    "register_onnx_converters",
    "set_config",
]
