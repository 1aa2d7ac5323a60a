"""A small PaddlePaddle MobileNetV3-style network converted by paddle2onnx, as a Paddle user brings it to spa
(issue 11, "any framework").

    build/frameworks/paddle-venv/bin/python tools/frameworks/generate.py paddle OUT_DIR

Writes OUT_DIR/paddle_<model>_op<N>.onnx through paddle.onnx.export (which calls paddle2onnx) at its default opset
and at opset 11, beside each a .ref.npz (a seeded input and Paddle's own output on it; never checked in:
manifest.py checks the file against it), and OUT_DIR/paddle.json (versions, paddle2onnx's error log per file,
every conversion that raised) for manifest.py. Runs in its own venv (requirements-paddle.txt): Paddle is imported
at run time, so that the main venv can import this module (the packaging test imports every file under tools/)
and mypy can check it.

Images are NCHW, Paddle's layout; the batch is dynamic (None in the InputSpec, as Paddle's documentation does).
Weights are seeded; BatchNorm running statistics and affine parameters and every bias are set to random values
after building: with the defaults (mean 0, variance 1, scale 1, bias 0) a pruning mask applied to the wrong
channel would go unnoticed.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

SEED = 11
OPSETS: tuple[int | None, ...] = (None, 11)  # None: paddle.onnx.export's default
FRAMEWORK = "paddle"
LOGGER: str | None = ""
"""The logger whose errors are recorded per file (generate.py): paddle2onnx logs to the root logger."""


def _module(name: str) -> Any:
    """A module of the paddle venv, imported at run time: the main venv (mypy, the packaging test) has none."""
    return importlib.import_module(name)


def _layer(name: str, init: Callable[..., None], forward: Callable[..., Any]) -> Any:
    """A paddle.nn.Layer subclass made with type(): paddle is only known at run time, and mypy takes no class
    statement on a base it cannot see."""
    layer = _module("paddle.nn").Layer

    def construct(self: Any, *args: Any) -> None:
        layer.__init__(self)
        init(self, *args)

    return type(name, (layer,), {"__init__": construct, "forward": forward})


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int = 1, act: bool = True) -> Any:
    """Conv (no bias) + BatchNorm (+ Hardswish): MobileNetV3's ConvBNLayer."""
    nn = _module("paddle.nn")
    layers = [
        nn.Conv2D(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias_attr=False),
        nn.BatchNorm2D(cout),
    ]
    return nn.Sequential(*layers, *([nn.Hardswish()] if act else []))


def _squeeze_excite(channels: int, reduction: int = 4) -> Any:
    """AdaptiveAvgPool, 1x1 conv, relu, 1x1 conv, hardsigmoid, multiply."""
    nn = _module("paddle.nn")

    def init(self: Any) -> None:
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.reduce = nn.Conv2D(channels, channels // reduction, 1)
        self.relu = nn.ReLU()
        self.expand = nn.Conv2D(channels // reduction, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self: Any, x: Any) -> Any:
        return x * self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))

    return _layer("SqueezeExcite", init, forward)()


def _inverted_residual(cin: int, hidden: int, cout: int, stride: int) -> Any:
    """Expand 1x1, depthwise 3x3, squeeze-excitation, project 1x1; a residual add where shapes allow."""

    def init(self: Any) -> None:
        self.expand = _conv_bn(cin, hidden, 1, 1)
        self.depthwise = _conv_bn(hidden, hidden, 3, stride, groups=hidden)
        self.se = _squeeze_excite(hidden)
        self.project = _conv_bn(hidden, cout, 1, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self: Any, x: Any) -> Any:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        return x + y if self.residual else y

    return _layer("InvertedResidual", init, forward)()


def _mbv3() -> tuple[Any, tuple[int, ...]]:
    nn = _module("paddle.nn")
    paddle = _module("paddle")

    def init(self: Any) -> None:
        self.stem = _conv_bn(3, 16, 3, 2)
        self.block1 = _inverted_residual(16, 32, 16, 1)
        self.block2 = _inverted_residual(16, 48, 24, 2)
        self.last = _conv_bn(24, 64, 1, 1)
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.head = nn.Linear(64, 10)

    def forward(self: Any, x: Any) -> Any:
        x = self.last(self.block2(self.block1(self.stem(x))))
        return self.head(paddle.flatten(self.pool(x), 1))

    return _layer("MobileNetV3Small", init, forward)(), (3, 32, 32)


MODELS: dict[str, Callable[[], tuple[Any, tuple[int, ...]]]] = {"mbv3": _mbv3}


def _randomize(model: Any, rng: Any) -> None:
    """Random running statistics, BatchNorm affine parameters and biases (the defaults would hide a mask on the
    wrong channel)."""
    nn = _module("paddle.nn")
    for layer in model.sublayers():
        if isinstance(layer, nn.BatchNorm2D):
            n = layer._mean.shape[0]
            layer._mean.set_value(rng.normal(0.0, 0.5, n).astype("float32"))
            layer._variance.set_value(rng.uniform(0.5, 2.0, n).astype("float32"))
            layer.weight.set_value(rng.uniform(0.5, 1.5, n).astype("float32"))
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.set_value(rng.normal(0.0, 0.3, bias.shape).astype("float32"))


def build(name: str) -> tuple[Any, tuple[int, ...]]:
    paddle = _module("paddle")
    np = _module("numpy")
    paddle.seed(SEED)
    model, shape = MODELS[name]()
    _randomize(model, np.random.default_rng(SEED))
    model.eval()
    return model, shape


def convert(built: tuple[Any, tuple[int, ...]], opset: int | None, name: str) -> tuple[Any, dict[str, Any]]:
    """paddle.onnx.export, Paddle's documented entry point, with a dynamic batch; reads back the file it wrote
    (paddle2onnx logs a failed conversion instead of raising: generate.py adds the log to the error)."""
    paddle = _module("paddle")
    onnx = _module("onnx")
    model, shape = built
    spec = [paddle.static.InputSpec([None, *shape], "float32", "x")]
    options = {} if opset is None else {"opset_version": opset}
    with tempfile.TemporaryDirectory() as tmp:
        paddle.onnx.export(model, f"{tmp}/model", input_spec=spec, **options)
        path = Path(tmp) / "model.onnx"
        if not path.exists():
            raise RuntimeError("paddle.onnx.export wrote no file")
        return onnx.load(str(path)), {}


def versions() -> dict[str, str]:
    return {
        "framework": "paddlepaddle",
        "framework_version": version("paddlepaddle"),
        "converter": "paddle2onnx",
        "converter_version": version("paddle2onnx"),
        "route": "paddle2onnx",
        "entry_point": "paddle.onnx.export",
        "numpy": version("numpy"),
        "python": sys.version.split()[0],
    }


def reference(built: tuple[Any, tuple[int, ...]]) -> tuple[Any, Any]:
    """A seeded input of batch 2 and Paddle's own output on it, for manifest.py's converter check."""
    model, shape = built
    np = _module("numpy")
    paddle = _module("paddle")
    x = np.random.default_rng(SEED + 1).standard_normal((2, *shape)).astype("float32")
    with paddle.no_grad():
        return x, model(paddle.to_tensor(x)).numpy()
