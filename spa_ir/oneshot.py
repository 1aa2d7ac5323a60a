"""The one call: `spa_ir.prune(model_or_path, example_inputs=None, **options) -> PruneResult`.

    result = spa_ir.prune(model, torch.randn(1, 3, 32, 32), keep_flops=0.5, criterion="l1")
    result = spa_ir.prune(bert, {"input_ids": ids, "attention_mask": mask}, ratio=0.5, heads=True)
    result = spa_ir.prune("model.onnx", ratio=0.5, only_exact=True)   # or a .pt2, a .mlir, an ExportedProgram
    result.module(x); result.save("pruned.onnx")

It strings together the Program-level steps of spa_ir.api: import (by what the input is), `prune_program` (the
`spa-prune-groups` pipeline, whose options it passes through unchanged), then the pruned model back: for an nn.Module
its own object with the plan applied when it holds it (apply_plan, verified on the example inputs), else the module
emitted from the pruned program. Options are checked before the import, so a misspelt one costs no capture.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from spa_ir import api
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program
from spa_ir.frontends.torch import split_inputs
from spa_ir.result import PruneResult, Source

if TYPE_CHECKING:
    from spa_ir.core.plan import Plan

ModelOrPath = torch.nn.Module | torch.export.ExportedProgram | str | os.PathLike[str]


def prune(
    model_or_path: ModelOrPath,
    example_inputs: Any = None,
    *,
    calib: Any = None,
    calib_batch: int = 32,
    loss: str | Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
    device: str | None = None,
    train: bool = False,
    dynamic_shapes: Any = None,
    verify: bool = True,
    **options: Any,
) -> PruneResult:
    """Prune a model in one call and return the pruned model, its plan, program and report.

    model_or_path: an nn.Module (with `example_inputs`: a tensor, a tuple/list of forward's positional arguments, or
    a dict of its keyword arguments such as {"input_ids": ..., "attention_mask": ...}), a torch.export
    ExportedProgram, or a path: `.onnx`, `.pt2`, `.mlir` (its `.safetensors` beside it).
    options: the `spa-prune-groups` pipeline's, in snake case (`keep_flops=0.5` for keep-flops, `criterion`,
    `heads`, `only_exact`, ...; same defaults, same errors); calib / calib_batch / loss / device as for
    `spa_ir.api.prune_program`; `train=True` captures an nn.Module in training mode; `dynamic_shapes` (torch.export's
    format) is handed to the capture; `verify=False` skips checking the applied model on the example inputs (outputs
    after discrete post-processing such as NMS).

    An nn.Module is changed in place when it can hold the plan (`result.kind == "applied"`, `result.module is
    model`); otherwise it is left as it was and `result.module` is the emitted module (`result.why_emitted`)."""
    from spa.passes import pipeline_passes

    pipeline_passes("spa-prune-groups", **options)  # a bad option is the pipeline's one-line error, before the import
    program, source = _import(model_or_path, example_inputs, train, dynamic_shapes)
    from spa_ir.reporting import snapshot

    before = snapshot(program)
    plan = api.prune_program(program, calib, calib_batch=calib_batch, loss=loss, device=device, **options)
    if isinstance(model_or_path, torch.nn.Module):
        return _put_back(model_or_path, example_inputs, plan, program, before, verify=verify, train=train)
    return PruneResult(api.to_torch(program), "emitted", plan, program, before, source)


def _import(model_or_path: Any, example_inputs: Any, train: bool, dynamic_shapes: Any) -> tuple[Program, Source]:
    """The Program of what the user gave, and which kind of input it was."""
    if isinstance(model_or_path, torch.nn.Module):
        if example_inputs is None:
            raise SpaError(
                "an nn.Module needs example_inputs (a tensor, a tuple of forward's arguments, or a dict of its keyword"
                " arguments)",
                where=type(model_or_path).__name__,
            )
        return _import_module(model_or_path, example_inputs, train, dynamic_shapes), "module"
    name = _describe(model_or_path)
    for given, what in ((example_inputs, "example_inputs"), (dynamic_shapes, "dynamic_shapes"), (train, "train")):
        if given is not None and given is not False:
            raise SpaError(f"{what}= is for an nn.Module; {name} carries its own inputs and mode", where=name)
    if isinstance(model_or_path, torch.export.ExportedProgram):
        return api.import_exported(model_or_path.run_decompositions({}), "ExportedProgram"), "exported"
    if isinstance(model_or_path, (str, os.PathLike)):
        return _import_file(Path(model_or_path))
    raise SpaError(
        f"cannot prune a {type(model_or_path).__name__}: give an nn.Module, an ExportedProgram or a .onnx / .pt2 / "
        ".mlir path"
    )


def _describe(model_or_path: Any) -> str:
    if isinstance(model_or_path, (str, os.PathLike)):
        return str(model_or_path)
    return type(model_or_path).__name__


def _import_module(model: torch.nn.Module, inputs: Any, train: bool, dynamic_shapes: Any) -> Program:
    return api.import_torch(model, _as_inputs(inputs), type(model).__name__, train=train, dynamic_shapes=dynamic_shapes)


def _as_inputs(inputs: Any) -> list[Any] | dict[str, Any]:
    """A tensor, a tuple/list of positional arguments, or a mapping of keyword arguments, as the frontend takes them."""
    if isinstance(inputs, Mapping):
        return dict(inputs)
    if isinstance(inputs, (tuple, list)):
        return list(inputs)
    return [inputs]


_FILE_IMPORTS: dict[str, tuple[Source, Callable[[Path], Program]]] = {
    ".onnx": ("onnx", api.import_onnx),
    ".pt2": ("pt2", api.import_pt2),
    ".mlir": ("mlir", api.load),
}


def _import_file(path: Path) -> tuple[Program, Source]:
    entry = _FILE_IMPORTS.get(path.suffix.lower())
    if entry is None:
        raise SpaError(
            f"cannot tell the format from the suffix '{path.suffix or '(none)'}' (known: .onnx, .pt2, .mlir)",
            where=str(path),
        )
    source, load = entry
    return load(path), source


def _put_back(
    model: torch.nn.Module, inputs: Any, plan: Plan, program: Program, before: Program, *, verify: bool, train: bool
) -> PruneResult:
    """The plan into the user's own model when it holds it: apply_plan checks the applied model (in eval mode)
    against the masked original (an exact plan) or, for an inexact plan, against the emitted module on the same
    inputs; not for a training-mode capture, whose emitted module stays in training mode (dropout, batch statistics).
    A refusal leaves the model as it was and the result holds the emitted module, saying why."""
    from spa_ir.backends.module import apply_plan
    from spa_ir.backends.module.hardcoded import run_eval

    given = _as_inputs(inputs)
    by_emitted = verify and not train and not _exact(plan)
    emitted = api.to_torch(program) if by_emitted else None
    reference = run_eval(emitted, _positional(model, given)) if emitted is not None else None
    try:
        applied = apply_plan(model, plan, example_inputs=given, verify=verify, reference=reference)
    except SpaError as e:
        module = emitted if emitted is not None else api.to_torch(program)
        return PruneResult(module, "emitted", plan, program, before, "module", why_emitted=e.message)
    return PruneResult(model, "applied", plan, program, before, "module", applied=applied, verified=applied.verified)


def _positional(model: torch.nn.Module, inputs: list[Any] | dict[str, Any]) -> list[torch.Tensor]:
    """The tensors the emitted module takes, in the IR's input order (keyword inputs in forward's signature order;
    non-tensor arguments were constants of the capture)."""
    args, kwargs = split_inputs(model, inputs)
    leaves = torch.utils._pytree.tree_leaves((args, kwargs or {}))
    return [t for t in leaves if isinstance(t, torch.Tensor)]


def _exact(plan: Plan) -> bool:
    """Whether every group the plan removes from is exact (the masked original is then the reference)."""
    return not any(g.get("removed") and not g.get("exact", True) for g in plan.groups)
