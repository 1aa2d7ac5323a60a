"""Guards of the one-module-per-op-family house (issue 8): each op key is registered by exactly one family
module, every name is one the dialects can parse (or a declared `torch.operator` name), and no per-op table
(rules, size rewrites, FLOPs, emission) lives outside spa_ir/ops."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from spa_ir.ops import registry
from spa_ir.ops.spec import OpSpec, table

ROOT = Path(__file__).resolve().parents[2]


def test_each_op_is_registered_by_exactly_one_family() -> None:
    owners: dict[str, list[str]] = {}
    for family in registry.families():
        for name in family.OPS:
            owners.setdefault(name, []).append(family.__name__)
    assert {n: o for n, o in owners.items() if len(o) != 1} == {}
    assert set(owners) == set(registry.OPS)


def test_an_op_in_two_families_is_refused() -> None:
    a = types.ModuleType("spa_ir.ops.a")
    b = types.ModuleType("spa_ir.ops.b")
    for family in (a, b):
        setattr(family, "OPS", {"torch.aten.relu": OpSpec()})
    with pytest.raises(ValueError, match="listed in spa_ir.ops.a and in spa_ir.ops.b"):
        registry.merge((a, b))


def test_a_mistyped_op_name_fails_when_the_table_is_built() -> None:
    with pytest.raises(ValueError, match="softplus?"):
        table({"torch.aten.softplus?": OpSpec()})
    assert "torch.aten.fancy" in table({"torch.aten.fancy": OpSpec()}, operators={"torch.aten.fancy": "self_ dim"})


def _op_name_literals(path: Path) -> int:
    """How many string literals in a module look like torch-mlir op names (`torch.aten.*`, `torch.prim.*`)."""
    tree = ast.parse(path.read_text())
    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and node.value.startswith(("torch.aten.", "torch.prim.", "torch.prims.")))


def test_no_per_op_table_outside_the_op_family_modules() -> None:
    """A table keyed by op names elsewhere would split an op's knowledge again. The frontends may name a
    few ops they build or fold; nothing outside spa_ir/ops lists more than a handful."""
    counts = {}
    for folder in ("spa_ir", "passes", "tools", "dialects"):
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("spa_ir", "ops") or rel.name in ("torch.py", "torch_base.py", "gen_torch_dialect.py"):
                continue  # the op families; the dialect itself and its generator define the ops
            counts[str(rel)] = _op_name_literals(path)
    assert {p: n for p, n in counts.items() if n > 4} == {}


def test_rules_read_operands_by_name() -> None:
    """A typed op's operands by its class's names; a generic `torch.operator` by the names its family declared;
    an unknown name is a KeyError naming the op and its operands."""
    from xdsl.dialects.builtin import StringAttr

    from spa.dialects.torch import AtenConv2dOp, OperatorOp
    from spa_ir.ops.spec import arg, has_arg, operand_names

    assert operand_names(AtenConv2dOp.__new__(AtenConv2dOp))[:3] == ("input", "weight", "bias")
    generic = OperatorOp.__new__(OperatorOp)
    generic.properties = {"name": StringAttr("torch.aten._native_batch_norm_legit_no_training")}
    generic.attributes = {}
    assert operand_names(generic) == ("input", "weight", "bias", "running_mean", "running_var", "momentum", "eps")
    assert not has_arg(generic, "training")
    with pytest.raises(KeyError, match="has no operand 'training'"):
        arg(generic, "training")
