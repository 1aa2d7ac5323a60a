"""Importance criteria: per-channel scores of a group, aggregated over its members.

A criterion scores one member at a time (`MemberScore`); the group score is the sum over members of each member's scores
normalized by that member's mean, so that a large layer does not drown a small one (DepGraph's group
aggregation). Register new criteria in `CRITERIA`; data-driven ones (Taylor, SNIP, ...) will add a
calibration hook in a later issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from spa_ir.channels.groups import IndexMap


@dataclass(frozen=True)
class Member:
    param: str
    dim: int
    index_map: IndexMap


@dataclass(frozen=True)
class Magnitude:
    """The L1 (p=1) or L2 (p=2) norm of each channel's weights. `per_index` reduces a member's weight once per
    dim (|w|^p summed over the other dims; a weight in many groups, like a layer after a concat, is reduced once);
    `combine` sums each channel's indices (and takes the square root for L2)."""

    p: int

    def per_index(self, weight: torch.Tensor, dim: int) -> np.ndarray:
        # numpy, single-threaded: these small reductions ran 10x slower in torch's thread pool on a busy machine
        w = weight.detach().float().numpy()
        w = np.abs(w) if self.p == 1 else np.square(w)
        other = tuple(d for d in range(w.ndim) if d != dim)
        return w.sum(axis=other, dtype=np.float64) if other else w.astype(np.float64)

    def combine(self, values: np.ndarray) -> np.ndarray:
        total = values.sum(axis=1)
        return total if self.p == 1 else np.sqrt(total)


CRITERIA: dict[str, Magnitude] = {"l1": Magnitude(1), "l2": Magnitude(2)}


class GroupScorer:
    """Scores groups with one criterion, caching each (weight, dim) reduction across groups."""

    def __init__(self, criterion: str, weights: Mapping[str, torch.Tensor]):
        self.criterion = criterion
        self.weights = weights
        self._per_index: dict[tuple[str, int], np.ndarray] = {}

    def scores(self, members: Sequence[Member], size: int, seed: int = 0) -> np.ndarray:
        """Higher = more important: each member's scores normalized by their mean, summed over members."""
        if self.criterion == "random":
            return np.random.default_rng(seed).random(size)
        crit = CRITERIA[self.criterion]
        total = np.zeros(size)
        for m in members:
            key = (m.param, m.dim)
            if key not in self._per_index:
                self._per_index[key] = crit.per_index(self.weights[m.param], m.dim)
            s = crit.combine(self._per_index[key][m.index_map.all_indices(size)])
            mean = s.mean()
            total += s / mean if mean > 0 else s
        return total


def known_criteria() -> list[str]:
    return ["random", *CRITERIA]
