"""What spa knows about one op, as data: its channel rule, the rewrite of its size constants after
pruning, its FLOP count and its emission quirk. Each op family module (spa_ir/ops/<family>.py) builds its
`OPS` table with `table()`; spa_ir/ops/__init__.py merges them and refuses an op listed twice.

Keys are torch-mlir op names. Each is checked against the torch and spa dialects when the table is built:
a name the dialects define no class for can only arrive as a generic `torch.operator` and must be declared
so (`operators=`), so a mistyped name fails at import instead of silently never matching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from xdsl.ir import Operation, SSAValue

from spa_ir.core.ir import op_key

if TYPE_CHECKING:
    from xdsl.pattern_rewriter import PatternRewriter

    from spa_ir.channels.propagation import Propagation
    from spa_ir.pruning.shapes import Shapes

Rule = Callable[["Propagation", Operation], None]
"""Relates the channel layouts of an op's operands and results (spa-propagate-channels)."""

Resize = Callable[[Operation, "Shapes", "PatternRewriter"], None]
"""Rewrites the op's size operands once its operands/results lost channels (spa-eliminate-dead-channels)."""

Flops = Callable[[Operation], int]
"""FLOPs of one op from static shapes, torch.utils.flop_counter's conventions (spa_ir/cost.py)."""

Legalize = Callable[[Operation, "PatternRewriter"], None]
"""Rewrites an op torch-mlir has no named op for (a generic `torch.operator`) into torch-dialect ops its backend
pipelines lower (spa_ir/backends/torch_mlir.py, `spa-translate --export-torch-mlir`)."""


class Emitter(Protocol):
    """What an emission quirk sees of the backend (spa_ir/backends/torch_fx.py)."""

    graph: Any  # torch.fx.Graph: typed loosely so that this module does not import torch

    def value(self, v: SSAValue) -> Any: ...

    def emit_param(self, op: Operation) -> Any: ...

    def emit_literal(self, op: Operation) -> Any: ...

    def own_buffer(self, node: Any) -> None:
        """The buffer `node` reads is written in place by the op (a training batch norm's running statistics):
        the module gets its own copy instead of the weight store's tensor."""
        ...


Emit = Callable[[Emitter, Operation], Any]
"""Emits an op that has no aten overload (constants, lists, weights): (emitter, op) -> the fx value."""

Adapter = Callable[[Emitter, Operation, Any, list[Any], dict[str, Any]], Any]
"""Emits an aten op whose torch-mlir semantics differ from the aten overload's (mostly ONNX imports):
(emitter, op, overload, args, kwargs) -> the fx node."""


