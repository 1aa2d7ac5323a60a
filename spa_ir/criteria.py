"""Importance criteria: per-channel scores of a group, aggregated over its members.

A criterion scores one member slice at a time (`slice_scores`: a [channels, ...] view of the weight
with the group's channels first); the group score is the sum over members of each member's scores
normalized by that member's mean, so that a large layer does not drown a small one (DepGraph's group
aggregation). Register new criteria in `CRITERIA`; data-driven ones (Taylor, SNIP, ...) will add a
calibration hook in a later issue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from spa_ir.groups import IndexMap

SliceScore = Callable[[torch.Tensor], np.ndarray]
"""[channels, n] float tensor (each channel's weights, flattened) -> [channels] scores."""


@dataclass(frozen=True)
class Member:
    param: str
    dim: int
    index_map: IndexMap


def channel_slices(weight: torch.Tensor, dim: int, m: IndexMap, size: int) -> torch.Tensor:
    """The weights of each group channel in one member: [size, everything else]."""
    idx = torch.from_numpy(m.all_indices(size))  # [size, k]
    moved = weight.detach().float().movedim(dim, 0)  # [n, ...]
    return moved[idx.reshape(-1)].reshape(size, -1)


def l1(slices: torch.Tensor) -> np.ndarray:
    return slices.abs().sum(dim=1).numpy()


def l2(slices: torch.Tensor) -> np.ndarray:
    return slices.pow(2).sum(dim=1).sqrt().numpy()


CRITERIA: dict[str, SliceScore] = {"l1": l1, "l2": l2}


def group_scores(criterion: str, members: Sequence[Member], weights, size: int, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Scores of one group's channels (higher = more important)."""
    if criterion == "random":
        return np.random.default_rng(seed).random(size)
    score = CRITERIA[criterion]
    total = np.zeros(size)
    for m in members:
        s = score(channel_slices(weights[m.param], m.dim, m.index_map, size))
        mean = s.mean()
        total += s / mean if mean > 0 else s
    return total


def known_criteria() -> list[str]:
    return ["random", *CRITERIA]
