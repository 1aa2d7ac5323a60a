"""spa-prune-groups (alias `prune-groups`): the pruning pipeline, written as the table of its stages.

It is not a pass: a driver expands `spa-prune-groups{...}` into the stages below before anything runs
(`spa.passes.expand_pipeline` for spa-opt's -p, `spa.passes.pipeline_passes` for the API), so each stage is
a pass of its own and --print-between-passes shows the IR after each. Every option goes to the one stage
that owns it, and its default is that pass's own default. Adding a stage is adding its line to `STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from spa_ir.core.errors import SpaError

V = TypeVar("V")


@dataclass(frozen=True)
class Stage:
    """One pass of a pipeline and the pipeline options it owns (kebab-case, as the pass spells them)."""

    pass_name: str
    options: tuple[str, ...] = ()
    when: Callable[[Mapping[str, object]], bool] | None = None
    """Whether the stage runs, from the options the user gave (None: always)."""


@dataclass(frozen=True)
class Pipeline:
    """A named pass pipeline whose options are routed to its stages."""

    name: str
    stages: tuple[Stage, ...]
    aliases: tuple[str, ...] = ()
    steps: str | None = None
    """The option (`steps=N`) that repeats all the stages N times: iterative pruning, everything recomputed
    between steps. The stages owning it are told which step they run (`step=k`, 1..N)."""
    controls: tuple[str, ...] = ()
    """Options no pass takes: they decide which stages run (their `when`)."""

    def options(self) -> list[str]:
        """Every option once, in stage order (an option several stages own, as `criterion`, goes to each)."""
        return list(dict.fromkeys([*(o for s in self.stages for o in s.options), *self.controls]))

    def expand(self, options: Mapping[str, V], called: str | None = None) -> list[tuple[str, dict[str, V]]]:
        """(pass name, its options) per stage, in order; option names may be kebab or snake case. `called`:
        the name the user wrote (an alias), for the error message."""
        given = {k.replace("_", "-"): v for k, v in options.items()}
        known = self.options()
        for key in given:
            if key not in known:
                raise SpaError(f"{called or self.name}: unknown option '{key}' (known: {', '.join(known)})")
        plain = {k: _scalar(v) for k, v in given.items()}
        once = [
            (s.pass_name, {o: given[o] for o in s.options if o in given})
            for s in self.stages
            if s.when is None or s.when(plain)
        ]
        if self.steps is None or self.steps not in given or _count(given[self.steps], called or self.name) == 1:
            return once
        n = _count(given[self.steps], called or self.name)
        step: Callable[[int], V] = _like(given[self.steps])  # type: ignore[assignment]  # the driver's value shape
        owners = {s.pass_name for s in self.stages if self.steps in s.options}
        return [(p, {**o, "step": step(k)} if p in owners else o) for k in range(1, n + 1) for p, o in once]


def _scalar(value: object) -> object:
    """An option's value as written (xDSL's parser gives one-element tuples)."""
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _compensates(options: Mapping[str, object]) -> bool:
    """`compensate=obspa` adds spa-obspa-compensate to any criterion; `criterion=obspa` runs it unless
    `compensate=none`."""
    mode = options.get("compensate")
    if mode not in (None, "obspa", "none"):
        raise SpaError(f"spa-prune-groups: unknown compensate '{mode}' (known: obspa, none)")
    return mode == "obspa" or (mode is None and options.get("criterion") == "obspa")


def _count(value: object, where: str) -> int:
    """`steps`, as xDSL's parser gives it (a one-element tuple) or as a Python value."""
    n = value[0] if isinstance(value, tuple) and len(value) == 1 else value
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SpaError(f"{where}: steps must be an integer >= 1, got {value}")
    return n


def _like(value: object) -> Callable[[int], object]:
    """A maker of option values shaped as `value` is (xDSL's one-element tuples, or plain values)."""
    return (lambda k: (k,)) if isinstance(value, tuple) else (lambda k: k)


_SELECT = "ratio keep-flops keep-params scope min-keep min-keep-ratio round-to only-exact ignore overrides"
_SELECT += " heads gqa uniform steps"

STAGES: tuple[Stage, ...] = (
    Stage("spa-propagate-channels"),
    Stage("spa-form-groups"),
    Stage("spa-collect-stats", ("criterion", "source", "seed")),
    Stage("spa-annotate-importance", ("criterion", "agg", "norm", "seed", "damp")),
    Stage("spa-select-channels", tuple(_SELECT.split())),
    Stage("spa-obspa-compensate", ("source", "damp", "sequential", "order", "seed", "samples"), when=_compensates),
    Stage("spa-eliminate-dead-channels"),
)

PRUNE_GROUPS = Pipeline("spa-prune-groups", STAGES, aliases=("prune-groups",), steps="steps", controls=("compensate",))
