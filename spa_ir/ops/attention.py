"""Attention: softmax (over channels: inexact) and scaled_dot_product_attention (heads coupled across
q/k/v, grouped-query heads as kv heads x repeat, q/k head dims coupled)."""

from __future__ import annotations

from xdsl.ir import Operation

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Prod, Reason
from spa_ir.core.ir import NOT_CONST, site
from spa_ir.ops.common import fresh, norm_dim
from spa_ir.ops.spec import OpSpec, arg, aten, each, has_arg, table
from spa_ir.pruning.shapes import static_shape


def softmax(p: Propagation, op: Operation) -> None:
    x = arg(op, "self_")
    xl = p.layout(x)
    d = p.const_int(arg(op, "dim"))
    if d is None:
        return p.freeze_op(op, "softmax over a non-constant dim")
    d = norm_dim(d, len(xl))
    if p.has_channels(xl[d]):
        p.spaces.mark_inexact(xl[d], Reason("softmax over channels", site(op)))
    p.set(op.results[0], xl, zero=False)


def sdpa(p: Propagation, op: Operation) -> None:
    """scaled_dot_product_attention(q[B,H,L,E], k[B,Hk,S,E], v[B,Hk,S,Ev], mask, dropout, causal, scale, gqa).

    Heads are coupled across q/k/v (with grouped-query attention, q heads = kv heads x repeat); q/k head
    dims are coupled (the default scale 1/sqrt(E) makes pruning them inexact); v's head dim is the output's."""
    q, k, v = arg(op, "query"), arg(op, "key"), arg(op, "value")
    ql, kl, vl = p.layout(q), p.layout(k), p.layout(v)
    if not (len(ql) == len(kl) == len(vl) == 4):
        return p.freeze_op(op, "attention on tensors of rank != 4")
    where = site(op)
    hq, hk = (p.shape(q) or ())[1], (p.shape(k) or ())[1]
    p.spaces.unify(kl[1], vl[1], where)
    if hq == hk:
        p.spaces.unify(ql[1], kl[1], where)
    else:
        p.spaces.unify(ql[1], Prod((kl[1], fresh(p, hq // hk, f"{where} kv repeat"))), where)
    p.spaces.unify(ql[3], kl[3], where)
    scale = p.const(arg(op, "scale")) if has_arg(op, "scale") else None
    if p.has_channels(p.spaces.resolve(ql[3])) and (
        scale is None or scale is NOT_CONST or not (p.is_zero(q) or p.is_zero(k))
    ):
        p.spaces.mark_inexact(ql[3], Reason("attention head dim sets the softmax scale", where))
    mask = arg(op, "attn_mask")
    if p.is_tensor(mask):  # broadcast against the scores [B, Hq, L, S]: a per-head bias couples to the heads
        scores = [ql[0], p.spaces.resolve(ql[1]), ql[2], kl[2]]
        mshape = p.shape(mask) or ()
        for i, d in enumerate(p.layout(mask)):
            j = i + 4 - len(mshape)
            if j >= 0 and mshape[i] != 1:
                p.spaces.unify(d, scores[j], where)
    for d in (ql[2], kl[2]):
        if p.has_channels(d):
            p.spaces.mark_inexact(d, Reason("softmax over channels", where))
    p.set(op.results[0], [ql[0], p.spaces.resolve(ql[1]), ql[2], vl[3]], zero=p.is_zero(v))


def _sdpa_flops(op: Operation) -> int:
    q, k, v = (static_shape(arg(op, name)) for name in ("query", "key", "value"))
    b, h, sq, d = q
    sk, dv = k[-2], v[-1]
    return 2 * b * h * sq * sk * d + 2 * b * h * sq * sk * dv


OPS = table(
    {
        **each(aten("softmax.int _softmax log_softmax.int _log_softmax"), OpSpec(rule=softmax)),
        "torch.aten.scaled_dot_product_attention": OpSpec(rule=sdpa, flops=_sdpa_flops),
    }
)
