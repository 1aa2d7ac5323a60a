"""Parameters and FLOPs of a program, computed from the IR's static shapes.

FLOPs follow torch.utils.flop_counter's conventions (2 per multiply-accumulate, counted for the
matrix-like ops only: convolutions, matmuls, attention), so the numbers can be checked against it on
the emitted module. The counted ops are those whose spa_ir/ops entry has `flops`.

`PrunedCost` answers "what would the program cost if these channels went?" from shapes alone: the channel
annotations say which indices of every dim hold which channel, so the shapes after pruning are known without
slicing a weight or rewriting the IR. spa-select-channels asks it many times inside a target search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from math import prod
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, SSAValue

from spa.dialects.spa import ParamOp
from spa_ir.channels.annotations import annotated_dims, fill_anon, spaces_from_module
from spa_ir.core.ir import main_function, op_key, shape
from spa_ir.ops.registry import spec_of
from spa_ir.ops.spec import Flops

if TYPE_CHECKING:
    from spa_ir.core.program import Program  # its module imports torch; spa-opt's select stage must not


@dataclass
class Cost:
    params: int = 0
    buffers: int = 0
    flops: int = 0
    flops_by_op: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)
    """Counted ops whose shapes were dynamic."""

    def add_flops(self, op: Operation, count: Flops) -> None:
        try:
            flops = count(op)
        except ValueError:
            self.uncounted.append(op_key(op))
            return
        self.flops += flops
        self.flops_by_op[op_key(op)] = self.flops_by_op.get(op_key(op), 0) + flops


def program_cost(program: Program) -> Cost:
    return module_cost(program.module)


def module_cost(module: ModuleOp) -> Cost:
    cost = Cost()
    for op in main_function(module).body.block.ops:
        if isinstance(op, ParamOp):
            n = prod(op.result.type.get_shape())  # type: ignore[attr-defined]  # spa.param results are tensors
            if op.is_buffer:
                cost.buffers += n
            else:
                cost.params += n
            continue
        spec = spec_of(op)
        if spec is not None and spec.flops is not None:
            cost.add_flops(op, spec.flops)
    return cost


_Dim = tuple[int, dict[int, np.ndarray]]
"""A dim's size and, per channel space it holds, the channel at each of its indices (-1: not that space's)."""


class PrunedCost:
    """The cost of the program a set of removed channels would leave, computed from the channel annotations
    (spa-propagate-channels' `spa.dims`, the `spa.space`s) without changing the module. Exact: the kept
    indices of a dim are those holding no removed channel, as spa-eliminate-dead-channels computes them, and
    each counted op's FLOPs are its own formula applied to a scratch copy with the new operand and result
    types."""

    def __init__(self, module: ModuleOp) -> None:
        spaces = spaces_from_module(module)
        body = main_function(module).body.block.ops
        self._params: list[tuple[SSAValue, bool]] = []
        self._counted: list[tuple[Operation, Flops]] = []
        for op in body:
            spec = spec_of(op)
            if isinstance(op, ParamOp):
                self._params.append((op.result, op.is_buffer))
            elif spec is not None and spec.flops is not None:
                self._counted.append((op, spec.flops))
        needed = {v for v, _ in self._params} | {v for op, _ in self._counted for v in (*op.operands, *op.results)}
        self._dims: dict[SSAValue, list[_Dim]] = {}
        for op in body:
            for r, layouts in zip(op.results, annotated_dims(op) or []):
                old = shape(r)
                if r in needed and old is not None:
                    self._dims[r] = [
                        (n, spaces.coordinates(fill_anon(lay, n)) if n >= 0 else {}) for lay, n in zip(layouts, old)
                    ]

    def cost(self, removed: Mapping[int, np.ndarray]) -> Cost:
        """The cost with `removed[space id]` (a boolean mask over the space's channels, one extra False entry
        at the end for the coordinate -1) gone."""
        new = {v: self._new_shape(v, removed) for v in self._dims}
        cost = Cost()
        for v, is_buffer in self._params:
            n = prod(new.get(v) or shape(v) or ())
            if is_buffer:
                cost.buffers += n
            else:
                cost.params += n
        for op, count in self._counted:
            copy = self._resized(op, new)
            cost.add_flops(copy, count)
            if copy is not op:
                copy.drop_all_references()  # its uses of the original constants go with it
        return cost

    def _new_shape(self, v: SSAValue, removed: Mapping[int, np.ndarray]) -> tuple[int, ...]:
        out = []
        for n, coords in self._dims[v]:
            keep = np.ones(max(n, 0), dtype=bool)
            for sid, c in coords.items():
                mask = removed.get(sid)
                if mask is not None:
                    keep &= ~mask[c]
            out.append(int(keep.sum()) if n >= 0 else n)
        return tuple(out)

    @staticmethod
    def _resized(op: Operation, new: dict[SSAValue, tuple[int, ...]]) -> Operation:
        """`op` itself when none of its tensors change, else a detached copy reading scratch values of the
        new types (its non-tensor operands, e.g. constants the FLOP formula reads, are the original ones)."""
        changed = [v for v in (*op.operands, *op.results) if v in new and new[v] != shape(v)]
        if not changed:
            return op
        operands = list(op.operands)
        swapped = [i for i, v in enumerate(operands) if v in new and new[v] != shape(v)]
        scratch = Block(arg_types=[operands[i].type.with_shape(new[operands[i]]) for i in swapped])  # type: ignore[attr-defined]  # values with shapes are tensors
        for i, a in zip(swapped, scratch.args):
            operands[i] = a
        result_types = [
            r.type.with_shape(new[r]) if r in new and new[r] != shape(r) else r.type  # type: ignore[attr-defined]  # as above
            for r in op.results
        ]
        return type(op).create(
            operands=operands, result_types=result_types, properties=dict(op.properties), attributes=dict(op.attributes)
        )
