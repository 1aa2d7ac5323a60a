"""Data-free criteria: the weights alone say which channels matter (PruningBench's magnitude family)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from spa_ir.ops.spec import BN_SCALE
from spa_ir.pruning.criteria.base import Group, Inputs, Member, channel_rows, per_channel, per_index


@dataclass(frozen=True)
class Magnitude:
    """The L1 (p=1) or L2 (p=2) norm of each channel's slices over every member: |w| (or w²) summed over the
    other dims, then over the channel's indices (square root for L2)."""

    p: int
    default_norm: str = "none"
    needs: frozenset[str] = frozenset()

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = []
        for m in group.members:
            key = ("magnitude", str(self.p), m.param, str(m.dim))
            idx = inputs.cached(key, lambda m=m: self._per_index(inputs, m))  # type: ignore[misc]  # m bound per member
            s = per_channel(idx, m, group.size)
            out.append(s if self.p == 1 else np.sqrt(s))
        return out

    def _per_index(self, inputs: Inputs, m: Member) -> np.ndarray:
        w = inputs.weight(m.param)
        return per_index(np.abs(w) if self.p == 1 else np.square(w), m.dim)


@dataclass(frozen=True)
class BNScale:
    """Network slimming (Liu et al. 2017): |γ| of the BatchNorm weights among the members; a group without one
    is an error, not a silent fallback to another criterion."""

    default_norm: str = "none"
    needs: frozenset[str] = frozenset()

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = [
            per_channel(np.abs(inputs.weight(m.param)), m, group.size)
            for m in group.members
            if inputs.has_role(m.param, BN_SCALE)
        ]
        if not out:
            raise group.fail("bn-scale needs a BatchNorm weight among the group's members, and it has none")
        return out


@dataclass(frozen=True)
class GeometricMedian:
    """FPGM (He et al. 2019): a channel close to the geometric median of its layer's channels is replaceable by
    the others: score = Σ_j ‖w_c − w_j‖ over the member's channels (members with one element per index, like
    norms and biases, say nothing)."""

    default_norm: str = "none"
    needs: frozenset[str] = frozenset()

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = []
        for m in group.members:
            w = inputs.weight(m.param)
            if w.ndim < 2:
                continue
            rows = channel_rows(w, m, group.size)
            gram = rows @ rows.T
            sq = np.diag(gram)
            dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0))
            out.append(dist.sum(axis=1))
        if not out:
            raise group.fail("fpgm needs a member with multi-element channel slices (a conv or linear weight)")
        return out


@dataclass(frozen=True)
class Random:
    """Uniform scores from the seed and the group's name (a baseline: every group gets its own stream)."""

    default_norm: str = "none"
    needs: frozenset[str] = frozenset()

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        seed = inputs.seed * 1_000_003 + zlib.crc32(group.name.encode())
        return [np.random.default_rng(seed).random(group.size)]
