"""The op table: every family's `OPS` merged, each op listed in exactly one family."""

from __future__ import annotations

from functools import cache
from types import ModuleType

from xdsl.ir import Operation

from spa_ir.core.ir import op_key
from spa_ir.ops import (
    attention,
    conv,
    elementwise,
    indexing,
    linear,
    lists,
    norms,
    pooling,
    recurrent,
    reductions,
    slicing,
    sources,
    views,
)
from spa_ir.ops.spec import OpSpec, Rule

FAMILIES: tuple[ModuleType, ...] = (
    sources, elementwise, conv, linear, norms, attention, recurrent, indexing, views, slicing, lists, pooling, reductions,
)


def merge(families: tuple[ModuleType, ...]) -> dict[str, OpSpec]:
    """One table of the families' `OPS`; an op in two families is an error (its knowledge would be split)."""
    merged: dict[str, OpSpec] = {}
    owner: dict[str, str] = {}
    for family in families:
        for name, spec in family.OPS.items():
            if name in merged:
                raise ValueError(f"op '{name}' is listed in {owner[name]} and in {family.__name__}")
            merged[name], owner[name] = spec, family.__name__
    return merged


OPS: dict[str, OpSpec] = merge(FAMILIES)


def spec_of(op: Operation) -> OpSpec | None:
    return OPS.get(op_key(op))


@cache
def channel_rules() -> dict[str, Rule]:
    """op key -> channel rule, for spa_ir.channels.propagation.propagate."""
    return {name: spec.rule for name, spec in OPS.items() if spec.rule is not None}
