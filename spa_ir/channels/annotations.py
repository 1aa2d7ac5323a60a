"""Reading and writing the channel annotations that passes leave in the IR.

`spa-propagate-channels` writes, on every op with tensor results, `spa.dims = [#spa.dims<...>, ...]`
(one per result) and one `spa.space` symbol per channel space; later passes rebuild a `Spaces` table
from those, so each pass can run on its own in `spa-opt` and in lit tests.
"""

from __future__ import annotations

from collections.abc import Iterator

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp
from xdsl.ir import Operation, SSAValue

from spa.dialects.spa import DimsAttr, GroupOp, ReasonAttr, SpaceOp
from spa_ir.channels.spaces import Anon, Layout, Reason, Spaces
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import Site

DIMS_ATTR = "spa.dims"


def space_ops(module: ModuleOp) -> list[SpaceOp]:
    return [op for op in module.ops if isinstance(op, SpaceOp)]


def group_ops(module: ModuleOp) -> list[GroupOp]:
    return [op for op in module.ops if isinstance(op, GroupOp)]


def space_id(symbol: str) -> int:
    return int(symbol.lstrip("@s"))


def spaces_from_module(module: ModuleOp) -> Spaces:
    """A Spaces table holding exactly the annotated spaces (ids as printed), for index computations."""
    ops = space_ops(module)
    if not ops:
        raise SpaError("no channel annotations: run spa-propagate-channels first")
    spaces = Spaces()
    for op in sorted(ops, key=lambda o: space_id(o.sym_name.data)):
        sid = space_id(op.sym_name.data)
        while len(spaces._parent) <= sid:  # ids are dense in practice; fill any gap with unused spaces
            spaces.new(1, "unused")
        info = spaces.info(sid)
        info.size = op.size.value.data
        info.origin = op.origin.data
        info.frozen = reasons(op.frozen)
        info.inexact = reasons(op.inexact)
    return spaces


def reason_attr(reason: Reason) -> ReasonAttr:
    site = reason.site
    return ReasonAttr.get(reason.kind, site.op if site else "", site.at if site else "")


def reason_of(attr: ReasonAttr) -> Reason:
    op, at = attr.op.data, attr.at.data
    return Reason(attr.kind.data, Site(op, at) if op or at else None)


def reasons(attr: ArrayAttr[ReasonAttr] | None) -> list[Reason]:
    """The reasons of a `frozen` / `inexact` attribute (none when absent)."""
    return [reason_of(a) for a in attr.data] if attr is not None else []


def annotated_dims(op: Operation) -> list[tuple[Layout, ...]] | None:
    attr = op.attributes.get(DIMS_ATTR)
    if not isinstance(attr, ArrayAttr):
        return None
    return [a.data for a in attr.data if isinstance(a, DimsAttr)]


def value_dims(value: SSAValue) -> tuple[Layout, ...] | None:
    """The annotated layout of a value (block arguments and unannotated values: no channels)."""
    owner = value.owner
    if isinstance(owner, Operation):
        dims = annotated_dims(owner)
        if dims is not None and value.index < len(dims):  # type: ignore[attr-defined]  # an op's value is an OpResult
            return dims[value.index]  # type: ignore[attr-defined]  # an op's value is an OpResult
    return None


def fill_anon(layout: Layout, size: int) -> Layout:
    """A top-level `_` is printed without its size; give it back from the type."""
    return Anon(size) if isinstance(layout, Anon) and layout.size < 0 else layout


def annotated_values(fn: func.FuncOp) -> Iterator[tuple[SSAValue, tuple[Layout, ...]]]:
    for op in fn.body.block.ops:
        dims = annotated_dims(op)
        if dims is None:
            continue
        yield from zip(op.results, dims)


def strip(module: ModuleOp) -> None:
    """Remove all channel annotations, spaces and groups."""
    for op in list(module.ops):
        if isinstance(op, (SpaceOp, GroupOp)):
            op.detach()
            op.erase()
    for op in module.walk():
        op.attributes.pop(DIMS_ATTR, None)
