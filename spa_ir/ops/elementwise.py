"""Element-wise ops: unary activations and casts, `x op scalar`, broadcasting binary/ternary ops, prelu.
Layouts pass through (broadcast dims aligned from the right are coupled); what differs is whether the result
stays zero on removed channels (which decides exactness where channels later mix)."""

from __future__ import annotations

from typing import Any

from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Reason
from spa_ir.core.ir import shape, site
from spa_ir.ops.common import broadcast_dims, scalar_value
from spa_ir.ops.spec import (
    Adapter,
    Emitter,
    OpSpec,
    Rule,
    arg,
    aten,
    aten_overload,
    call_overload,
    each,
    has_arg,
    renamed,
    subject,
    table,
)


def unary(zero_preserving: bool) -> Rule:
    """Element-wise on one tensor (activations, casts, scalar arithmetic): same layout out as in."""

    def rule(p: Propagation, op: Operation) -> None:
        x = subject(op)
        r = op.results[0]
        if p.shape(x) != p.shape(r) and len(p.shape(x) or ()) != len(p.shape(r) or ()):
            return p.freeze_op(op, "unary op changes rank")
        p.set(r, p.layout(x), zero=zero_preserving and p.is_zero(x))

    return rule


def native_dropout(p: Propagation, op: Operation) -> None:
    """native_dropout(input, p, train) -> (output, mask), a training capture's dropout: both element-wise on the
    input; the output is zero where the input is, the mask (which entries were kept) is not."""
    x = subject(op)
    p.set(op.results[0], p.layout(x), zero=p.is_zero(x))
    p.set(op.results[1], p.layout(x), zero=False)


def scalar_arith(zero_if_scalar_zero: bool) -> Rule:
    """`x op scalar` (add.Scalar, mul.Scalar, ...): zero-preserving for mul/div, and for add/sub of 0."""

    def rule(p: Propagation, op: Operation) -> None:
        x = arg(op, "self_")
        scalar = p.const(arg(op, "other"))
        keeps_zero = (not zero_if_scalar_zero) or scalar == 0
        p.set(op.results[0], p.layout(x), zero=keeps_zero and p.is_zero(x))

    return rule


def broadcast(operands: tuple[str, ...], zero: str) -> Rule:
    """Broadcasting element-wise ops over the tensor `operands` (by name; scalars among them are skipped):
    dims aligned from the right are unified unless of size 1.

    zero: "all" (add, sub, where: zero if every operand is), "any" (mul: zero if one is),
    "first" (masked_fill: zero if the input is), "divide" (like "first"; and a channel in the divisor is
    inexact, as the masked model would divide by 0), "none" (comparisons), "addcmul" (a + b*c: zero if a is
    and b or c is).
    """

    def rule(p: Propagation, op: Operation) -> None:
        r = op.results[0]
        tensors = [v for v in (arg(op, name) for name in operands) if p.is_tensor(v)]
        where = site(op)
        out = broadcast_dims(p, tensors, p.shape(r) or (), where)
        zeros = [p.is_zero(t) for t in tensors]
        if zero == "divide" and len(tensors) > 1:
            for d in p.layout(tensors[1]):
                p.spaces.mark_inexact(d, Reason("divides by a pruned channel", where))
        is_zero = {
            "all": all(zeros),
            "any": any(zeros),
            "none": False,
            "addcmul": bool(zeros) and zeros[0] and any(zeros[1:]),
        }.get(zero, bool(zeros and zeros[0]))
        p.set(r, out, zero=is_zero)

    return rule


def clamp(low: str | None, high: str | None) -> Rule:
    """clamp / clamp.Tensor / clamp_min / clamp_max / hardtanh, bounds in the operands `low` and `high`: a
    bound held in a tensor broadcasts with x (ONNX Clip's min/max inputs arrive as 0-d literals). The result
    is zero where x is when every bound is a known number that keeps 0 (min <= 0 <= max: ReLU6 as
    Clip(x, 0, 6)); a bound read at run time or of another sign is assumed not to."""

    def rule(p: Propagation, op: Operation) -> None:
        x, r = subject(op), op.results[0]
        bounds = [(name, arg(op, name)) for name in (low, high) if name is not None and has_arg(op, name)]
        tensors = [x, *(v for _, v in bounds if p.is_tensor(v))]
        out = broadcast_dims(p, tensors, p.shape(r) or (), site(op))
        keeps_zero = True
        for name, v in bounds:
            if p.const(v) is None:
                continue  # an absent bound
            value = scalar_value(v)
            keeps_zero &= value is not None and (value <= 0 if name == low else value >= 0)
        p.set(r, out, zero=keeps_zero and p.is_zero(x))

    return rule


def prelu(p: Propagation, op: Operation) -> None:
    """prelu(input, weight): a slope per channel of dim 1 (weight [C], PyTorch's form), one shared slope, or
    (weight of rank >= 2: ONNX PRelu, which torch-mlir's conversion passes on as is) slopes broadcast to the
    input from the right, as [C, 1, 1] on NCHW or Keras's [1, 1, C] on NHWC (see `_prelu`)."""
    x, w = arg(op, "self_"), arg(op, "weight")
    xl = p.layout(x)
    where = site(op)
    if _broadcast_slope(p.shape(w) or ()):
        out = broadcast_dims(p, [x, w], p.shape(op.results[0]) or (), where)
        return p.set(op.results[0], out, zero=p.is_zero(x))
    if (p.shape(w) or (1,))[0] > 1:
        p.spaces.unify(p.layout(w)[0], xl[1], where)
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=p.is_zero(x))


def _broadcast_slope(shape: tuple[int, ...]) -> bool:
    """A slope of rank >= 2 broadcasts to the input from the right (PyTorch's prelu has only rank 0 and 1)."""
    return len(shape) >= 2


