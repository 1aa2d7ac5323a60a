"""Ops that move or pick elements (views, permutes, slices, splits, cat, pad, roll, getitem): they act on the
moment tensors themselves, a size-1 dim of the moments standing for every index there."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.fx as fx
import torch.nn.functional as F

from spa_ir.compensation.moments.ops import VIEWS
from spa_ir.compensation.moments.values import (
    Entry,
    Items,
    Propagate,
    Repeat,
    Stop,
    Unknown,
    Val,
    make_val,
    norm_dim,
    packet,
    pad_rank,
    strip_leading,
)

if TYPE_CHECKING:
    from spa_ir.compensation.moments.walk import Walk


def view_size(a: dict[str, Any]) -> Sequence[int]:
    """The target sizes of a reshape / view (-1 allowed)."""
    return a["shape"] if "shape" in a else a["size"]


def _rank_for(w: Walk, arg: Any, x: Val, *dims: int) -> int:
    """The rank to pad the moments to: the value's, or enough for negative dims when it is unknown."""
    r = w.rank(arg)
    if r is not None:
        return r
    if all(d < 0 for d in dims):
        return max([strip_leading(x.mean).dim(), *(-d for d in dims)])
    raise Stop("rank of the input unknown")


def _both(x: Val, rank: int, f: Callable[[torch.Tensor], torch.Tensor]) -> Val:
    return make_val(f(pad_rank(x.mean, rank)), f(pad_rank(x.var, rank)))


