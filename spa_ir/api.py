"""spa's Python API at the Program level: import a model into a Program, save/load it, prune it, emit it again.
The one call that does it all for a model or a file is `spa_ir.prune` (spa_ir/oneshot.py), built on these.

prog = spa_ir.api.import_torch(torchvision.models.resnet18(), [torch.randn(1, 3, 64, 64)])
prog.save("r18.mlir")                       # r18.mlir + r18.safetensors
plan = spa_ir.api.prune_program(prog, ratio=0.5)
gm = spa_ir.api.to_torch(prog)              # torch.fx.GraphModule with the original parameter names
spa_ir.api.apply_plan(model, plan)          # the user's own model, sliced in place
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from spa_ir.core.program import Program
from spa_ir.frontends.torch import build_model, import_exported, import_module, import_pt2

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan
    from spa_ir.core.plan import Plan


def import_torch(
    model: torch.nn.Module,
    example_inputs: Sequence[Any] | Mapping[str, Any],
    name: str = "model",
    *,
    train: bool = False,
    dynamic_shapes: Any = None,
) -> Program:
    """Capture `model` in eval mode, or in training mode with `train=True` (aux heads, dropout and batch
    statistics in the IR; the emitted module updates its batch norms' running statistics as it runs).
    `example_inputs`: forward's positional arguments, or a mapping of its keyword arguments.
    `dynamic_shapes`: torch.export's (`({0: Dim("batch")},)`; one Dim object for dims that are one size): those dims
    stay dynamic in the IR and every backend, named Dims name them (ONNX dim_params); a channel dim is refused."""
    return import_module(model, example_inputs, name, train=train, dynamic_shapes=dynamic_shapes)


def import_onnx(path: str | os.PathLike[str]) -> Program:
    from spa_ir.frontends.onnx import import_onnx  # onnx and torch-mlir's ONNX importer load on first use

    return import_onnx(path)


def load(mlir_path: str | os.PathLike[str]) -> Program:
    return Program.load(mlir_path)


def prune_program(
    program: Program,
    calib: Any = None,
    *,
    calib_batch: int = 32,
    loss: str | Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
    device: str | None = None,
    **options: Any,
) -> Plan:
    """Run the pruning pipeline (`spa-prune-groups`) on `program` in place and return the plan of what was removed
    (the Program-level step of `spa_ir.prune`, which takes a model or a file and returns a PruneResult). Options
    are the pipeline's, snake case: criterion, agg, norm, seed (spa-annotate-importance); ratio, keep_flops,
    keep_params, scope, min_keep, min_keep_ratio, round_to, only_exact, ignore, overrides, heads, uniform
    (spa-select-channels); steps (the whole pipeline N times).

    calib: calibration data for the data-driven criteria: a `.pt`/`.npz` path, a tensor, a dict
    `{"inputs", "targets"}`, an iterable of batches (tensors, tuples of tensors, `(inputs, targets)`, dicts) or
    a `spa_ir.calibration.data.Calibration`; `calib_batch` samples per forward; `loss` a name
    (cross-entropy | mse | output-norm) or a callable `(output, targets) -> per-sample losses`; `device` where
    calibration and compensation run the model: cpu (default), cuda, cuda:N (spa-opt's --device)."""
    from spa.passes import pipeline_passes
    from spa_ir.calibration.device import resolve_device

    resolve_device(device, "device=")  # a device this machine lacks fails before any pass runs
    data = None
    if calib is not None:
        from spa_ir.calibration.data import calibration_from

        data = calibration_from(calib, batch=calib_batch, loss=loss)
        data.bind(program.module)  # data that does not fit the model fails before any pass runs
    program.run(pipeline_passes("spa-prune-groups", **options), calib=data, device=device)
    assert program.plan is not None
    return program.plan


def to_torch(program: Program) -> torch.fx.GraphModule:
    from spa_ir.backends.torch_fx import to_graph_module

    return to_graph_module(program)


def apply_plan(
    model: torch.nn.Module, plan: Plan | str | os.PathLike[str], *, example_inputs: Any = None, verify: bool = True
) -> AppliedPlan:
    """The pruned model back in the user's own class: slice `model`'s tensors in place as `plan` (or a
    plan.json, its plan.safetensors beside it) says, after writing the plan's compensated tensors, and update
    the layers' attributes. With `example_inputs` it runs once: a failing forward is named, and an exact plan's
    result must equal the masked original (`verify`), else the model is restored and the error says why."""
    from spa_ir.backends.module import apply_plan

    return apply_plan(model, plan, example_inputs=example_inputs, verify=verify)


__all__ = [
    "Program",
    "apply_plan",
    "build_model",
    "import_exported",
    "import_onnx",
    "import_pt2",
    "import_torch",
    "load",
    "prune_program",
    "to_torch",
]
