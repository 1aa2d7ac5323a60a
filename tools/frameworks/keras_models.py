"""Small Keras models converted by tf2onnx, as a TensorFlow user brings them to spa (issue 11, "any framework").

    build/frameworks/keras-venv/bin/python tools/frameworks/generate.py keras OUT_DIR

Writes OUT_DIR/keras_<model>_op<N>.onnx at tf2onnx's default opset and at opset 11, beside each a .ref.npz (a
seeded input and Keras' own output on it; never checked in: manifest.py checks the file against it), and
OUT_DIR/keras.json (versions, tf2onnx's error log per file, every conversion that raised) for manifest.py. Runs in
its own venv (requirements-keras.txt): TensorFlow is imported at run time, so that the main venv can import this
module (the packaging test imports every file under tools/) and mypy can check it without TensorFlow.

The weights are seeded, and BatchNormalization moving statistics, norm affine parameters and biases are set to
random non-trivial values after building: with the defaults (mean 0, variance 1, gamma 1, beta 0, bias 0) a
pruning mask applied to the wrong channel would go unnoticed. tf2onnx folds each BatchNormalization into the
Conv before it (its default optimizers): the files have no BatchNormalization node, as users' files do not.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

SEED = 11
OPSETS: tuple[int | None, ...] = (None, 11)  # None: the converter's default
FRAMEWORK = "keras"
LOGGER: str | None = "tf2onnx"
"""The logger whose errors are recorded per file (generate.py): tf2onnx logs an op it cannot convert."""

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's start-up banner would bury the conversion log
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def _module(name: str) -> Any:
    """A module of the keras venv, imported at run time: the main venv (mypy, the packaging test) has none."""
    return importlib.import_module(name)


def _keras() -> Any:
    return _module("keras")


def _randomize(model: Any, rng: Any) -> None:
    """Non-trivial norm statistics and affine parameters and biases, so that a mask on the wrong channel changes
    outputs (Keras starts biases at zero, and an LSTM's at one for the forget gate)."""
    keras = _keras()
    for variable in model.weights:
        if variable.name == "bias":
            variable.assign(rng.normal(0.0, 0.3, variable.shape).astype("float32"))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0.0, 0.5, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
        elif isinstance(layer, keras.layers.LayerNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0.0, 0.5, n).astype("float32"))


def _conv_bn(x: Any, filters: int, kernel: int, stride: int, relu: bool, name: str) -> Any:
    layers = _keras().layers
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def resnet() -> Any:
    """ResNet-style CNN on 32x32 NHWC images: an identity block and a strided block with a 1x1 projection."""
    keras = _keras()
    layers = keras.layers
    image = keras.Input((32, 32, 3), name="image")
    x = _conv_bn(image, 16, 3, 1, True, "stem")
    y = _conv_bn(x, 16, 3, 1, True, "b1a")
    y = _conv_bn(y, 16, 3, 1, False, "b1b")
    x = layers.ReLU(name="b1_out")(layers.Add(name="b1_add")([x, y]))
    y = _conv_bn(x, 32, 3, 2, True, "b2a")
    y = _conv_bn(y, 32, 3, 1, False, "b2b")
    shortcut = _conv_bn(x, 32, 1, 2, False, "b2_proj")
    x = layers.ReLU(name="b2_out")(layers.Add(name="b2_add")([shortcut, y]))
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    logits = layers.Dense(10, name="fc")(x)
    return keras.Model(image, logits, name="keras_resnet")


def _gelu_erf(t: Any) -> Any:
    """Exact GELU as 0.5 x (1 + erf(x / sqrt 2)): Keras' own exact gelu lowers to TF's Erfc, which tf2onnx 1.17
    cannot convert (the `mlp_keras_gelu` entry records that failure)."""
    ops = _keras().ops
    return 0.5 * t * (1.0 + ops.erf(t * 0.7071067811865476))


def mlp(stock_gelu: bool = False) -> Any:
    """Dense + LayerNormalization + exact (erf) GELU + Dense + tanh-approximate GELU + Dense."""
    keras = _keras()
    layers = keras.layers
    features = keras.Input((32,), name="features")
    x = layers.Dense(64, name="fc1")(features)
    x = layers.LayerNormalization(epsilon=1e-5, name="ln")(x)
    exact = (lambda t: keras.activations.gelu(t, approximate=False)) if stock_gelu else _gelu_erf
    x = layers.Activation(exact, name="gelu_erf")(x)
    x = layers.Dense(48, name="fc2")(x)
    x = layers.Activation(lambda t: keras.activations.gelu(t, approximate=True), name="gelu_tanh")(x)
    logits = layers.Dense(10, name="fc3")(x)
    return keras.Model(features, logits, name="keras_mlp")


def lstm() -> Any:
    """An LSTM over [batch, time, features] returning the whole sequence, then a Dense on every step."""
    keras = _keras()
    layers = keras.layers
    sequence = keras.Input((8, 12), name="sequence")
    x = layers.LSTM(16, return_sequences=True, name="lstm")(sequence)
    out = layers.Dense(6, name="fc")(x)
    return keras.Model(sequence, out, name="keras_lstm")


def gru() -> Any:
    """A GRU (reset_after=True, Keras' default and cuDNN's layout) returning its last state, then a Dense."""
    keras = _keras()
    layers = keras.layers
    sequence = keras.Input((8, 12), name="sequence")
    x = layers.GRU(16, reset_after=True, name="gru")(sequence)
    out = layers.Dense(6, name="fc")(x)
    return keras.Model(sequence, out, name="keras_gru")


MODELS: dict[str, Callable[[], Any]] = {
    "resnet": resnet,
    "mlp": mlp,
    "lstm": lstm,
    "gru": gru,
    "mlp_keras_gelu": lambda: mlp(stock_gelu=True),  # a probe: Keras' own exact gelu (fails in tf2onnx 1.17)
}


def build(name: str) -> Any:
    np = _module("numpy")
    keras = _keras()
    keras.backend.clear_session()  # layer-name counters restart: a file does not depend on the models before it
    keras.utils.set_random_seed(SEED)
    model = MODELS[name]()
    _randomize(model, np.random.default_rng(SEED))
    return model


def convert(model: Any, opset: int | None, name: str) -> tuple[Any, dict[str, Any]]:
    """tf2onnx.convert.from_keras, the entry point tf2onnx documents for Keras models, with a dynamic batch."""
    tf = _module("tensorflow")
    tf2onnx = _module("tf2onnx")
    spec = [tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name=model.inputs[0].name)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    return proto, {}


def versions() -> dict[str, str]:
    return {
        "framework": "tensorflow",
        "framework_version": f"{_module('tensorflow').__version__} (keras {_keras().__version__})",
        "converter": "tf2onnx",
        "converter_version": _module("tf2onnx").__version__,
        "route": "tf2onnx",
        "entry_point": "tf2onnx.convert.from_keras",
        "numpy": _module("numpy").__version__,
        "python": sys.version.split()[0],
    }


def reference(model: Any) -> tuple[Any, Any]:
    """A seeded input of batch 2 and the framework's own output on it, for manifest.py's converter check."""
    np = _module("numpy")
    x = np.random.default_rng(SEED + 1).standard_normal((2, *model.inputs[0].shape[1:])).astype("float32")
    return x, np.asarray(model(x, training=False))
