"""Convolutions (1/2/3-d, transposed, grouped, depthwise): input channels couple to the weight's dim 1
(transposed: 0), output channels are the weight's dim 0 (transposed: groups x dim 1); groups are a product
`groups x per-group`. The group count operand is rewritten after pruning; FLOPs as flop_counter counts them."""

from __future__ import annotations

from math import prod

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import NOT_CHANNEL, Propagation
from spa_ir.channels.spaces import Anon, Prod, Reason
from spa_ir.core.ir import const, op_key, site
from spa_ir.ops.common import fresh
from spa_ir.ops.spec import BIAS, FILTER, OpSpec, arg, aten, each, has_arg, table
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


def _transposed(op: Operation) -> bool | None:
    """Whether the convolution is transposed: named by the op, or its `transposed` operand (None: not constant)."""
    if has_arg(op, "transposed"):
        flag = const(arg(op, "transposed"))
        return flag if isinstance(flag, bool) else None
    return "conv_transpose" in op_key(op)


def conv(p: Propagation, op: Operation) -> None:
    """conv{1,2,3}d[.padding], conv_transpose{1,2,3}d.input, convolution, _convolution: (input, weight, bias,
    ..., groups), with `transposed` for the last two."""
    transposed = _transposed(op)
    if transposed is None:
        return p.freeze_op(op, "convolution with non-constant 'transposed'")
    groups = p.const_int(arg(op, "groups"))
    _conv(p, op, arg(op, "input"), arg(op, "weight"), arg(op, "bias"), groups, transposed=transposed)


def _conv_groups(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """The group count after pruning: channels per group are what the weight keeps."""
    groups = const(arg(op, "groups"))
    if not isinstance(groups, int) or groups == 1:
        return
    per_group = shapes.new(arg(op, "weight"))[1]
    channels = shapes.new(op.results[0])[1] if _transposed(op) else shapes.new(arg(op, "input"))[1]
    replace_int(op, "groups", channels // per_group, rewriter)


def _conv_flops(op: Operation) -> int:
    x, w, out = static_shape(arg(op, "input")), static_shape(arg(op, "weight")), static_shape(op.results[0])
    spatial = x[2:] if _transposed(op) else out[2:]
    return 2 * x[0] * prod(w) * prod(spatial)


_CONV = aten("conv1d conv2d conv3d conv1d.padding conv2d.padding conv3d.padding convolution _convolution")
_CONV_TRANSPOSE = aten("conv_transpose1d.input conv_transpose2d.input conv_transpose3d.input")

OPS = table(
    # a transposed conv's weight is [in, out / groups, ...]: not a FILTER (`convolution`'s `transposed` flag
    # is almost always false in captured graphs, so that op is taken as a plain conv there)
    each(_CONV, OpSpec(rule=conv, resize=_conv_groups, flops=_conv_flops, roles=(("weight", FILTER), ("bias", BIAS))))
    | each(_CONV_TRANSPOSE, OpSpec(rule=conv, resize=_conv_groups, flops=_conv_flops)),
    operators={"torch.aten.conv_transpose1d.input": "input weight bias stride padding output_padding groups dilation"},
)
