"""Rewriting the constants that encode sizes, after channels are removed.

`RESIZE` maps an op name to a function that, knowing every value's old and new shape (`Shapes`),
replaces the op's size operands (view shapes, split sizes, slice bounds, conv groups, normalized
shapes) with new constants. Constants may be shared by several ops, so new ones are created rather
than edited in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from spa_ir.core.errors import SpaError
from spa_ir.channels.propagation import NOT_CONST, Propagation, location


class Shapes:
    """Old shape and surviving indices per dim of every tensor value."""

    def __init__(self) -> None:
        self._old: dict[SSAValue, tuple[int, ...]] = {}
        self._kept: dict[SSAValue, list[np.ndarray | None]] = {}

    def record(self, v: SSAValue, old: tuple[int, ...], kept: list[np.ndarray | None]) -> None:
        self._old[v] = old
        self._kept[v] = kept

    def old(self, v: SSAValue) -> tuple[int, ...]:
        if v in self._old:
            return self._old[v]
        return tuple(v.type.get_shape())  # type: ignore[attr-defined]

    def kept(self, v: SSAValue) -> list[np.ndarray | None]:
        return self._kept.get(v) or [None] * len(self.old(v))

    def new(self, v: SSAValue) -> tuple[int, ...]:
        return tuple(n if k is None else len(k) for n, k in zip(self.old(v), self.kept(v)))

    def changed(self, v: SSAValue) -> bool:
        return v in self._old and self.new(v) != self._old[v]

    def kept_before(self, v: SSAValue, dim: int, index: int) -> int:
        """How many surviving indices of `v`'s dim lie below `index` (new position of an old bound)."""
        kept = self.kept(v)[dim]
        return index if kept is None else int(np.searchsorted(kept, index))


# -- building constants -----------------------------------------------------------------------------


Resize = Callable[[Operation, Shapes], None]
"""Rewrites the size operands of one op after its operands/results lost channels."""


def _torch_op(name: str) -> type[Operation]:
    from spa.dialects.torch import Torch

    for op in Torch.operations:
        if op.name == name:
            return op
    raise SpaError(f"torch dialect has no op '{name}'")


def _make_int(value: int, before: Operation) -> SSAValue:
    from spa.dialects.torch import ConstantIntOp, IntType

    const = ConstantIntOp.create(result_types=[IntType()], **_value_field(ConstantIntOp, IntegerAttr(value, i64)))
    const.results[0].name_hint = f"int{value}".replace("-", "_")
    Rewriter.insert_op(const, InsertPoint.before(before))
    return const.results[0]


def _value_field(cls: type[Operation], attr: Any) -> dict[str, dict[str, Any]]:
    defn = cls.get_irdl_definition()  # type: ignore[attr-defined]
    return {"properties": {"value": attr}} if "value" in defn.properties else {"attributes": {"value": attr}}


def _replace_int(op: Operation, index: int, value: int) -> None:
    if Propagation.const(op.operands[index]) != value:
        op.operands[index] = _make_int(value, op)


def _replace_int_list(op: Operation, index: int, values: list[int]) -> None:
    """Replace a constant int list operand, keeping the non-constant entries (dynamic sizes)."""
    old = op.operands[index].owner
    if not isinstance(old, Operation) or old.name != "torch.prim.ListConstruct":
        raise SpaError(f"size list is not a list construct: {location(op)}")
    current = Propagation.const(op.operands[index])
    if current == values:
        return
    items = []
    for v, item, new in zip(old.operands, current, values):
        items.append(v if item is NOT_CONST or item == new else _make_int(new, op))
    lst = type(old).create(operands=items, result_types=[old.results[0].type])
    Rewriter.insert_op(lst, InsertPoint.before(op))
    op.operands[index] = lst.results[0]


# -- per-op rules ------------------------------------------------------------------------------------