def getitem(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    e = w.entry(node.args[0])
    i = node.args[1]
    if isinstance(e, Unknown):
        raise Propagate(e)
    if isinstance(e, Repeat):
        return e.item
    if isinstance(e, Items) and isinstance(i, int):
        return e.items[i]
    raise Stop("indexing an activation")


def roll(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Positions move; along a dim the moments do not vary on, nothing changes."""
    x = w.val(a["self"])
    shifts, dims = [int(s) for s in a["shifts"]], [int(d) for d in a["dims"]]
    if not dims:
        raise Stop("a roll of the flattened value")
    return _both(x, _rank_for(w, a["self"], x, *dims), lambda t: t.roll(shifts, dims))


def constant_pad(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Padded positions hold the constant (variance 0): the moments become position-dependent there."""
    if a.get("mode", "constant") != "constant":
        raise Stop(f"{a['mode']} padding")
    x = w.val(a["self"])
    shape = w.shape(a["self"])
    if shape is None:
        raise Stop("the input's shape is unknown (pass example_inputs)")
    pads = [int(p) for p in a["pad"]]
    rank = len(shape)
    touched = range(rank - len(pads) // 2, rank)
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    size = [shape[d] if d in touched else m.shape[d] for d in range(rank)]
    value = 0.0 if a.get("value") is None else float(a["value"])
    return make_val(F.pad(m.expand(size), pads, value=value), F.pad(v.expand(size), pads, value=0.0))


def permute(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    dims = [int(d) for d in a["dims"]]
    return _both(x, len(dims), lambda t: t.permute(dims))


def transpose(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    if packet(node) in ("aten.t", "aten.numpy_T"):
        d0, d1 = -2, -1
    else:
        d0, d1 = int(a["dim0"]), int(a["dim1"])
    rank = _rank_for(w, a["self"], x, d0, d1)
    return _both(x, max(rank, 2), lambda t: t.transpose(d0, d1))


def unsqueeze(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a["dim"])
    if d < 0:
        rank = _rank_for(w, a["self"], x, d + 1 if d < -1 else -1)
        return _both(x, rank, lambda t: t.unsqueeze(d))
    rank = _rank_for(w, a["self"], x)
    return _both(x, rank, lambda t: t.unsqueeze(d))


def squeeze(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    shape = w.shape(a["self"])
    if shape is None:
        raise Stop("the input's shape is unknown (pass example_inputs)")
    rank = len(shape)
    given = a.get("dim", a.get("dims"))
    dims = range(rank) if given is None else ([given] if isinstance(given, int) else list(given))
    drop = {norm_dim(int(d), rank) for d in dims if shape[int(d)] == 1}
    keep = [d for d in range(rank) if d not in drop]
    return _both(x, rank, lambda t: t.reshape([t.shape[d] for d in keep]))


def select(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a["dim"])
    rank = _rank_for(w, a["self"], x, d)
    d = norm_dim(d, rank)
    index = int(a["index"])

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.select(d, index if t.shape[d] > 1 else 0)

    return _both(x, rank, pick)


def slice_(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    p = packet(node)
    d = int(a.get("dim", 0))
    rank = _rank_for(w, a["self"], x, d)
    d = norm_dim(d, rank)
    end: int | None
    if p == "aten.narrow":
        start, end, step = int(a["start"]), int(a["start"]) + int(a["length"]), 1
    else:
        start = 0 if a.get("start") is None else int(a["start"])
        end = None if a.get("end") is None else int(a["end"])
        step = int(a.get("step", 1))

    def cut(t: torch.Tensor) -> torch.Tensor:
        if t.shape[d] == 1:
            return t
        index = [slice(None)] * t.dim()
        index[d] = slice(start, end, step)
        return t[tuple(index)]

    return _both(x, rank, cut)


def split(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a.get("dim", 0))
    rank = _rank_for(w, a["self"], x, d)
    d = norm_dim(d, rank)
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    if m.shape[d] == 1:
        return Repeat(make_val(m, v))
    p = packet(node)
    if p == "aten.chunk":
        ms, vs = m.chunk(int(a["chunks"]), d), v.chunk(int(a["chunks"]), d)
    else:
        size = a["split_sizes"] if p == "aten.split_with_sizes" else a["split_size"]
        sizes = int(size) if isinstance(size, int) else [int(s) for s in size]
        ms, vs = m.split(sizes, d), v.split(sizes, d)
    return Items(tuple(make_val(mi, vi) for mi, vi in zip(ms, vs)))


def cat(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    parts = [w.val(t) for t in a["tensors"]]
    d = int(a.get("dim", 0))
    rank = w.rank(node) or max((w.rank(t) or 0) for t in a["tensors"])
    if rank == 0:
        raise Stop("rank unknown")
    d = norm_dim(d, rank)
    ms, vs = [], []
    for arg, part in zip(a["tensors"], parts):
        m, v = pad_rank(part.mean, rank), pad_rank(part.var, rank)
        if m.shape[d] == 1:
            shape = w.shape(arg)
            if shape is None:
                raise Stop("an operand's size along the cat dim is unknown (pass example_inputs)")
            size = list(m.shape)
            size[d] = shape[d]
            m, v = m.expand(size), v.expand(size)
        ms.append(m)
        vs.append(v)
    others = torch.broadcast_shapes(*[tuple(1 if i == d else s for i, s in enumerate(m.shape)) for m in ms])

    def full(t: torch.Tensor) -> torch.Tensor:
        return t.expand([t.shape[i] if i == d else others[i] for i in range(rank)])

    return make_val(torch.cat([full(m) for m in ms], d), torch.cat([full(v) for v in vs], d))


def reshape(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """The moments' trailing dims (expanded to their real sizes) reshaped to the target's suffix of that size."""
    x = w.val(node.args[0])
    target = w.shape(node)
    if target is None and packet(node) in VIEWS:
        given = [int(s) for s in view_size(a)]
        target = tuple(given) if all(s >= 0 for s in given) else None
    if target is None:
        raise Stop("the target shape is unknown (pass example_inputs)")
    in_shape = w.shape(node.args[0])
    m, v = strip_leading(x.mean), strip_leading(x.var)
    top = len(in_shape) if in_shape is not None else m.dim()
    for k in range(max(m.dim(), 1), top + 1):
        mk = pad_rank(m, k)
        sizes: list[int] = []
        for i in range(k):
            real = in_shape[len(in_shape) - k + i] if in_shape is not None else None
            if real is None:
                if mk.shape[i] == 1:
                    raise Stop("the input's shape is unknown (pass example_inputs)")
                real = int(mk.shape[i])
            sizes.append(real)
        total = math.prod(sizes)
        for j in range(len(target), -1, -1):
            tail = target[j:]
            if math.prod(tail) == total:
                return make_val(mk.expand(sizes).reshape(tail), pad_rank(v, k).expand(sizes).reshape(tail))
            if math.prod(tail) > total:
                break
    raise Stop("the channel dims cannot be followed through the reshape")
