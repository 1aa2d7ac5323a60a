"""Reading an ONNX file: load (external data, local functions inlined), name nodes, check, infer shapes;
and the ONNX-level facts the later stages share (which domains are standard, which types are float, what a
Constant node holds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.inliner
from onnx import numpy_helper

from spa_ir.core.errors import SpaError, first_line

DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
"""The domains of standard ONNX ops (the only ones the converter and the reference runtime know)."""

FLOAT_TYPES = frozenset(
    {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
    }
)

_CONSTANT_ATTR_DTYPES = {
    "value_float": np.float32,
    "value_floats": np.float32,
    "value_int": np.int64,
    "value_ints": np.int64,
}

Dim = int | str | None
"""A dim of an inferred shape: its size, the name of a symbolic dynamic dim (ONNX `dim_param`, e.g.
"batch"), or None (dynamic and unnamed)."""
Shape = tuple[Dim, ...]


def load_onnx_model(path: Path) -> onnx.ModelProto:
    """Load an ONNX model with its external data, expanding model-local functions (the converter knows
    standard ops only); a missing or unparsable file is a SpaError."""
    if not path.is_file():
        raise SpaError("ONNX file not found", where=str(path))
    try:
        model = onnx.load(str(path))
        return onnx.inliner.inline_local_functions(model) if model.functions else model
    except Exception as e:  # protobuf, external data and the inliner raise assorted error types
        raise SpaError(f"cannot parse ONNX model: {first_line(e)}", where=str(path)) from None


def name_unnamed_nodes(graph: onnx.GraphProto) -> None:
    """Give every node a name, so every op (and every error) has a NameLoc to point at."""
    for index, node in enumerate(graph.node):
        if not node.name:
            node.name = node.output[0] if node.output and node.output[0] else f"{node.op_type}_{index}"


def check_model(model: onnx.ModelProto, path: Path) -> None:
    """onnx.checker on the model; a violation is a SpaError."""
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as e:
        raise SpaError(f"invalid ONNX model: {first_line(e)}", where=str(path)) from None


def infer_shapes(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """Shape inference with data propagation, as torch-mlir's import tool does; errors are SpaError."""
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError) as e:
        raise SpaError(f"ONNX shape inference failed: {first_line(e)}", where=str(path)) from None


def inferred_shapes(model: onnx.ModelProto) -> dict[str, Shape]:
    """The ranked shapes shape inference recorded, by value name (inputs, intermediate values, outputs)."""
    shapes: dict[str, Shape] = {}
    for info in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tensor_type = info.type.tensor_type
        if info.type.HasField("tensor_type") and tensor_type.HasField("shape"):
            shapes[info.name] = tuple(
                d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor_type.shape.dim
            )
    return shapes


def constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    """The tensor a Constant node holds, or None for the sparse and string forms."""
    for attr in node.attribute:
        if attr.name == "value":
            return numpy_helper.to_array(attr.t)
        if attr.name in _CONSTANT_ATTR_DTYPES:
            return np.asarray(onnx.helper.get_attribute_value(attr), dtype=_CONSTANT_ATTR_DTYPES[attr.name])
    return None


def is_float(dtype: np.dtype) -> bool:
    """Float dtypes, bfloat16 (ml_dtypes, not a numpy floating type) included."""
    return np.issubdtype(dtype, np.floating) or dtype.name == "bfloat16"
