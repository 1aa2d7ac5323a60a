"""Emitters: IR -> .pt2 (torch.export.save), ONNX (the original graph pruned for IR from ONNX, else torch.onnx's
dynamo exporter), torch-mlir text.

All write atomically. Example inputs for tracing come from the main function's signature; `?` dims
become dynamic dimensions of the exported model (batch, sequence length, image size stay free).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from spa.dialects.torch_base import BaseTensorType
from spa_ir.backends.onnx_faithful import save_faithful_onnx
from spa_ir.backends.torch_fx import main_function, to_graph_module
from spa_ir.core.dtypes import torch_dtype
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.fileio import write_with_atomic
from spa_ir.core.parsing import print_module
from spa_ir.core.program import Program
from spa_ir.frontends.onnx.load import onnx_source
from spa_ir.frontends.torch import random_input

DYNAMIC_DIM_EXAMPLE = 8
"""Size given to a `?` dim when tracing; exported models keep the dim dynamic."""


def example_inputs(program: Program) -> tuple[list[torch.Tensor], list[dict[int, Any]]]:
    """Random inputs matching the main function's argument types, and which dims are dynamic."""
    inputs: list[torch.Tensor] = []
    dynamic: list[dict[int, Any]] = []
    gen = torch.Generator().manual_seed(0)
    for arg in main_function(program).body.block.args:
        t = arg.type
        if not isinstance(t, BaseTensorType):
            raise SpaError(f"cannot make an example input of type {t}", where=program.source)
        shape = tuple(t.get_shape())
        dtype = torch_dtype(str(t.dtype))
        concrete = [DYNAMIC_DIM_EXAMPLE if d < 0 else d for d in shape]
        inputs.append(random_input(concrete, dtype, gen))
        dynamic.append({i: torch.export.Dim.AUTO for i, d in enumerate(shape) if d < 0})
    return inputs, dynamic


def export_program(program: Program) -> torch.export.ExportedProgram:
    gm = to_graph_module(program)
    inputs, dynamic = example_inputs(program)
    try:
        return torch.export.export(
            gm, tuple(inputs), dynamic_shapes=tuple(dynamic) if any(dynamic) else None, strict=False
        )
    except Exception as e:
        raise SpaError(f"torch.export of the emitted module failed: {first_line(e)}", where=program.source) from None


def save_pt2(program: Program, path: str | os.PathLike[str]) -> None:
    ep = export_program(program)
    write_with_atomic(path, lambda tmp: torch.export.save(ep, str(tmp)))


def save_onnx(program: Program, path: str | os.PathLike[str], *, via_torch: bool = False) -> None:
    """An IR imported from ONNX: its original graph, pruned (`onnx_faithful`), unless `via_torch`. Otherwise (and
    with `via_torch`) ONNX through torch's dynamo exporter: initializers keep the original weight names."""
    if not via_torch and onnx_source(program.module) is not None:
        return save_faithful_onnx(program, path)
    ep = export_program(program)

    def write(tmp: os.PathLike[str]) -> None:
        try:
            onnx_program = torch.onnx.export(ep, dynamo=True, optimize=True, verbose=False)
        except Exception as e:
            raise SpaError(f"ONNX export failed: {first_line(e)}", where=program.source) from None
        if onnx_program is None:  # only the legacy exporter (dynamo=False) returns None
            raise SpaError("ONNX export returned no program", where=program.source)
        onnx_program.save(str(tmp))

    write_with_atomic(path, write)


def to_torch_mlir_text(program: Program, *, inline_weights: bool = True) -> str:
    """torch-dialect MLIR that torch-mlir parses: weights inlined as `dense_resource` literals
    (torch-mlir's own convention), or kept as generic `"spa.param"` ops (needs --allow-unregistered-dialect)."""
    from torch_mlir import ir

    from spa_ir.frontends.mlir_bridge import torch_mlir_context

    ctx = torch_mlir_context()
    generic = print_module(program.module, debuginfo=True, generic=True)
    try:
        module = ir.Module.parse(generic, ctx)
    except Exception as e:
        raise SpaError(f"torch-mlir rejected the IR: {first_line(e)}", where=program.source) from None
    if inline_weights:
        _inline_params(module, program)
    return module.operation.get_asm(enable_debug_info=False) + "\n"


def _inline_params(module: Any, program: Program) -> None:
    """Replace every `spa.param` by `torch.vtensor.literal(dense_resource<name>)` holding its tensor
    (what torch-mlir's own importer emits for inlined weights)."""
    import numpy as np
    from torch_mlir import ir
    from torch_mlir.extras.fx_importer import TORCH_DTYPE_TO_NPY_TYPE, create_mlir_tensor_type

    from spa_ir.core.program import params

    by_name = {p.weight_name: p for p in params(program.module)}
    with module.context, ir.Location.unknown():
        for tm_op in [op for op in _walk(module.operation) if op.name == "spa.param"]:
            name = ir.StringAttr(tm_op.attributes["name"]).value
            tensor = program.tensor(by_name[name]).detach().contiguous()
            array = np.ascontiguousarray(tensor.numpy() if tensor.dtype != torch.bfloat16 else tensor.float().numpy())
            array = array.astype(TORCH_DTYPE_TO_NPY_TYPE[tensor.dtype], copy=False)
            value = ir.DenseResourceElementsAttr.get_from_buffer(array, name, create_mlir_tensor_type(tensor))
            with ir.InsertionPoint(tm_op):
                literal = ir.Operation.create(
                    "torch.vtensor.literal", results=[tm_op.results[0].type], attributes={"value": value}
                )
            tm_op.results[0].replace_all_uses_with(literal.results[0])
            tm_op.erase()


def _walk(op: Any) -> list[Any]:
    out: list[Any] = []
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                out.append(child.operation)
                out.extend(_walk(child.operation))
    return out
