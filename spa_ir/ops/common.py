"""Helpers the channel rules of several op families share."""

from __future__ import annotations

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr
from xdsl.ir import Operation, SSAValue

from spa_ir.channels.propagation import Dims, Propagation
from spa_ir.channels.spaces import Anon, Layout
from spa_ir.core.ir import Site, const


def norm_dim(d: int, rank: int) -> int:
    return d + rank if d < 0 else d


def fresh(p: Propagation, size: int, origin: str | Site) -> Layout:
    return p.spaces.new(size, origin) if size > 1 else Anon(size)


def unify_all(p: Propagation, layouts: list[Layout], where: Site) -> Layout:
    first = layouts[0]
    for other in layouts[1:]:
        p.spaces.unify(first, other, where)
    return p.spaces.resolve(first)


def broadcast_dims(p: Propagation, tensors: list[SSAValue], shape: tuple[int, ...], where: Site) -> Dims:
    """The layout of `tensors` broadcast together to `shape`: dims aligned from the right are unified
    unless of size 1 (a broadcast size-1 dim repeats one value: no channel)."""
    rank = len(shape)
    out: Dims = []
    for k in range(rank):
        layouts = []
        for t in tensors:
            tshape = p.shape(t) or ()
            j = k - (rank - len(tshape))
            if j >= 0 and tshape[j] != 1:
                layouts.append(p.layout(t)[j])
        out.append(unify_all(p, layouts, where) if layouts else Anon(shape[k]))
    return out


def no_channels_value(p: Propagation, r: SSAValue) -> None:
    if p.is_tensor(r):
        p.set(r, [Anon(d) for d in p.shape(r) or ()], zero=True)


def scalar_value(v: SSAValue) -> float | None:
    """The number a scalar operand holds at compile time: a `torch.constant.int/float`, or a one-element
    `torch.vtensor.literal` (what ONNX scalars such as Clip's min/max inputs become); else None."""
    c = const(v)
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return float(c)
    owner = v.owner
    if not isinstance(owner, Operation) or owner.name != "torch.vtensor.literal":
        return None
    value = owner.properties.get("value") or owner.attributes.get("value")
    if not isinstance(value, DenseIntOrFPElementsAttr):
        return None
    values = value.get_values()
    return float(values[0]) if len(values) == 1 else None
