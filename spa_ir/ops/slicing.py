"""Slices: slice.Tensor (strided over whole blocks too: rotary `x[..., ::2]`), narrow, slice_scatter. A
sliced channel dim is refined into (before, kept, after); bounds are rewritten to count kept indices."""

from __future__ import annotations

from typing import Any

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa.dialects.spa import ParamOp
from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Cat, Layout, Prod, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import NOT_CONST, Site, const, site
from spa_ir.core.ir import shape as shape_of
from spa_ir.ops.common import fresh, norm_dim
from spa_ir.ops.spec import Emitter, OpSpec, arg, call_overload, table
from spa_ir.pruning.shapes import Shapes, pruned_dim, replace_int

UNREAD_WEIGHT_PART = "part of a weight its one slice does not read"
"""The rest of a table read only through a slice (BERT's position_ids[:, :seq]): its bound is a constant in
the capture but often the input's length in the model's code, so the part past it stays (a model pruned there
would be wrong, or fail, on longer inputs); keeping it costs no FLOPs."""


def slice_dim(p: Propagation, x: SSAValue, dim: int, start: int, end: int, where: Site) -> Layout:
    """The layout of x[dim][start:end]; a channel dim is refined into (before, kept, after). An empty slice (a
    fused projection's part of size 0) takes no channel and leaves the dim as it is. The parts a weight's only
    slice does not read are frozen (UNREAD_WEIGHT_PART)."""
    size = (p.shape(x) or ())[dim]
    layout = p.layout(x)[dim]
    start, end = max(0, min(start, size)), max(0, min(end, size))
    if not p.has_channels(layout) or end <= start:
        return Anon(max(end - start, 0))
    middle = fresh(p, end - start, where)
    # the parts beside the slice are spaces even when one index wide (a group of one is never formed): an index
    # beside a one-index slice (the last of q, k, v) is no dim without channels, which would freeze the others
    pieces = [
        piece
        for piece in (
            p.spaces.new(start, where) if start else None,
            middle,
            p.spaces.new(size - end, where) if size > end else None,
        )
        if piece is not None
    ]
    if len(pieces) > 1:
        p.spaces.unify(layout, Cat(tuple(pieces)), where)
        if isinstance(x.owner, ParamOp) and x.has_one_use():
            for piece in pieces:
                if piece is not middle:
                    p.spaces.freeze(piece, Reason(UNREAD_WEIGHT_PART, where))
    else:
        p.spaces.unify(layout, middle, where)
    return p.spaces.resolve(middle)


def _slice_args(p: Propagation, op: Operation, x: SSAValue) -> tuple[int, int, int, int] | None:
    """(dim, start, end, step) of a slice (its operands of those names); bounds normalized to [0, size];
    None when any is not a constant."""
    dim, step = p.const_int(arg(op, "dim")), p.const_int(arg(op, "step"))
    start, end = p.const(arg(op, "start")), p.const(arg(op, "end"))
    if dim is None or step is None or start is NOT_CONST or end is NOT_CONST:
        return None
    dim = norm_dim(dim, len(p.layout(x)))
    size = (p.shape(x) or ())[dim]
    start = 0 if start is None else (start + size if start < 0 else start)
    end = size if end is None else (end + size if end < 0 else end)
    return dim, start, end, step


