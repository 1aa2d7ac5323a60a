"""Channel dependency propagation: walk the main function once, apply each op's channel rule.

The result is a `Propagation`: the channel layout of every tensor value's dims (`Spaces` does the
unification), which values are *zero* on removed channels once their groups are masked (used to decide
exactness where channels mix), and the ops that had no rule (their channels were frozen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import NameLoc, StringAttr
from xdsl.ir import Operation, SSAValue

from spa_ir.channels.spaces import Anon, Layout, Spaces

NOT_CHANNEL = "not a channel dimension"
"""Freeze reason for weight dims that are never channels (kernel windows); such spaces are not reported."""

Dims = list[Layout]


def op_key(op: Operation) -> str:
    """The rule-table key: the op name, or the aten name a `torch.operator` carries."""
    if op.name == "torch.operator":
        name = op.properties["name"] if "name" in op.properties else op.attributes.get("name")
        return name.data if isinstance(name, StringAttr) else str(name)
    return op.name


def location(op: Operation) -> str:
    loc = getattr(op, "location", None)
    if isinstance(loc, NameLoc):  # the frontends' module paths: no printing needed
        text = loc.desc.data
    else:
        text = "" if loc is None else str(loc)
        if text.startswith("loc(") and text.endswith(")"):
            text = text[4:-1].strip('"')
    return f"{op_key(op)} at {text}" if text and text != "unknown" else op_key(op)


@dataclass
class Propagation:
    spaces: Spaces = field(default_factory=Spaces)
    dims: dict[SSAValue, Dims] = field(default_factory=dict)
    lists: dict[SSAValue, list[Dims | None]] = field(default_factory=dict)
    list_items: dict[SSAValue, list[SSAValue]] = field(default_factory=dict)
    zero: set[SSAValue] = field(default_factory=set)
    unknown_ops: dict[str, list[str]] = field(default_factory=dict)
    param_values: dict[str, SSAValue] = field(default_factory=dict)

    # -- value facts ---------------------------------------------------------------------------
    @staticmethod
    def shape(v: SSAValue) -> tuple[int, ...] | None:
        get = getattr(v.type, "get_shape", None)
        if get is None:
            return None
        try:
            return tuple(get())
        except ValueError:  # unranked tensor: no dims to annotate
            return None

    def is_tensor(self, v: SSAValue) -> bool:
        return self.shape(v) is not None

    def layout(self, v: SSAValue) -> Dims:
        """The dims of a tensor value; values nothing annotated (inputs) hold no channels."""
        got = self.dims.get(v)
        if got is None:
            shape = self.shape(v) or ()
            got = self.dims[v] = [Anon(d) for d in shape]
        return [self.spaces.resolve(d) for d in got]

    def set(self, v: SSAValue, dims: Dims, zero: bool) -> None:
        self.dims[v] = list(dims)
        if zero:
            self.zero.add(v)

    def is_zero(self, v: SSAValue) -> bool:
        """True if v's entries on removed channels are 0 in the masked model (vacuous without channels)."""
        return v in self.zero or not any(self.spaces.atoms(d) for d in self.layout(v)) if self.is_tensor(v) else True

    def has_channels(self, layout: Layout) -> bool:
        return bool(self.spaces.atoms(layout))

    # -- constants -----------------------------------------------------------------------------
    @staticmethod
    def const(v: SSAValue) -> Any:
        """The compile-time value of a scalar/list operand, or `NotConst`."""
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
            return [Propagation.const(o) for o in owner.operands]
        return NOT_CONST

    def const_int(self, v: SSAValue) -> int | None:
        c = self.const(v)
        return int(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else None

    def const_ints(self, v: SSAValue) -> list[int] | None:
        c = self.const(v)
        if isinstance(c, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in c):
            return [int(x) for x in c]
        return None

    # -- fallbacks -----------------------------------------------------------------------------
    def freeze_op(self, op: Operation, reason: str) -> None:
        """Conservative handling: every channel reaching the op is frozen; results carry none."""
        for v in op.operands:
            for d in self.operand_dims(v):
                self.spaces.freeze(d, f"{reason}: {location(op)}")
        for r in op.results:
            if self.is_tensor(r):
                self.set(r, [Anon(d) for d in self.shape(r) or ()], zero=False)

    def operand_dims(self, v: SSAValue) -> list[Layout]:
        if self.is_tensor(v):
            return self.layout(v)
        if v in self.lists:
            return [d for dims in self.lists[v] if dims for d in dims]
        return []


class _NotConst:
    def __repr__(self) -> str:
        return "NOT_CONST"


NOT_CONST: Any = _NotConst()

Rule = Callable[[Propagation, Operation], None]


def propagate(fn: func.FuncOp, rules: dict[str, Rule] | None = None) -> Propagation:
    """Annotate every value of `fn` with channel layouts; freeze channels at inputs, outputs and unknown ops."""
    from spa_ir.channels.rules import RULES

    rules = RULES if rules is None else rules
    p = Propagation()
    for i, arg in enumerate(fn.body.block.args):
        dims: Dims = []
        for d, n in enumerate(p.shape(arg) or ()):
            if n > 1:
                atom = p.spaces.new(n, f"input {i}[{d}]")
                p.spaces.freeze(atom, "model input")
                dims.append(atom)
            else:
                dims.append(Anon(n))
        p.set(arg, dims, zero=True)
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            for v in op.operands:
                for d in p.operand_dims(v):
                    p.spaces.freeze(d, "model output")
            continue
        rule = rules.get(op_key(op))
        if rule is None:
            p.unknown_ops.setdefault(op_key(op), []).append(location(op))
            p.freeze_op(op, "no channel rule for op")
            continue
        rule(p, op)
    return p
