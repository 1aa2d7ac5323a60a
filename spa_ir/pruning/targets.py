"""Pruning targets (a channel ratio, a fraction of the FLOPs or of the parameters to keep), the search that
meets them, and the records spa-select-channels leaves on the module.

A FLOPs or params target is met by a search over one number: the ratio every group shares (local scope) or
how many channels leave in global order (global, protected). Removing more never costs more, so bisection
brackets the target and the closer side is taken; `PrunedCost` evaluates each try exactly from shapes.

Records on `builtin.module` (data in the IR, so a pipeline split across spa-opt calls keeps them):
- `spa.original_cost = {flops, params}`: the unpruned model's cost, written by the first step of an iterative
  schedule (`steps=N`) so that every step aims at a fraction of the original; the last step removes it.
- `spa.selection = {scope, target, value, flops, params[, step, steps]}`: what the last selection aimed at
  and achieved (fractions of the original); spa-eliminate-dead-channels moves it into the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from spa_ir.core.errors import SpaError
from spa_ir.core.records import Scalar, get_record, pop_record, put_record

TOLERANCE = 0.02
"""How far (as a fraction of the original) an achieved FLOPs / params value may be from its target."""

KINDS = ("ratio", "keep-flops", "keep-params")
ORIGINAL_ATTR = "spa.original_cost"
SELECTION_ATTR = "spa.selection"


@dataclass(frozen=True)
class Target:
    kind: str
    """ratio | keep-flops | keep-params"""
    value: float

    @classmethod
    def of(cls, ratio: float | None, keep_flops: float | None, keep_params: float | None, where: str) -> Target:
        given = [(k, v) for k, v in zip(KINDS, (ratio, keep_flops, keep_params)) if v is not None]
        if len(given) > 1:
            raise SpaError(f"{where}: {' and '.join(k for k, _ in given)} are exclusive: give one target")
        kind, value = given[0] if given else ("ratio", 0.5)
        if kind == "ratio" and not 0.0 <= value < 1.0:
            raise SpaError(f"{where}: ratio must be in [0, 1), got {value}")
        if kind != "ratio" and not 0.0 < value <= 1.0:
            raise SpaError(f"{where}: {kind} must be in (0, 1], got {value}")
        return cls(kind, value)

    @property
    def measure(self) -> str:
        """The cost it constrains: flops | params (ratio: none)."""
        return self.kind.removeprefix("keep-")

    def at_step(self, step: int, steps: int) -> float:
        """What step `step` of `steps` aims at: ratio, the fraction of the current channels that go
        (1 - (1-R)^(1/N), so that N steps remove R); keep-*, the fraction of the original kept (F^(k/N))."""
        if self.kind == "ratio":
            return step_ratio(self.value, steps)
        return float(self.value ** (step / steps))


def step_ratio(ratio: float, steps: int) -> float:
    """The per-step removal ratio of N steps that together remove `ratio`."""
    return 1.0 - (1.0 - ratio) ** (1.0 / steps)


def search(achieved: Callable[[float], float], lo: float, hi: float, goal: float, integer: bool) -> tuple[float, float]:
    """The point of [lo, hi] whose `achieved` value (non-increasing in it) is closest to `goal`, and that value.
    Integer domains stop when the bracket is one apart, real ones after 32 halvings (below any gap between the
    ratios at which two groups of up to 10^4 channels change counts)."""
    f_lo, f_hi = achieved(lo), achieved(hi)
    if f_lo <= goal:
        return lo, f_lo
    if f_hi >= goal:
        return hi, f_hi
    for _ in range(64 if integer else 32):
        if integer and hi - lo <= 1:
            break
        mid = (lo + hi) // 2 if integer else (lo + hi) / 2
        f_mid = achieved(mid)
        if f_mid > goal:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
    return (lo, f_lo) if abs(f_lo - goal) < abs(f_hi - goal) else (hi, f_hi)


def unreachable(target: Target, goal: float, best: float, scope: str, where: str) -> SpaError:
    return SpaError(
        f"{where}: {target.kind}={target.value:g} is out of reach under scope {scope}: the closest reachable "
        f"value is {best:.4f} (aimed at {goal:.4f}, tolerance {TOLERANCE}; frozen, ignored and kept-whole groups "
        "and the min-keep floors bound it)"
    )


# -- records on the module ---------------------------------------------------------------------------------


def original_cost(module: ModuleOp) -> tuple[int, int] | None:
    record = get_record(module, ORIGINAL_ATTR)
    if record is None:
        return None
    return int(record["flops"]), int(record["params"])


def record_original_cost(module: ModuleOp, flops: int, params: int) -> None:
    put_record(module, ORIGINAL_ATTR, {"flops": flops, "params": params})


def record_selection(
    module: ModuleOp, scope: str, target: Target, flops: float | None, params: float | None, schedule: Sequence[int]
) -> None:
    """`spa.selection` on the module; `schedule` is (step, steps) of an iterative schedule, or empty."""
    fields: dict[str, Scalar] = {"scope": scope, "target": target.kind, "value": float(target.value)}
    if flops is not None:
        fields["flops"] = round(flops, 6)
    if params is not None:
        fields["params"] = round(params, 6)
    if schedule:
        fields["step"], fields["steps"] = schedule
    put_record(module, SELECTION_ATTR, fields)


def take_selection(module: ModuleOp) -> dict[str, Any] | None:
    """Remove `spa.selection` from the module and return it as the plan's JSON record:
    `{"scope", "target": {"kind", "value"}, "achieved": {"flops", "params"}[, "step", "steps"]}`."""
    data = pop_record(module, SELECTION_ATTR)
    if data is None:
        return None
    out: dict[str, Any] = {
        "scope": data["scope"],
        "target": {"kind": data["target"], "value": data["value"]},
        "achieved": {k: data[k] for k in ("flops", "params") if k in data},
    }
    out.update({k: data[k] for k in ("step", "steps") if k in data})
    return out
