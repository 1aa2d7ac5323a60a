"""spa-select-channels: decide which channels of each group are removed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64
from xdsl.passes import ModulePass

from spa.dialects.spa import GroupOp
from spa_ir.channels.annotations import group_ops
from spa_ir.channels.groups import from_member_attr
from spa_ir.core.errors import SpaError
from spa_ir.cost import Cost, PrunedCost
from spa_ir.ops.routing import kept_at_least
from spa_ir.pruning.selection import (
    GQA_UNITS,
    Candidate,
    GlobalOrder,
    NameRules,
    candidate,
    floor_of,
    kept_whole_for_heads,
    layer_signature,
    local_counts,
    uniform_counts,
)
from spa_ir.pruning.targets import (
    ORIGINAL_ATTR,
    TOLERANCE,
    Target,
    original_cost,
    record_original_cost,
    record_selection,
    search,
    step_ratio,
    unreachable,
)

SCOPES = ("local", "global", "protected")


@dataclass(frozen=True)
class SelectChannels(ModulePass):
    """Mark the lowest-scored channels of each prunable group as removed (`removed = array<i64: ...>`) and
    record the selection on the module (`spa.selection`: scope, target, achieved FLOPs and params as fractions
    of the original; spa_ir/pruning/targets.py).

    Targets (one of them; `ratio=0.5` when none is given): ratio: fraction of channels to remove (of each group
    under local scope, of all channels under global scopes). keep-flops / keep-params: fraction of the
    original FLOPs / parameters the pruned model keeps (counted from the IR's shapes, flop_counter's
    conventions), met within 0.02 or a one-line error naming the closest reachable value.
    scope: `local`, one ratio for every group (for a keep-* target, found by bisection); `global`, channels
    ranked together by their scores over their group's mean; `protected`, global with every group keeping
    at least min-keep-ratio (default 0.1 there, 0 otherwise).
    min-keep: channels every group keeps. min-keep-ratio: fraction every group keeps. round-to: kept counts
    are rounded up to a multiple of this (hardware-friendly sizes); floors and rounding apply inside the
    target search. only-exact: leave groups marked inexact alone.
    ignore: a regex; groups with a member whose weight name it matches (`re.search`) stay whole.
    overrides: `pattern:ratio,...`; a group with a member matching a pattern (the first that matches) loses
    that ratio of its channels, outside the target search (0 keeps it whole); patterns hold no commas.
    heads: prune attention heads only as whole heads: groups whose channel is a coordinate inside every head
    (head dims, rotary halves) stay whole. gqa: with grouped-query attention and heads=true, the unit: `kv`, one
    kv head together with the q heads that share it; `q-per-kv`, the same q heads of every kv group (the kv
    heads stay).
    Experts (a Mixture-of-Experts router's rows with the experts' slices of the fused weights, spa_ir/ops/routing.py)
    are groups like any other, each keeping at least its router's top-k: `ignore=<router weight regex>` keeps every
    expert, `overrides=<router weight regex>:R` removes the fraction R of each layer's experts outside the target.
    uniform: corresponding groups of every layer (same size and members once layer indices are taken out of
    the weight names) keep the same number of channels, as Hugging Face configs need.
    step, steps: step k of an N-step schedule (spa-prune-groups{steps=N} sets them): a ratio removes
    1-(1-R)^(1/N) of the current channels per step; a keep-* target aims at F^(k/N) of the original cost,
    which the first step records on the module (`spa.original_cost`) and the last one removes.
    """

    name = "spa-select-channels"

    ratio: float | None = None
    keep_flops: float | None = None
    keep_params: float | None = None
    scope: str = "local"
    min_keep: int = 1
    min_keep_ratio: float | None = None
    round_to: int = 1
    only_exact: bool = False
    ignore: str = ""
    overrides: str = ""
    heads: bool = False
    gqa: str = "kv"
    uniform: bool = False
    step: int = 1
    steps: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        target = self._checked_target()
        for g in group_ops(op):
            g.attributes.pop("removed", None)
        groups = [g for g in group_ops(op) if not g.frozen and (g.exact.value.data or not self.only_exact)]
        for g in groups:
            if g.scores is None:
                raise SpaError(
                    f"{self.name}: group @{g.sym_name.data} has no scores: run spa-annotate-importance first"
                )
        cands = self._candidates(groups, kept_at_least(op))
        fixed = {c.name: c.at_ratio(c.fixed) for c in cands if c.fixed is not None}
        free = [c for c in cands if c.fixed is None]
        cost = PrunedCost(op)
        original = self._original(op, cost)
        order = GlobalOrder(free) if self.scope != "local" else None
        classes = _classes(free, groups) if self.uniform else None

        def counts_at(x: float) -> list[int]:
            counts = local_counts(free, x) if order is None else order.counts(int(x))
            return counts if classes is None else uniform_counts(free, counts, classes)

        def achieved(counts: list[int]) -> Cost:
            removed = {c.space: c.mask(n) for c, n in zip(free, counts)}
            removed.update({c.space: c.mask(fixed[c.name]) for c in cands if c.fixed is not None})
            return cost.cost(removed)

        goal = target.at_step(self.step, self.steps)
        if target.kind == "ratio" and (order is None or classes is None):
            counts = counts_at(goal if order is None else math.floor(goal * order.total))
        elif target.kind == "ratio" and order is not None:  # uniform classes round: the count kept is searched

            def kept(n: float) -> float:
                return 1 - sum(counts_at(n)) / order.total

            counts = counts_at(search(kept, 0.0, float(order.removable), 1 - goal, integer=True)[0])
        else:
            measure = target.measure

            def fraction(x: float) -> float:
                return _fraction(achieved(counts_at(x)), measure, original, self.name)

            hi = 1.0 if order is None else float(order.removable)
            x, best = search(fraction, 0.0, hi, goal, integer=order is not None)
            if self.step == self.steps and abs(best - goal) > TOLERANCE:
                raise unreachable(target, goal, best, self.scope, self.name)
            counts = counts_at(x)
        by_name = {g.sym_name.data: g for g in groups}
        for g in groups:  # ignored and kept-whole groups too: every group selection looked at says so
            g.attributes["removed"] = DenseArrayBase.from_list(i64, [])
        for c, n in [*zip(free, counts), *((c, fixed[c.name]) for c in cands if c.fixed is not None)]:
            by_name[c.name].attributes["removed"] = DenseArrayBase.from_list(i64, [int(i) for i in c.removed(n)])
        final = achieved(counts)
        flops = final.flops / original[0] if original[0] and not final.uncounted else None
        params = final.params / original[1] if original[1] else None
        schedule = (self.step, self.steps) if self.steps > 1 else ()
        record_selection(op, self.scope, target, flops, params, schedule)
        if self.steps > 1 and self.step == self.steps:
            op.attributes.pop(ORIGINAL_ATTR, None)

    def _checked_target(self) -> Target:
        target = Target.of(self.ratio, self.keep_flops, self.keep_params, self.name)
        if self.scope not in SCOPES:
            raise SpaError(f"{self.name}: scope must be {', '.join(SCOPES)}; got '{self.scope}'")
        if self.round_to < 1 or self.min_keep < 0:
            raise SpaError(f"{self.name}: round-to must be >= 1 and min-keep >= 0")
        if self.min_keep_ratio is not None and not 0.0 <= self.min_keep_ratio <= 1.0:
            raise SpaError(f"{self.name}: min-keep-ratio must be in [0, 1], got {self.min_keep_ratio}")
        if self.gqa not in GQA_UNITS:
            raise SpaError(f"{self.name}: gqa must be {' or '.join(GQA_UNITS)}; got '{self.gqa}'")
        if not 1 <= self.step <= self.steps:
            raise SpaError(f"{self.name}: step {self.step} of {self.steps}: need 1 <= step <= steps")
        return target

    def _candidates(self, groups: list[GroupOp], at_least: dict[int, int]) -> list[Candidate]:
        """`at_least`: space id -> channels its group keeps whatever the target (a router's top-k experts)."""
        rules = NameRules.parse(self.ignore, self.overrides, self.name)
        keep_ratio = (
            self.min_keep_ratio if self.min_keep_ratio is not None else (0.1 if self.scope == "protected" else 0.0)
        )
        all_members = [[from_member_attr(m) for m in g.members.data] for g in groups]
        whole = kept_whole_for_heads(all_members, self.gqa) if self.heads else [False] * len(groups)
        out = []
        for g, members, head_unit_kept in zip(groups, all_members, whole):
            names = [name for name, _, _ in members]
            if rules.ignored(names) or head_unit_kept:
                continue
            fixed = rules.fixed_ratio(names)
            if fixed == 0.0:
                continue
            if fixed is not None and self.steps > 1:
                fixed = step_ratio(fixed, self.steps)
            size = g.size.value.data
            scores = g.scores.get_values()  # type: ignore[union-attr]  # groups without scores were refused above
            space = int(g.space.data[1:])
            floor = min(size, max(floor_of(size, self.min_keep, keep_ratio), at_least.get(space, 0)))
            comparable = g.norm is not None  # normalized by spa-annotate-importance's norm already
            slices = g.slices.value.data if g.slices is not None else 1  # experts' neurons: equal counts per expert
            out.append(candidate(g.sym_name.data, space, scores, floor, self.round_to, fixed, comparable, slices))
        return out

    def _original(self, op: ModuleOp, cost: PrunedCost) -> tuple[int, int]:
        """The cost targets are fractions of: the module's now, or the one step 1 of a schedule recorded."""
        if self.steps == 1 or self.step == 1:
            now = cost.cost({})
            if self.steps > 1:
                record_original_cost(op, now.flops, now.params)
            return now.flops, now.params
        recorded = original_cost(op)
        if recorded is None:
            raise SpaError(f"{self.name}: step {self.step} of {self.steps} needs {ORIGINAL_ATTR}, which step 1 records")
        return recorded


def _classes(cands: list[Candidate], groups: list[GroupOp]) -> list[int]:
    """For uniform=true: the class of corresponding groups (one per layer signature) of each candidate."""
    by_name = {g.sym_name.data: g for g in groups}
    ids: dict[tuple[object, ...], int] = {}
    out = []
    for c in cands:
        g = by_name[c.name]
        sig = layer_signature(g.size.value.data, [from_member_attr(m) for m in g.members.data])
        out.append(ids.setdefault(sig, len(ids)))
    return out


def _fraction(cost: Cost, measure: str, original: tuple[int, int], where: str) -> float:
    if measure == "flops" and cost.uncounted:
        raise SpaError(f"{where}: keep-flops needs ranked tensors: the FLOPs of {cost.uncounted[0]} cannot be counted")
    total = original[0] if measure == "flops" else original[1]
    if total == 0:
        raise SpaError(f"{where}: keep-{measure}: the model has no {measure} to keep a fraction of")
    return (cost.flops if measure == "flops" else cost.params) / total
