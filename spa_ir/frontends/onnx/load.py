"""Reading an ONNX file: load (external data, local functions inlined), name nodes, check, infer shapes;
and the ONNX-level facts the later stages share (which domains are standard, which types are float, what a
Constant node holds)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import onnx
import onnx.inliner
import onnx.version_converter
from onnx import numpy_helper
from xdsl.dialects.builtin import ModuleOp

from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.records import get_record, put_record
from spa_ir.ops.resampling import restore_legacy_resizes

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

MIN_OPSET = 17
"""The default-domain opset a model is upgraded to before conversion when it declares an older one:
torch-mlir registers its conversions from given opset versions on (BatchNormalization from 15, HardSwish 14,
Softmax, Slice, Unsqueeze and Erf 13, LayerNormalization 17), and converter outputs often declare 9-13.
onnx's version converter keeps node and initializer names, which the weights and the faithful writer rely on."""

SOURCE_RECORD = "spa.onnx_source"
"""The module record the import leaves: the imported file's absolute `path` and `sha256` (what the faithful
ONNX writer edits later, and how it knows the file is still the one imported)."""

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


def node_name(node: onnx.NodeProto, index: int) -> str:
    """The name the import gives the `index`-th node of the main graph (its own, else a made-up one): the NameLoc
    of the ops it becomes, and how the faithful writer finds them again."""
    if node.name:
        return node.name
    return node.output[0] if node.output and node.output[0] else f"{node.op_type}_{index}"


def name_unnamed_nodes(graph: onnx.GraphProto) -> None:
    """Give every node a name, so every op (and every error) has a NameLoc to point at."""
    for index, node in enumerate(graph.node):
        node.name = node_name(node, index)


def default_opset(model: onnx.ModelProto) -> int:
    """The opset version the model imports for standard ops."""
    return next((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), 1)


_LATER_CONVERSIONS = {"Softsign": 22, "DFT": 20, "LpPool": 18}
"""Ops older than the opset torch-mlir converts them from (a Keras softsign activation at any opset): a model
holding one is upgraded to that opset."""


def upgrade_opset(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """The model at `MIN_OPSET` (or the opset `_LATER_CONVERSIONS` asks for its ops) when it declares an older
    standard opset (unchanged otherwise); a model the version converter cannot upgrade is a SpaError naming the
    file, the versions and the converter's reason."""
    version = default_opset(model)
    target = max([MIN_OPSET, *(_LATER_CONVERSIONS.get(n.op_type, 0) for n in model.graph.node)])
    if version >= target:
        return model
    try:
        return restore_legacy_resizes(model, onnx.version_converter.convert_version(model, target), str(path))
    except SpaError:
        raise
    except Exception as e:  # the converter raises RuntimeError / ValueError / ConvertError per adapter
        raise SpaError(
            f"cannot upgrade the model from opset {version} to {target}: {first_line(e)}", where=str(path)
        ) from None


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


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_onnx_source(module: ModuleOp, path: Path) -> None:
    """Record the imported file on the module (what `save_faithful_onnx` edits later)."""
    put_record(module, SOURCE_RECORD, {"path": str(path.resolve()), "sha256": file_sha256(path)})


def onnx_source(module: ModuleOp) -> tuple[Path, str] | None:
    """The ONNX file a module was imported from and its hash at import, or None (not from ONNX)."""
    record = get_record(module, SOURCE_RECORD)
    if record is None:
        return None
    return Path(str(record["path"])), str(record["sha256"])
