"""Importance criteria, as a table: name -> entry (spa_ir/pruning/criteria/base.py says what an entry is).

Adding a criterion is adding its entry here (and, when it needs calibration statistics, the kinds it declares:
spa-collect-stats collects exactly the kinds the pipeline's criteria need).
"""

from __future__ import annotations

from spa_ir.core.errors import SpaError
from spa_ir.pruning.criteria.activation import FLAP, WANDA_SP, FeatureRank
from spa_ir.pruning.criteria.base import AGGREGATIONS, NORMALIZATIONS, Criterion, Group, Inputs, group_score
from spa_ir.pruning.criteria.gradient import CROP, GRASP, HESSIAN, OBD_C, SNIP, TAYLOR
from spa_ir.pruning.criteria.magnitude import BNScale, GeometricMedian, Magnitude, Random
from spa_ir.pruning.criteria.reconstruction import CP, OBSPA, THINET

CRITERIA: dict[str, Criterion] = {
    # data-free
    "l1": Magnitude(1),
    "l2": Magnitude(2),
    "random": Random(),
    "bn-scale": BNScale(),
    "fpgm": GeometricMedian(),
    "lamp": Magnitude(2, default_norm="lamp"),
    # data-driven, after training
    "taylor": TAYLOR,
    "hessian": HESSIAN,
    "obd-c": OBD_C,
    "hrank": FeatureRank(),
    "thinet": THINET,
    "cp": CP,
    "wanda-sp": WANDA_SP,
    "flap": FLAP,
    "obspa": OBSPA,
    # before training
    "snip": SNIP,
    "grasp": GRASP,
    "crop": CROP,
}


def criterion(name: str) -> Criterion:
    if name not in CRITERIA:
        raise SpaError(f"unknown criterion '{name}' (known: {', '.join(CRITERIA)})")
    return CRITERIA[name]


def needed_kinds(name: str) -> frozenset[str]:
    """The statistic kinds the criterion reads (empty for the data-free ones)."""
    return criterion(name).needs


def score_group(name: str, inputs: Inputs, group: Group, agg: str = "sum", norm: str | None = None) -> list[float]:
    """The group's per-channel importance: the criterion's vectors aggregated by `agg`, normalized by `norm`
    (default: the criterion's own, `lamp` for lamp, else none)."""
    entry = criterion(name)
    if agg not in AGGREGATIONS:
        raise SpaError(f"unknown agg '{agg}' (known: {', '.join(AGGREGATIONS)})")
    norm = entry.default_norm if norm is None else norm
    if norm not in NORMALIZATIONS:
        raise SpaError(f"unknown norm '{norm}' (known: {', '.join(NORMALIZATIONS)})")
    vectors = entry.scores(inputs, group)
    if not vectors:
        raise group.fail(f"{name} has no score for any member")
    return [float(s) for s in group_score(vectors, agg, norm)]


__all__ = ["CRITERIA", "Group", "Inputs", "criterion", "needed_kinds", "score_group"]
