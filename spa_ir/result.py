"""What `spa_ir.prune` returns: the pruned model in the forms a user needs, as data until it is printed or saved.

result.module    # runnable, trainable nn.Module ("applied": the user's own model, sliced; "emitted": the
                 # module emitted from the pruned program, spa_ir.api.to_torch)
result.kind      # which of the two, and `result.why_emitted` when an nn.Module could not take the plan
result.plan      # what was removed (Plan: .save("plan.json"), .to_json())
result.program   # the pruned Program (IR + weights)
result.report    # per group / layer widths, params, FLOPs, file size (spa_ir.reporting.Report), built on first use
result.timed_report()       # the same with CPU latency before / after
result.save("pruned.pt2")   # .pt2 | .onnx | .mlir, by suffix
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    import torch

    from spa_ir.backends.module import AppliedPlan
    from spa_ir.core.plan import Plan
    from spa_ir.core.program import Program
    from spa_ir.reporting import Report

Kind = Literal["applied", "emitted"]
Source = Literal["module", "exported", "onnx", "pt2", "mlir"]


@dataclass
class PruneResult:
    """One pruning run: the pruned model, the plan, the program before and after. The program before is a snapshot
    (spa_ir.reporting.snapshot: module cloned, weight store copied), kept for the report."""

    module: torch.nn.Module
    """Runnable and trainable (its floating weights are nn.Parameters): see `kind`."""
    kind: Kind
    """"applied": the user's own nn.Module, sliced in place by apply_plan (its class, methods and state-dict names
    kept) and checked against the masked original (an exact plan) or the emitted module (an inexact one) on the
    example inputs; "emitted": the module emitted from the pruned program (for an ExportedProgram or a file, or an
    nn.Module that cannot hold the plan: `why_emitted`). Its inputs are positional, in `input_names` order."""
    plan: Plan
    program: Program
    """The pruned program."""
    before: Program = field(repr=False)
    """The program as imported, before pruning."""
    source: Source
    """What was pruned: an nn.Module, an ExportedProgram, or a .onnx / .pt2 / .mlir file."""
    why_emitted: str | None = None
    """apply_plan's one-line refusal when an nn.Module got the emitted module instead of its own."""
    applied: AppliedPlan | None = field(default=None, repr=False)
    """What apply_plan changed (kind "applied"): tensors, attributes, limits."""
    verified: float | None = None
    """The largest relative difference of `module` from its reference on the example inputs (the masked original for
    an exact plan; the emitted module for an inexact plan applied to the user's model); None when not checked."""
    _report: Report | None = field(default=None, init=False, repr=False)

    @property
    def report(self) -> Report:
        """What pruning did per group and layer, and the totals (spa_ir.reporting): `.table()`, `.to_json()`,
        `.plot("widths.png")`. Built on first use (it counts FLOPs of both programs)."""
        if self._report is None:
            from spa_ir.reporting import build_report

            self._report = build_report(self.before, self.program, self.plan)
        return self._report

    def timed_report(self, inputs: Sequence[Any] | None = None) -> Report:
        """The report with the measured CPU latency of both programs' emitted modules (median of timed forwards
        after warm-up), on `inputs` (positional, in `input_names` order; default: random ones of the IR's types).
        It becomes `report`."""
        from spa_ir.reporting import build_report

        self._report = build_report(self.before, self.program, self.plan, latency=True, latency_inputs=inputs)
        return self._report

    @property
    def input_names(self) -> list[str] | None:
        """The model's inputs in the order the emitted module takes them (None when the IR does not record them)."""
        from spa_ir.calibration.data import input_names

        return input_names(self.program.module)

    def save(self, path: str | os.PathLike[str]) -> None:
        """The pruned program as `.pt2` (torch.export), `.onnx` (for an ONNX input the original graph pruned, else
        torch's exporter) or `.mlir` (+ `.safetensors` beside it), by the suffix; written atomically. An unknown
        suffix is a one-line error before anything is written."""
        writer = _writer(path)
        writer(self.program, path)


def _writer(path: str | os.PathLike[str]) -> Callable[[Program, str | os.PathLike[str]], None]:
    suffix = Path(path).suffix.lower()
    if suffix == ".pt2":
        from spa_ir.backends.export import save_pt2

        return save_pt2
    if suffix == ".onnx":
        from spa_ir.backends.export import save_onnx

        return save_onnx
    if suffix == ".mlir":
        return _save_mlir
    raise SpaError(
        f"cannot tell the format from the suffix '{suffix or '(none)'}' (known: .pt2, .onnx, .mlir)", where=str(path)
    )


def _save_mlir(program: Program, path: str | os.PathLike[str]) -> None:
    program.save(path)