def _shape_list(index: int) -> Resize:
    """view/reshape(x, shape): the shape list becomes the new result shape (-1 and dynamic entries kept)."""

    def rule(op: Operation, shapes: Shapes) -> None:
        r = op.results[0]
        if not shapes.changed(r):
            return
        current = Propagation.const(op.operands[index])
        new = shapes.new(r)
        if not isinstance(current, list) or len(current) != len(new):
            raise SpaError(f"cannot rewrite the shape of {location(op)}")
        if any(c is NOT_CONST and o != n for c, o, n in zip(current, shapes.old(r), new)):
            raise SpaError(f"a size computed at run time would shrink: {location(op)}")
        values = [c if c is NOT_CONST or c == -1 else n for c, n in zip(current, new)]
        _replace_int_list(op, index, values)

    return rule


def _unflatten(op: Operation, shapes: Shapes) -> None:
    r = op.results[0]
    if not shapes.changed(r):
        return
    dim = Propagation.const(op.operands[1])
    sizes = Propagation.const(op.operands[2])
    dim = dim + len(shapes.old(op.operands[0])) if dim < 0 else dim
    new = shapes.new(r)[dim:dim + len(sizes)]
    _replace_int_list(op, 2, [s if s == -1 else n for s, n in zip(sizes, new)])


def _pruned_dim(op: Operation, shapes: Shapes, dim_arg: int, bounds: tuple[int, ...] = ()) -> int | None:
    """The op's `dim` operand (normalized) when that dim of its first operand lost indices, else None.
    Bounds (operand positions) known only at run time (propagation froze the dim for them) can only be
    left alone on a dim that kept every channel; on a shrunk one they are an error, not a wrong slice."""
    x = op.operands[0]
    dim = Propagation.const(op.operands[dim_arg])
    dim = dim + len(shapes.old(x)) if dim < 0 else dim
    if shapes.kept(x)[dim] is None or shapes.new(x)[dim] == shapes.old(x)[dim]:
        return None
    if any(Propagation.const(op.operands[k]) is NOT_CONST for k in bounds):
        raise SpaError(f"cannot rewrite a run-time bound on a pruned dim: {location(op)}")
    return dim


def _slice_bounds(dim_arg: int) -> Resize:
    """slice.Tensor(x, dim, start, end, step) / slice_scatter(x, src, dim, start, end, step): start and
    end count the kept indices before them."""

    def rewrite(op: Operation, shapes: Shapes) -> None:
        x = op.operands[0]
        if (dim := _pruned_dim(op, shapes, dim_arg, (dim_arg + 1, dim_arg + 2))) is None:
            return
        size = shapes.old(x)[dim]
        step = Propagation.const(op.operands[dim_arg + 3])
        # a strided slice over whole blocks (x[..., 1::2]) keeps its start: whole blocks were removed
        for k in (dim_arg + 1, dim_arg + 2) if step == 1 else (dim_arg + 2,):
            bound = Propagation.const(op.operands[k])
            if bound is None:
                continue
            bound = bound + size if bound < 0 else min(bound, size)
            _replace_int(op, k, shapes.kept_before(x, dim, bound))

    return rewrite


def _narrow(op: Operation, shapes: Shapes) -> None:
    x, r = op.operands[0], op.results[0]
    if (dim := _pruned_dim(op, shapes, 1, (2, 3))) is None:
        return
    _replace_int(op, 2, shapes.kept_before(x, dim, Propagation.const(op.operands[2])))
    _replace_int(op, 3, shapes.new(r)[dim])


def _normalized_shape(op: Operation, shapes: Shapes) -> None:
    x = op.operands[0]
    ns = Propagation.const(op.operands[1])
    new = list(shapes.new(x)[len(shapes.old(x)) - len(ns):])
    if new != ns:
        _replace_int_list(op, 1, new)