def call_overload(e: Emitter, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The plain emission an adapter falls back to."""
    return e.graph.call_function(overload, tuple(args), kwargs)


def aten_overload(name: str) -> Any:
    """`"div.Tensor_mode"` -> torch.ops.aten.div.Tensor_mode (torch imported only when a model is emitted)."""
    import torch

    packet, _, overload = name.partition(".")
    return getattr(getattr(torch.ops.aten, packet), overload or "default")


@cache
def _dialect_op_class(name: str) -> type[Operation]:
    from spa.dialects.spa import Spa
    from spa.dialects.torch import Torch

    found = [op for d in (Torch, Spa) for op in d.operations if op.name == name]
    if not found:
        raise ValueError(f"no op class named '{name}' in the torch and spa dialects")
    return found[0]


def renamed(name: str) -> Legalize:
    """The legalization of a `torch.operator` that a named torch-mlir op `name` computes with the same operands and
    results (`_native_batch_norm_legit` is `native_batch_norm`): one op replaced by the other, location kept."""
    _dialect_op_class(name)  # a mistyped name fails when the table is built

    def legalize(op: Operation, rewriter: PatternRewriter) -> None:
        new = _dialect_op_class(name).create(operands=list(op.operands), result_types=[r.type for r in op.results])
        new.location = op.location
        rewriter.replace(op, new)

    return legalize


FILTER = "filter"
"""A weight operand whose dim 0 indexes the op's output channels (conv and linear weights)."""
BN_SCALE = "batch-norm scale"
"""A batch norm's per-channel scale γ (the `weight` operand)."""
BIAS = "bias"
"""The per-output-channel bias of a FILTER op (where compensation puts a refit's bias)."""
RIGHT_FACTOR = "right factor"
"""A matmul's right operand: a weight read as [in, out] (x @ W), or its transpose's input."""
TRANSPOSED = "2-d transpose"
"""The operand a 2-D transpose reads (ONNX's Gemm lowers transB to one in front of a matmul)."""


@dataclass(frozen=True)
class OpSpec:
    rule: Rule | None = None
    resize: Resize | None = None
    flops: Flops | None = None
    emit: Emit | None = None
    emit_adapter: Adapter | None = None
    emit_as: str | None = None
    """Emit as this other op (same operands): the IR has value semantics, so e.g. views become reshapes."""
    legalize: Legalize | None = None
    """How torch-mlir's pipelines can take the op (`Legalize`): spa's IR keeps core aten ops that they reject."""
    roles: tuple[tuple[str, str], ...] = ()
    """(operand name, role) for the weights criteria, regularizers and compensation treat specially (FILTER,
    BN_SCALE, BIAS, RIGHT_FACTOR, TRANSPOSED)."""


@cache
def _dialect_op_names() -> frozenset[str]:
    from spa.dialects.spa import Spa
    from spa.dialects.torch import Torch

    return frozenset(op.name for d in (Torch, Spa) for op in d.operations)


def table(entries: Mapping[str, OpSpec], *, operators: Mapping[str, str] | None = None) -> dict[str, OpSpec]:
    """A family's table, with every name checked (see the module docstring). `operators`: the ops of the
    table that arrive as a generic `torch.operator`, with their aten schema's operand names (`"input weight
    bias"`; `self` is `self_`, as in the generated op classes), so their rules read operands by name too."""
    generic = dict(operators or {})
    unknown = [n for n in entries if n not in generic and n not in _dialect_op_names()]
    if unknown:
        raise ValueError(f"op names without an op class (declare them as torch.operator names): {unknown}")
    for name, operand_names in generic.items():
        _GENERIC_OPERANDS[name] = tuple(operand_names.split())
    return dict(entries)


_GENERIC_OPERANDS: dict[str, tuple[str, ...]] = {}
"""Operand names of the ops that arrive as `torch.operator` (declared by their families' tables)."""


@cache
def _class_operand_names(cls: type[Operation]) -> tuple[str, ...]:
    definition = getattr(cls, "get_irdl_definition", None)
    return tuple(name for name, _ in definition().operands) if definition is not None else ()


def operand_names(op: Operation) -> tuple[str, ...]:
    """The names of the op's operands: its op class's, or the declared schema of a generic `torch.operator`."""
    if op.name == "torch.operator":
        return _GENERIC_OPERANDS.get(op_key(op), ())
    return _class_operand_names(type(op))


def subject(op: Operation) -> SSAValue:
    """The tensor a unary, spatial or view op maps: its first operand in every aten and prims schema (named
    `self`, `input` or `a` there), read positionally because the families span all three spellings."""
    return op.operands[0]


def has_arg(op: Operation, name: str) -> bool:
    names = operand_names(op)
    return name in names and names.index(name) < len(op.operands)


def arg(op: Operation, name: str) -> SSAValue:
    """The operand the op's schema calls `name`: rules read operands by name, not by position."""
    names = operand_names(op)
    if name not in names or names.index(name) >= len(op.operands):
        raise KeyError(f"'{op_key(op)}' has no operand '{name}' (operands: {', '.join(names) or 'unnamed'})")
    return op.operands[names.index(name)]


def each(names: Iterable[str], spec: OpSpec) -> dict[str, OpSpec]:
    """The same spec for several ops (a family's list of names)."""
    return {n: spec for n in names}


def aten(names: str) -> list[str]:
    """`"relu gelu"` -> `["torch.aten.relu", "torch.aten.gelu"]`."""
    return [f"torch.aten.{n}" for n in names.split()]
