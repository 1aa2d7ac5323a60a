"""Channel dependency propagation: walk the main function once, apply each op's channel rule.

The result is a `Propagation`: the channel layout of every tensor value's dims (`Spaces` does the
unification), which values are *zero* on removed channels once their groups are masked (used to decide
exactness where channels mix), and the ops that had no rule (their channels were frozen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from spa_ir.channels.spaces import Anon, Layout, Reason, Spaces
from spa_ir.core import ir
from spa_ir.core.ir import location, op_key, site

if TYPE_CHECKING:
    from spa_ir.ops.spec import Rule

NOT_CHANNEL = Reason("not a channel dimension")
"""Freeze reason for weight dims that are never channels (kernel windows); such spaces are not reported."""

MODEL_INPUT = Reason("model input")
MODEL_OUTPUT = Reason("model output")
NO_RULE = "no channel rule for op"
"""The kind of reason an op without a channel rule gives the channels reaching it (spa-report-groups lists them)."""

Dims = list[Layout]


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
    shape = staticmethod(ir.shape)
    const = staticmethod(ir.const)
    const_int = staticmethod(ir.const_int)
    const_ints = staticmethod(ir.const_ints)

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

    # -- fallbacks -----------------------------------------------------------------------------
    def freeze_op(self, op: Operation, reason: str) -> None:
        """Conservative handling: every channel reaching the op is frozen; results carry none."""
        for v in op.operands:
            for d in self.operand_dims(v):
                self.spaces.freeze(d, Reason(reason, site(op)))
        for r in op.results:
            if self.is_tensor(r):
                self.set(r, [Anon(d) for d in self.shape(r) or ()], zero=False)

    def operand_dims(self, v: SSAValue) -> list[Layout]:
        if self.is_tensor(v):
            return self.layout(v)
        if v in self.lists:
            return [d for dims in self.lists[v] if dims for d in dims]
        return []


def propagate(fn: func.FuncOp, rules: Mapping[str, Rule]) -> Propagation:
    """Annotate every value of `fn` with channel layouts by the ops' `rules` (spa_ir/ops); freeze channels at
    inputs, outputs and ops without a rule."""
    p = Propagation()
    for i, arg in enumerate(fn.body.block.args):
        dims: Dims = []
        for d, n in enumerate(p.shape(arg) or ()):
            if n > 1:
                atom = p.spaces.new(n, f"input {i}[{d}]")
                p.spaces.freeze(atom, MODEL_INPUT)
                dims.append(atom)
            else:
                dims.append(Anon(n))
        p.set(arg, dims, zero=True)
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            for v in op.operands:
                for layout in p.operand_dims(v):
                    p.spaces.freeze(layout, MODEL_OUTPUT)
            continue
        rule = rules.get(op_key(op))
        if rule is None:
            p.unknown_ops.setdefault(op_key(op), []).append(location(op))
            p.freeze_op(op, NO_RULE)
            continue
        rule(p, op)
    return p