def _conv_groups(groups_index: int, transposed_index: int | None = None, transposed: bool = False) -> Resize:
    def rule(op: Operation, shapes: Shapes) -> None:
        groups = Propagation.const(op.operands[groups_index])
        if not isinstance(groups, int) or groups == 1:
            return
        is_t = transposed if transposed_index is None else bool(Propagation.const(op.operands[transposed_index]))
        w = op.operands[1]
        per_group = shapes.new(w)[1]
        channels = shapes.new(op.results[0])[1] if is_t else shapes.new(op.operands[0])[1]
        _replace_int(op, groups_index, channels // per_group)

    return rule


def _split_sizes(op: Operation, shapes: Shapes) -> None:
    """split_with_sizes(x, sizes, dim): the new sizes are the surviving indices of each piece."""
    x = op.operands[0]
    if (dim := _pruned_dim(op, shapes, 2)) is None:
        return
    sizes = Propagation.const(op.operands[1])
    bounds = np.cumsum([0, *sizes])
    new = [shapes.kept_before(x, dim, int(b)) for b in bounds]
    _replace_int_list(op, 1, [b - a for a, b in zip(new, new[1:])])


def _split_uniform(op: Operation, shapes: Shapes) -> None:
    """split.Tensor(x, size, dim) / chunk(x, n, dim): rewritten to split_with_sizes when pieces change."""
    x = op.operands[0]
    if (dim := _pruned_dim(op, shapes, 2)) is None:
        return
    size = shapes.old(x)[dim]
    arg = Propagation.const(op.operands[1])
    step = -(-size // arg) if "chunk" in op.name else arg
    bounds = [*range(0, size, step), size]
    new = [shapes.kept_before(x, dim, b) for b in bounds]
    sizes = [b - a for a, b in zip(new, new[1:])]
    from spa.dialects.torch import IntType, ListType

    consts = [_make_int(s, op) for s in sizes]
    lst = _torch_op("torch.prim.ListConstruct").create(operands=consts, result_types=[ListType(IntType())])
    Rewriter.insert_op(lst, InsertPoint.before(op))
    new_op = _torch_op("torch.aten.split_with_sizes").create(
        operands=[x, lst.results[0], op.operands[2]], result_types=[op.results[0].type])
    Rewriter.replace_op(op, new_op)


def _drop_stale_assertion(op: Operation, shapes: Shapes) -> None:
    """`_assert_tensor_metadata(x, size, stride, ...)` asserts the old shape: drop it once x shrinks."""
    if any(shapes.changed(v) for v in op.operands):
        Rewriter.erase_op(op)


def _result_shape_list(index: int) -> Resize:
    """zeros(size, ...) / new_zeros(self, size, ...): the size list is the result's shape."""

    def rule(op: Operation, shapes: Shapes) -> None:
        r = op.results[0]
        if shapes.changed(r):
            _replace_int_list(op, index, list(shapes.new(r)))

    return rule


RESIZE: dict[str, Resize] = {
    **{n: _result_shape_list(0) for n in ["torch.aten.zeros", "torch.aten.ones", "torch.aten.full", "torch.aten.empty.memory_format"]},
    **{n: _result_shape_list(1) for n in ["torch.aten.new_zeros", "torch.aten.new_ones", "torch.aten.new_full", "torch.aten.new_empty"]},
    "torch.aten._assert_tensor_metadata": _drop_stale_assertion,
    **{n: _shape_list(1) for n in ["torch.aten.view", "torch.aten.reshape", "torch.aten._unsafe_view", "torch.aten.view_copy"]},
    "torch.aten.expand": _shape_list(1),
    "torch.aten.unflatten.int": _unflatten,
    "torch.aten.slice.Tensor": _slice_bounds(1),
    "torch.aten.slice_scatter": _slice_bounds(2),
    "torch.aten.narrow": _narrow,
    "torch.aten.layer_norm": _normalized_shape,
    "torch.aten.native_layer_norm": _normalized_shape,
    "torch.aten.rms_norm": _normalized_shape,
    **{f"torch.aten.conv{k}d": _conv_groups(6) for k in (1, 2, 3)},
    **{f"torch.aten.conv{k}d.padding": _conv_groups(6) for k in (1, 2, 3)},
    **{f"torch.aten.conv_transpose{k}d.input": _conv_groups(6, transposed=True) for k in (1, 2, 3)},
    "torch.aten.convolution": _conv_groups(8, transposed_index=6),
    "torch.aten._convolution": _conv_groups(8, transposed_index=6),
    "torch.aten.split_with_sizes": _split_sizes,
    "torch.aten.split.sizes": _split_sizes,
    "torch.aten.split.Tensor": _split_uniform,
    "torch.aten.chunk": _split_uniform,
}
