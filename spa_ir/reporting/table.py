"""The report as an aligned terminal table (spa-opt --report prints it on stderr)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spa_ir.reporting.report import Report, Span

LAYERS_WIDTH = 80
"""A group's row names its first layers within this many characters and counts the rest (a residual group reaches
dozens)."""


def format_report(report: Report, *, all_groups: bool = False) -> str:
    sections = [_groups(report, all_groups), _layers(report), _totals(report)]
    return "\n\n".join(s for s in sections if s) + "\n"


def _groups(report: Report, all_groups: bool) -> str:
    shown = [g for g in report.groups if all_groups or g.width.after != g.width.before]
    rows = [
        [
            g.id,
            f"{g.width.before} -> {g.width.after}",
            "frozen" if g.frozen else "exact" if g.exact else "inexact",
            _listed(g.layers),
        ]
        for g in shown
    ]
    title = f"groups: {len(shown)} of {len(report.groups)} {'listed' if all_groups else 'pruned'}"
    return title + "\n" + _aligned(["group", "width", "removal", "layers"], rows) if rows else title


def _layers(report: Report) -> str:
    """The changed matrices (`LayerRow.matrix`); the vectors beside them (biases, norms) are only counted."""
    changed = [layer for layer in report.layers if layer.changed]
    rows = [[m.weight, _shape(m.shape.before), "->", _shape(m.shape.after)] for m in changed if m.matrix]
    title = (
        f"layers: {len(changed)} of {len(report.layers)} weights changed"
        f" ({len(rows)} matrices listed, the biases, norms and buffers beside them follow)"
    )
    return title + "\n" + _aligned(["weight", "before", "", "after"], rows) if rows else title


def _totals(report: Report) -> str:
    t = report.totals
    rows = [
        _total("params", t.params, _count),
        _total("FLOPs", t.flops, _count),
        _total("weights file", t.file_bytes, _bytes),
    ]
    if t.latency_ms is not None:
        shapes = ", ".join("x".join(map(str, s)) for s in t.latency_inputs or [])
        label = f"CPU latency ({shapes})" if shapes else "CPU latency"
        rows.append(_total(label, t.latency_ms, lambda ms: f"{ms:.2f} ms"))
    return "totals\n" + _aligned(["", "before", "after", "kept"], rows, right=(1, 2, 3))


def _total(name: str, span: Span[int] | Span[float], fmt: object) -> list[str]:
    assert callable(fmt)
    ratio = span.ratio()
    return [name, fmt(span.before), fmt(span.after), f"{ratio:.3f}" if ratio is not None else "-"]


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell (numbers right-aligned where `right` says), trailing blanks cut."""
    table = [list(header), *map(list, rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for r in table:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def _listed(layers: Sequence[str]) -> str:
    shown = 1
    while shown < len(layers) and len(", ".join(layers[: shown + 1])) <= LAYERS_WIDTH:
        shown += 1
    more = len(layers) - shown
    return ", ".join(layers[:shown]) + (f" (+{more} more)" if more > 0 else "")


def _shape(shape: list[int] | None) -> str:
    return "x".join(map(str, shape)) if shape is not None else "(removed)"


def _count(n: int | float) -> str:
    """12345678 -> 12.35M: three significant figures are what a size comparison needs."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def _bytes(n: int | float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"
