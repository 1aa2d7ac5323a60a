"""Lists of tensors and the ops that join or split along a dim: ListConstruct/Unpack, __getitem__,
tuples, cat/concat (the dim becomes a concatenation), stack, split/chunk/unbind (consecutive slices; split
sizes rewritten after pruning)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spa_ir.channels.propagation import Dims, Propagation
from spa_ir.channels.spaces import Anon, Cat, Reason
from spa_ir.core.ir import const, op_key, site
from spa_ir.ops.common import norm_dim, unify_all
from spa_ir.ops.slicing import slice_dim
from spa_ir.ops.spec import Emitter, OpSpec, arg, aten, each, has_arg, renamed, table
from spa_ir.pruning.shapes import Shapes, make_int, pruned_dim, replace_int_list


def _joined_items(p: Propagation, op: Operation) -> tuple[list[Dims], int, int] | None:
    """cat / stack: the layouts of the list's tensors, the (normalized) dim and the result's rank."""
    items, d = p.lists.get(arg(op, "tensors")), p.const_int(arg(op, "dim"))
    if items is None or any(i is None for i in items) or d is None:
        return None
    rank = len(p.shape(op.results[0]) or ())
    return [it for it in items if it is not None], norm_dim(d, rank), rank


def _all_items_zero(p: Propagation, op: Operation) -> bool:
    return all(p.is_zero(s) for s in p.list_items.get(arg(op, "tensors"), []))


def cat(p: Propagation, op: Operation) -> None:
    """cat(tensors, dim): the cat dim is the concatenation; all other dims are coupled across inputs."""
    joined = _joined_items(p, op)
    if joined is None:
        return p.freeze_op(op, "cat of an unknown list")
    items, d, rank = joined
    where = site(op)
    parts = [it for it in items if len(it) == rank]
    out = [
        p.spaces.resolve(Cat(tuple(it[k] for it in parts))) if k == d else unify_all(p, [it[k] for it in parts], where)
        for k in range(rank)
    ]
    p.set(op.results[0], out, zero=_all_items_zero(p, op))


def stack(p: Propagation, op: Operation) -> None:
    """stack(tensors, dim): every input dim is coupled across inputs; the new dim holds no channel."""
    joined = _joined_items(p, op)
    if joined is None:
        return p.freeze_op(op, "stack of an unknown list")
    items, d, rank = joined
    where = site(op)
    inner = [unify_all(p, [it[k] for it in items], where) for k in range(rank - 1)]
    p.set(op.results[0], [*inner[:d], Anon(len(items)), *inner[d:]], zero=_all_items_zero(p, op))


def list_construct(p: Propagation, op: Operation) -> None:
    """A list of tensors (for cat/stack/...) remembers its items' layouts; lists of ints carry nothing."""
    if any(p.is_tensor(v) for v in op.operands):
        p.lists[op.results[0]] = [p.layout(v) if p.is_tensor(v) else None for v in op.operands]
        p.list_items[op.results[0]] = list(op.operands)


_SPLITS = ("torch.aten.split_with_sizes", "torch.aten.split.sizes", "torch.aten.split.Tensor", "torch.aten.chunk",
           "torch.aten.unbind.int")  # fmt: skip


def _item_zero(p: Propagation, lst: SSAValue, i: int) -> bool:
    """Whether item `i` of a list is zero on removed channels: a constructed list's item is its operand; a split's
    items are slices of its input, zero where the input is (C2f's chunk halves, PSA's split q / k / v)."""
    items = p.list_items.get(lst)
    if items is not None:
        return 0 <= i < len(items) and p.is_zero(items[i])
    owner = lst.owner
    return isinstance(owner, Operation) and op_key(owner) in _SPLITS and p.is_zero(arg(owner, "self_"))


def list_unpack(p: Propagation, op: Operation) -> None:
    lst = arg(op, "operand")
    items = p.lists.get(lst)
    if items is None or len(items) != len(op.results):
        return p.freeze_op(op, "unpacking an unknown list")
    for i, (r, dims) in enumerate(zip(op.results, items)):
        if dims is not None:
            p.set(r, dims, zero=_item_zero(p, lst, i))


def getitem_list(p: Propagation, op: Operation) -> None:
    items = p.lists.get(arg(op, "list"))
    idx = p.const_int(arg(op, "idx"))
    if items is None or idx is None or items[idx] is None:
        return p.freeze_op(op, "indexing an unknown list")
    p.set(op.results[0], items[idx], zero=_item_zero(p, arg(op, "list"), idx))  # type: ignore[arg-type]  # checked not None above


