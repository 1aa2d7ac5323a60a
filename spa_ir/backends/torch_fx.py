"""Backend: IR + weights -> torch.fx.GraphModule, with parameters and buffers under their original names.

Every torch-dialect op `torch.<ns>.<op>[.<overload>]` maps generically to `torch.ops.<ns>.<op>.<overload>`
(`default` when absent), its operands matched to the overload's schema. Arguments whose schema type is
ScalarType / Layout / MemoryFormat arrive as torch-mlir's integer codes and are turned back into torch
objects. Only the few non-aten ops (constants, lists, `spa.param`, return) have entries in `_SPECIAL`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from spa_ir.channels import annotations
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program

Env = dict[SSAValue, Any]

_EMIT_AS = {
    # The IR has value semantics: strides mean nothing there, so stride-dependent views become reshapes
    # (a no-copy view whenever the strides allow one).
    "torch.aten.view": "torch.aten.reshape",
    "torch.aten._unsafe_view": "torch.aten.reshape",
    "torch.aten.view_copy": "torch.aten.reshape",
    # Same arguments, same result; the aten op also exports to ONNX (prims.collapse has no ONNX function).
    "torch.prims.collapse": "torch.aten.flatten.using_ints",
}


def _inverse(table: dict[Any, int]) -> dict[int, Any]:
    return {v: k for k, v in table.items()}


def _code_tables() -> dict[str, dict[int, Any]]:
    from torch_mlir.extras.fx_importer import TORCH_DTYPE_TO_INT, TORCH_LAYOUT_TO_INT, TORCH_MEMORY_FORMAT_TO_INT

    return {
        "ScalarType": _inverse(TORCH_DTYPE_TO_INT),
        "Layout": _inverse(TORCH_LAYOUT_TO_INT),
        "MemoryFormat": _inverse(TORCH_MEMORY_FORMAT_TO_INT),
    }


_CODES: dict[str, dict[int, Any]] | None = None


def _decode(schema_type: torch.Type, value: Any) -> Any:
    """torch-mlir passes dtype/layout/memory-format as ints; aten wants the torch objects."""
    global _CODES
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    t = schema_type.getElementType() if isinstance(schema_type, torch.OptionalType) else schema_type
    kind = str(t)
    if kind in ("ScalarType", "Layout", "MemoryFormat"):
        _CODES = _CODES or _code_tables()
        return _CODES[kind][value]
    return value


def resolve_overload(op_name: str) -> torch._ops.OpOverload:
    """`torch.aten.add.Tensor` -> torch.ops.aten.add.Tensor; `torch.aten.conv2d` -> torch.ops.aten.conv2d.default."""
    parts = op_name.split(".")
    if len(parts) < 3 or parts[0] != "torch":
        raise SpaError(f"op '{op_name}' has no PyTorch equivalent")
    ns, name = parts[1], parts[2]
    overload = ".".join(parts[3:]) or "default"
    try:
        packet = getattr(getattr(torch.ops, ns), name)
        return getattr(packet, overload)
    except (AttributeError, RuntimeError):
        raise SpaError(f"op '{op_name}' has no PyTorch equivalent (torch.ops.{ns}.{name}.{overload})") from None


class _Emitter:
    """Walks a func.func and builds the fx.Graph, one op at a time."""

    def __init__(self, program: Program):
        self.program = program
        self.graph = fx.Graph()
        self.root = torch.nn.Module()
        self.env: Env = {}
        self.attr_nodes: dict[str, fx.Node] = {}

    def value(self, v: SSAValue) -> Any:
        return self.env[v]

    def emit_param(self, op: Operation) -> Any:
        name = op.weight_name  # type: ignore[attr-defined]
        if name not in self.attr_nodes:
            tensor = self.program.tensor(op)  # type: ignore[arg-type]
            _set_nested(self.root, name, tensor, buffer=op.is_buffer)  # type: ignore[attr-defined]
            self.attr_nodes[name] = self.graph.get_attr(name)
        return self.attr_nodes[name]

    def emit_literal(self, op: Operation) -> Any:
        import numpy as np

        attr = op.value  # type: ignore[attr-defined]
        from spa_ir.core.dtypes import torch_dtype

        t = op.results[0].type
        data = torch.from_numpy(np.array(attr.get_values()).reshape(tuple(t.get_shape()))).to(torch_dtype(str(t.dtype)))  # type: ignore[attr-defined]
        name = f"_literal{len(self.attr_nodes)}"
        _set_nested(self.root, name, data, buffer=True)
        self.attr_nodes[name] = self.graph.get_attr(name)
        return self.attr_nodes[name]

    def emit_aten(self, op: Operation) -> Any:
        op_name = op.op_name.data if op.name == "torch.operator" else op.name  # type: ignore[attr-defined]
        overload = resolve_overload(_EMIT_AS.get(op_name, op_name))
        schema = overload._schema
        if len(schema.arguments) != len(op.operands):
            raise SpaError(f"'{op_name}' has {len(op.operands)} operands but its schema {schema} takes {len(schema.arguments)}")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg, operand in zip(schema.arguments, op.operands):
            v = _decode(arg.type, self.value(operand))
            if arg.kwarg_only:
                kwargs[arg.name] = v
            else:
                args.append(v)
        return _ADAPT.get(op_name, _call)(self, op, overload, args, kwargs)

    def run(self, fn: func.FuncOp) -> fx.GraphModule:
        for i, arg in enumerate(fn.body.block.args):
            self.env[arg] = self.graph.placeholder(arg.name_hint or f"input_{i}")
        for op in fn.body.block.ops:
            if isinstance(op, func.ReturnOp):
                outs = [self.value(v) for v in op.arguments]
                self.graph.output(outs[0] if len(outs) == 1 else tuple(outs))
                break
            handler = _SPECIAL.get(op.name, _Emitter.emit_aten)
            try:
                result = handler(self, op)
            except SpaError as e:
                raise SpaError(e.message, where=f"{self.program.source}: {_where(op)}") from None
            if len(op.results) == 1 and not isinstance(op, _UNPACKS):
                self.env[op.results[0]] = result
            else:
                for i, r in enumerate(op.results):
                    self.env[r] = result[i] if isinstance(result, (list, tuple)) else self.graph.call_function(operator.getitem, (result, i))
        gm = fx.GraphModule(self.root, self.graph)
        gm.graph.eliminate_dead_code()
        gm.recompile()
        return gm


# -- adapters: where torch-mlir's op semantics differ from the aten overload's (mostly ONNX imports) ----

Adapter = Callable[["_Emitter", Operation, Any, list[Any], dict[str, Any]], Any]


def _call(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return e.graph.call_function(overload, tuple(args), kwargs)


def _avg_pool(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's ONNX import encodes AveragePool dilations after the strides (`[s1, s2, d1, d2]`)."""
    kernel, stride = args[1], args[2]
    if isinstance(kernel, list) and isinstance(stride, list) and len(stride) == 2 * len(kernel):
        args[2], dilation = stride[: len(kernel)], stride[len(kernel):]
        if any(d != 1 for d in dilation):
            raise SpaError(f"average pooling with dilation {dilation} has no PyTorch equivalent")
    return _call(e, op, overload, args, kwargs)


