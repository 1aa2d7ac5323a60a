"""ONNX pooling the way Keras exports it (tf2onnx: `auto_pad=SAME_UPPER` with stride 2, uneven borders) and with
explicit uneven pads: torch-mlir pads MaxPool's border with the lowest float64 and passes AveragePool ONNX's
`[begins..., ends...]`; spa's emission must compute what onnxruntime computes, and prune through them exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from test_onnx_prune_oracle import run_onnx
from zoo import max_relative_error

from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.verify import masked_onnx

CASES: list[tuple[str, dict[str, Any]]] = [
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("MaxPool", {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_UPPER"}),
    ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER", "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [0, 1, 1, 0]}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("AveragePool", {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_UPPER"}),
]


def _model(op: str, attrs: dict[str, Any], convs: bool) -> onnx.ModelProto:
    rank = len(attrs["kernel_shape"])
    spatial = [7] * rank
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, *spatial])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    rng = np.random.default_rng(0)
    if not convs:
        nodes, inits = [helper.make_node(op, ["x"], ["y"], name="pool", **attrs)], []
    else:
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="conv1"),
            helper.make_node("Relu", ["a"], ["r"], name="relu"),
            helper.make_node(op, ["r"], ["p"], name="pool", **attrs),
            helper.make_node("Conv", ["p", "w2"], ["y"], name="conv2"),
        ]
        inits = [
            numpy_helper.from_array(rng.standard_normal((8, 4, *[1] * rank)).astype(np.float32), "w1"),
            numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b1"),
            numpy_helper.from_array(rng.standard_normal((3, 8, *[1] * rank)).astype(np.float32), "w2"),
        ]
    graph = helper.make_graph(nodes, "g", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def _input(attrs: dict[str, Any], batch: int = 2) -> list[torch.Tensor]:
    shape = [batch, 4, *[7] * len(attrs["kernel_shape"])]
    return [torch.from_numpy(np.random.default_rng(1).standard_normal(shape).astype(np.float32))]


@pytest.mark.parametrize(("op", "attrs"), CASES, ids=lambda c: str(c))
def test_pooling_emits_what_onnxruntime_computes(op: str, attrs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "pool.onnx"
    onnx.save(_model(op, attrs, convs=False), str(path))
    inputs = _input(attrs)
    with torch.no_grad():
        got = api.to_torch(api.import_onnx(path))(*inputs)
    assert max_relative_error([got], run_onnx(path, inputs)) < 1e-6


@pytest.mark.parametrize(("op", "attrs"), [CASES[0], CASES[3]], ids=["max", "avg"])
def test_pruned_through_same_pooling(op: str, attrs: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    original = _model(op, attrs, convs=True)
    onnx.save(original, str(path))
    program = api.import_onnx(path)
    plan = api.prune_program(program, ratio=0.5, criterion="random", only_exact=True).to_json()
    assert any(g["removed"] for g in plan["groups"])
    inputs = _input(attrs)
    want = run_onnx(masked_onnx(original, plan["params"]), inputs)
    save_onnx(program, tmp_path / "p.onnx")
    with torch.no_grad():
        got = api.to_torch(program)(*inputs)
    assert max_relative_error(run_onnx(tmp_path / "p.onnx", inputs), want) < 1e-5
    assert max_relative_error([got], want) < 1e-5
