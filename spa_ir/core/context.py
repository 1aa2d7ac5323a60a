"""The xDSL context spa works in (builtin, func, torch-mlir's torch dialect and spa's own dialect), and the
resources the IR refers to.

Why the weights travel in the context: a `spa.param` names a tensor that is not in the IR, as MLIR's
`dense_resource<blob>` names bytes that the MLIRContext holds. An xDSL pass receives `(ctx, module)` and
nothing else, so the context is the one channel by which a driver can hand a pass the program's weights
without a side table keyed by module. `SpaContext` carries the WeightStore behind the `spa.param`s and the
slot where a pruning pass leaves its Plan; the driver (Program.run, spa-opt's apply_passes) builds one per
program and reads the plan back after the pipeline. Nothing module-level remembers a program, so pipelines
of several programs can run interleaved in one process. A pass that needs tensors asks `weights_of(ctx)`,
which fails with one line when the driver handed none over.

This module imports no torch (spa-opt imports it at start-up): the store and plan types are only named.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func

from spa.dialects.spa import Spa
from spa.dialects.torch import Torch
from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from spa_ir.calibration.data import Calibration
    from spa_ir.calibration.store import StatsStore
    from spa_ir.core.plan import Plan
    from spa_ir.core.weights import WeightStore

DIALECTS = (Builtin, Func, Torch, Spa)


@dataclass
class SpaContext(Context):
    """An xDSL Context plus the resources of the one program its passes run over."""

    weights: WeightStore | None = None
    """The tensors behind the `spa.param`s without an inline value (None: the driver handed none over)."""
    plan: Plan | None = None
    """Where spa-eliminate-dead-channels leaves what it removed (the driver saves it or returns it)."""
    stats: StatsStore | None = None
    """Calibration statistics: loaded beside the IR by the driver, or left by spa-collect-stats."""
    calib: Calibration | None = None
    """The calibration data spa-collect-stats runs the model on (spa-opt's --calib, the API's calib=)."""
    synthetic: dict[str, Calibration | None] = field(default_factory=dict)
    """Synthetic calibration inputs made for an IR (OBSPA's data-free source), shared by the passes that use them."""
    device: str | None = None
    """Where calibration and compensation run the model (spa-opt's --device, the API's device=; None: the CPU)."""

    @classmethod
    def extending(cls, base: Context, weights: WeightStore | None = None) -> SpaContext:
        """A SpaContext with `base`'s dialects (e.g. the ones a driver registered) and these weights."""
        return cls(**{f.name: getattr(base.clone(), f.name) for f in fields(Context)}, weights=weights)

    def clone(self) -> SpaContext:
        """A copy that keeps the resources (xDSL's apply_to_clone clones the context with the module); the
        clone's weights are a copy-on-write view, so a pass run on the clone leaves this program's alone."""
        copy = SpaContext.extending(super().clone(), self.weights.copy() if self.weights is not None else None)
        copy.plan, copy.stats, copy.calib, copy.synthetic = self.plan, self.stats, self.calib, self.synthetic
        copy.device = self.device
        return copy


def make_context(*, allow_unregistered: bool = False, weights: WeightStore | None = None) -> SpaContext:
    ctx = SpaContext(allow_unregistered=allow_unregistered, weights=weights)
    for dialect in DIALECTS:
        ctx.load_dialect(dialect)
    return ctx


def weights_of(ctx: Context, needed_by: str) -> WeightStore:
    """The weights a pass reads or replaces: those its driver handed over in a SpaContext."""
    if isinstance(ctx, SpaContext) and ctx.weights is not None:
        return ctx.weights
    raise SpaError(
        f"{needed_by} needs the program's weights: run it with Program.run or spa-opt, which hand them "
        "to the passes in a SpaContext"
    )


def stats_of(ctx: Context, needed_by: str) -> StatsStore:
    """The calibration statistics a pass reads: collected by spa-collect-stats or loaded beside the IR."""
    if isinstance(ctx, SpaContext) and ctx.stats is not None:
        return ctx.stats
    raise SpaError(
        f"{needed_by} needs calibration statistics: run spa-collect-stats with --calib FILE (or calib= in the API)"
    )


def calib_of(ctx: Context, needed_by: str) -> Calibration:
    """The calibration data its driver handed over (spa-opt's --calib, the API's calib=)."""
    if isinstance(ctx, SpaContext) and ctx.calib is not None:
        return ctx.calib
    raise SpaError(f"{needed_by} needs calibration data: give --calib FILE (or calib= in the API)")


def leave_plan(ctx: Context, plan: Plan, left_by: str) -> None:
    """Leave a pruning plan where the driver picks it up; a later one in the same pipeline (iterative steps)
    is composed with it, so the plan stays in the indexing of the pipeline's input."""
    if not isinstance(ctx, SpaContext):
        raise SpaError(f"{left_by} leaves a plan in a SpaContext: run it with Program.run or spa-opt")
    ctx.plan = plan if ctx.plan is None else ctx.plan.then(plan)
