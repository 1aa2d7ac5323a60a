"""spa-select-channels: decide which channels of each group are removed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64
from xdsl.passes import ModulePass

from spa.dialects.spa import GroupOp
from spa_ir.channels.annotations import group_ops
from spa_ir.core.errors import SpaError


@dataclass(frozen=True)
class SelectChannels(ModulePass):
    """Mark the lowest-scored channels of each prunable group as removed (`removed = array<i64: ...>`).

    ratio: fraction of channels to remove. scope: `local` removes that fraction from every group;
    `global` ranks all channels together (scores normalized per group) and removes that fraction of
    all channels. min-keep: channels every group keeps; min-keep-ratio: fraction every group keeps
    (PruningBench's protected global pruning uses 0.1). round-to: kept counts are rounded up to a
    multiple of this (hardware-friendly sizes). only-exact: leave groups marked inexact alone.
    """

    name = "spa-select-channels"

    ratio: float = 0.5
    scope: str = "local"
    min_keep: int = 1
    min_keep_ratio: float = 0.0
    round_to: int = 1
    only_exact: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if not 0.0 <= self.ratio < 1.0:
            raise SpaError(f"ratio must be in [0, 1), got {self.ratio}")
        if self.scope not in ("local", "global"):
            raise SpaError(f"scope must be local or global, got '{self.scope}'")
        groups = [g for g in group_ops(op) if not g.frozen and (g.exact.value.data or not self.only_exact)]
        for g in groups:
            if g.scores is None:
                raise SpaError(f"group @{g.sym_name.data} has no scores: run spa-annotate-importance first")
        removed = self._local(groups) if self.scope == "local" else self._global(groups)
        for g in group_ops(op):
            g.attributes.pop("removed", None)
        for g, r in zip(groups, removed):
            g.attributes["removed"] = DenseArrayBase.from_list(i64, sorted(int(i) for i in r))

    def _min_kept(self, size: int) -> int:
        return min(size, max(self.min_keep, math.ceil(self.min_keep_ratio * size), 1))

    def _rounded_kept(self, kept: int, size: int) -> int:
        return min(size, math.ceil(kept / self.round_to) * self.round_to)

    def _lowest(self, g: GroupOp, n: int) -> np.ndarray:
        scores = np.asarray(g.scores.get_values(), dtype=np.float64)  # type: ignore[union-attr]  # groups without scores were refused above
        return np.argsort(scores, kind="stable")[:n]

    def _local(self, groups: list[GroupOp]) -> list[np.ndarray]:
        out = []
        for g in groups:
            size = g.size.value.data
            kept = max(size - math.floor(self.ratio * size), self._min_kept(size))
            out.append(self._lowest(g, size - self._rounded_kept(kept, size)))
        return out

    def _global(self, groups: list[GroupOp]) -> list[np.ndarray]:
        entries: list[tuple[float, int]] = []
        for gi, g in enumerate(groups):
            scores = np.asarray(g.scores.get_values(), dtype=np.float64)  # type: ignore[union-attr]  # groups without scores were refused above
            mean = scores.mean()
            entries.extend((s / mean if mean > 0 else s, gi) for s in scores)
        budget = math.floor(self.ratio * len(entries))
        count = [0] * len(groups)
        for _, gi in sorted(entries):
            if budget == 0:
                break
            size = groups[gi].size.value.data
            if size - count[gi] > self._min_kept(size):
                count[gi] += 1
                budget -= 1
        out = []
        for g, n in zip(groups, count):
            size = g.size.value.data
            out.append(self._lowest(g, size - self._rounded_kept(size - n, size)))
        return out
