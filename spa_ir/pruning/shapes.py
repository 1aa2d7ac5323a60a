"""Old and new shapes of every value once channels are removed, and the helpers the op families' size
rewrites (spa_ir/ops, `OpSpec.resize`) build new constants with. Constants may be shared by several ops, so
new ones are created rather than edited in place."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spa_ir.core.errors import SpaError
from spa_ir.core.ir import NOT_CONST, const, location, shape
from spa_ir.ops.spec import arg, operand_names


class Shapes:
    """Old shape and surviving indices per dim of every tensor value."""

    def __init__(self) -> None:
        self._old: dict[SSAValue, tuple[int, ...]] = {}
        self._kept: dict[SSAValue, list[np.ndarray | None]] = {}
        self._units: dict[SSAValue, list[tuple[int, int] | None]] = {}

    def record(
        self,
        v: SSAValue,
        old: tuple[int, ...],
        kept: list[np.ndarray | None],
        units: list[tuple[int, int] | None] | None = None,
    ) -> None:
        self._old[v] = old
        self._kept[v] = kept
        if units is not None and any(units):
            self._units[v] = units

    def unit(self, v: SSAValue, dim: int) -> tuple[int, int] | None:
        """Old and new size of the static factor a dynamic dim holds below its dynamic unit (`_ x s3`: a batch
        merged with heads), which its computed size scales by; None for a static dim or a plain `_`."""
        units = self._units.get(v)
        return units[dim] if units is not None and dim < len(units) else None

    def old(self, v: SSAValue) -> tuple[int, ...]:
        if v in self._old:
            return self._old[v]
        dims = shape(v)
        assert dims is not None, "only tensor values have shapes"
        return dims

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


def make_int(value: int, before: Operation, rewriter: PatternRewriter) -> SSAValue:
    """A new `torch.constant.int` before `before`, named as torch-mlir names them (`%int-1`)."""
    from spa.dialects.torch import ConstantIntOp, IntType

    new = ConstantIntOp.create(result_types=[IntType()], properties={"value": IntegerAttr(value, i64)})
    new.results[0].name_hint = f"int{value}"
    rewriter.insert(new, InsertPoint.before(before))
    return new.results[0]


def replace_int(op: Operation, name: str, value: int, rewriter: PatternRewriter) -> None:
    """Set the int operand `name` to `value` (a new constant: the old one may be shared)."""
    index = operand_names(op).index(name)
    if const(op.operands[index]) != value:
        op.operands[index] = make_int(value, op, rewriter)
        rewriter.notify_op_modified(op)


def replace_int_list(op: Operation, name: str, values: list[int], rewriter: PatternRewriter) -> None:
    """Replace the constant int list operand `name`, keeping the non-constant entries (dynamic sizes)."""
    index = operand_names(op).index(name)
    old = op.operands[index].owner
    if not isinstance(old, Operation) or old.name != "torch.prim.ListConstruct":
        raise SpaError(f"size list is not a list construct: {location(op)}")
    current = const(op.operands[index])
    if current == values:
        return
    items = []
    for v, item, new in zip(old.operands, current, values):
        items.append(v if item is NOT_CONST or item == new else make_int(new, op, rewriter))
    lst = type(old).create(operands=items, result_types=[old.results[0].type])
    rewriter.insert(lst, InsertPoint.before(op))
    op.operands[index] = lst.results[0]
    rewriter.notify_op_modified(op)


def pruned_dim(op: Operation, shapes: Shapes, bounds: tuple[str, ...] = ()) -> int | None:
    """The op's `dim` operand (normalized) when that dim of its input `self` lost indices, else None.
    Bounds (operand names) known only at run time (propagation froze the dim for them) can only be
    left alone on a dim that kept every channel; on a shrunk one they are an error, not a wrong slice."""
    x = arg(op, "self_")
    dim = const(arg(op, "dim"))
    dim = dim + len(shapes.old(x)) if dim < 0 else dim
    if shapes.kept(x)[dim] is None or shapes.new(x)[dim] == shapes.old(x)[dim]:
        return None
    if any(const(arg(op, k)) is NOT_CONST for k in bounds):
        raise SpaError(f"cannot rewrite a run-time bound on a pruned dim: {location(op)}")
    return dim


def static_shape(v: SSAValue) -> tuple[int, ...]:
    """The shape FLOPs are counted at: a dynamic dim counts as 1, so FLOPs are per unit of each dynamic dim (per
    sample for a dynamic batch, in which every counted op is linear: keep-flops' ratio holds at any batch size);
    ValueError for an unranked tensor (FLOPs cannot be counted)."""
    dims = shape(v)
    if dims is None:
        raise ValueError("unranked tensor")
    return tuple(1 if d < 0 else d for d in dims)
