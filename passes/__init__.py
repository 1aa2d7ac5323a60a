"""spa's passes, one per file, and its named pipelines.

`ALL_PASSES` is what spa-opt registers (name -> pass class factory); pass modules are imported only when a
pipeline names them, so spa-opt starts fast. `PIPELINES` are named pass pipelines (prune_groups.py): a
driver expands them into their stages before running (`parse_pipeline`, `pipeline_passes`), so every stage
runs, prints and fails as the pass it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec
from xdsl.utils.arg_spec import parse_pipeline as parse_specs

from spa.passes.prune_groups import PRUNE_GROUPS, Pipeline

_PASSES: dict[str, tuple[str, str]] = {
    "spa-propagate-channels": ("spa.passes.propagate_channels", "PropagateChannels"),
    "spa-form-groups": ("spa.passes.form_groups", "FormGroups"),
    "spa-collect-stats": ("spa.passes.collect_stats", "CollectStats"),
    "spa-annotate-importance": ("spa.passes.annotate_importance", "AnnotateImportance"),
    "spa-select-channels": ("spa.passes.select_channels", "SelectChannels"),
    "spa-obspa-compensate": ("spa.passes.obspa_compensate", "ObspaCompensate"),
    "spa-apply-plan": ("spa.passes.apply_plan", "ApplyPlan"),
    "spa-eliminate-dead-channels": ("spa.passes.eliminate_dead_channels", "EliminateDeadChannels"),
    "spa-report-groups": ("spa.passes.report_groups", "ReportGroups"),
}


def _factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    return lambda: getattr(importlib.import_module(module), cls)


ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = {name: _factory(*where) for name, where in _PASSES.items()}

PIPELINES: dict[str, Pipeline] = {name: p for p in (PRUNE_GROUPS,) for name in (p.name, *p.aliases)}
"""Pipeline name (and alias) -> its table of stages."""


def expand(specs: Iterable[ArgSpec]) -> Iterator[ArgSpec]:
    """Each named pipeline in a parsed `-p` replaced by its stages, the others as they are."""
    for spec in specs:
        pipeline = PIPELINES.get(spec.name)
        if pipeline is None:
            yield spec
        else:
            yield from (ArgSpec(name, options) for name, options in pipeline.expand(spec.parameters, spec.name))


def parse_pipeline(
    text: str, available: Mapping[str, Callable[[], type[ModulePass]]] = ALL_PASSES
) -> tuple[ModulePass, ...]:
    """The passes of a `-p` pipeline text, named pipelines expanded (xDSL's PassPipeline.parse_spec, plus that)."""
    specs = list(expand(parse_specs(text)))
    unknown = [s.name for s in specs if s.name not in available]
    if unknown:
        raise ValueError(f"Unrecognized passes: {unknown}")
    return tuple(available[s.name]().from_pass_spec(s) for s in specs)


def pipeline_passes(name: str, **options: Any) -> tuple[ModulePass, ...]:
    """The passes of a named pipeline with Python-valued options (`min_keep=2`), for the API."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline '{name}' (known: {', '.join(PIPELINES)})")
    return tuple(
        ALL_PASSES[stage]()(**{k.replace("-", "_"): v for k, v in opts.items()})
        for stage, opts in PIPELINES[name].expand(options)
    )
