"""A program = the IR module + its weight store, read from and written to `model.mlir` + `model.safetensors`
(+ the calibration statistics collected on it, `model.stats.safetensors`, when there are any).

Passes reach the weights only through the context `Program.run` (or spa-opt) hands them (see
spa_ir/core/context.py); nothing maps a module back to its Program.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

from spa.dialects.spa import ParamOp
from spa_ir.core.context import SpaContext, make_context
from spa_ir.core.errors import SpaError
from spa_ir.core.fileio import atomic_outputs
from spa_ir.core.ir import params
from spa_ir.core.parsing import parse_module, print_module
from spa_ir.core.weights import WeightStore, param_shape_dtype, param_tensor

if TYPE_CHECKING:
    from spa_ir.calibration.data import Calibration
    from spa_ir.calibration.store import StatsStore
    from spa_ir.core.plan import Plan


def weights_path_for(mlir_path: str | os.PathLike[str]) -> Path:
    """`model.mlir` -> `model.safetensors` (same stem, same folder)."""
    return Path(mlir_path).with_suffix(".safetensors")


def external_weight_names(module: ModuleOp) -> list[str]:
    """Names of the stored tensors the IR refers to (params with an inline value excluded)."""
    return sorted({p.weight_name for p in params(module) if p.value is None})


@dataclass
class Program:
    """The IR and its weights, kept consistent: every `spa.param` has a tensor of its type."""

    module: ModuleOp
    weights: WeightStore
    source: str = "<memory>"
    plan: Plan | None = None
    """Set by spa-eliminate-dead-channels: what was removed, in the original indexing."""
    stats: StatsStore | None = None
    """Calibration statistics (spa-collect-stats, or the file beside the IR); saved beside it while they match it."""

    @classmethod
    def load(cls, mlir_path: str | os.PathLike[str], weights_path: str | os.PathLike[str] | None = None) -> Program:
        """`x.mlir` and its weights (`weights_path`, default `x.safetensors` beside it)."""
        path = Path(mlir_path)
        if not path.exists():
            raise SpaError("file not found", where=str(path))
        from spa_ir.calibration.store import stats_path_for

        return cls.from_module(
            parse_module(path.read_text(), str(path)),
            weights_path or weights_path_for(path),
            str(path),
            stats_path=stats_path_for(path),
        )

    @classmethod
    def from_module(
        cls,
        module: ModuleOp,
        weights_path: str | os.PathLike[str] | None,
        source: str,
        *,
        stats_path: str | os.PathLike[str] | None = None,
    ) -> Program:
        """The one loader (Program.load and spa-opt): a parsed module and the weights file its `spa.param`s
        name, checked against each other. The file is read when a param needs it or when it exists; IR whose
        params are all inline needs none (`weights_path` None: IR read from stdin). The statistics file
        (`stats_path`) is read when it exists; passes that read it check that it was collected on this IR."""
        needs_store = any(p.value is None for p in params(module))
        if needs_store and weights_path is None:
            raise SpaError("IR read from stdin has spa.param weights: pass --weights FILE")
        wpath = Path(weights_path) if weights_path is not None else None
        store = WeightStore.load(wpath) if wpath is not None and (needs_store or wpath.exists()) else WeightStore()
        program = cls(module, store, source)
        program.check_weights()
        if stats_path is not None and Path(stats_path).exists():
            from spa_ir.calibration.store import StatsStore

            program.stats = StatsStore.load(stats_path)
        return program

    @classmethod
    def parse(cls, text: str, weights: WeightStore | None = None, source: str = "<stdin>") -> Program:
        program = cls(parse_module(text, source), weights or WeightStore(), source)
        program.check_weights()
        return program

    def check_weights(self) -> None:
        """Every `spa.param` without an inline value must have a tensor of exactly its shape and dtype."""
        wfile = f"weights file '{self.weights.path}'" if self.weights.path is not None else "the weights"
        for p in params(self.module):
            if p.value is not None:
                continue
            shape, dtype = param_shape_dtype(p)
            if p.weight_name not in self.weights:
                raise SpaError(f"spa.param '{p.weight_name}' has no tensor in {wfile}", where=self.source)
            got_shape, got_dtype = self.weights.meta(p.weight_name)
            if got_shape != shape or got_dtype != dtype:
                raise SpaError(
                    f"spa.param '{p.weight_name}' is {list(shape)} {dtype} in the IR but "
                    f"{list(got_shape)} {got_dtype} in {wfile}",
                    where=self.source,
                )

    def tensor(self, p: ParamOp) -> torch.Tensor:
        """The value of a `spa.param`: its inline literal, else the stored tensor."""
        return param_tensor(p, self.weights)

    def weight(self, name: str) -> torch.Tensor:
        """The tensor of the `spa.param` named `name` (inline literal or stored)."""
        for p in params(self.module):
            if p.weight_name == name:
                return self.tensor(p)
        raise SpaError(f"no spa.param named '{name}'", where=self.source)

    def text(self, *, debuginfo: bool = False) -> str:
        return print_module(self.module, debuginfo=debuginfo)

    @property
    def weights_modified(self) -> bool:
        return self.weights.modified

    def external_weight_names(self) -> list[str]:
        """Names of the stored tensors the IR refers to (params with an inline value excluded)."""
        return external_weight_names(self.module)

    def context(
        self, base: Context | None = None, calib: Calibration | None = None, device: str | None = None
    ) -> SpaContext:
        """The context this program's passes run in: `base`'s dialects (default: spa's), these weights and
        statistics, the calibration data given and the device calibration runs on (None: the CPU)."""
        ctx = SpaContext.extending(base, self.weights) if base is not None else make_context(weights=self.weights)
        ctx.stats, ctx.calib, ctx.device = self.stats, calib, device
        return ctx

    def run(
        self,
        passes: PassPipeline | Sequence[ModulePass],
        base: Context | None = None,
        calib: Calibration | None = None,
        device: str | None = None,
    ) -> None:
        """Apply a pipeline (or passes in order) to this program in place, handing the passes its weights,
        statistics, `calib` and `device` in a SpaContext; the plan a pruning pass leaves becomes `self.plan`, the
        statistics spa-collect-stats leaves `self.stats`."""
        pipeline = passes if isinstance(passes, PassPipeline) else PassPipeline(tuple(passes))
        ctx = self.context(base, calib, device)
        from spa_ir.core.fingerprint import architecture_hash

        architecture = architecture_hash(self.module)  # what a plan made by this run refers to
        pipeline.apply(ctx, self.module)
        if ctx.plan is not None:
            ctx.plan.architecture = architecture
            self.plan = ctx.plan
        self.stats = ctx.stats

    def save(self, mlir_path: str | os.PathLike[str], text: str | None = None) -> None:
        """Write `x.mlir` (and `x.safetensors` if the IR has stored weights, `x.stats.safetensors` if it has
        statistics collected on this IR; a store of an earlier IR, e.g. before pruning, is not written): all
        complete, or none replaced."""
        from safetensors.torch import save_file

        from spa_ir.calibration.store import ir_hash, stats_path_for

        mlir_path = Path(mlir_path)
        names = self.external_weight_names()
        targets = [mlir_path, weights_path_for(mlir_path)] if names else [mlir_path]
        stats = self.stats
        if stats is not None and stats.meta.get("ir_hash") != ir_hash(self.module):
            stats = None  # collected on an earlier IR (before pruning): not this file's statistics
        if stats is not None:
            targets.append(stats_path_for(mlir_path))
        with atomic_outputs(targets) as temps:
            temps[0].write_text(self.text(debuginfo=True) if text is None else text)
            if names:
                save_file({n: self.weights[n].detach().contiguous().clone() for n in names}, str(temps[1]))
            if stats is not None:
                stats.write(temps[-1])
