"""spa-annotate-importance: a per-channel score on every prunable group."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, f64
from xdsl.passes import ModulePass

from spa_ir.channels.annotations import group_ops
from spa_ir.channels.groups import from_member_attr
from spa_ir.core.context import weights_of
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import params
from spa_ir.core.weights import param_tensor
from spa_ir.pruning.criteria import GroupScorer, Member, known_criteria


@dataclass(frozen=True)
class AnnotateImportance(ModulePass):
    """Score the channels of each non-frozen `spa.group` (`scores = array<f64: ...>`).

    criterion: l1 | l2 (magnitude of each channel's slice in every member, summed over members after
    normalizing each member by its mean) | random (uniform, from `seed` and the group name).
    """

    name = "spa-annotate-importance"

    criterion: str = "l1"
    seed: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.criterion not in known_criteria():
            raise SpaError(f"unknown criterion '{self.criterion}' (known: {', '.join(known_criteria())})")
        weights = weights_of(ctx, self.name)
        inline = {p.weight_name: param_tensor(p, weights) for p in params(op) if p.value is not None}
        scorer = GroupScorer(self.criterion, {**weights, **inline} if inline else weights)
        for group in group_ops(op):
            if group.frozen:
                continue
            members = [Member(*from_member_attr(m)) for m in group.members.data]
            seed = self.seed * 1_000_003 + zlib.crc32(group.sym_name.data.encode())
            scores = scorer.scores(members, group.size.value.data, seed)
            group.attributes["scores"] = DenseArrayBase.from_list(f64, [float(s) for s in scores])
