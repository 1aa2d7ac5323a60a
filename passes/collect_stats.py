"""spa-collect-stats: run the model on the calibration data and keep the statistics its criteria need."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from spa_ir.core.context import SpaContext, calib_of, weights_of
from spa_ir.core.errors import SpaError


def needed(criterion: str, kinds: tuple[str, ...]) -> frozenset[str]:
    """The kinds named by `kinds=` plus those `criterion` declares (spa_ir.pruning.criteria.needed_kinds)."""
    out = {k.strip() for k in kinds if k.strip()}
    if criterion:
        from spa_ir.pruning.criteria import needed_kinds  # imports torch: only when a criterion is named

        out |= needed_kinds(criterion)
    return frozenset(out)


@dataclass(frozen=True)
class CollectStats(ModulePass):
    """Collect calibration statistics (spa_ir/calibration/kinds.py) into the context's store, for the passes
    after it (spa-annotate-importance) and for the file beside the output (`model.stats.safetensors`).

    criterion: collect what this criterion needs (empty: nothing from a criterion); the pipeline's own option.
    kinds: statistic kinds to collect as well (`kinds=grad,fisher`; known: grad, fisher, hg, in_sum, in_sq,
    in_count, in_cov, in_cov_count, in_row_sum, out_rank).
    source: for criterion=obspa, where its input moments come from: auto (data when --calib is given, else
    synthetic) | data | synthetic (inputs synthesized from the network's normalization statistics) | stats
    (analytic per-channel moments) | identity (none); spa-obspa-compensate's option of the same name.
    seed: the synthetic inputs' seed.

    The model runs on the driver's device (spa-opt's --device, the API's device=; default the CPU).
    Nothing needed: a no-op that needs no data. A store already in the context (collected earlier, or loaded
    beside the input) that matches this IR and holds the needed kinds is reused; missing kinds are collected and
    added. The data comes from the driver (spa-opt's --calib, --calib-batch, --loss; the API's calib=).
    """

    name = "spa-collect-stats"

    criterion: str = ""
    kinds: tuple[str, ...] = ()
    source: str = "auto"
    seed: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from spa_ir.calibration import kinds as K

        if self.criterion == "obspa":
            self._obspa(ctx, op)
            return
        wanted = needed(self.criterion, self.kinds)
        unknown = sorted(wanted - K.ALL_KINDS)
        if unknown:
            raise SpaError(f"{self.name}: unknown kind '{unknown[0]}' (known: {', '.join(sorted(K.ALL_KINDS))})")
        if not wanted:
            return
        existing = ctx.stats if isinstance(ctx, SpaContext) else None
        if existing is not None and _matches(existing, op):
            missing = frozenset(k for k in K.closure(wanted) if k not in existing.kinds())
            if not missing:
                return
        else:
            existing, missing = None, wanted
        calib = calib_of(ctx, self.name)
        from spa_ir.calibration.collect import collect
        from spa_ir.calibration.device import resolve_device

        weights = weights_of(ctx, self.name)
        assert isinstance(ctx, SpaContext)  # calib_of returned
        stats = collect(op, weights, calib.source, calib, missing, resolve_device(ctx.device))
        ctx.stats = existing.merged(stats) if existing is not None else stats

    def _obspa(self, ctx: Context, op: ModuleOp) -> None:
        """obspa's input moments from its source: collected on the calibration data or on synthetic inputs,
        derived analytically (stats), or none (identity)."""
        from spa_ir.compensation.compensate import Options
        from spa_ir.compensation.sources import statistics

        existing = ctx.stats if isinstance(ctx, SpaContext) else None
        if existing is not None and _matches(existing, op) and existing.meta.get("obspa_source") == self.source:
            return
        if not isinstance(ctx, SpaContext):
            raise SpaError(f"{self.name} runs in a SpaContext: run it with Program.run or spa-opt")
        weights = weights_of(ctx, self.name)
        from spa_ir.calibration.device import resolve_device

        options = Options(source=self.source, seed=self.seed)
        kinds = needed(self.criterion, self.kinds)
        ctx.stats = statistics(options, ctx.calib, ctx.synthetic, op, weights, kinds, resolve_device(ctx.device))


def _matches(stats: object, op: ModuleOp) -> bool:
    from spa_ir.calibration.store import StatsStore, ir_hash

    return isinstance(stats, StatsStore) and stats.meta.get("ir_hash") == ir_hash(op)
