"""Backend: IR + weights -> torch.fx.GraphModule, with parameters and buffers under their original names.

Every torch-dialect op `torch.<ns>.<op>[.<overload>]` maps generically to `torch.ops.<ns>.<op>.<overload>`
(`default` when absent), its operands matched to the overload's schema. Arguments whose schema type is
ScalarType / Layout / MemoryFormat arrive as torch-mlir's integer codes and are turned back into torch
objects. The few non-aten ops (constants, lists, `spa.param`) and the aten ops whose torch-mlir semantics
differ (mostly ONNX imports) are emitted as their op family says (spa_ir/ops: `emit`, `emit_adapter`, `emit_as`).
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.fx as fx
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from spa.dialects.spa import ParamOp
from spa.dialects.torch_base import OperatorOp
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import main_function as module_main_function
from spa_ir.core.program import Program
from spa_ir.ops.registry import OPS, spec_of
from spa_ir.ops.spec import call_overload

Env = dict[SSAValue, Any]


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


def _decode(schema_type: torch._C.JitType, value: Any) -> Any:
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
        self.owned: set[str] = set()

    def value(self, v: SSAValue) -> Any:
        return self.env[v]

    def emit_param(self, op: Operation) -> Any:
        if not isinstance(op, ParamOp):
            raise TypeError(f"emit_param of '{op.name}'")  # spa_ir/ops/sources.py routes only spa.param here
        name = op.weight_name
        if name not in self.attr_nodes:
            tensor = self.program.tensor(op)
            _set_nested(self.root, name, tensor, buffer=op.is_buffer)
            self.attr_nodes[name] = self.graph.get_attr(name)
        return self.attr_nodes[name]

    def own_buffer(self, node: Any) -> None:
        """A buffer an op writes in place (a training batch norm's running statistics) becomes this module's own
        copy: the Program, and every other module emitted from it, keep theirs."""
        if isinstance(node, fx.Node) and node.op == "get_attr" and isinstance(node.target, str):
            path, _, leaf = node.target.rpartition(".")
            owner = self.root.get_submodule(path)
            if leaf in owner._buffers and node.target not in self.owned:
                owner.register_buffer(leaf, owner._buffers[leaf].clone())  # type: ignore[union-attr]  # a registered buffer
                self.owned.add(node.target)

    def emit_literal(self, op: Operation) -> Any:
        from spa_ir.core.dtypes import literal_tensor, torch_dtype

        t = op.results[0].type
        # A torch.vtensor.literal (spa_ir/ops/sources.py routes only those here): `value` is its dense attribute,
        # its result a vtensor; the generic Operation does not say so.
        data = literal_tensor(op.value, t.get_shape(), torch_dtype(str(t.dtype)))  # type: ignore[attr-defined]  # a literal's result is a tensor
        name = f"_literal{len(self.attr_nodes)}"
        _set_nested(self.root, name, data, buffer=True)
        self.attr_nodes[name] = self.graph.get_attr(name)
        return self.attr_nodes[name]

    def emit_aten(self, op: Operation) -> Any:
        op_name = op.op_name.data if isinstance(op, OperatorOp) else op.name
        spec = OPS.get(op_name)
        overload = resolve_overload(spec.emit_as if spec is not None and spec.emit_as else op_name)
        schema = overload._schema
        if len(schema.arguments) != len(op.operands):
            raise SpaError(
                f"'{op_name}' has {len(op.operands)} operands but its schema {schema} takes {len(schema.arguments)}"
            )
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg, operand in zip(schema.arguments, op.operands):
            v = _decode(arg.type, self.value(operand))
            if arg.kwarg_only:
                kwargs[arg.name] = v
            else:
                args.append(v)
        if spec is not None and spec.emit_adapter is not None:
            return spec.emit_adapter(self, op, overload, args, kwargs)
        return call_overload(self, overload, args, kwargs)

    def run(self, fn: func.FuncOp) -> fx.GraphModule:
        for i, arg in enumerate(fn.body.block.args):
            self.env[arg] = self.graph.placeholder(arg.name_hint or f"input_{i}")
        for op in fn.body.block.ops:
            if isinstance(op, func.ReturnOp):
                outs = [self.value(v) for v in op.arguments]
                self.graph.output(outs[0] if len(outs) == 1 else tuple(outs))
                break
            spec = spec_of(op)
            try:
                result = spec.emit(self, op) if spec is not None and spec.emit is not None else self.emit_aten(op)
            except SpaError as e:
                raise SpaError(e.message, where=f"{self.program.source}: {_where(op)}") from None
            if len(op.results) == 1 and not isinstance(op, _UNPACKS):
                self.env[op.results[0]] = result
            else:
                for i, r in enumerate(op.results):
                    self.env[r] = (
                        result[i]
                        if isinstance(result, (list, tuple))
                        else self.graph.call_function(operator.getitem, (result, i))
                    )
        gm = fx.GraphModule(self.root, self.graph)
        gm.graph.eliminate_dead_code()
        gm.recompile()
        return gm


def result_dtype(op: Operation) -> torch.dtype:
    """The torch dtype of the op's first result (float32 for non-tensors)."""
    from spa_ir.core.dtypes import torch_dtype

    t = op.results[0].type
    return torch_dtype(str(t.dtype)) if hasattr(t, "dtype") else torch.float32


def _unpack_types() -> tuple[type, ...]:
    from spa.dialects.torch import Torch

    return tuple(op for op in Torch.operations if op.name in ("torch.prim.ListUnpack", "torch.prim.TupleUnpack"))


_UNPACKS = _unpack_types()


def _where(op: Operation) -> str:
    loc = getattr(op, "location", None)
    return f"'{op.name}' at {loc}" if loc is not None else f"'{op.name}'"


def _set_nested(root: torch.nn.Module, dotted: str, tensor: torch.Tensor, *, buffer: bool) -> None:
    """Register `layer1.0.conv1.weight` on root, creating the intermediate modules.

    Floating-point weights become trainable parameters (fine-tuning is the user's own loop), each a copy: the
    weight store holds the tensors of the model the Program was imported from, which training the emitted module
    must not change (nor the Program, nor a second module emitted from it). Buffers stay shared: the emitted
    graph writes none but the running statistics of training batch norms, which are copied (`own_buffer`)."""
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
        mod.register_parameter(leaf, torch.nn.Parameter(tensor.clone(), requires_grad=True))


def main_function(program: Program) -> func.FuncOp:
    return module_main_function(program.module, program.source)


def to_graph_module(program: Program) -> fx.GraphModule:
    """The IR's main function as a runnable GraphModule (CPU tensors; move it with `.to(device)`)."""
    return _Emitter(program).run(main_function(program))
