"""Emitters: IR -> .pt2 (torch.export.save), ONNX (the original graph pruned for IR from ONNX, else torch.onnx's
dynamo exporter), torch-mlir text.

All write atomically. Example inputs for tracing come from the main function's signature; `?` dims
become dynamic dimensions of the exported model (batch, sequence length, image size stay free).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from spa.dialects.torch_base import BaseTensorType
from spa_ir.backends.onnx_faithful import save_faithful_onnx
from spa_ir.backends.torch_fx import main_function, to_graph_module
from spa_ir.core.dims import dim_maxima, dim_names
from spa_ir.core.dtypes import torch_dtype
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.fileio import write_with_atomic
from spa_ir.core.program import Program
from spa_ir.core.progress import logger_held, phases
from spa_ir.frontends.dynamic_shapes import export_refined
from spa_ir.frontends.onnx.load import onnx_source
from spa_ir.frontends.torch import random_input

DYNAMIC_DIM_EXAMPLE = 8
"""Size given to a `?` dim when tracing; exported models keep the dim dynamic."""
CONSTANT_FOLDING = "onnxscript.optimizer._constant_folding"
"""onnxscript's optimizer (torch.onnx.export's `optimize=True`) logs a warning for every node its constant folder
cannot evaluate ("Evaluation failed: cannot reshape array ..." for a Reshape to a dynamic shape) and then leaves the
node as it is: nothing for the user to act on, so the export holds this logger at ERROR."""


def example_inputs(program: Program) -> tuple[list[torch.Tensor], list[dict[int, Any]]]:
    """Random inputs matching the main function's argument types, and which dims are dynamic: the dims the frontend
    named (`spa.dim_names`) as one shared `Dim(name, max=...)` per name (so tied dims stay tied and ONNX dim_params
    carry the names; the bound `spa.dim_max` recorded), the other `?` dims as `Dim.AUTO`."""
    inputs: list[torch.Tensor] = []
    dynamic: list[dict[int, Any]] = []
    gen = torch.Generator().manual_seed(0)
    fn = main_function(program)
    names = dim_names(fn) or [[] for _ in fn.body.block.args]
    maxima = dim_maxima(fn)
    dims: dict[str, Any] = {n: torch.export.Dim(n, max=maxima.get(n)) for n in dict.fromkeys(sum(names, [])) if n}
    for arg, named in zip(fn.body.block.args, names):
        t = arg.type
        if not isinstance(t, BaseTensorType):
            raise SpaError(f"cannot make an example input of type {t}", where=program.source)
        shape = tuple(t.get_shape())
        dtype = torch_dtype(str(t.dtype))
        concrete = [_example_size(named, i, maxima) if d < 0 else d for i, d in enumerate(shape)]
        inputs.append(random_input(concrete, dtype, gen))
        dynamic.append({i: _dim(named, i, dims) for i, d in enumerate(shape) if d < 0})
    return inputs, dynamic


def _example_size(named: list[str], i: int, maxima: dict[str, int]) -> int:
    """DYNAMIC_DIM_EXAMPLE, or a bounded dim's bound where that is smaller (2 at least: torch.export specializes 1)."""
    bound = maxima.get(named[i], DYNAMIC_DIM_EXAMPLE) if i < len(named) else DYNAMIC_DIM_EXAMPLE
    return max(2, min(DYNAMIC_DIM_EXAMPLE, bound))


def _dim(named: list[str], i: int, dims: dict[str, Any]) -> Any:
    """The Dim of dynamic dim `i`: its name's (one per name, within its recorded bound), else Dim.AUTO."""
    name = named[i] if i < len(named) else ""
    return dims[name] if name else torch.export.Dim.AUTO


def export_program(program: Program) -> torch.export.ExportedProgram:
    """The emitted module through torch.export, its `?` dims dynamic; where the graph bounds one (a position table's
    length) with torch.export's suggested range (`dynamic_shapes.export_refined`)."""
    gm = to_graph_module(program)
    inputs, dynamic = example_inputs(program)

    def export(spec: Any) -> torch.export.ExportedProgram:
        return torch.export.export(gm, tuple(inputs), dynamic_shapes=spec, strict=False)

    labels = [str(i) for i in range(len(inputs))]
    try:
        if not any(dynamic):
            return export(None)
        return export_refined(export, tuple(dynamic), lambda s: [dict(d) for d in s], labels, "the emitted module")
    except SpaError as e:
        raise SpaError(e.message, where=program.source) from None
    except Exception as e:
        raise SpaError(f"torch.export of the emitted module failed: {first_line(e)}", where=program.source) from None


