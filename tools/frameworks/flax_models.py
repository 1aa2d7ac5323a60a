"""Small Flax (nnx) models converted by jax2onnx, as a JAX user brings them to spa (issue 11, "any framework").

    build/frameworks/flax-venv/bin/python tools/frameworks/generate.py flax OUT_DIR

Writes OUT_DIR/flax_<model>_op<N>.onnx at jax2onnx's default opset and at opset 11, beside each a .ref.npz (a
seeded input and Flax's own output on it; never checked in: manifest.py checks the file against it), and
OUT_DIR/flax.json (versions, every conversion that raised, with its message) for manifest.py. Runs in its own venv
(requirements-flax.txt, Python 3.12 as jax 0.11 and newer require): JAX is imported at run time, so that the main
venv can import this module (the packaging test imports every file under tools/) and mypy can check it.

The other route, jax2tf + tf2onnx, was tried with the same pins plus tensorflow-cpu 2.21.0 and tf2onnx 1.17.0: jax
0.12's jax2tf only serializes natively (one XlaCallModule op holding StableHLO), which tf2onnx cannot convert
(ValueError: Could not infer the attribute type from the elements of the passed Iterable value.), for both models
at both opsets; every file here took the jax2onnx route (ROUTES_TRIED, in flax.json and the manifest).

Images are NHWC, Flax's own layout (nnx.Conv is channels-last). The batch is dynamic the way jax2onnx documents
it, a named dimension ("B") in the input spec. Weights are seeded; BatchNorm running statistics, LayerNorm
affine parameters and every bias are set to random values after building: with the defaults (mean 0, variance 1,
scale 1, bias 0) a pruning mask applied to the wrong channel would go unnoticed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

SEED = 11
OPSETS: tuple[int | None, ...] = (None, 11)  # None: the converter's default
FRAMEWORK = "flax"
LOGGER: str | None = None  # jax2onnx raises what it cannot convert
BATCH = "B"  # jax2onnx's name for a dynamic dimension in an input spec


def _module(name: str) -> Any:
    """A module of the flax venv, imported at run time: the main venv (mypy, the packaging test) has none."""
    return importlib.import_module(name)


ROUTES_TRIED = {
    "jax2tf+tf2onnx": "fails for every model and opset: jax2tf (jax 0.12) writes one XlaCallModule op (StableHLO), and"
    " tf2onnx 1.17.0 raises 'ValueError: Could not infer the attribute type from the elements of the passed Iterable"
    " value.'",
}


def _nnx_module(name: str, init: Callable[..., None], call: Callable[..., Any]) -> Any:
    """An nnx.Module subclass made with type(): flax is only known at run time, and mypy takes no class statement
    on a base it cannot see."""
    return type(name, (_module("flax.nnx").Module,), {"__init__": init, "__call__": call})


def _cnn(rngs: Any) -> tuple[Any, tuple[int, ...]]:
    """Conv + BatchNorm (running averages) + relu, twice (the second strided), mean pooling, Linear."""
    nnx = _module("flax.nnx")
    jnp = _module("jax.numpy")

    def init(self: Any) -> None:
        self.conv1 = nnx.Conv(3, 16, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.bn1 = nnx.BatchNorm(16, use_running_average=True, rngs=rngs)
        self.conv2 = nnx.Conv(16, 32, (3, 3), strides=(2, 2), padding="SAME", use_bias=False, rngs=rngs)
        self.bn2 = nnx.BatchNorm(32, use_running_average=True, rngs=rngs)
        self.head = nnx.Linear(32, 10, rngs=rngs)

    def call(self: Any, x: Any) -> Any:
        x = nnx.relu(self.bn1(self.conv1(x)))
        x = nnx.relu(self.bn2(self.conv2(x)))
        return self.head(jnp.mean(x, axis=(1, 2)))

    return _nnx_module("Cnn", init, call)(), (32, 32, 3)


def _transformer(rngs: Any) -> tuple[Any, tuple[int, ...]]:
    """One pre-LN transformer block over [batch, seq, dim]: LayerNorm, 4-head self-attention, residual, LayerNorm,
    MLP with gelu, residual."""
    nnx = _module("flax.nnx")
    dim, hidden = 32, 64

    def init(self: Any) -> None:
        self.ln1 = nnx.LayerNorm(dim, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(4, dim, decode=False, deterministic=True, rngs=rngs)
        self.ln2 = nnx.LayerNorm(dim, rngs=rngs)
        self.fc1 = nnx.Linear(dim, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, dim, rngs=rngs)

    def call(self: Any, x: Any) -> Any:
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(nnx.gelu(self.fc1(self.ln2(x))))

    return _nnx_module("Block", init, call)(), (16, dim)


MODELS: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "cnn": _cnn,
    "transformer": _transformer,
    "cnn_as_converted": _cnn,  # a probe: the file exactly as jax2onnx writes it (its value_info is stale)
}
# jax2onnx 0.17.1 moves the NHWC<->NCHW Transposes around BatchNormalization across the Relu that follows it and
# keeps the Relu's old NHWC shape in value_info: onnx.checker's full check rejects the file (onnxruntime warns and
# runs it). For these models the file drops value_info (shapes that are not the graph's inputs or outputs), what a
# user does to load it; `cnn_as_converted` keeps the file as written, so the failure stays on record.
DROP_VALUE_INFO = {"cnn"}


def _randomize(model: Any, rng: Any) -> None:
    """Random running statistics, norm scales and biases: the defaults would hide a mask on the wrong channel."""
    nnx = _module("flax.nnx")
    for _, module in nnx.iter_modules(model):
        if isinstance(module, nnx.BatchNorm):
            n = module.mean.shape[0]
            module.mean[...] = rng.normal(0.0, 0.5, n).astype("float32")
            module.var[...] = rng.uniform(0.5, 2.0, n).astype("float32")
        if isinstance(module, (nnx.BatchNorm, nnx.LayerNorm)):
            module.scale[...] = rng.uniform(0.5, 1.5, module.scale.shape).astype("float32")
        bias = getattr(module, "bias", None)
        if isinstance(bias, nnx.Param):  # None where use_bias=False
            bias[...] = rng.normal(0.0, 0.3, bias.shape).astype("float32")


def build(name: str) -> tuple[Any, tuple[int, ...]]:
    np = _module("numpy")
    model, shape = MODELS[name](_module("flax.nnx").Rngs(SEED))
    _randomize(model, np.random.default_rng(SEED))
    return model, shape


def convert(built: tuple[Any, tuple[int, ...]], opset: int | None, name: str) -> tuple[Any, dict[str, Any]]:
    """jax2onnx.to_onnx on the nnx module, batch named as jax2onnx's documentation does (value_info dropped for
    DROP_VALUE_INFO, and the route says so)."""
    to_onnx = _module("jax2onnx").to_onnx
    model, shape = built
    options = {} if opset is None else {"opset": opset}
    proto = to_onnx(model, [(BATCH, *shape)], model_name=f"{FRAMEWORK}_{name}", **options)
    if name in DROP_VALUE_INFO:
        del proto.graph.value_info[:]
        return proto, {"route": "jax2onnx, value_info dropped"}
    return proto, {"route": "jax2onnx"}


def versions() -> dict[str, Any]:
    return {
        "framework": "flax",
        "framework_version": f"{version('flax')} (jax {version('jax')})",
        "converter": "jax2onnx",
        "converter_version": version("jax2onnx"),
        "route": "jax2onnx",
        "entry_point": "jax2onnx.to_onnx",
        "routes_tried": ROUTES_TRIED,
        "numpy": version("numpy"),
        "python": sys.version.split()[0],
    }


def reference(built: tuple[Any, tuple[int, ...]]) -> tuple[Any, Any]:
    """A seeded input of batch 2 and Flax's own output on it, for manifest.py's converter check."""
    model, shape = built
    np = _module("numpy")
    x = np.random.default_rng(SEED + 1).standard_normal((2, *shape)).astype("float32")
    return x, np.asarray(model(x))
