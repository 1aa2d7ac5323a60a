"""CPU latency of a program's emitted module: the median of timed forwards after warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from spa_ir.core.program import Program

WARMUP = 2
"""Untimed forwards first (allocations, one-time dispatch work)."""
RUNS = 7
"""Timed forwards; the median resists a busy machine's outliers better than the mean."""


def measure_pair(
    before: Program, after: Program, inputs: Sequence[Any] | None = None
) -> tuple[float, float, list[list[int]]]:
    """Milliseconds per forward of both programs' emitted modules, interleaved run by run so a load change on
    the machine hits both alike, and the shapes `before` was timed on. `inputs` default to random ones matching
    `before`'s main signature (a `?` dim at the exporters' example size); `after` gets its own when its signature
    differs (pruned inputs)."""
    from spa_ir.backends.export import example_inputs

    args_before = list(inputs) if inputs is not None else example_inputs(before)[0]
    args_after = list(inputs) if inputs is not None else example_inputs(after)[0]
    modules = [_module(before), _module(after)]
    args = [args_before, args_after]
    times: list[list[float]] = [[], []]
    with torch.no_grad():  # not inference_mode: a training-mode capture updates its own running statistics
        for _ in range(WARMUP):
            for m, a in zip(modules, args):
                m(*a)
        for _ in range(RUNS):
            for i, (m, a) in enumerate(zip(modules, args)):
                start = time.perf_counter()
                m(*a)
                times[i].append((time.perf_counter() - start) * 1000.0)
    shapes = [list(a.shape) for a in args_before if isinstance(a, torch.Tensor)]
    return statistics.median(times[0]), statistics.median(times[1]), shapes


def _module(program: Program) -> torch.nn.Module:
    from spa_ir.backends.torch_fx import to_graph_module

    return to_graph_module(program).eval()