def split(p: Propagation, op: Operation) -> None:
    """split.Tensor(x, size, dim) / split_with_sizes(x, sizes, dim) / chunk(x, n, dim) / unbind(x, dim):
    a list result whose items are consecutive slices (the split dim becomes a concatenation)."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    name = op.name
    dim = p.const_int(arg(op, "dim"))
    if dim is None:
        return p.freeze_op(op, "split with a non-constant dim")
    dim = norm_dim(dim, len(xl))
    size = (p.shape(x) or ())[dim]
    where = site(op)
    if "unbind" in name:  # every index its own tensor (q, k, v of a fused qkv): the dim holds no channel
        if size < 0:
            p.spaces.freeze(xl[dim], Reason("unbind of a dynamic dim", where))
        for i in range(max(size, 0)):
            slice_dim(p, x, dim, i, i + 1, where)
        p.lists[r] = [[p.spaces.resolve(d) for k, d in enumerate(p.layout(x)) if k != dim]] * max(size, 0)
        return
    pieces = p.const(_pieces(op))
    if "chunk" in name and isinstance(pieces, int):
        step = -(-size // pieces)
        sizes = [min(step, size - s) for s in range(0, size, step)]
    elif isinstance(pieces, int):
        sizes = [min(pieces, size - s) for s in range(0, size, pieces)]
    elif isinstance(pieces, list) and all(isinstance(s, int) for s in pieces):
        sizes = list(pieces)
    else:
        return p.freeze_op(op, "split with non-constant sizes")
    items: list[Dims | None] = []
    offset = 0
    for s in sizes:
        item = list(xl)
        item[dim] = slice_dim(p, x, dim, offset, offset + s, where)
        items.append(item)
        offset += s
    p.lists[r] = [[p.spaces.resolve(d) for d in it] for it in items if it is not None]


def _pieces_name(op: Operation) -> str:
    """How a split cuts: `split_sizes` (a list), `split_size` (an int, or a list for split.sizes) or `chunks`."""
    return next(name for name in ("split_sizes", "split_size", "chunks") if has_arg(op, name))


def _pieces(op: Operation) -> SSAValue:
    return arg(op, _pieces_name(op))


def _split_sizes(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """split_with_sizes(x, sizes, dim): the new sizes are the surviving indices of each piece."""
    x = arg(op, "self_")
    if (dim := pruned_dim(op, shapes)) is None:
        return
    bounds = np.cumsum([0, *const(_pieces(op))])
    new = [shapes.kept_before(x, dim, int(b)) for b in bounds]
    replace_int_list(op, _pieces_name(op), [b - a for a, b in zip(new, new[1:])], rewriter)


def _split_uniform(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """split.Tensor(x, size, dim) / chunk(x, n, dim): rewritten to split_with_sizes when pieces change."""
    x = arg(op, "self_")
    if (dim := pruned_dim(op, shapes)) is None:
        return
    size = shapes.old(x)[dim]
    pieces = const(_pieces(op))
    step = -(-size // pieces) if "chunk" in op.name else pieces
    bounds = [*range(0, size, step), size]
    new = [shapes.kept_before(x, dim, b) for b in bounds]
    sizes = [b - a for a, b in zip(new, new[1:])]
    from spa.dialects.torch import AtenSplitWithSizesOp, IntType, ListType, PrimListConstructOp

    consts = [make_int(s, op, rewriter) for s in sizes]
    lst = PrimListConstructOp.create(operands=consts, result_types=[ListType(IntType())])
    rewriter.insert(lst, InsertPoint.before(op))
    new_op = AtenSplitWithSizesOp.create(
        operands=[x, lst.results[0], arg(op, "dim")], result_types=[op.results[0].type]
    )
    rewriter.replace_op(op, new_op)


def _index(e: Emitter, seq: Any, i: Any) -> Any:
    if isinstance(seq, (list, tuple)) and isinstance(i, int):
        return seq[i]
    return e.graph.call_function(operator.getitem, (seq, i))


def _item(e: Emitter, op: Operation) -> Any:
    """`__getitem__.t(list, idx)` / `TupleIndex(tup, i)`: operands are (sequence, index) in both."""
    seq, index = op.operands
    return _index(e, e.value(seq), e.value(index))


OPS = table(
    {
        "torch.aten.cat": OpSpec(rule=cat),
        "torch.aten.concat": OpSpec(rule=cat, legalize=renamed("torch.aten.cat")),
        "torch.aten.stack": OpSpec(rule=stack),
        "torch.prim.ListConstruct": OpSpec(rule=list_construct, emit=lambda e, op: [e.value(v) for v in op.operands]),
        "torch.prim.ListUnpack": OpSpec(rule=list_unpack, emit=lambda e, op: e.value(arg(op, "operand"))),
        "torch.aten.__getitem__.t": OpSpec(rule=getitem_list, emit=_item),
        "torch.prim.TupleConstruct": OpSpec(emit=lambda e, op: tuple(e.value(v) for v in op.operands)),
        "torch.prim.TupleUnpack": OpSpec(emit=lambda e, op: e.value(arg(op, "tup"))),
        "torch.prim.TupleIndex": OpSpec(emit=_item),
        **each(aten("split_with_sizes split.sizes"), OpSpec(rule=split, resize=_split_sizes)),
        **each(aten("split.Tensor chunk"), OpSpec(rule=split, resize=_split_uniform)),
        "torch.aten.unbind.int": OpSpec(rule=split),
    },
    operators={"torch.aten.concat": "tensors dim"},
)
