"""skl2onnx converters for sknorm's estimators (skl2onnx imported lazily).

Fitted sknorm MLPs hold their batch normalization (and the regressor's
target scaling) folded into ``coefs_`` and ``intercepts_``, so the ONNX graph
is a plain chain of ``MatMul``, ``Add`` and activation nodes:

- :class:`~sknorm.MLPClassifier` reuses skl2onnx's converter for
  scikit-learn's MLPClassifier on :meth:`~sknorm.MLPClassifier.to_sklearn`,
  so labels, probabilities and the ``zipmap`` / ``nocl`` /
  ``output_class_labels`` options follow skl2onnx's conventions.
- :class:`~sknorm.MLPRegressor` has its own small converter: skl2onnx's
  converter for scikit-learn's MLPRegressor flattens multi-output
  predictions and knows neither leaky ReLU, the Poisson ``exp`` output nor
  the clipping of ``clip_predictions``.
- :class:`~sknorm.Standardizer` computes ``(x - center) / scale`` and the
  optional soft clipping ``z / sqrt(1 + (z / clip) ** 2)`` in float64, like
  ``transform``, then casts back to the input's type.
"""

import numpy as np

from sknorm._classifier import MLPClassifier
from sknorm._regressor import MLPRegressor
from sknorm._standardizer import Standardizer

_ACTIVATIONS = {
    "identity": "Identity",
    "tanh": "Tanh",
    "logistic": "Sigmoid",
    "relu": "Relu",
    "exp": "Exp",
}


def register_onnx_converters():
    """Register skl2onnx converters for Standardizer, MLPRegressor, MLPClassifier.

    Call it once before :func:`skl2onnx.to_onnx` (calling it again is
    harmless). Fitted pipelines containing sknorm estimators then convert
    like scikit-learn ones, for float32 and float64 inputs. Needs the
    ``onnx`` extra (``pip install sknorm[onnx]``).

    Raises
    ------
    ImportError
        If skl2onnx is not installed.

    See Also
    --------
    MLPRegressor.to_sklearn : The equivalent scikit-learn model.
    SKOPS_TRUSTED_TYPES : Type names to trust when loading with skops.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skl2onnx import to_onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sknorm import MLPRegressor, Standardizer, register_onnx_converters
    >>> register_onnx_converters()
    >>> X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    >>> model = make_pipeline(Standardizer(), MLPRegressor(max_iter=5))
    >>> model = model.fit(X, X.sum(axis=1))
    >>> onx = to_onnx(model, X[:1])
    >>> sess = ort.InferenceSession(onx.SerializeToString())
    >>> got = sess.run(None, {"X": X})[0]
    >>> bool(np.allclose(got.ravel(), model.predict(X), atol=1e-5))
    True
    """
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.shape_calculators.scaler import (
        calculate_sklearn_scaler_output_shapes,
    )

    update_registered_converter(
        Standardizer,
        "SknormStandardizer",
        calculate_sklearn_scaler_output_shapes,
        _convert_standardizer,
    )
    update_registered_converter(
        MLPRegressor, "SknormMLPRegressor", _regressor_shapes, _convert_regressor
    )
    update_registered_converter(
        MLPClassifier,
        "SknormMLPClassifier",
        calculate_linear_classifier_output_shapes,
        _convert_classifier,
        options={
            "zipmap": [True, False, "columns"],
            "output_class_labels": [False, True],
            "nocl": [True, False],
        },
    )


def _proto_dtype(operator):
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.proto import onnx_proto

    proto = guess_proto_type(operator.inputs[0].type)
    double = onnx_proto.TensorProto.DOUBLE
    return double if proto == double else onnx_proto.TensorProto.FLOAT


def _numpy_dtype(proto):
    from skl2onnx.proto import onnx_proto

    return np.float64 if proto == onnx_proto.TensorProto.DOUBLE else np.float32


# ---------------------------------------------------------------- Standardizer
def _convert_standardizer(scope, operator, container):
    """Emit ``soft_clip((x - center) / scale)`` computed in float64."""
    from skl2onnx.common._apply_operation import apply_cast
    from skl2onnx.proto import onnx_proto

    est = operator.raw_operator
    double = onnx_proto.TensorProto.DOUBLE
    name = scope.get_unique_variable_name("std_cast")
    apply_cast(scope, operator.inputs[0].full_name, name, container, to=double)
    if est.with_mean:
        name = _binary(scope, container, "Sub", name, est.mean_)
    if est.with_std:
        name = _binary(scope, container, "Div", name, est.scale_)
    if est.clip is not None:
        name = _soft_clip(scope, container, name, float(est.clip))
    to = _proto_dtype(operator)
    apply_cast(scope, name, operator.outputs[0].full_name, container, to=to)


