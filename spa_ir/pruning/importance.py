"""Scoring the groups of a module with one criterion: the walk spa-annotate-importance runs, as a function."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from xdsl.dialects.builtin import IntegerAttr, ModuleOp

from spa.dialects.spa import GroupOp, ParamOp
from spa_ir.channels.annotations import group_ops
from spa_ir.channels.groups import from_member_attr
from spa_ir.core.ir import Site, params, site
from spa_ir.core.records import pop_record, put_record
from spa_ir.ops.registry import weight_roles
from spa_ir.pruning.criteria import Group, Inputs, score_group
from spa_ir.pruning.criteria.base import Member

if TYPE_CHECKING:
    from spa_ir.calibration.store import StatsStore


def as_group(g: GroupOp, param_ops: Mapping[str, ParamOp]) -> Group:
    members = tuple(Member(*from_member_attr(m)) for m in g.members.data)
    first = param_ops.get(members[0].param) if members else None
    user = next((u.operation for u in first.result.uses), None) if first is not None else None
    where = site(user) if user is not None else Site("spa.group", g.sym_name.data)
    return Group(g.sym_name.data, g.size.value.data, members, where)


def score_groups(
    module: ModuleOp,
    weights: Mapping[str, torch.Tensor],
    criterion: str,
    *,
    stats: StatsStore | None = None,
    agg: str = "sum",
    norm: str | None = None,
    seed: int = 0,
    damp: float = 0.01,
) -> dict[str, list[float]]:
    """Group name -> per-channel scores, for every non-frozen group (`weights` must include inline params)."""
    param_ops = {p.weight_name: p for p in params(module)}
    buffers = frozenset(p.weight_name for p in param_ops.values() if p.is_buffer)
    inputs = Inputs(weights, weight_roles(module), stats, seed, buffers, damp)
    return {
        g.sym_name.data: _scores(criterion, inputs, as_group(g, param_ops), g.slices, agg, norm)
        for g in group_ops(module)
        if not g.frozen
    }


def _scores(
    criterion: str, inputs: Inputs, group: Group, slices: IntegerAttr | None, agg: str, norm: str | None
) -> list[float]:
    """A group's scores; one in slices along its members' dim 0 (experts' neurons: spa.group's `slices`) is scored
    slice by slice, each slice's members their dim-0 entry of the weights and of their weight-shaped statistics
    (gradients), so each expert's neurons rank by its own."""
    if slices is None:
        return score_group(criterion, inputs, group, agg, norm)
    n = slices.value.data
    out: list[float] = []
    for i in range(n):
        members = tuple(Member(m.param, m.dim - 1, m.index_map) for m in group.members)
        part = Group(f"{group.name}/{i}", group.size // n, members, group.site)
        sliced = ChainMap({m.param: inputs.weights[m.param][i] for m in group.members}, inputs.weights)  # type: ignore[arg-type]  # only read
        stats = _slice_stats(inputs, group, i)
        out += score_group(criterion, replace(inputs, weights=sliced, stats=stats, _cache={}), part, agg, norm)
    return out


def _slice_stats(inputs: Inputs, group: Group, i: int) -> StatsStore | None:
    """The members' weight-shaped statistics at dim-0 index i (activation statistics of consumers do not slice:
    experts' gathered weights are no consumers, so the criteria reading them fail naming the group)."""
    store = inputs.stats
    if store is None:
        return None
    from spa_ir.calibration import kinds as K
    from spa_ir.calibration.store import StatsStore

    shapes = {m.param: tuple(inputs.weights[m.param].shape) for m in group.members}
    sliced = {}
    for w, shape in shapes.items():
        for k in store.kinds():
            if store.has(w, k) and tuple((t := store.get(w, k)).shape) == shape:
                sliced[K.key(w, k)] = t[i]
    return StatsStore(sliced, meta=store.meta)


IMPORTANCE_ATTR = "spa.importance"
"""The module attribute spa-annotate-importance leaves for the plan: criterion, agg, norm and, for a
data-driven criterion, where its labels came from (the statistics' loss, label source and sample count)."""


def record_importance(
    module: ModuleOp, criterion: str, agg: str, norm: str, stats: StatsStore | None = None, *, labels: bool = True
) -> None:
    """`labels`: the criterion read gradients, so the loss and its labels say what it measured."""
    fields = {"criterion": criterion, "agg": agg, "norm": norm}
    if stats is not None:
        keys = ("loss", "label_source", "samples") if labels else ("samples",)
        fields |= {k: stats.meta[k] for k in keys if stats.meta.get(k, "0") != "0"}
        if "obspa_source" in stats.meta:
            fields["statistics"] = stats.meta.get("source", "")
    put_record(module, IMPORTANCE_ATTR, fields)


def take_importance(module: ModuleOp) -> dict[str, str] | None:
    """Remove the record from the module and return it as the plan's `importance`."""
    record = pop_record(module, IMPORTANCE_ATTR)
    return None if record is None else {k: str(v) for k, v in record.items()}