def slice_tensor(p: Propagation, op: Operation) -> None:
    """slice.Tensor(x, dim, start, end, step)."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    args = _slice_args(p, op, x)
    if args is None:
        return p.freeze_op(op, "slice with non-constant bounds")
    dim, start, end, step = args
    size = (p.shape(x) or ())[dim]
    out = list(xl)
    if not p.has_channels(xl[dim]):
        out[dim] = Anon((p.shape(r) or ())[dim])
    elif step == 1 and size >= 0:
        out[dim] = slice_dim(p, x, dim, start, end, site(op))
    elif size > 0 and size % step == 0 and start < step and end >= size - step + start + 1:
        out[dim] = _every_kth(p, xl[dim], size, step, site(op))
    else:
        return p.freeze_op(op, "strided or dynamic slice of a channel dim")
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def _every_kth(p: Propagation, layout: Layout, size: int, step: int, where: Site) -> Layout:
    """x[..., start::step] over a whole channel dim (rotary embeddings take x[..., ::2] and x[..., 1::2]):
    the dim is `blocks x step`; the slice keeps one fixed index of each block, so blocks are the channels
    and the position in a block is frozen. Removing block j removes its `step` consecutive indices."""
    blocks, within = fresh(p, size // step, where), fresh(p, step, where)
    p.spaces.unify(layout, Prod((blocks, within)), where)
    p.spaces.freeze(within, Reason("strided slice keeps one index of each block", where))
    return p.spaces.resolve(blocks)


def slice_scatter(p: Propagation, op: Operation) -> None:
    """slice_scatter(x, src, dim, start, end, step): x with x[dim][start:end] replaced by src, the
    functional form of an in-place slice write (Swin V2's `qkv_bias[n:2n].zero_()`): src's dims are x's,
    and its `dim` is that slice of x's."""
    x, src, r = arg(op, "self_"), arg(op, "src"), op.results[0]
    xl, sl = p.layout(x), p.layout(src)
    args = _slice_args(p, op, x)
    if args is None or len(xl) != len(sl):
        return p.freeze_op(op, "slice_scatter with non-constant bounds")
    dim, start, end, step = args
    if ((p.shape(x) or ())[dim] < 0 or step != 1) and p.has_channels(xl[dim]):
        return p.freeze_op(op, "strided or dynamic slice_scatter into a channel dim")
    where = site(op)
    part = slice_dim(p, x, dim, start, end, where) if step == 1 else Anon((p.shape(src) or ())[dim])
    for k, d in enumerate(sl):
        p.spaces.unify(d, part if k == dim else xl[k], where)
    p.set(r, [p.spaces.resolve(d) for d in xl], zero=p.is_zero(x) and p.is_zero(src))


def narrow(p: Propagation, op: Operation) -> None:
    """narrow(x, dim, start, length)."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    dim, start, length = (p.const_int(arg(op, name)) for name in ("dim", "start", "length"))
    if dim is None or start is None or length is None:
        return p.freeze_op(op, "narrow with non-constant bounds")
    dim = norm_dim(dim, len(xl))
    out = list(xl)
    out[dim] = slice_dim(p, x, dim, start, start + length, site(op))
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def _slice_bounds(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """slice.Tensor(x, dim, start, end, step) / slice_scatter(x, src, dim, start, end, step): start and
    end count the kept indices before them."""
    x = arg(op, "self_")
    if (dim := pruned_dim(op, shapes, ("start", "end"))) is None:
        return
    size = shapes.old(x)[dim]
    # a strided slice over whole blocks (x[..., 1::2]) keeps its start: whole blocks were removed
    for name in ("start", "end") if const(arg(op, "step")) == 1 else ("end",):
        bound = const(arg(op, name))
        if bound is None:
            continue
        bound = bound + size if bound < 0 else min(bound, size)
        replace_int(op, name, shapes.kept_before(x, dim, bound), rewriter)


def _narrow(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    x, r = arg(op, "self_"), op.results[0]
    if (dim := pruned_dim(op, shapes, ("start", "length"))) is None:
        return
    replace_int(op, "start", shapes.kept_before(x, dim, const(arg(op, "start"))), rewriter)
    replace_int(op, "length", shapes.new(r)[dim], rewriter)


def _slice(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's slice allows a negative step (ONNX Slice, Python `x[::-1]`); aten.slice does not:
    flip the dim, then slice forward."""
    import torch

    x, dim, start, end, step = args
    if not (isinstance(step, int) and step < 0):
        return call_overload(e, overload, args, kwargs)
    shape = shape_of(arg(op, "self_"))
    assert shape is not None, "slice's input is a ranked tensor"
    if not isinstance(dim, int) or not all(v is None or isinstance(v, int) for v in (start, end)):
        raise SpaError("slice with a negative step needs a constant dim and bounds")
    dim %= len(shape)
    if shape[dim] < 0:
        raise SpaError(f"slice with a negative step needs a static size of dim {dim}")
    n = shape[dim]
    picked = range(*slice(start, end, step).indices(n))
    flipped = e.graph.call_function(torch.ops.aten.flip.default, (x, [dim]))
    first = n - 1 - picked[0] if picked else 0
    last = first + (len(picked) - 1) * -step + 1 if picked else 0
    return e.graph.call_function(torch.ops.aten.slice.Tensor, (flipped, dim, first, last, -step))


OPS = table(
    {
        "torch.aten.slice.Tensor": OpSpec(rule=slice_tensor, resize=_slice_bounds, emit_adapter=_slice),
        "torch.aten.slice_scatter": OpSpec(rule=slice_scatter, resize=_slice_bounds),
        "torch.aten.narrow": OpSpec(rule=narrow, resize=_narrow),
    }
)
