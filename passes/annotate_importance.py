"""spa-annotate-importance: a per-channel score on every prunable group."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, StringAttr, f64
from xdsl.passes import ModulePass

from spa_ir.channels.annotations import group_ops
from spa_ir.core.context import weights_of
from spa_ir.core.ir import params
from spa_ir.core.weights import param_tensor
from spa_ir.pruning.criteria import criterion
from spa_ir.pruning.importance import record_importance, score_groups


@dataclass(frozen=True)
class AnnotateImportance(ModulePass):
    """Score the channels of each non-frozen `spa.group` (`scores = array<f64: ...>`, and the criterion that
    gave them as `criterion = "..."`).

    criterion: an entry of spa_ir/pruning/criteria's table — data-free `l1`, `l2`, `random`, `bn-scale`, `fpgm`,
    `lamp`; after training, from the calibration statistics spa-collect-stats leaves, `taylor`, `hessian`,
    `obd-c`, `hrank`, `thinet`, `cp`, `wanda-sp`, `flap`, `obspa` (its input moments from spa-collect-stats{source=});
    at initialization `snip`, `grasp`, `crop`.
    agg: how the members' score vectors (each over its mean magnitude) combine: sum | mean | max | prod | first.
    norm: applied to the group's vector before selection: none | mean | max | sum | standard | lamp (default:
    the criterion's own: lamp for `lamp`, none for the others).
    seed: the random criterion's seed (each group draws from it and its name).
    damp: obspa's damping, λ in H + λ·mean(diag H)·I (as spa-obspa-compensate's).

    It leaves `spa.importance` on the module (criterion, agg, norm, and the labels of the statistics used), which
    spa-eliminate-dead-channels moves into the plan.
    """

    name = "spa-annotate-importance"

    criterion: str = "l1"
    agg: str = "sum"
    norm: str | None = None
    seed: int = 0
    damp: float = 0.01

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        entry = criterion(self.criterion)
        if not any(not g.frozen for g in group_ops(op)):
            return
        weights = weights_of(ctx, self.name)
        inline = {p.weight_name: param_tensor(p, weights) for p in params(op) if p.value is not None}
        stats = None
        if entry.needs:
            from spa_ir.core.context import stats_of

            stats = stats_of(ctx, self.name)
            stats.check_matches(op, self.name)
        scores = score_groups(
            op,
            {**weights, **inline} if inline else weights,
            self.criterion,
            stats=stats,
            agg=self.agg,
            norm=self.norm,
            seed=self.seed,
            damp=self.damp,
        )
        norm = entry.default_norm if self.norm is None else self.norm
        from spa_ir.calibration.kinds import GRADIENT_KINDS

        record_importance(op, self.criterion, self.agg, norm, stats, labels=bool(entry.needs & GRADIENT_KINDS))
        for g in group_ops(op):
            if g.sym_name.data in scores:
                g.attributes["criterion"] = StringAttr(self.criterion)
                if norm != "none":
                    g.attributes["norm"] = StringAttr(norm)
                g.attributes["scores"] = DenseArrayBase.from_list(f64, scores[g.sym_name.data])
