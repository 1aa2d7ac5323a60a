"""prune-groups: the whole pruning pipeline as one pass (spa-opt's `--prune-groups=...`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from spa.passes.annotate_importance import AnnotateImportance
from spa.passes.eliminate_dead_channels import EliminateDeadChannels
from spa.passes.form_groups import FormGroups
from spa.passes.propagate_channels import PropagateChannels
from spa.passes.select_channels import SelectChannels


@dataclass(frozen=True)
class PruneGroups(ModulePass):
    """spa-propagate-channels, spa-form-groups, spa-annotate-importance{criterion seed},
    spa-select-channels{ratio scope min-keep min-keep-ratio round-to only-exact},
    spa-eliminate-dead-channels; options as on those passes."""

    name = "prune-groups"

    ratio: float = 0.5
    criterion: str = "l1"
    seed: int = 0
    scope: str = "local"
    min_keep: int = 1
    min_keep_ratio: float = 0.0
    round_to: int = 1
    only_exact: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for p in (
            PropagateChannels(),
            FormGroups(),
            AnnotateImportance(criterion=self.criterion, seed=self.seed),
            SelectChannels(ratio=self.ratio, scope=self.scope, min_keep=self.min_keep,
                           min_keep_ratio=self.min_keep_ratio, round_to=self.round_to, only_exact=self.only_exact),
            EliminateDeadChannels(),
        ):
            p.apply(ctx, op)
