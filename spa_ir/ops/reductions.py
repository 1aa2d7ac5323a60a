"""Reductions (sum, mean, max, variance, norms): reduced dims disappear or become size 1; summing
channels is exact only where they are zero, averaging or normalizing over them never is."""

from __future__ import annotations

from xdsl.ir import Operation

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Reason
from spa_ir.core.ir import site
from spa_ir.ops.common import norm_dim
from spa_ir.ops.spec import OpSpec, Rule, arg, aten, each, has_arg, table


def reduce(kind: str) -> Rule:
    """Reductions (self, [dim, ..., keepdim, ...]): reduced dims disappear (or become size 1); without `dim`
    every dim is reduced. Summing channels is exact only if they are zero; averaging/normalizing over them
    never is (the count changes); max is never exact."""

    def rule(p: Propagation, op: Operation) -> None:
        x = arg(op, "self_")
        xl = p.layout(x)
        rank = len(xl)
        if not has_arg(op, "dim"):
            reduced = list(range(rank))
        else:
            c = p.const(arg(op, "dim"))
            c = [c] if isinstance(c, int) else c
            if c is None:
                reduced = list(range(rank))
            elif not isinstance(c, list) or not all(isinstance(d, int) for d in c):
                return p.freeze_op(op, "reduction over non-constant dims")
            else:
                reduced = [norm_dim(d, rank) for d in c]
        keep = bool(p.const(arg(op, "keepdim"))) if has_arg(op, "keepdim") else False
        where = site(op)
        for d in reduced:
            if p.has_channels(xl[d]) and not (kind == "sum" and p.is_zero(x)):
                p.spaces.mark_inexact(xl[d], Reason(f"{kind} over channels", where))
        out = [Anon(1) if k in reduced else xl[k] for k in range(rank) if keep or k not in reduced]
        for r in op.results:
            if p.is_tensor(r):
                if len(p.shape(r) or ()) != len(out):
                    return p.freeze_op(op, "reduction result rank")
                p.set(r, out, zero=p.is_zero(x) and kind in ("sum", "mean", "max"))

    return rule


OPS = table(
    {
        **each(aten("mean mean.dim"), OpSpec(rule=reduce("mean"))),
        **each(aten("sum sum.dim_IntList"), OpSpec(rule=reduce("sum"))),
        **each(aten("amax max.dim"), OpSpec(rule=reduce("max"))),
        **each(aten("var.correction var.dim std.correction"), OpSpec(rule=reduce("variance"))),
        **each(aten("norm.ScalarOpt_dim linalg_vector_norm"), OpSpec(rule=reduce("norm"))),
    }
)
