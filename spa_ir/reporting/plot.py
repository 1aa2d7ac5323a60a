"""The report as a PNG: every layer's output and input widths, before and after (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from spa_ir.core.fileio import write_with_atomic
from spa_ir.core.progress import logger_held

if TYPE_CHECKING:
    from spa_ir.reporting.report import LayerRow, Report

PANELS = ((0, "output width (dim 0)"), (1, "input width (dim 1)"))


def plotted_layers(report: Report) -> list[LayerRow]:
    """The layers drawn: the matrices (`LayerRow.matrix`), in program order."""
    return [layer for layer in report.layers if layer.matrix]


def plot_widths(report: Report, path: str | os.PathLike[str]) -> None:
    plt = _pyplot()

    layers = plotted_layers(report)
    labels = short_names([layer.weight for layer in layers])
    n, longest = max(len(layers), 1), max((len(label) for label in labels), default=0)
    size = (min(4 + 0.18 * n, 40), 5 + 0.07 * longest)  # room below for the rotated names
    fig, axes = plt.subplots(len(PANELS), 1, figsize=size, sharex=True, squeeze=False)
    xs = list(range(len(layers)))
    for ax, (dim, title) in zip(axes[:, 0], PANELS):
        before = [(layer.shape.before or [0, 0])[dim] for layer in layers]
        after = [(layer.shape.after or [0, 0])[dim] for layer in layers]
        ax.bar(xs, before, color="#c9d6e8", label="before")
        ax.bar(xs, after, width=0.5, color="#2a5c9a", label="after")
        ax.set_ylabel(title)
        ax.set_yscale("log")  # widths span orders of magnitude (a vocabulary beside a head's dims)
        ax.set_ylim(bottom=1)  # every bar from width 1, so heights compare honestly
        ax.legend(loc="upper left", fontsize="small")
    bottom = axes[-1, 0]
    bottom.set_xticks(xs)
    bottom.set_xticklabels(labels, rotation=90, fontsize=6)
    fig.suptitle(_title(report))
    fig.tight_layout()
    write_with_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def short_names(weights: list[str]) -> list[str]:
    """Tick labels: the weight names without the dotted prefix they all share (`bert.`) and without `.weight`."""
    parts = [w.removesuffix(".weight").split(".") for w in weights]
    shared = 0
    while parts and all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return [".".join(p[shared:]) for p in parts]


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display: a file is all spa draws). Its first import on a machine
    builds a font cache and logs that it does after 5 s: a note for nobody, held below ERROR meanwhile."""
    import matplotlib

    matplotlib.use("Agg")
    with logger_held("matplotlib.font_manager"):
        import matplotlib.pyplot as plt
    return plt


def _title(report: Report) -> str:
    t = report.totals
    ratios = (("params", t.params.ratio()), ("FLOPs", t.flops.ratio()))
    kept = ", ".join(f"{name} kept {r:.3f}" for name, r in ratios if r is not None)
    return "per-layer widths before / after pruning" + (f": {kept}" if kept else "")
