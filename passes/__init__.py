"""spa's passes, one per file. `ALL_PASSES` is what spa-opt registers (name -> pass class factory);
pass modules are imported only when a pipeline names them, so spa-opt starts fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

_PASSES: dict[str, tuple[str, str]] = {
    "spa-propagate-channels": ("spa.passes.propagate_channels", "PropagateChannels"),
    "spa-form-groups": ("spa.passes.form_groups", "FormGroups"),
    "spa-annotate-importance": ("spa.passes.annotate_importance", "AnnotateImportance"),
    "spa-select-channels": ("spa.passes.select_channels", "SelectChannels"),
    "spa-eliminate-dead-channels": ("spa.passes.eliminate_dead_channels", "EliminateDeadChannels"),
    "spa-report-groups": ("spa.passes.report_groups", "ReportGroups"),
    "prune-groups": ("spa.passes.prune_groups", "PruneGroups"),
}


def _factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(importlib.import_module(module), cls)


ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = {name: _factory(*where) for name, where in _PASSES.items()}