def _constant(scope, container, values, proto=None):
    """Add an initializer of ``values`` (float64 unless ``proto`` says)."""
    from skl2onnx.proto import onnx_proto

    proto = onnx_proto.TensorProto.DOUBLE if proto is None else proto
    values = np.asarray(values, dtype=_numpy_dtype(proto))
    name = scope.get_unique_variable_name("const")
    container.add_initializer(name, proto, list(values.shape), values.ravel())
    return name


def _node(scope, container, op, inputs, **attrs):
    """Add one ONNX node and return its output's name."""
    out = scope.get_unique_variable_name(op.lower())
    name = scope.get_unique_operator_name(op)
    container.add_node(op, inputs, out, name=name, **attrs)
    return out


def _binary(scope, container, op, x, values, proto=None):
    return _node(scope, container, op, [x, _constant(scope, container, values, proto)])


def _soft_clip(scope, container, z, clip):
    """``z / sqrt(1 + (z / clip) ** 2)`` with Div, Mul, Add, Sqrt."""
    ratio = _binary(scope, container, "Div", z, clip)
    square = _node(scope, container, "Mul", [ratio, ratio])
    one_plus = _binary(scope, container, "Add", square, 1.0)
    root = _node(scope, container, "Sqrt", [one_plus])
    return _node(scope, container, "Div", [z, root])


# ---------------------------------------------------------------- regressor
def _regressor_shapes(operator):
    """Set the output to shape ``(N, n_outputs_)`` in the input's float type."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    cls = DoubleTensorType if double else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(cls([n, operator.raw_operator.n_outputs_]))


def _convert_regressor(scope, operator, container):
    """MatMul/Add per layer, hidden and output activations, in the input's type."""
    from skl2onnx.common._apply_operation import apply_cast

    est = operator.raw_operator
    proto = _proto_dtype(operator)
    x = scope.get_unique_variable_name("mlp_input")
    apply_cast(scope, operator.inputs[0].full_name, x, container, to=proto)
    n_layers = len(est.coefs_)
    hidden = est._built_with["activation"]
    layers = zip(est.coefs_, est.intercepts_, strict=True)
    for i, (coef, intercept) in enumerate(layers):
        weights = _constant(scope, container, coef, proto)
        x = _node(scope, container, "MatMul", [x, weights])
        x = _binary(scope, container, "Add", x, intercept[None, :], proto)
        act = hidden if i < n_layers - 1 else est.out_activation_
        if act == "leaky_relu":  # Max(x, a x): onnxruntime's LeakyRelu is float only
            slope = _binary(scope, container, "Mul", x, _leaky_slope(est), proto)
            x = _node(scope, container, "Max", [x, slope])
        else:
            x = _node(scope, container, _ACTIVATIONS[act], [x])
    if est.clip_predictions is not None:
        # Max/Min broadcast per output; ONNX's Clip takes scalar bounds only.
        low, high = est._clip_bounds()
        x = _binary(scope, container, "Max", x, low[None, :], proto)
        x = _binary(scope, container, "Min", x, high[None, :], proto)
    container.add_node(
        "Identity",
        [x],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("Identity"),
    )


def _leaky_slope(est):
    """Return the negative slope ``predict`` applies (``dense_forward``'s layer)."""
    from sknorm.nn._activations import ACTIVATIONS

    return ACTIVATIONS["leaky_relu"]().negative_slope


# ---------------------------------------------------------------- classifier
def _convert_classifier(scope, operator, container):
    """skl2onnx's MLPClassifier converter run on :meth:`to_sklearn`."""
    from skl2onnx.operator_converters.multilayer_perceptron import (
        convert_sklearn_mlp_classifier,
    )

    est = operator.raw_operator
    if est._built_with["activation"] == "leaky_relu":
        raise NotImplementedError(
            "sknorm's MLPClassifier with activation='leaky_relu' cannot be "
            "converted to ONNX: skl2onnx's MLPClassifier converter supports "
            "identity, logistic, tanh and relu. Refit with one of those (the "
            "MLPRegressor converter supports leaky_relu)."
        )
    operator.raw_operator = est.to_sklearn()
    n_nodes = len(container.nodes)
    try:
        convert_sklearn_mlp_classifier(scope, operator, container)
    finally:
        operator.raw_operator = est
    _replace_binarizer(scope, container, n_nodes, _proto_dtype(operator))


def _replace_binarizer(scope, container, start, proto):
    """Swap skl2onnx's multilabel ``Binarizer`` for ``Greater(p, 0.5)``.

    onnxruntime implements ``Binarizer`` for float32 only; ``Greater`` gives
    the same ``p > 0.5`` (cast to int64 next) for float64 too.
    """
    from onnx import helper

    for i in range(start, len(container.nodes)):
        node = container.nodes[i]
        if node.op_type == "Binarizer":
            half = _constant(scope, container, 0.5, proto)
            container.nodes[i] = helper.make_node(
                "Greater", [node.input[0], half], list(node.output), name=node.name
            )