def _layer_norm(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's ONNX LayerNormalization of a value of unknown shape gives -1 sizes (torch-mlir only uses
    their number): take them from the weight's type, else from the input at run time."""
    shape = args[1]
    if isinstance(shape, list) and -1 in shape:
        k = len(shape)
        weight_type = op.operands[2].type
        weight_shape = tuple(weight_type.get_shape()) if hasattr(weight_type, "get_shape") else ()
        args[1] = [d if d != -1 else weight_shape[i] if len(weight_shape) == k and weight_shape[i] >= 0
                   else e.graph.call_function(torch.ops.aten.sym_size.int, (args[0], i - k)) for i, d in enumerate(shape)]
    return _call(e, op, overload, args, kwargs)


def _slice(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's slice allows a negative step (ONNX Slice, Python `x[::-1]`); aten.slice does not:
    flip the dim, then slice forward."""
    x, dim, start, end, step = args
    if not (isinstance(step, int) and step < 0):
        return _call(e, op, overload, args, kwargs)
    shape = tuple(op.operands[0].type.get_shape())  # type: ignore[attr-defined]
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


def _int_div(mode_overload: Any) -> Adapter:
    """torch-mlir's div of integer tensors (ONNX Div) truncates; aten.div would promote to float."""

    def adapt(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if _result_dtype(op).is_floating_point:
            return _call(e, op, overload, args, kwargs)
        return e.graph.call_function(mode_overload, tuple(args), {"rounding_mode": "trunc"})

    return adapt


def _same_as(aten_overload: Any) -> Adapter:
    """An op emitted as an aten overload computing the same thing: torch-mlir's ONNX conversion emits
    `prims` ops whose aliasing outputs torch.onnx's functionalization rejects."""

    def adapt(e: _Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return e.graph.call_function(aten_overload, tuple(args), kwargs)

    return adapt


_ADAPT: dict[str, Adapter] = {
    **{f"torch.aten.avg_pool{k}d": _avg_pool for k in (1, 2, 3)},
    # ONNX Squeeze: prims.squeeze(x, dims) requires the dims to be 1, aten.squeeze.dims skips others.
    "torch.prims.squeeze": _same_as(torch.ops.aten.squeeze.dims),
    "torch.aten.layer_norm": _layer_norm,
    "torch.aten.native_layer_norm": _layer_norm,
    "torch.aten.slice.Tensor": _slice,
    "torch.aten.div.Tensor": _int_div(torch.ops.aten.div.Tensor_mode),
    "torch.aten.div.Scalar": _int_div(torch.ops.aten.div.Scalar_mode),
}


def _result_dtype(op: Operation) -> torch.dtype:
    from spa_ir.core.dtypes import torch_dtype

    t = op.results[0].type
    return torch_dtype(str(t.dtype)) if hasattr(t, "dtype") else torch.float32  # type: ignore[attr-defined]


def _unpack_types() -> tuple[type, ...]:
    from spa.dialects.torch import Torch

    return tuple(op for op in Torch.operations if op.name in ("torch.prim.ListUnpack", "torch.prim.TupleUnpack"))


_UNPACKS = _unpack_types()


def _where(op: Operation) -> str:
    loc = getattr(op, "location", None)
    return f"'{op.name}' at {loc}" if loc is not None else f"'{op.name}'"


def _set_nested(root: torch.nn.Module, dotted: str, tensor: torch.Tensor, *, buffer: bool) -> None:
    """Register `layer1.0.conv1.weight` on root, creating the intermediate modules."""
    *path, leaf = dotted.split(".")
    mod = root
    for part in path:
        child = mod._modules.get(part)
        if child is None:
            child = torch.nn.Module()
            mod.add_module(part, child)
        mod = child
    if buffer or not tensor.is_floating_point():
        mod.register_buffer(leaf, tensor)
    else:
        mod.register_parameter(leaf, torch.nn.Parameter(tensor, requires_grad=False))


def _constant(op: Operation) -> Any:
    value = op.value  # type: ignore[attr-defined]
    data = getattr(value, "value", value)
    return getattr(data, "data", data)


def _python_operator(fn: Callable[[Any, Any], Any]) -> Callable[[_Emitter, Operation], Any]:
    """Scalar int ops as Python operators: aten's `ge.int` etc. reject the SymInts of dynamic sizes."""
    return lambda e, op: e.graph.call_function(fn, (e.value(op.operands[0]), e.value(op.operands[1])))


_SPECIAL: dict[str, Callable[[_Emitter, Operation], Any]] = {
    "spa.param": _Emitter.emit_param,
    "torch.vtensor.literal": _Emitter.emit_literal,
    "torch.constant.int": lambda e, op: int(_constant(op)),
    "torch.constant.float": lambda e, op: float(_constant(op)),
    "torch.constant.bool": lambda e, op: bool(_constant(op)),
    "torch.constant.str": lambda e, op: str(_constant(op)),
    "torch.constant.device": lambda e, op: str(_constant(op)),
    "torch.constant.none": lambda e, op: None,
    "torch.prim.ListConstruct": lambda e, op: [e.value(v) for v in op.operands],
    "torch.prim.TupleConstruct": lambda e, op: tuple(e.value(v) for v in op.operands),
    "torch.prim.ListUnpack": lambda e, op: e.value(op.operands[0]),
    "torch.prim.TupleUnpack": lambda e, op: e.value(op.operands[0]),
    "torch.prim.TupleIndex": lambda e, op: _index(e, e.value(op.operands[0]), e.value(op.operands[1])),
    "torch.aten.__getitem__.t": lambda e, op: _index(e, e.value(op.operands[0]), e.value(op.operands[1])),
    # torch-mlir types the tensor (an ONNX bool comes as `!torch.int -> vtensor<[],i1>`); PyTorch's would be int64.
    "torch.prim.NumToTensor.Scalar": lambda e, op: e.graph.call_function(
        torch.ops.aten.scalar_tensor.default, (e.value(op.operands[0]),), {"dtype": _result_dtype(op)}),
    # aten.size.int makes torch.export specialize a dynamic dim to its example size; sym_size keeps it symbolic.
    "torch.aten.size.int": lambda e, op: e.graph.call_function(
        torch.ops.aten.sym_size.int, (e.value(op.operands[0]), e.value(op.operands[1]))),
    **{f"torch.aten.{name}.int": _python_operator(fn) for name, fn in [
        ("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("floordiv", operator.floordiv),
        ("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
        ("ge", operator.ge), ("remainder", operator.mod)]},
    "torch.runtime.assert": lambda e, op: e.graph.call_function(torch._assert, (e.value(op.operands[0]), op.message.data)),
}


def _index(e: _Emitter, seq: Any, i: Any) -> Any:
    if isinstance(seq, (list, tuple)) and isinstance(i, int):
        return seq[i]
    return e.graph.call_function(operator.getitem, (seq, i))


def main_function(program: Program) -> func.FuncOp:
    return annotations.main_function(program.module, program.source)


def to_graph_module(program: Program) -> fx.GraphModule:
    """The IR's main function as a runnable GraphModule (CPU tensors; move it with `.to(device)`)."""
    return _Emitter(program).run(main_function(program))
