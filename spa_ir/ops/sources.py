"""Values that carry no channel from an operand: weights (`spa.param`), constants, factories, shape
reads and scalar size arithmetic, run-time assertions. Weights start a fresh channel space per dim; the
rest hold no channels, and a factory's size list is rewritten when its users shrink."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Reason
from spa_ir.core.ir import location, shape, site
from spa_ir.ops.common import fresh
from spa_ir.ops.spec import Emit, Emitter, OpSpec, Rule, arg, aten, each, renamed, table
from spa_ir.pruning.shapes import Shapes, replace_int_list


def param(p: Propagation, op: Operation) -> None:
    """`spa.param`: every dim of a weight is a channel space of its own until ops couple them."""
    r = op.results[0]
    name = op.weight_name  # type: ignore[attr-defined]  # rules get Operation; this one is a spa.param
    p.param_values[name] = r
    p.set(r, [fresh(p, n, f"{name}[{d}]") for d, n in enumerate(p.shape(r) or ())], zero=True)


def factory(zero: bool) -> Rule:
    """zeros / ones / full / empty: a constant tensor takes whatever channel layout its users give it
    (fresh spaces, sized by its shape list, which resize.py rewrites)."""

    def rule(p: Propagation, op: Operation) -> None:
        r = op.results[0]
        p.set(r, [fresh(p, n, location(op)) if n > 1 else Anon(n) for n in p.shape(r) or ()], zero=zero)

    return rule


def no_channels(p: Propagation, op: Operation) -> None:
    """Constants, shape queries, factories: results hold no channels, operands are only read for shapes."""
    for r in op.results:
        if p.is_tensor(r):
            p.set(r, [Anon(d) for d in p.shape(r) or ()], zero=True)


def shape_as_tensor(p: Propagation, op: Operation) -> None:
    """_shape_as_tensor(x) (an ONNX Shape the frontend could not fold: x has dynamic dims): no channel
    flows. Where the shape's uses pick only dynamic dims (the batch size for a Reshape), channels are
    untouched; a channel dim whose size is read otherwise is frozen, since the number may be used as
    data that pruning would change."""
    x, r = arg(op, "self_"), op.results[0]
    xs, xl = p.shape(x) or (), p.layout(x)
    where = site(op)
    for d in _dims_read(p, r, len(xs)):
        if xs[d] >= 0:
            p.spaces.freeze(xl[d], Reason("its size is read at run time", where))
    p.set(r, [Anon(len(xs))], zero=True)


def _dims_read(p: Propagation, shape: SSAValue, rank: int) -> set[int]:
    """Which entries of a shape tensor its uses read: those picked by `select.int` or an `index_select`
    of a literal index along dim 0; every entry when any use is something else."""
    read: set[int] = set()
    for use in shape.uses:
        user = use.operation
        picked: list[int] | None = None
        picks = user.name in ("torch.aten.select.int", "torch.aten.index_select")
        if picks and arg(user, "self_") is shape and p.const_int(arg(user, "dim")) == 0:
            if user.name == "torch.aten.select.int":
                k = p.const_int(arg(user, "index"))
                picked = None if k is None else [k]
            else:
                picked = _literal_ints(arg(user, "index"))
        if picked is None or any(not -rank <= k < rank for k in picked):
            return set(range(rank))
        read.update(k % rank for k in picked)
    return read


def _literal_ints(v: SSAValue) -> list[int] | None:
    """The entries of an integer `torch.vtensor.literal`, else None."""
    owner = v.owner
    if not isinstance(owner, Operation) or owner.name != "torch.vtensor.literal":
        return None
    value = owner.properties.get("value") or owner.attributes.get("value")
    if not isinstance(value, DenseIntOrFPElementsAttr) or not isinstance(value.get_element_type(), IntegerType):
        return None
    return [int(x) for x in value.get_values()]


def assertion(p: Propagation, op: Operation) -> None:
    """Run-time checks (`_assert_tensor_metadata`, ...): they read shapes, produce nothing, couple nothing."""


def _result_shape(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """zeros(size, ...) / new_zeros(self, size, ...): the size list is the result's shape."""
    r = op.results[0]
    if shapes.changed(r):
        replace_int_list(op, "size", list(shapes.new(r)), rewriter)


