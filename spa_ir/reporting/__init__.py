"""What pruning did, as data: `build_report(before, after, plan)` -> `Report` (per group, per layer, totals).

The Report is printed only at the edge (`table()` for a terminal, spa-opt's `--report`), written as JSON
(`to_json()`, `--report-json`) or drawn (`plot(path)`, `--plot`). `to_json()` has these stable keys:

{"groups": [{"id", "layers": [weight names], "width": {"before", "after"}, "exact", "frozen"}],
 "layers": [{"weight", "buffer", "shape": {"before": [..], "after": [..]}}],
 "totals": {"params": {"before", "after"}, "buffers": {"before", "after"}, "flops": {"before", "after"},
            "file_bytes": {"before", "after"}, "latency_ms": {"before", "after"} | null,
            "latency_inputs": [[dims of each tensor input timed]] | null},
 "selection": the plan's selection record | null}

`width` is a group's channel count (its `size`, and what is left after its `removed` indices); a layer is one
stored weight or buffer of the IR, `shape` its dims (the channel widths) in the program before and after (a
weight the pruned program no longer has: after = null). Params, buffers and FLOPs come from `spa_ir.cost`
(flop_counter's conventions); `file_bytes` is the size of the safetensors file the weights make; `latency_ms`
the median CPU time of one forward of each emitted module (`spa_ir.api.to_torch`) after warm-up, null unless
measured (`latency=True`).
"""

from __future__ import annotations

from spa_ir.reporting.build import build_report, snapshot
from spa_ir.reporting.report import GroupRow, LayerRow, Report, Span, Totals

__all__ = ["GroupRow", "LayerRow", "Report", "Span", "Totals", "build_report", "snapshot"]
