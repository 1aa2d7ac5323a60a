"""The op table: every family's `OPS` merged, each op listed in exactly one family."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

import spa_ir.ops
from spa_ir.core.ir import op_key, params
from spa_ir.ops.spec import OpSpec, Rule, operand_names

_NOT_FAMILIES = frozenset({"registry", "spec", "common"})


def families() -> tuple[ModuleType, ...]:
    """Every module of spa_ir/ops that holds an op family (one with an `OPS` table), found by name so that
    adding a family is adding its module."""
    names = sorted(m.name for m in pkgutil.iter_modules(spa_ir.ops.__path__) if m.name not in _NOT_FAMILIES)
    return tuple(importlib.import_module(f"spa_ir.ops.{name}") for name in names)


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


OPS: dict[str, OpSpec] = merge(families())


def spec_of(op: Operation) -> OpSpec | None:
    return OPS.get(op_key(op))


def operand_roles(op: Operation, index: int) -> frozenset[str]:
    """The roles (spa_ir/ops/spec.py) the op's family gives its operand at `index`."""
    spec = spec_of(op)
    names = operand_names(op)
    if spec is None or index >= len(names):
        return frozenset()
    return frozenset(r for operand, r in spec.roles if operand == names[index])


def weight_roles(module: ModuleOp) -> dict[str, frozenset[str]]:
    """Weight name -> the roles (spa_ir/ops/spec.py: FILTER, BN_SCALE) of the operands it is read as directly."""
    roles: dict[str, set[str]] = {}
    for p in params(module):
        for use in p.result.uses:
            roles.setdefault(p.weight_name, set()).update(operand_roles(use.operation, use.index))
    return {name: frozenset(r) for name, r in roles.items() if r}


@cache
def channel_rules() -> dict[str, Rule]:
    """op key -> channel rule, for spa_ir.channels.propagation.propagate."""
    return {name: spec.rule for name, spec in OPS.items() if spec.rule is not None}
