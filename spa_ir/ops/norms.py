"""Normalizations: batch norm (eval: exact per channel; training-mode statistics mix channels), instance,
layer and RMS norm (statistics over channels: inexact), group norm (whole groups exact). The normalized shape
and the group count are rewritten after pruning."""

from __future__ import annotations

from typing import Any

from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Layout, Prod, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import const, location, site
from spa_ir.ops.common import fresh, no_channels_value
from spa_ir.ops.spec import BN_SCALE, Emitter, OpSpec, arg, aten, call_overload, each, has_arg, renamed, table
from spa_ir.pruning.shapes import Shapes, replace_int, replace_int_list


def batch_norm(p: Propagation, op: Operation) -> None:
    """batch_norm(input, weight, bias, running_mean, running_var, training, ...) and its aten variants
    (`_native_batch_norm_legit_no_training` has no `training` flag, `.no_stats` no running statistics):
    per-channel on dim 1, which is exact to prune.

    In training mode the statistics are over every dim but 1 (batch and spatial, or in_channels x k x k
    when timm's weight standardization normalizes a conv weight viewed as [1, out, in*k*k]): channels on
    those dims are mixed into the mean and variance, so removing them is not zeroing them (inexact).
    Results 1.. (saved mean / inverse std, updated running statistics) are per channel of dim 1."""
    x = arg(op, "input")
    xl, xs = p.layout(x), p.shape(x) or ()
    if len(xl) < 2:
        return p.freeze_op(op, "batch norm of a tensor of rank < 2")
    train = p.const(arg(op, "training")) if has_arg(op, "training") else False
    if not isinstance(train, bool):
        return p.freeze_op(op, "batch norm with a non-constant 'training' flag")
    where = site(op)
    _couple_per_channel(p, op, ("weight", "bias", "running_mean", "running_var"), xl[1])
    mixed = train and any(p.has_channels(d) for k, d in enumerate(xl) if k != 1)
    if mixed:
        for k, d in enumerate(xl):
            if k != 1:
                p.spaces.mark_inexact(d, Reason("batch statistics over channels", where))
    has_bias = p.is_tensor(arg(op, "bias"))
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=(has_bias or p.is_zero(x)) and not mixed)
    for r in op.results[1:]:
        if p.shape(r) == (xs[1],) and xs[1] > 1:
            p.set(r, [p.spaces.resolve(xl[1])], zero=False)
        else:
            no_channels_value(p, r)


def _couple_per_channel(p: Propagation, op: Operation, names: tuple[str, ...], channels: Layout) -> None:
    """The per-channel vectors among the operands `names` (affine weight, bias, running statistics) hold the
    channels of dim 1."""
    for name in names:
        if has_arg(op, name) and p.is_tensor(v := arg(op, name)):
            p.spaces.unify(p.layout(v)[0], channels, site(op))


def instance_norm(p: Propagation, op: Operation) -> None:
    """instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn):
    per channel of dim 1. With input statistics (use_input_stats, the usual case) the mean and variance of
    each (sample, channel) run over dims 2..: channels there are mixed (inexact), as in batch_norm. ONNX
    exports GroupNorm as an InstanceNormalization of the input reshaped to [N, groups, C/groups * H * W]."""
    x = arg(op, "input")
    xl = p.layout(x)
    where = site(op)
    _couple_per_channel(p, op, ("weight", "bias", "running_mean", "running_var"), xl[1])
    mixed = p.const(arg(op, "use_input_stats")) is not False and any(p.has_channels(d) for d in xl[2:])
    if mixed:
        for d in xl[2:]:
            p.spaces.mark_inexact(d, Reason("instance statistics over channels", where))
    zero = (p.is_tensor(arg(op, "bias")) or p.is_zero(x)) and not mixed
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=zero)