def save_pt2(program: Program, path: str | os.PathLike[str]) -> None:
    with phases("export .pt2", ("torch.export", "write")) as step:
        step()
        ep = export_program(program)
        step()
        write_with_atomic(path, lambda tmp: _save_archive(ep, tmp, Path(path).name))


def _save_archive(ep: torch.export.ExportedProgram, tmp: Path, name: str) -> None:
    """torch.export.save names the archive's root folder after the file it writes: written under the target's own
    name (in a temp folder) and moved to `tmp`, the bytes do not depend on the temp file's random name."""
    with tempfile.TemporaryDirectory(prefix=".spa.", dir=tmp.parent) as folder:
        torch.export.save(ep, str(Path(folder) / name))
        os.replace(Path(folder) / name, tmp)


def save_onnx(program: Program, path: str | os.PathLike[str], *, via_torch: bool = False) -> None:
    """An IR imported from ONNX: its original graph, pruned (`onnx_faithful`), unless `via_torch`. Otherwise (and
    with `via_torch`) ONNX through torch's dynamo exporter: initializers keep the original weight names."""
    if not via_torch and onnx_source(program.module) is not None:
        return save_faithful_onnx(program, path)
    with phases("export .onnx", ("torch.export", "torch.onnx.export", "write")) as step:
        step()
        ep = export_program(program)

        def write(tmp: os.PathLike[str]) -> None:
            step()
            try:
                with logger_held(CONSTANT_FOLDING):
                    onnx_program = torch.onnx.export(ep, dynamo=True, verbose=False, **_onnx_options(ep))
            except Exception as e:
                raise SpaError(f"ONNX export failed: {first_line(e)}", where=program.source) from None
            if onnx_program is None:  # only the legacy exporter (dynamo=False) returns None
                raise SpaError("ONNX export returned no program", where=program.source)
            _name_dim_params(onnx_program, program)
            _check_float_types(onnx_program, ep, program)
            step()
            onnx_program.save(str(tmp))

        write_with_atomic(path, write)


BF16_OPSET = 22
"""The first ONNX opset whose Conv, Gemm, BatchNormalization, pooling ... take bfloat16 (torch.onnx writes 20)."""


def _onnx_options(ep: torch.export.ExportedProgram) -> dict[str, Any]:
    """torch.onnx.export's options for this program. bfloat16 weights: opset BF16_OPSET and no optimizer, whose
    batch-norm fusion folds bfloat16 weights into float32 ones (numpy has no bfloat16) and breaks the graph's types."""
    if any(t.dtype == torch.bfloat16 for t in ep.state_dict.values()):
        return {"opset_version": BF16_OPSET, "optimize": False}
    return {"optimize": True}


def _check_float_types(onnx_program: Any, ep: torch.export.ExportedProgram, program: Program) -> None:
    """No silent upcast: a model whose weights are all fp16 / bf16 has every floating initializer of its ONNX file
    in those dtypes, else one line naming the first that is not."""
    names = {torch.float16: "FLOAT16", torch.bfloat16: "BFLOAT16"}
    dtypes = {t.dtype for t in ep.state_dict.values() if t.is_floating_point()}
    if not dtypes or not dtypes <= set(names):
        return
    allowed = {names[d] for d in dtypes}
    for name, value in onnx_program.model.graph.initializers.items():
        kind = value.dtype.name if value.dtype is not None else ""
        if value.dtype is not None and value.dtype.is_floating_point() and kind not in allowed:
            held = ", ".join(sorted(allowed))
            raise SpaError(
                f"ONNX export wrote '{name}' as {kind}, the model's weights are {held}", where=program.source
            )


def _name_dim_params(onnx_program: Any, program: Program) -> None:
    """The ONNX inputs' dim_params named after the IR's named dims (`batch`, `seq`), by torch.onnx's own renaming
    (what `torch.onnx.export(module, dynamic_shapes=...)` does after exporting); unnamed ones keep torch's `s0`.
    Each Dim is given once: torch.onnx warns at a second axis of a symbol it has renamed."""
    seen: set[int] = set()
    first: list[dict[int, Any]] = []
    for axes in example_inputs(program)[1]:
        first.append({a: d if isinstance(d, torch.export.Dim) and id(d) not in seen else None for a, d in axes.items()})
        seen.update(id(d) for d in axes.values())
    if any(d is not None for axes in first for d in axes.values()):
        onnx_program._rename_dynamic_axes(tuple(first))
