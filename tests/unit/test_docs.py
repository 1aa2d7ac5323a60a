"""The docs say what the code is: docs/ops.md is the generator's current output (the op tables), and docs/passes.md
documents every registered pass and pipeline with every option, its type and default as the pass declares them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from spa.passes import ALL_PASSES, PIPELINES
from spa.tools import gen_ops_doc

REPO = Path(__file__).resolve().parents[2]
PASSES_MD = (REPO / "docs" / "passes.md").read_text()


def test_ops_doc_is_the_generators_current_output(tmp_path: Path) -> None:
    """Adding an op to spa_ir/ops means regenerating: python -m spa.tools.gen_ops_doc."""
    out = tmp_path / "ops.md"
    assert gen_ops_doc.main(["-o", str(out)]) == 0
    assert out.read_text() == (REPO / "docs" / "ops.md").read_text(), "run: python -m spa.tools.gen_ops_doc"


def test_ops_doc_lists_every_op_once() -> None:
    from spa_ir.ops.registry import OPS

    listed = re.findall(r"^\| `([^`]+)`", (REPO / "docs" / "ops.md").read_text(), re.MULTILINE)
    assert sorted(listed) == sorted(OPS)


def _section(name: str) -> str:
    """The text under `## name` (up to the next `## `)."""
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", PASSES_MD, re.MULTILINE | re.DOTALL)
    assert match is not None, f"docs/passes.md has no section '## {name}'"
    return match.group(1)


def _rows(section: str) -> dict[str, list[str]]:
    """Option table rows: option -> its other cells (code quotes dropped, `\\|` read as `|`)."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().strip("`").replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0]] = cells[1:]
    return rows


def _default(value: object) -> str:
    """A default as the docs write it (the pass-option syntax: true, none, bare words, `""` for empty)."""
    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    return '""' if value == "" else str(value)


@pytest.mark.parametrize("name", sorted(ALL_PASSES))
def test_every_pass_and_option_is_documented(name: str) -> None:
    cls = ALL_PASSES[name]()
    section = _section(name)
    assert "```" in section, f"{name}: no before/after snippet"
    fields = {f.name.replace("_", "-"): f for f in dataclasses.fields(cls)}
    rows = _rows(section)
    assert set(rows) == set(fields), f"{name}: documented {sorted(rows)}, declared {sorted(fields)}"
    for option, f in fields.items():
        assert rows[option][:2] == [str(f.type), _default(f.default)], f"{name}: option {option}"


@pytest.mark.parametrize("name", sorted({p.name for p in PIPELINES.values()}))
def test_every_pipeline_and_option_is_documented(name: str) -> None:
    pipeline = next(p for p in PIPELINES.values() if p.name == name)
    section = _section(name)
    assert all(f"`{alias}`" in section for alias in pipeline.aliases)
    rows = _rows(section)
    assert set(rows) == set(pipeline.options())
    for option in pipeline.options():
        owners = [s.pass_name for s in pipeline.stages if option in s.options]
        if owners:
            assert rows[option][0] == ", ".join(owners), f"{name}: option {option}"