def norm_over_last(p: Propagation, op: Operation) -> None:
    """layer_norm(input, normalized_shape, weight, bias, ...) / rms_norm(input, normalized_shape, weight, eps):
    the normalized trailing dims mix their channels (inexact); weight/bias are coupled to them. The result
    is zero on removed channels when the last affine term (bias, or rms_norm's weight) is there to be masked."""
    x = arg(op, "input")
    xl = p.layout(x)
    ns = p.const_ints(arg(op, "normalized_shape"))
    if ns is None:
        return p.freeze_op(op, "normalization over a non-constant shape")
    where = site(op)
    normalized = xl[len(xl) - len(ns) :]
    affine = [arg(op, n) for n in ("weight", "bias") if has_arg(op, n)]
    for v in affine:
        if p.is_tensor(v):
            for wd, xd in zip(p.layout(v), normalized):
                p.spaces.unify(wd, xd, where)
    for d in normalized:
        p.spaces.mark_inexact(d, Reason("normalization over channels", where))
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=bool(affine) and p.is_tensor(affine[-1]))
    for r in op.results[1:]:
        no_channels_value(p, r)


def weight_norm(p: Propagation, op: Operation) -> None:
    """_weight_norm(v, g, dim) = v * g / ||v||, the norm over every dim but `dim` (over all of v for dim=-1): the
    result has v's channels, g (size 1 but at `dim`) those of v's dim `dim`. A removed channel that is zero in v
    adds nothing to the norms, so pruning the normed dims is exact where v is zero on removed channels (a weight,
    as in nn.utils.weight_norm); otherwise they are inexact. A removed slice of dim `dim` zeroed is 0/0 (NaN),
    not zero: removing it is not zeroing it (inexact). The result is zero where v is."""
    v, g = arg(op, "v"), arg(op, "g")
    vl = p.layout(v)
    dim = p.const_int(arg(op, "dim"))
    if dim is None:
        return p.freeze_op(op, "weight norm over a non-constant dim")
    where = site(op)
    kept = dim % len(vl) if dim != -1 and vl else None
    if kept is not None:
        if p.is_tensor(g) and len(p.layout(g)) == len(vl):
            p.spaces.unify(p.layout(g)[kept], vl[kept], where)
        p.spaces.mark_inexact(vl[kept], Reason("weight norm of a zeroed slice is 0/0", where))
    zero = p.is_zero(v)
    if not zero:
        for k, d in enumerate(vl):
            if k != kept:
                p.spaces.mark_inexact(d, Reason("normalization over channels", where))
    p.set(op.results[0], [p.spaces.resolve(d) for d in vl], zero=zero)


def group_norm(p: Propagation, op: Operation) -> None:
    """group_norm(input, num_groups, weight, bias, eps, cudnn): channels = groups x per-group. Statistics are
    per group, so removing a whole group is exact (its zeroed channels normalize to 0 and the other groups'
    statistics do not see them; num_groups is rewritten to the groups kept); removing channels inside every
    group changes their statistics (inexact)."""
    x = arg(op, "input")
    xl = p.layout(x)
    g = p.const_int(arg(op, "num_groups"))
    if g is None:
        return p.freeze_op(op, "group_norm with non-constant groups")
    where = site(op)
    c = (p.shape(x) or ())[1]
    within = fresh(p, c // g, where)
    p.spaces.unify(xl[1], Prod((fresh(p, g, f"{where} groups"), within)), where)
    _couple_per_channel(p, op, ("weight", "bias"), xl[1])
    p.spaces.mark_inexact(within, Reason("normalization over the channels of a group", where))
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=p.is_tensor(arg(op, "bias")))


