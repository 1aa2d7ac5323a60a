"""Parameters and FLOPs of a program, computed from the IR's static shapes.

FLOPs follow torch.utils.flop_counter's conventions (2 per multiply-accumulate, counted for the
matrix-like ops only: convolutions, matmuls, attention), so the numbers can be checked against it on
the emitted module. The counted ops are those whose spa_ir/ops entry has `flops`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from spa.dialects.spa import ParamOp
from spa_ir.core.ir import main_function, op_key
from spa_ir.core.program import Program
from spa_ir.ops.registry import spec_of


@dataclass
class Cost:
    params: int = 0
    buffers: int = 0
    flops: int = 0
    flops_by_op: dict[str, int] = field(default_factory=dict)
    uncounted: list[str] = field(default_factory=list)
    """Counted ops whose shapes were dynamic."""


def program_cost(program: Program) -> Cost:
    cost = Cost()
    for op in main_function(program.module).body.block.ops:
        if isinstance(op, ParamOp):
            n = prod(op.result.type.get_shape())  # type: ignore[attr-defined]  # spa.param results are tensors
            if op.is_buffer:
                cost.buffers += n
            else:
                cost.params += n
            continue
        spec = spec_of(op)
        count = spec.flops if spec is not None else None
        if count is None:
            continue
        try:
            flops = count(op)
        except ValueError:
            cost.uncounted.append(op_key(op))
            continue
        cost.flops += flops
        cost.flops_by_op[op_key(op)] = cost.flops_by_op.get(op_key(op), 0) + flops
    return cost
