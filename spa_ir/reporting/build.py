"""Build a Report from the program before pruning, the program after and the plan between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from spa_ir.core.ir import params
from spa_ir.cost import module_cost
from spa_ir.reporting.report import GroupRow, LayerRow, Report, Span, Totals

if TYPE_CHECKING:
    from spa_ir.core.plan import Plan
    from spa_ir.core.program import Program


def snapshot(program: Program) -> Program:
    """A copy of `program` to compare with once passes have changed it in place: the module cloned, the weight
    store copied (replacements made later in one do not show in the other)."""
    from spa_ir.core.program import Program

    return Program(program.module.clone(), program.weights.copy(), program.source)


def build_report(
    before: Program,
    after: Program,
    plan: Plan,
    *,
    latency: bool = False,
    latency_inputs: Sequence[Any] | None = None,
) -> Report:
    """Compare `before` (a `snapshot` taken before the passes ran) with `after`, the groups as `plan` says.
    `latency` times both emitted modules on CPU (on `latency_inputs`, default: random inputs matching the
    main function's signature, as the exporters make them)."""
    cost_before, cost_after = module_cost(before.module), module_cost(after.module)
    measured, shapes = None, None
    if latency:
        from spa_ir.reporting.latency import measure_pair

        ms_before, ms_after, shapes = measure_pair(before, after, latency_inputs)
        measured = Span(ms_before, ms_after)
    totals = Totals(
        params=Span(cost_before.params, cost_after.params),
        buffers=Span(cost_before.buffers, cost_after.buffers),
        flops=Span(cost_before.flops, cost_after.flops),
        file_bytes=Span(weights_file_bytes(before), weights_file_bytes(after)),
        latency_ms=measured,
        latency_inputs=shapes,
    )
    return Report(_group_rows(plan), _layer_rows(before, after), totals, plan.selection)


def _group_rows(plan: Plan) -> list[GroupRow]:
    rows = []
    for g in plan.groups:
        layers = list(dict.fromkeys(m["param"] for m in g.get("members") or []))
        width = Span(int(g["size"]), int(g["size"]) - len(g.get("removed") or []))
        rows.append(GroupRow(str(g["id"]), layers, width, bool(g.get("exact")), bool(g.get("frozen"))))
    return rows


def _layer_rows(before: Program, after: Program) -> list[LayerRow]:
    shapes_after = {p.weight_name: list(p.result.type.get_shape()) for p in params(after.module)}  # type: ignore[attr-defined]  # spa.param results are tensors
    rows = []
    for p in params(before.module):
        shape = list(p.result.type.get_shape())  # type: ignore[attr-defined]  # as above
        rows.append(LayerRow(p.weight_name, bool(p.is_buffer), Span(shape, shapes_after.get(p.weight_name))))
    return rows


def weights_file_bytes(program: Program) -> int:
    """The size of the `.safetensors` file `Program.save` writes for this program (what safetensors serializes:
    its header and the tensors the IR refers to): the file's own size when the program reads exactly that file
    unchanged (spa-opt's input), else serialized in memory."""
    from safetensors.torch import save

    names = program.external_weight_names()
    if not names:
        return 0
    store = program.weights
    if store.path is not None and not store.modified and set(store) == set(names):
        return store.path.stat().st_size
    return len(save({n: store[n].detach().contiguous() for n in names}))
