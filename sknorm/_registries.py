"""The sknorm types a saved model can contain, for skops and MLflow."""

SKOPS_TRUSTED_TYPES = (
    "sknorm._classifier.MLPClassifier",
    "sknorm._regressor.MLPRegressor",
    "sknorm._standardizer.Standardizer",
    "sknorm.nn._network.Sequential",
    "sknorm.nn._parallel.Parallel",
    "sknorm.nn._layers.Linear",
    "sknorm.nn._batchnorm.BatchNorm1d",
    "sknorm.nn._layers.Dropout",
    "sknorm.nn._activations.Identity",
    "sknorm.nn._activations.Logistic",
    "sknorm.nn._activations.Tanh",
    "sknorm.nn._activations.ReLU",
    "sknorm.nn._activations.LeakyReLU",
    "sknorm.nn._optimizers.SGD",
    "sknorm.nn._optimizers.Adam",
)
"""The type names of sknorm objects inside a fitted, saved model.

Pass them as ``trusted`` to :func:`skops.io.load` (alone or in a scikit-learn
pipeline, whose own types skops trusts by default), or as
``skops_trusted_types`` to ``mlflow.sklearn.log_model``. A test fits every
estimator in many settings and checks that this tuple is exactly what skops
reports as untrusted.
"""
