"""What a criterion sees of a group, and how member scores become the group's score.

A criterion scores a group's channels from its members (each a weight, one of its dims and the index map of
the group's channels in that dim). Member-level criteria (magnitudes, gradients, activations) give one score
vector per member that has something to say; group-level ones (random, thinet, cp) give one vector for the
group. The vectors are normalized by their mean magnitude (so a large layer does not drown a small one:
DepGraph's group aggregation), combined by `agg`, and the group's vector is normalized by `norm`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from spa_ir.channels.groups import IndexMap
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import Site

if TYPE_CHECKING:
    from spa_ir.calibration.store import Consumer, StatsStore


@dataclass(frozen=True)
class Member:
    param: str
    dim: int
    index_map: IndexMap


@dataclass(frozen=True)
class Group:
    name: str
    size: int
    members: tuple[Member, ...]
    site: Site
    """Where the group is, for messages: its first member's op."""

    def fail(self, message: str) -> SpaError:
        return SpaError(f"group @{self.name} ({self.site}): {message}")


@dataclass
class Inputs:
    """Everything criteria read: the weights, the roles ops read them in, the statistics store, the seed."""

    weights: Mapping[str, torch.Tensor]
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Weight name -> its roles (spa_ir/ops/spec.py: FILTER, BN_SCALE), from spa_ir.ops.registry.weight_roles."""
    stats: StatsStore | None = None
    seed: int = 0
    buffers: frozenset[str] = frozenset()
    """Weights that are buffers (running statistics): no gradient, no parameter."""
    damp: float = 0.01
    """obspa's damping of H (λ·mean(diag H) added to its diagonal)."""
    _cache: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)

    def weight(self, name: str) -> np.ndarray:
        """The weight as float64 numpy (single-threaded: these small reductions ran 10x slower in torch's pool)."""
        return self.cached(("weight", name), lambda: self.weights[name].detach().double().numpy())

    def trainable(self, name: str) -> bool:
        """A parameter the loss has a gradient for (not a buffer, a float tensor)."""
        return name not in self.buffers and self.weights[name].is_floating_point()

    def cached(self, key: tuple[str, ...], compute: Callable[[], np.ndarray]) -> np.ndarray:
        """One computation per key across all groups (a weight in many groups is reduced once)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def stat(self, group: Group, weight: str, kind: str, criterion: str) -> np.ndarray:
        if self.stats is None or not self.stats.has(weight, kind):
            raise group.fail(
                f"{criterion} needs the statistic '{weight}:{kind}', which the statistics store does not have: "
                f"run spa-collect-stats{{criterion={criterion}}} with calibration data first"
            )
        stats = self.stats
        return self.cached(("stat", weight, kind), lambda: stats.get(weight, kind).double().numpy())

    def consumer(self, member: Member) -> Consumer | None:
        """The store's record of the op reading activations through this member's weight, when the member is
        that op's input-channel dim."""
        info = self.stats.consumer(member.param) if self.stats is not None else None
        return info if info is not None and info.in_dim == member.dim else None

    def has_role(self, param: str, role: str) -> bool:
        return role in self.roles.get(param, frozenset())


class Criterion(Protocol):
    @property
    def needs(self) -> frozenset[str]:
        """The statistic kinds (spa_ir/calibration/kinds.py) spa-collect-stats must collect for it."""
        ...

    @property
    def default_norm(self) -> str:
        """The `norm` it applies when the user names none."""
        ...

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        """Per-channel score vectors (higher = more important), one per member that has one, or one for the group.
        An empty list is an error (the criterion has nothing to say about this group)."""
        ...


def per_index(values: np.ndarray, dim: int) -> np.ndarray:
    """An elementwise score tensor summed over every dim but `dim`."""
    other = tuple(d for d in range(values.ndim) if d != dim)
    return values.sum(axis=other) if other else values


def per_channel(index_scores: np.ndarray, member: Member, size: int) -> np.ndarray:
    """Each channel's indices (the member's index map) summed: [size]."""
    return index_scores[member.index_map.all_indices(size)].sum(axis=1)


def channel_rows(weight: np.ndarray, member: Member, size: int) -> np.ndarray:
    """[size, everything else]: channel k's slices of the weight along the member's dim, flattened."""
    moved = np.moveaxis(weight, member.dim, 0)
    return moved[member.index_map.all_indices(size)].reshape(size, -1)


AGGREGATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sum": lambda v: v.sum(axis=0),
    "mean": lambda v: v.mean(axis=0),
    "max": lambda v: v.max(axis=0),
    "prod": lambda v: v.prod(axis=0),
    "first": lambda v: v[0],
}


def _lamp(v: np.ndarray) -> np.ndarray:
    """LAMP (Lee et al. 2021) on magnitudes: v_i² / Σ_{v_j >= v_i} v_j², so the smallest of every group is
    comparable across groups."""
    sq = np.square(v)
    order = np.argsort(sq, kind="stable")
    tail = np.cumsum(sq[order][::-1])[::-1]
    out = np.empty_like(sq)
    out[order] = np.divide(sq[order], tail, out=np.zeros_like(tail), where=tail > 0)
    return out


def _scaled(v: np.ndarray, by: float) -> np.ndarray:
    return v / by if by != 0 else v


NORMALIZATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda v: v,
    "mean": lambda v: _scaled(v, float(v.mean())),
    "max": lambda v: _scaled(v, float(v.max())),
    "sum": lambda v: _scaled(v, float(v.sum())),
    "standard": lambda v: (v - v.mean()) / (v.std() + 1e-12),
    "lamp": _lamp,
}


def mean_normalized(v: np.ndarray) -> np.ndarray:
    """A member's vector over its mean magnitude (signed criteria like grasp keep their sign)."""
    return _scaled(v, float(np.abs(v).mean()))


def group_score(vectors: list[np.ndarray], agg: str, norm: str) -> np.ndarray:
    stacked = np.stack([mean_normalized(v) for v in vectors])
    return NORMALIZATIONS[norm](AGGREGATIONS[agg](stacked))
