"""ONNX -> torch dialect: torch-mlir's ONNX importer (`torch.operator "onnx.*"` ops), then its conversion to
aten ops (`convert-torch-onnx-to-torch,canonicalize`: not the backend pipeline, which decomposes BatchNorm);
an op left unconverted is a SpaError naming the op, its node and the file."""

from __future__ import annotations

import re
from pathlib import Path

import onnx
from torch_mlir import ir
from torch_mlir.extras import onnx_importer
from torch_mlir.passmanager import PassManager

from spa_ir.core.errors import SpaError, first_line
from spa_ir.frontends.mlir_bridge import torch_mlir_context
from spa_ir.frontends.onnx.control_flow import name_opaque_ops
from spa_ir.frontends.onnx.load import DEFAULT_DOMAINS
from spa_ir.frontends.onnx.recurrent import lower_recurrent
from spa_ir.ops.resampling import onnx_refusal

__all__ = ["CONVERSION_PIPELINE", "main_func", "to_torch"]

CONVERSION_PIPELINE = "builtin.module(func.func(convert-torch-onnx-to-torch),canonicalize)"
# Inlines functions the importer expands ONNX function ops into (e.g. MeanVarianceNormalization).
_INLINE_PIPELINE = "builtin.module(inline,symbol-dce)"

_ILLEGAL_ONNX_OP = re.compile(r'failed to legalize operation .*name = "onnx\.(\w+)"')
_NAME_LOC = re.compile(r'loc\("((?:[^"\\]|\\.)*)"')


def to_torch(model: onnx.ModelProto, path: Path) -> tuple[ir.Module, list[str]]:
    """The model as a torch dialect module, and its argument names (the ONNX input names, in order)."""
    module, arg_names = _import_model(model, path)
    lower_recurrent(module, model, path)  # before the conversion turns LSTM/GRU/RNN into torch.prim.Loop
    name_opaque_ops(module)  # control flow the import hid: out of the conversion's reach
    _convert(module, model, path)
    _reject_unconverted_ops(module, model, path)
    return module, arg_names


def main_func(module: ir.Module) -> ir.Operation:
    """The module's one function (the conversion inlines the others)."""
    (func,) = _funcs(module)
    return func


def _import_model(model: onnx.ModelProto, path: Path) -> tuple[ir.Module, list[str]]:
    """Run torch-mlir's ONNX importer (as `torch-mlir-import-onnx` does): onnx.* ops, and arg names."""
    context = torch_mlir_context()
    try:
        model_info = onnx_importer.ModelInfo(model)
        module = model_info.create_module(context=context)
        importer = onnx_importer.NodeImporter.define_function(model_info.main_graph, module.operation)
        importer.import_all()
    except Exception as e:  # OnnxImportError, MLIRError, and asserts on malformed graphs
        raise SpaError(f"ONNX import failed: {first_line(e)}", where=str(path)) from None
    return module, list(model_info.main_graph.input_map)


def _convert(module: ir.Module, model: onnx.ModelProto, path: Path) -> None:
    """Lower onnx.* operators to aten ops, keeping BatchNorm, convolutions and matmuls recognizable."""
    pipelines = [_INLINE_PIPELINE, CONVERSION_PIPELINE] if len(_funcs(module)) > 1 else [CONVERSION_PIPELINE]
    try:
        with module.context:
            for pipeline in pipelines:
                PassManager.parse(pipeline).run(module.operation)
    except ir.MLIRError as e:
        for diagnostic in e.error_diagnostics:
            match = _ILLEGAL_ONNX_OP.search(diagnostic.message)
            if match:
                _raise_unsupported(match.group(1), _loc_name(diagnostic.location), model, path)
        raise SpaError(f"ONNX to torch conversion failed: {_diagnostics_text(e)}", where=str(path)) from None


def _diagnostics_text(e: ir.MLIRError) -> str:
    first = e.error_diagnostics[0] if e.error_diagnostics else None
    return f"{first.message} at {first.location}".splitlines()[0] if first else first_line(e)


def _funcs(module: ir.Module) -> list[ir.Operation]:
    return [op.operation for op in module.body.operations if op.operation.name == "func.func"]


def _reject_unconverted_ops(module: ir.Module, model: onnx.ModelProto, path: Path) -> None:
    """Raise on any `torch.operator "onnx.*"` the conversion left in place."""
    leftovers = _unconverted_ops(module)
    if leftovers:
        op_type, node_name = leftovers[0]
        _raise_unsupported(op_type, node_name, model, path)


def _raise_unsupported(op_type: str, node_name: str, model: onnx.ModelProto, path: Path) -> None:
    """SpaError naming the op (with its domain when not the standard one), the node and the file."""
    node = next((n for n in model.graph.node if n.name == node_name), None)
    domain = node.domain if node is not None else ""
    if domain in DEFAULT_DOMAINS:
        refusal = onnx_refusal(node) if node is not None and op_type == "Resize" else None  # names the attribute
        why = refusal or "torch-mlir has no conversion for it with these operand types"
        qualified = op_type
    else:
        why = "custom-domain ops have no conversion"
        qualified = f"{domain}.{op_type}"
    raise SpaError(f"unsupported ONNX op '{qualified}' (node '{node_name}'): {why}", where=str(path))


def _unconverted_ops(module: ir.Module) -> list[tuple[str, str]]:
    """(op type, node name) of every onnx.* operator still in the module, in program order."""
    found: list[tuple[str, str]] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "torch.operator":
            name = ir.StringAttr(op.attributes["name"]).value
            if name.startswith("onnx."):
                found.append((name.removeprefix("onnx."), _loc_name(op.location)))
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _loc_name(location: ir.Location) -> str:
    """The (first) NameLoc name in a location: the ONNX node name the importer attached."""
    match = _NAME_LOC.search(str(location))
    if not match:
        return str(location)
    return re.sub(r'\\(["\\])', r"\1", match.group(1))
