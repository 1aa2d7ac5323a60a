"""The report's data: rows per group and per layer, totals, each a before -> after pair."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Span(Generic[T]):
    """One quantity before and after pruning."""

    before: T
    after: T

    def to_json(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after}

    def ratio(self) -> float | None:
        """after / before, for numbers (None when there is nothing to divide by)."""
        before, after = self.before, self.after
        if not isinstance(before, int | float) or not isinstance(after, int | float) or not before:
            return None
        return float(after) / float(before)


@dataclass(frozen=True)
class GroupRow:
    """A group of coupled channels: the layers (weight names) its channels reach and its width."""

    id: str
    layers: list[str]
    width: Span[int]
    exact: bool
    frozen: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "layers": self.layers,
            "width": self.width.to_json(),
            "exact": self.exact,
            "frozen": self.frozen,
        }


@dataclass(frozen=True)
class LayerRow:
    """A stored weight or buffer and its dims before and after (`after` None: the pruned program dropped it)."""

    weight: str
    buffer: bool
    shape: Span[list[int] | None]

    @property
    def changed(self) -> bool:
        return self.shape.before != self.shape.after

    @property
    def matrix(self) -> bool:
        """A parameter of two or more dims (a convolution, linear or embedding matrix): what the table lists and
        the plot draws; biases and norm scales follow their matrix's dim 0 and would only repeat it."""
        return not self.buffer and len(self.shape.before or []) >= 2

    def to_json(self) -> dict[str, Any]:
        return {"weight": self.weight, "buffer": self.buffer, "shape": self.shape.to_json()}


@dataclass(frozen=True)
class Totals:
    params: Span[int]
    buffers: Span[int]
    flops: Span[int]
    file_bytes: Span[int]
    latency_ms: Span[float] | None = None
    """Median CPU milliseconds per forward of the emitted modules; None when not measured."""
    latency_inputs: list[list[int]] | None = None
    """The shapes of the tensor inputs the latency was measured on (a `?` dim at the exporters' example size)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params.to_json(),
            "buffers": self.buffers.to_json(),
            "flops": self.flops.to_json(),
            "file_bytes": self.file_bytes.to_json(),
            "latency_ms": self.latency_ms.to_json() if self.latency_ms is not None else None,
            "latency_inputs": self.latency_inputs,
        }


@dataclass(frozen=True)
class Report:
    """What pruning did to a program (spa_ir.reporting's docstring lists the JSON keys)."""

    groups: list[GroupRow]
    layers: list[LayerRow]
    totals: Totals
    selection: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [g.to_json() for g in self.groups],
            "layers": [layer.to_json() for layer in self.layers],
            "totals": self.totals.to_json(),
            "selection": self.selection,
        }

    def table(self, *, all_groups: bool = False) -> str:
        """An aligned terminal table: the pruned groups (every group with `all_groups`), the changed layers,
        the totals."""
        from spa_ir.reporting.table import format_report

        return format_report(self, all_groups=all_groups)

    def plot(self, path: str | os.PathLike[str]) -> None:
        """A PNG of every changed layer's widths before and after (written atomically)."""
        from spa_ir.reporting.plot import plot_widths

        plot_widths(self, path)
