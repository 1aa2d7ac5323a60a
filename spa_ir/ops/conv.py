"""Convolutions (1/2/3-d, transposed, grouped, depthwise): input channels couple to the weight's dim 1
(transposed: 0), output channels are the weight's dim 0 (transposed: groups x dim 1); groups are a product
`groups x per-group`. The group count operand is rewritten after pruning; FLOPs as flop_counter counts them."""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import NOT_CHANNEL, Propagation
from spa_ir.channels.spaces import Anon, Prod, Reason
from spa_ir.core.ir import const, site
from spa_ir.ops.common import fresh
from spa_ir.ops.spec import OpSpec, Resize, each, table
from spa_ir.pruning.shapes import Shapes, replace_int, static_shape


def _conv(
    p: Propagation, op: Operation, x: SSAValue, w: SSAValue, b: SSAValue | None, groups: int | None, transposed: bool
) -> None:
    where = site(op)
    xl, wl = p.layout(x), p.layout(w)
    wshape = p.shape(w) or ()
    if groups is None or len(xl) < 2:
        return p.freeze_op(op, "convolution with non-constant groups")
    for k in wl[2:]:
        p.spaces.freeze(k, NOT_CHANNEL)
    # Weight [Cout, Cin/g, k...] (transposed: [Cin, Cout/g, k...]).
    w_in, w_out = (wl[0], wl[1]) if transposed else (wl[1], wl[0])
    in_size = (p.shape(x) or ())[1]
    out_size = wshape[1] * groups if transposed else wshape[0]
    if groups == 1:
        p.spaces.unify(xl[1], wl[0] if transposed else wl[1], where)
        out_ch = w_out
    else:
        g = p.spaces.new(groups, f"{where} groups")
        per_in = in_size // groups
        if transposed:
            p.spaces.unify(wl[0], Prod((g, fresh(p, per_in, where))), where)
            p.spaces.unify(xl[1], wl[0], where)
            out_ch = Prod((g, wl[1]))
        else:
            p.spaces.unify(xl[1], Prod((g, wl[1])), where)
            p.spaces.unify(wl[0], Prod((g, fresh(p, out_size // groups, where))), where)
            out_ch = wl[0]
    if b is not None and p.is_tensor(b):
        p.spaces.unify(p.layout(b)[0], out_ch, where)
    r = op.results[0]
    rshape = p.shape(r) or ()
    out = [xl[0], out_ch, *(Anon(n) for n in rshape[2:])]
    for k in xl[2:]:
        if p.has_channels(k):
            p.spaces.freeze(k, Reason("convolution window over a channel dim", where))
    p.set(r, out, zero=True)


def conv(p: Propagation, op: Operation) -> None:
    """aten.conv{1,2,3}d(input, weight, bias, stride, padding, dilation, groups)."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    _conv(p, op, x, w, b, p.const_int(op.operands[6]), transposed=False)


def conv_transpose(p: Propagation, op: Operation) -> None:
    """aten.conv_transpose{1,2,3}d.input(input, weight, bias, stride, padding, output_padding, groups, dilation)."""
    _conv(p, op, op.operands[0], op.operands[1], op.operands[2], p.const_int(op.operands[6]), transposed=True)


def convolution(p: Propagation, op: Operation) -> None:
    """aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)."""
    transposed = p.const(op.operands[6])
    if not isinstance(transposed, bool):
        return p.freeze_op(op, "convolution with non-constant 'transposed'")
    _conv(p, op, op.operands[0], op.operands[1], op.operands[2], p.const_int(op.operands[8]), transposed=transposed)


def _conv_groups(groups_index: int, transposed_index: int | None = None, transposed: bool = False) -> Resize:
    def rule(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
        groups = const(op.operands[groups_index])
        if not isinstance(groups, int) or groups == 1:
            return
        is_t = transposed if transposed_index is None else bool(const(op.operands[transposed_index]))
        w = op.operands[1]
        per_group = shapes.new(w)[1]
        channels = shapes.new(op.results[0])[1] if is_t else shapes.new(op.operands[0])[1]
        replace_int(op, groups_index, channels // per_group, rewriter)

    return rule


def _conv_flops(transposed_index: int | None = None, transposed: bool = False) -> Callable[[Operation], int]:
    def flops(op: Operation) -> int:
        x, w, out = static_shape(op.operands[0]), static_shape(op.operands[1]), static_shape(op.results[0])
        is_t = transposed if transposed_index is None else bool(const(op.operands[transposed_index]))
        spatial = x[2:] if is_t else out[2:]
        return 2 * x[0] * prod(w) * prod(spatial)

    return flops


_CONV = [f"torch.aten.conv{k}d" for k in (1, 2, 3)] + [f"torch.aten.conv{k}d.padding" for k in (1, 2, 3)]
_CONV_TRANSPOSE = [f"torch.aten.conv_transpose{k}d.input" for k in (1, 2, 3)]

_GENERIC = ["torch.aten.conv_transpose1d.input"]
"""Ops with no class in the torch dialect: they arrive as a generic `torch.operator`."""

OPS = table(
    {
        **each(_CONV, OpSpec(rule=conv, resize=_conv_groups(6), flops=_conv_flops())),
        **each(
            _CONV_TRANSPOSE,
            OpSpec(rule=conv_transpose, resize=_conv_groups(6, transposed=True), flops=_conv_flops(transposed=True)),
        ),
        **each(
            ["torch.aten.convolution", "torch.aten._convolution"],
            OpSpec(rule=convolution, resize=_conv_groups(8, transposed_index=6), flops=_conv_flops(transposed_index=6)),
        ),
    },
    operators=_GENERIC,
)
