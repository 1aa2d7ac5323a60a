"""Spatial ops over the trailing dims: pooling and padding (resampling: spa_ir/ops/resampling.py). The leading
(N, C) dims pass through; a channel dim under the window is frozen; constant padding of a channel dim adds no
channel."""

from __future__ import annotations

from typing import Any

from xdsl.ir import Operation

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Cat, Layout, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import site
from spa_ir.ops.spec import Emitter, OpSpec, Rule, arg, aten, call_overload, each, has_arg, subject, table


def keep_leading(n: int, zero_preserving: bool = True) -> Rule:
    """Pooling, resampling, padding of the trailing (spatial) dims: the first n dims (N, C) pass through, also where
    the result's type leaves them dynamic (an ONNX Resize whose scales shape inference could not read: the
    conversion asserts they keep N and C). A leading dim whose static size changes is frozen."""

    def rule(p: Propagation, op: Operation) -> None:
        x = subject(op)
        xl, xshape = p.layout(x), p.shape(x) or ()
        for r in op.results:
            if not p.is_tensor(r):
                continue
            rshape = p.shape(r) or ()
            if len(rshape) != len(xl):
                return p.freeze_op(op, "pooling changes rank")
            out: list[Layout] = [Anon(d) for d in rshape]
            for k in range(min(n, len(xl))):
                if rshape[k] == xshape[k] or -1 in (rshape[k], xshape[k]):
                    out[k] = xl[k]
                elif p.has_channels(xl[k]):
                    p.spaces.freeze(xl[k], Reason("spatial op changes a leading dim", site(op)))
            for k in range(n, len(xl)):
                if p.has_channels(xl[k]):
                    p.spaces.freeze(xl[k], Reason("spatial op over a channel dim", site(op)))
            p.set(r, out, zero=zero_preserving and p.is_zero(x))

    return rule


def constant_pad(p: Propagation, op: Operation) -> None:
    """constant_pad_nd(x, pad, value) / pad(x, pad, mode="constant", value): `pad` holds (before, after)
    pairs from the last dim backwards. A padded dim is `cat(_, layout, _)`: the new indices are constants,
    no channel, so padding a channel dim (Swin pads [B, H, W, C] by zero on C) stays prunable. Other
    modes copy channels into the border: they freeze like pooling."""
    x, r = arg(op, "self_"), op.results[0]
    pads = p.const_ints(arg(op, "pad"))
    mode = p.const(arg(op, "mode")) if has_arg(op, "mode") else "constant"
    xl = list(p.layout(x))
    if pads is None or len(pads) % 2 or len(pads) // 2 > len(xl) or any(v < 0 for v in pads) or mode != "constant":
        return keep_leading(2)(p, op)
    for i in range(len(pads) // 2):
        before, after = pads[2 * i], pads[2 * i + 1]
        if before or after:
            k = len(xl) - 1 - i
            xl[k] = p.spaces.resolve(Cat((Anon(before), xl[k], Anon(after))))
    p.set(r, xl, zero=p.is_zero(x))


def _avg_pool(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's ONNX import encodes AveragePool dilations after the strides (`[s1, s2, d1, d2]`), and uneven
    pads (Keras' "same" pooling, `auto_pad=SAME_UPPER`) as ONNX's `[begins..., ends...]`, which PyTorch's pooling
    cannot take: those pad explicitly with zeros, and without count_include_pad divide by the pooled count of
    real elements, as onnxruntime does."""
    kernel, stride, padding = args[1], args[2], args[3]
    if isinstance(kernel, list) and isinstance(stride, list) and len(stride) == 2 * len(kernel):
        args[2], dilation = stride[: len(kernel)], stride[len(kernel) :]
        if any(d != 1 for d in dilation):
            raise SpaError(f"average pooling with dilation {dilation} has no PyTorch equivalent")
    if not (isinstance(kernel, list) and isinstance(padding, list) and len(padding) == 2 * len(kernel)):
        return call_overload(e, overload, args, kwargs)
    begins, ends = padding[: len(kernel)], padding[len(kernel) :]
    if begins == ends:
        args[3] = begins
        return call_overload(e, overload, args, kwargs)
    import torch

    pads = [p for b, a in zip(reversed(begins), reversed(ends)) for p in (b, a)]  # last dim first, as F.pad
    args[3] = [0] * len(kernel)
    include_pad = len(args) > 5 and args[5] is True
    padded = e.graph.call_function(torch.ops.aten.constant_pad_nd.default, (args[0], pads, 0.0))
    summed = call_overload(e, overload, [padded, *args[1:5], True, *args[6:]], kwargs)
    if include_pad:
        return summed
    ones = e.graph.call_function(torch.ops.aten.ones_like.default, (args[0],))
    ones = e.graph.call_function(torch.ops.aten.constant_pad_nd.default, (ones, pads, 0.0))
    share = call_overload(e, overload, [ones, *args[1:5], True, *args[6:]], kwargs)
    return e.graph.call_function(torch.ops.aten.div.Tensor, (summed, share))


def _pad_value(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir pads an ONNX MaxPool's uneven "same" border with the lowest float64, which PyTorch refuses for
    narrower dtypes: a value beyond the tensor dtype's range pads with the matching infinity (what max sees)."""
    import torch

    from spa_ir.core.dtypes import torch_dtype  # imports torch: emission only

    value = args[2] if len(args) > 2 else None
    dtype = torch_dtype(str(getattr(arg(op, "self_").type, "dtype", "f32")))
    if isinstance(value, float) and dtype.is_floating_point and abs(value) > torch.finfo(dtype).max:
        args[2] = float("inf") if value > 0 else float("-inf")
    return call_overload(e, overload, args, kwargs)


OPS = table(
    {
        **each(
            aten("""max_pool1d max_pool2d max_pool3d max_pool2d_with_indices max_pool3d_with_indices
adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d _adaptive_avg_pool2d adaptive_max_pool1d adaptive_max_pool2d
reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d"""),
            OpSpec(rule=keep_leading(2)),
        ),
        **{f"torch.aten.avg_pool{k}d": OpSpec(rule=keep_leading(2), emit_adapter=_avg_pool) for k in (1, 2, 3)},
        "torch.aten.constant_pad_nd": OpSpec(rule=constant_pad, emit_adapter=_pad_value),
        "torch.aten.pad": OpSpec(rule=constant_pad),
    },
)