def _prelu(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """A broadcast slope (`prelu`'s rule) is emitted as where(x > 0, x, slope * x): aten.prelu takes only a
    slope per channel of dim 1."""
    weight_shape = getattr(arg(op, "weight").type, "get_shape", lambda: ())()
    if not _broadcast_slope(tuple(weight_shape)):
        return call_overload(e, overload, args, kwargs)
    x, w = args
    positive = e.graph.call_function(aten_overload("gt.Scalar"), (x, 0))
    scaled = e.graph.call_function(aten_overload("mul.Tensor"), (w, x))
    return e.graph.call_function(aten_overload("where.self"), (positive, x, scaled))


def _prelu_for_torch_mlir(op: Operation, rewriter: PatternRewriter) -> None:
    """torch-mlir's prelu broadcasts the slope from the right (ONNX's form), so PyTorch's slope per channel of dim 1
    on a rank >= 3 input would meet the last dim: it is viewed as [C, 1, ..., 1] first."""
    from spa.dialects.torch import AtenViewOp, ConstantIntOp, IntType, ListType, PrimListConstructOp
    from spa.dialects.torch_base import BaseTensorType

    x, w = arg(op, "self_"), arg(op, "weight")
    xs, ws = shape(x), shape(w)
    if xs is None or ws is None or len(ws) != 1 or ws[0] <= 1 or len(xs) < 3 or not isinstance(w.type, BaseTensorType):
        return
    slope = (ws[0], *[1] * (len(xs) - 2))
    sizes = [ConstantIntOp(n) for n in slope]
    items = PrimListConstructOp.create(operands=[c.result for c in sizes], result_types=[ListType(IntType())])
    view = AtenViewOp.create(operands=[w, items.results[0]], result_types=[w.type.with_shape(slope)])
    view.location = op.location
    rewriter.insert([*sizes, items, view], InsertPoint.before(op))
    op.operands[1] = view.results[0]
    rewriter.notify_op_modified(op)


def _int_div(mode_overload: str) -> Adapter:
    """torch-mlir's div of integer tensors (ONNX Div) truncates; aten.div would promote to float."""

    def adapt(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        from spa_ir.backends.torch_fx import result_dtype

        if result_dtype(op).is_floating_point:
            return call_overload(e, overload, args, kwargs)
        return e.graph.call_function(aten_overload(mode_overload), tuple(args), {"rounding_mode": "trunc"})

    return adapt


ZERO_PRESERVING_UNARY = aten("""relu relu6 gelu silu hardswish leaky_relu elu selu celu mish tanh sin neg abs
sqrt erf dropout clone contiguous detach alias to.dtype to.device to.other _to_copy type_as alias_copy
zero zeros_like lift_fresh_copy square sign atan asin sinh tan trunc round floor ceil pow.Tensor_Scalar""")
OTHER_UNARY = aten("""sigmoid hardsigmoid exp cos log log2 log1p rsqrt reciprocal ones_like full_like bitwise_not
logical_not isnan isinf erfinv expm1 cosh acos softplus""")


def _int_div_spec(rule: Rule, mode_overload: str) -> OpSpec:
    return OpSpec(rule=rule, emit_adapter=_int_div(mode_overload))


_BINARY = ("self_", "other")

OPS = table(
    {
        **each(ZERO_PRESERVING_UNARY, OpSpec(rule=unary(True))),
        **each(OTHER_UNARY, OpSpec(rule=unary(False))),
        "torch.aten.native_dropout": OpSpec(rule=native_dropout),
        **each(aten("mul.Scalar"), OpSpec(rule=scalar_arith(False))),
        **each(aten("add.Scalar sub.Scalar rsub.Scalar"), OpSpec(rule=scalar_arith(True))),
        "torch.aten.div.Scalar": _int_div_spec(scalar_arith(False), "div.Scalar_mode"),
        **each(aten("add.Tensor sub.Tensor maximum minimum"), OpSpec(rule=broadcast(_BINARY, zero="all"))),
        "torch.aten.where.self": OpSpec(rule=broadcast(("condition", "self_", "other"), zero="all")),
        "torch.aten.where.ScalarOther": OpSpec(rule=broadcast(("condition", "self_"), zero="all")),
        "torch.aten.where.ScalarSelf": OpSpec(rule=broadcast(("condition", "other"), zero="all")),
        "torch.aten.mul.Tensor": OpSpec(rule=broadcast(_BINARY, zero="any")),
        "torch.aten.div.Tensor": _int_div_spec(broadcast(_BINARY, zero="divide"), "div.Tensor_mode"),
        "torch.aten.masked_fill.Scalar": OpSpec(rule=broadcast(("self_", "mask"), zero="first")),
        "torch.aten.addcmul": OpSpec(rule=broadcast(("self_", "tensor1", "tensor2"), zero="addcmul")),
        **each(aten("eq.Tensor lt.Tensor gt.Tensor"), OpSpec(rule=broadcast(_BINARY, zero="none"))),
        **each(aten("clamp clamp.Tensor"), OpSpec(rule=clamp("min", "max"))),
        **each(aten("clamp_min clamp_min.Tensor"), OpSpec(rule=clamp("min", None))),
        **each(aten("clamp_max clamp_max.Tensor"), OpSpec(rule=clamp(None, "max"))),
        "torch.aten.hardtanh": OpSpec(rule=clamp("min_val", "max_val")),
        "torch.aten.prelu": OpSpec(rule=prelu, emit_adapter=_prelu, legalize=_prelu_for_torch_mlir),
        "torch.aten._prelu_kernel": OpSpec(rule=prelu, emit_adapter=_prelu, legalize=renamed("torch.aten.prelu")),
    },
    operators={"torch.aten._prelu_kernel": "self_ weight"},
)