def _num_groups(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """num_groups counts the groups that keep a channel (the channels inside them are the same in every group)."""
    x = arg(op, "input")
    kept = shapes.kept(x)[1]
    if kept is None:
        return
    per = shapes.old(x)[1] // const(arg(op, "num_groups"))
    replace_int(op, "num_groups", len({int(i) // per for i in kept}), rewriter)


def _normalized_shape(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    x = arg(op, "input")
    ns = const(arg(op, "normalized_shape"))
    new = list(shapes.new(x)[len(shapes.old(x)) - len(ns) :])
    if new != ns:
        replace_int_list(op, "normalized_shape", new, rewriter)


def _layer_norm(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's ONNX LayerNormalization of a value of unknown shape gives -1 sizes (torch-mlir only uses
    their number): take them from the weight's type, else from the input at run time."""
    import torch

    shape = args[1]
    if isinstance(shape, list) and -1 in shape:
        k = len(shape)
        weight_type = arg(op, "weight").type
        weight_shape = tuple(weight_type.get_shape()) if hasattr(weight_type, "get_shape") else ()
        args[1] = [
            d
            if d != -1
            else weight_shape[i]
            if len(weight_shape) == k and weight_shape[i] >= 0
            else e.graph.call_function(torch.ops.aten.sym_size.int, (args[0], i - k))
            for i, d in enumerate(shape)
        ]
    return call_overload(e, overload, args, kwargs)


def _batch_norm(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """aten.batch_norm in training mode updates the running statistics it is given in place, as nn.BatchNorm
    does (a training capture, spa_ir/frontends/torch.py): on the emitted module's own copies of them."""
    if args[5] is True:
        for stat in args[3:5]:
            e.own_buffer(stat)
    return call_overload(e, overload, args, kwargs)


def _batch_norm_eval(op: Operation, rewriter: PatternRewriter) -> None:
    """torch-mlir has no `_native_batch_norm_legit_no_training`: it is `aten.batch_norm(..., training=False, ...)`,
    whose one result is the first; the other two (empty in eval mode) are read by nothing torch.export writes."""
    from spa.dialects.torch import AtenBatchNormOp, ConstantBoolOp

    if any(r.uses for r in op.results[1:]):
        raise SpaError(f"cannot write for torch-mlir a batch norm whose saved statistics are read: {location(op)}")
    false = ConstantBoolOp(False)
    new = AtenBatchNormOp.create(
        operands=[*op.operands[:5], false.result, *op.operands[5:7], false.result], result_types=[op.results[0].type]
    )
    new.location = op.location
    rewriter.replace(op, [false, new], [new.results[0], None, None])


def _batch_norm_no_stats(op: Operation, rewriter: PatternRewriter) -> None:
    """`_native_batch_norm_legit.no_stats` (batch statistics, none kept: InstanceNorm, BatchNorm without running
    statistics) is `native_batch_norm` with None for the running statistics."""
    from spa.dialects.torch import AtenNativeBatchNormOp, ConstantNoneOp

    none = ConstantNoneOp()
    new = AtenNativeBatchNormOp.create(
        operands=[*op.operands[:3], none.result, none.result, *op.operands[3:6]],
        result_types=[r.type for r in op.results],
    )
    new.location = op.location
    rewriter.replace(op, [none, new])


_BN_LEGIT = "input weight bias running_mean running_var training momentum eps"

OPS = table(
    {
        **each(
            aten("native_batch_norm _native_batch_norm_legit_functional"),
            OpSpec(rule=batch_norm, roles=(("weight", BN_SCALE),)),
        ),
        "torch.aten._native_batch_norm_legit": OpSpec(
            rule=batch_norm, roles=(("weight", BN_SCALE),), legalize=renamed("torch.aten.native_batch_norm")
        ),
        "torch.aten._native_batch_norm_legit_no_training": OpSpec(
            rule=batch_norm, roles=(("weight", BN_SCALE),), legalize=_batch_norm_eval
        ),
        "torch.aten._native_batch_norm_legit.no_stats": OpSpec(
            rule=batch_norm, roles=(("weight", BN_SCALE),), legalize=_batch_norm_no_stats
        ),
        "torch.aten.batch_norm": OpSpec(rule=batch_norm, roles=(("weight", BN_SCALE),), emit_adapter=_batch_norm),
        "torch.aten.instance_norm": OpSpec(rule=instance_norm),
        **each(
            aten("layer_norm native_layer_norm"),
            OpSpec(rule=norm_over_last, resize=_normalized_shape, emit_adapter=_layer_norm),
        ),
        "torch.aten.rms_norm": OpSpec(rule=norm_over_last, resize=_normalized_shape),
        "torch.aten.group_norm": OpSpec(rule=group_norm, resize=_num_groups),
        "torch.aten._weight_norm": OpSpec(rule=weight_norm),
    },
    operators={  # the FX importer has no op classes for these
        "torch.aten._native_batch_norm_legit": _BN_LEGIT,
        "torch.aten._native_batch_norm_legit_functional": _BN_LEGIT,
        "torch.aten._native_batch_norm_legit_no_training": "input weight bias running_mean running_var momentum eps",
        "torch.aten._native_batch_norm_legit.no_stats": "input weight bias training momentum eps",
        "torch.aten._weight_norm": "v g dim",
    },
)
