"""spa-report-groups: print why channels stay unpruned (to stderr; the IR is left unchanged)."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, ModuleOp
from xdsl.passes import ModulePass

from spa.dialects.spa import GroupOp, ReasonAttr
from spa_ir.channels.annotations import group_ops, reasons, space_ops
from spa_ir.channels.propagation import NO_RULE
from spa_ir.core.errors import SpaError


@dataclass(frozen=True)
class ReportGroups(ModulePass):
    """Summarize the `spa.group`s of spa-form-groups on stderr, like mlir-opt's analysis printers:
    how many groups are prunable, inexact (removing is not zeroing) or frozen; each frozen group with
    its reasons (the op and nn.Module path that froze it); and the ops that have no channel rule, with
    their locations, which is what to add to spa_ir/ops (the op's family module) to prune more.

    verbose: also list every inexact group with its reasons.
    """

    name = "spa-report-groups"

    verbose: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        groups = group_ops(op)
        if not groups and not space_ops(op):
            raise SpaError("no channel annotations in the module: run spa-propagate-channels and spa-form-groups first")
        sys.stderr.write(report(groups, self.verbose))


def report(groups: list[GroupOp], verbose: bool = False) -> str:
    """The report as text: the one place where the groups' reasons (data) become sentences."""
    frozen = [g for g in groups if g.frozen]
    inexact = [g for g in groups if not g.frozen and not g.exact.value.data]
    lines = [
        f"spa-report-groups: {len(groups)} groups, {len(groups) - len(frozen)} prunable "
        f"({len(inexact)} of them inexact), {len(frozen)} frozen"
    ]
    if frozen:
        lines.append("frozen groups:")
        lines += [f"  @{g.sym_name.data} ({g.size.value.data} channels): {_sentences(g.frozen)}" for g in frozen]
    if verbose and inexact:
        lines.append("inexact groups:")
        lines += [f"  @{g.sym_name.data} ({g.size.value.data} channels): {_sentences(g.inexact)}" for g in inexact]
    unknown: dict[str, Counter[str]] = defaultdict(Counter)
    for g in frozen:
        for r in reasons(g.frozen):
            if r.kind == NO_RULE and r.site is not None:
                unknown[r.site.op][r.site.at or "?"] += 1
    if unknown:
        lines.append("ops without a channel rule (groups frozen at each location):")
        for name, places in sorted(unknown.items()):
            lines.append(f"  {name}: " + ", ".join(f"{where} ({n})" for where, n in places.most_common()))
    return "\n".join(lines) + "\n"


def _sentences(attr: ArrayAttr[ReasonAttr] | None) -> str:
    return "; ".join(str(r) for r in reasons(attr))