def _drop_stale_assertion(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """`_assert_tensor_metadata(x, size, stride, ...)` asserts the old shape: drop it once x shrinks."""
    if any(shapes.changed(v) for v in op.operands):
        rewriter.erase(op)


def _constant(op: Operation) -> Any:
    value = op.value  # type: ignore[attr-defined]  # torch.constant.* ops all have `value`
    data = getattr(value, "value", value)
    return getattr(data, "data", data)


def _python_operator(fn: Callable[[Any, Any], Any]) -> Emit:
    """Scalar int ops as Python operators: aten's `ge.int` etc. reject the SymInts of dynamic sizes."""
    return lambda e, op: e.graph.call_function(fn, tuple(e.value(v) for v in op.operands))


def _num_to_tensor(e: Emitter, op: Operation) -> Any:
    """torch-mlir types the tensor (an ONNX bool comes as `!torch.int -> vtensor<[],i1>`); PyTorch's would be int64."""
    import torch

    from spa_ir.backends.torch_fx import result_dtype

    return e.graph.call_function(
        torch.ops.aten.scalar_tensor.default, (e.value(arg(op, "a")),), {"dtype": result_dtype(op)}
    )


def _sym_size(e: Emitter, op: Operation) -> Any:
    """aten.size.int makes torch.export specialize a dynamic dim to its example size; sym_size keeps it symbolic."""
    import torch

    return e.graph.call_function(torch.ops.aten.sym_size.int, (e.value(arg(op, "self_")), e.value(arg(op, "dim"))))


def _shape_as_tensor_emit(e: Emitter, op: Operation) -> Any:
    """aten._shape_as_tensor has no symbolic-shape kernel (torch.export fails on it with "data is not allocated"):
    the same int64 vector from sym_size reads, which stay symbolic."""
    import torch

    x = arg(op, "self_")
    sizes = [
        e.graph.call_function(
            torch.ops.aten.scalar_tensor.default,
            (e.graph.call_function(torch.ops.aten.sym_size.int, (e.value(x), d)),),
            {"dtype": torch.int64},
        )
        for d in range(len(shape(x) or ()))
    ]
    return e.graph.call_function(torch.ops.aten.stack.default, (sizes,))


def _runtime_assert(e: Emitter, op: Operation) -> Any:
    import torch

    return e.graph.call_function(torch._assert, (e.value(arg(op, "condition")), op.message.data))  # type: ignore[attr-defined]  # torch.runtime.assert has `message`


def _constant_as(convert: Any) -> OpSpec:
    return OpSpec(rule=no_channels, emit=lambda e, op: convert(_constant(op)))


_SCALAR_INT_OPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "floordiv": operator.floordiv,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "remainder": operator.mod,
}
"""Scalar int arithmetic on sizes: no channels; emitted as Python operators (SymInt-safe)."""

OPS = table(
    {
        "spa.param": OpSpec(rule=param, emit=lambda e, op: e.emit_param(op)),
        "torch.vtensor.literal": OpSpec(rule=no_channels, emit=lambda e, op: e.emit_literal(op)),
        "torch.constant.int": _constant_as(int),
        "torch.constant.float": _constant_as(float),
        "torch.constant.bool": _constant_as(bool),
        "torch.constant.str": _constant_as(str),
        "torch.constant.device": _constant_as(str),
        "torch.constant.none": OpSpec(rule=no_channels, emit=lambda e, op: None),
        **each(
            ["torch.aten._assert_scalar", "torch.aten._assert_async.msg", "torch.aten.sym_constrain_range_for_size"],
            OpSpec(rule=assertion),
        ),
        "torch.aten._assert_tensor_metadata": OpSpec(rule=assertion, resize=_drop_stale_assertion),
        "torch.runtime.assert": OpSpec(rule=assertion, emit=_runtime_assert),
        **each(
            aten("dim numel Int.Tensor Float.Tensor arange arange.start arange.start_step scalar_tensor"),
            OpSpec(rule=no_channels),
        ),
        "torch.aten.sym_size.int": OpSpec(rule=no_channels, legalize=renamed("torch.aten.size.int")),
        "torch.prim.NumToTensor.Scalar": OpSpec(rule=no_channels, emit=_num_to_tensor),
        "torch.aten.size.int": OpSpec(rule=no_channels, emit=_sym_size),
        **{
            f"torch.aten.{name}.int": OpSpec(rule=no_channels, emit=_python_operator(fn))
            for name, fn in _SCALAR_INT_OPS.items()
        },
        "torch.aten._shape_as_tensor": OpSpec(rule=shape_as_tensor, emit=_shape_as_tensor_emit),
        **each(
            aten("zeros empty.memory_format new_zeros new_empty"), OpSpec(rule=factory(zero=True), resize=_result_shape)
        ),
        **each(aten("ones full new_ones new_full"), OpSpec(factory(zero=False), _result_shape)),
    },
    operators={  # no op classes: these arrive as `torch.operator`
        "torch.aten._assert_async.msg": "self_ assert_msg",
        "torch.aten.sym_size.int": "self_ dim",
    },
)
