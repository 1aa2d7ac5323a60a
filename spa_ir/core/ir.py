"""Small facts about IR values and ops that every stage reads: the model's function, its weights, an op's
key and location for messages, static shapes, and compile-time constants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, NameLoc, StringAttr
from xdsl.ir import Operation, SSAValue

from spa.dialects.spa import ParamOp
from spa_ir.core.errors import SpaError


def main_function(module: ModuleOp, where: str | None = None) -> func.FuncOp:
    """`@main`, else the first function: the model's forward."""
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if not funcs:
        raise SpaError("the IR has no func.func", where=where)
    return next((f for f in funcs if f.sym_name.data == "main"), funcs[0])


def params(module: ModuleOp) -> Iterator[ParamOp]:
    """Every `spa.param` (weights and buffers) of the module."""
    for op in module.walk():
        if isinstance(op, ParamOp):
            yield op


def op_key(op: Operation) -> str:
    """The op's name, or the aten name a generic `torch.operator` carries: the key of spa_ir/ops' tables."""
    if op.name == "torch.operator":
        name = op.properties["name"] if "name" in op.properties else op.attributes.get("name")
        return name.data if isinstance(name, StringAttr) else str(name)
    return op.name


@dataclass(frozen=True)
class Site:
    """Where something happened: an op's key and its location (the frontends' nn.Module paths), as data."""

    op: str
    at: str = ""

    def __str__(self) -> str:
        return f"{self.op} at {self.at}" if self.at else self.op


def site(op: Operation) -> Site:
    loc = getattr(op, "location", None)
    if isinstance(loc, NameLoc):  # the frontends' module paths: no printing needed
        text = loc.desc.data
    else:
        text = "" if loc is None else str(loc)
        if text.startswith("loc(") and text.endswith(")"):
            text = text[4:-1].strip('"')
    return Site(op_key(op), text if text != "unknown" else "")


def location(op: Operation) -> str:
    """`op key at nn.Module path`, for messages."""
    return str(site(op))


def shape(v: SSAValue) -> tuple[int, ...] | None:
    """The dims of a ranked tensor value (-1 for dynamic ones); None for non-tensors and unranked tensors."""
    get = getattr(v.type, "get_shape", None)
    if get is None:
        return None
    try:
        return tuple(get())
    except ValueError:  # unranked tensor
        return None


class _NotConst:
    def __repr__(self) -> str:
        return "NOT_CONST"


NOT_CONST: Any = _NotConst()
"""What `const` returns for a value known only at run time."""


def const(v: SSAValue) -> Any:
    """The compile-time value of a scalar/list operand (None for `torch.constant.none`), or `NOT_CONST`."""
    owner = v.owner
    if not isinstance(owner, Operation):
        return NOT_CONST
    if owner.name == "torch.constant.none":
        return None
    if owner.name.startswith("torch.constant."):
        value = owner.properties["value"] if "value" in owner.properties else owner.attributes.get("value")
        data = getattr(value, "value", value)
        data = getattr(data, "data", data)
        return bool(data) if owner.name == "torch.constant.bool" else data
    if owner.name == "torch.prim.ListConstruct":
        return [const(o) for o in owner.operands]
    return NOT_CONST


def const_int(v: SSAValue) -> int | None:
    c = const(v)
    return int(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else None


def const_ints(v: SSAValue) -> list[int] | None:
    c = const(v)
    if isinstance(c, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in c):
        return [int(x) for x in c]
    return None
