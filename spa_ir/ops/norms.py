"""Normalizations: batch norm (eval: exact per channel; training-mode statistics mix channels), instance,
layer, RMS and group norm (statistics over channels: inexact). The normalized shape is rewritten after pruning."""

from __future__ import annotations

from typing import Any

from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Prod, Reason
from spa_ir.core.ir import const, site
from spa_ir.ops.common import fresh, no_channels_value
from spa_ir.ops.spec import Emitter, OpSpec, Rule, aten, call_overload, each, table
from spa_ir.pruning.shapes import Shapes, replace_int_list


def batch_norm(training: int | None, running_stats: bool) -> Rule:
    """batch_norm(input, weight, bias, running_mean, running_var, training, ...) and its aten variants
    (`training`: the operand index of the flag, None for `_native_batch_norm_legit_no_training`;
    `.no_stats` has no running statistics): per-channel on dim 1, which is exact to prune.

    In training mode the statistics are over every dim but 1 (batch and spatial, or in_channels x k x k
    when timm's weight standardization normalizes a conv weight viewed as [1, out, in*k*k]): channels on
    those dims are mixed into the mean and variance, so removing them is not zeroing them (inexact).
    Results 1.. (saved mean / inverse std, updated running statistics) are per channel of dim 1."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl, xs = p.layout(x), p.shape(x) or ()
        if len(xl) < 2:
            return p.freeze_op(op, "batch norm of a tensor of rank < 2")
        train = False if training is None else p.const(op.operands[training])
        if not isinstance(train, bool):
            return p.freeze_op(op, "batch norm with a non-constant 'training' flag")
        where = site(op)
        for v in op.operands[1 : 5 if running_stats else 3]:
            if p.is_tensor(v):
                p.spaces.unify(p.layout(v)[0], xl[1], where)
        mixed = train and any(p.has_channels(d) for k, d in enumerate(xl) if k != 1)
        if mixed:
            for k, d in enumerate(xl):
                if k != 1:
                    p.spaces.mark_inexact(d, Reason("batch statistics over channels", where))
        has_bias = p.is_tensor(op.operands[2])
        p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=(has_bias or p.is_zero(x)) and not mixed)
        for r in op.results[1:]:
            if p.shape(r) == (xs[1],) and xs[1] > 1:
                p.set(r, [p.spaces.resolve(xl[1])], zero=False)
            else:
                no_channels_value(p, r)

    return rule


def instance_norm(p: Propagation, op: Operation) -> None:
    """instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn):
    per channel of dim 1. With input statistics (use_input_stats, the usual case) the mean and variance of
    each (sample, channel) run over dims 2..: channels there are mixed (inexact), as in batch_norm. ONNX
    exports GroupNorm as an InstanceNormalization of the input reshaped to [N, groups, C/groups * H * W]."""
    x = op.operands[0]
    xl = p.layout(x)
    where = site(op)
    for v in op.operands[1:5]:
        if p.is_tensor(v):
            p.spaces.unify(p.layout(v)[0], xl[1], where)
    mixed = p.const(op.operands[5]) is not False and any(p.has_channels(d) for d in xl[2:])
    if mixed:
        for d in xl[2:]:
            p.spaces.mark_inexact(d, Reason("instance statistics over channels", where))
    zero = (p.is_tensor(op.operands[2]) or p.is_zero(x)) and not mixed
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=zero)


def norm_over_last(weight_args: tuple[int, ...]) -> Rule:
    """layer_norm(input, normalized_shape, weight, bias, ...) / rms_norm(input, normalized_shape, weight, eps):
    the normalized trailing dims mix their channels (inexact); weight/bias are coupled to them."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl = p.layout(x)
        ns = p.const_ints(op.operands[1])
        if ns is None:
            return p.freeze_op(op, "normalization over a non-constant shape")
        where = site(op)
        normalized = xl[len(xl) - len(ns) :]
        for i in weight_args:
            if i < len(op.operands) and p.is_tensor(op.operands[i]):
                for wd, xd in zip(p.layout(op.operands[i]), normalized):
                    p.spaces.unify(wd, xd, where)
        for d in normalized:
            p.spaces.mark_inexact(d, Reason("normalization over channels", where))
        has_affine = len(weight_args) > 0 and p.is_tensor(op.operands[weight_args[-1]])
        p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=has_affine)
        for r in op.results[1:]:
            no_channels_value(p, r)

    return rule


def group_norm(p: Propagation, op: Operation) -> None:
    """group_norm(input, num_groups, weight, bias, eps, cudnn): channels = groups x per-group; the group
    count stays fixed (frozen), the per-group channels can be pruned consistently in every group."""
    x = op.operands[0]
    xl = p.layout(x)
    g = p.const_int(op.operands[1])
    if g is None:
        return p.freeze_op(op, "group_norm with non-constant groups")
    where = site(op)
    c = (p.shape(x) or ())[1]
    gs = fresh(p, g, f"{where} groups")
    p.spaces.freeze(gs, Reason("group count of group_norm", where))
    p.spaces.unify(xl[1], Prod((gs, fresh(p, c // g, where))), where)
    for v in op.operands[2:4]:
        if p.is_tensor(v):
            p.spaces.unify(p.layout(v)[0], xl[1], where)
    p.spaces.mark_inexact(xl[1], Reason("normalization over channels", where))
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=p.is_tensor(op.operands[3]))


def _normalized_shape(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    x = op.operands[0]
    ns = const(op.operands[1])
    new = list(shapes.new(x)[len(shapes.old(x)) - len(ns) :])
    if new != ns:
        replace_int_list(op, 1, new, rewriter)


def _layer_norm(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's ONNX LayerNormalization of a value of unknown shape gives -1 sizes (torch-mlir only uses
    their number): take them from the weight's type, else from the input at run time."""
    import torch

    shape = args[1]
    if isinstance(shape, list) and -1 in shape:
        k = len(shape)
        weight_type = op.operands[2].type
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


_NATIVE_BN_NO_TRAINING = "torch.aten._native_batch_norm_legit_no_training"
"""Arrives as a generic `torch.operator` (the FX importer has no op class for it)."""

OPS = table(
    {
        **each(
            aten("batch_norm native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_functional"),
            OpSpec(rule=batch_norm(training=5, running_stats=True)),
        ),
        _NATIVE_BN_NO_TRAINING: OpSpec(rule=batch_norm(training=None, running_stats=True)),
        "torch.aten._native_batch_norm_legit.no_stats": OpSpec(rule=batch_norm(training=3, running_stats=False)),
        "torch.aten.instance_norm": OpSpec(rule=instance_norm),
        **each(
            aten("layer_norm native_layer_norm"),
            OpSpec(rule=norm_over_last((2, 3)), resize=_normalized_shape, emit_adapter=_layer_norm),
        ),
        "torch.aten.rms_norm": OpSpec(rule=norm_over_last((2,)), resize=_normalized_shape),
        "torch.aten.group_norm": OpSpec(rule=group_norm),
    },
    operators=[
        _NATIVE_BN_NO_TRAINING,
        "torch.aten._native_batch_norm_legit",
        "torch.aten._native_batch_norm_legit_functional",
        "torch.aten._native_batch_norm_legit.no_stats",
    ],
)
