"""Parameters and FLOPs of a program, computed from the IR's static shapes.

FLOPs follow torch.utils.flop_counter's conventions (2 per multiply-accumulate, counted for the
matrix-like ops only: convolutions, matmuls, attention), so the numbers can be checked against it on
the emitted module. `FLOPS` is the table of counted ops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

from xdsl.ir import Operation, SSAValue

from spa.dialects.spa import ParamOp
from spa_ir.channels.annotations import main_function
from spa_ir.core.program import Program
from spa_ir.channels.propagation import Propagation, op_key


def _shape(v: SSAValue) -> tuple[int, ...]:
    shape = Propagation.shape(v)
    if shape is None or any(d < 0 for d in shape):
        raise ValueError("dynamic shape")
    return shape


def _conv(transposed_index: int | None = None, transposed: bool = False) -> Callable[[Operation], int]:
    def flops(op: Operation) -> int:
        x, w, out = _shape(op.operands[0]), _shape(op.operands[1]), _shape(op.results[0])
        is_t = transposed if transposed_index is None else bool(Propagation.const(op.operands[transposed_index]))
        spatial = x[2:] if is_t else out[2:]
        return 2 * x[0] * prod(w) * prod(spatial)

    return flops


def _matmul(a_index: int, b_index: int) -> Callable[[Operation], int]:
    def flops(op: Operation) -> int:
        a, b, out = _shape(op.operands[a_index]), _shape(op.operands[b_index]), _shape(op.results[0])
        return 2 * prod(out) * a[-1] if len(a) > 1 and len(b) > 1 else 2 * prod(out) * b[0]

    return flops


def _linear(op: Operation) -> int:
    x, w = _shape(op.operands[0]), _shape(op.operands[1])
    return 2 * prod(x[:-1]) * w[0] * w[1]


def _sdpa(op: Operation) -> int:
    q, k, v = (_shape(op.operands[i]) for i in range(3))
    b, h, sq, d = q
    sk, dv = k[-2], v[-1]
    return 2 * b * h * sq * sk * d + 2 * b * h * sq * sk * dv


FLOPS: dict[str, Callable[[Operation], int]] = {
    **{f"torch.aten.conv{k}d": _conv() for k in (1, 2, 3)},
    **{f"torch.aten.conv{k}d.padding": _conv() for k in (1, 2, 3)},
    **{f"torch.aten.conv_transpose{k}d.input": _conv(transposed=True) for k in (1, 2, 3)},
    "torch.aten.convolution": _conv(transposed_index=6),
    "torch.aten._convolution": _conv(transposed_index=6),
    "torch.aten.linear": _linear,
    "torch.aten.mm": _matmul(0, 1),
    "torch.aten.matmul": _matmul(0, 1),
    "torch.aten.bmm": _matmul(0, 1),
    "torch.aten.addmm": _matmul(1, 2),
    "torch.aten.scaled_dot_product_attention": _sdpa,
}


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
            n = prod(op.result.type.get_shape())  # type: ignore[attr-defined]
            if op.is_buffer:
                cost.buffers += n
            else:
                cost.params += n
            continue
        count = FLOPS.get(op_key(op))
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
