"""Criteria from the activations of calibration data: feature-map rank (HRank) and the LLM-style input-channel
criteria (Wanda-SP, FLAP), which score the input channels a consumer (conv, linear, matmul) reads. The
statistics come from spa-collect-stats; a member is a consumer's input dim when the store says so."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spa_ir.calibration import kinds
from spa_ir.pruning.criteria.base import Group, Inputs, Member, per_channel


@dataclass(frozen=True)
class FeatureRank:
    """HRank (Lin et al. 2020): the mean rank of each output channel's feature maps; low-rank maps carry little
    information. Scores the output dims of the convs among the members."""

    default_norm: str = "none"
    needs: frozenset[str] = frozenset({kinds.OUT_RANK})

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = [
            per_channel(inputs.stat(group, m.param, kinds.OUT_RANK, "hrank"), m, group.size)
            for m in group.members
            if m.dim == 0 and inputs.stats is not None and inputs.stats.has(m.param, kinds.OUT_RANK)
        ]
        if not out:
            raise group.fail("hrank needs the feature-map ranks of a conv that produces the group's channels")
        return out


def _input_columns(inputs: Inputs, m: Member) -> np.ndarray:
    """The consumer's weight as [input index, everything else] (the member's dim first)."""
    w = inputs.weight(m.param)
    return np.moveaxis(w, m.dim, 0).reshape(w.shape[m.dim], -1)


def _moments(inputs: Inputs, group: Group, m: Member, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per input channel of the consumer: mean and mean square over the calibration rows."""
    count = float(inputs.stat(group, m.param, kinds.IN_COUNT, name).reshape(-1)[0])
    mean = inputs.stat(group, m.param, kinds.IN_SUM, name) / max(count, 1.0)
    square = inputs.stat(group, m.param, kinds.IN_SQ, name) / max(count, 1.0)
    return mean, square


@dataclass(frozen=True)
class InputChannelCriterion:
    """Scores the group's channels where a consumer reads them: `wanda-sp` (An et al. 2024, Wanda's |W|·‖X‖
    per structured input channel) or `flap` (FLAP, An et al. 2024: the fluctuation of each input channel over
    the calibration samples times the squared norm of its weight column)."""

    name: str
    default_norm: str = "none"

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({kinds.IN_SUM, kinds.IN_SQ, kinds.IN_COUNT})

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = []
        for m in group.members:
            consumer = inputs.consumer(m)
            if consumer is None or consumer.groups != 1:
                continue
            key = (self.name, m.param, str(m.dim))
            out.append(per_channel(inputs.cached(key, lambda m=m: self._per_index(inputs, group, m)), m, group.size))  # type: ignore[misc]  # m bound per member
        if not out:
            raise group.fail(f"{self.name} needs a conv, linear or matmul that reads the group's channels as inputs")
        return out

    def _per_index(self, inputs: Inputs, group: Group, m: Member) -> np.ndarray:
        cols = _input_columns(inputs, m)
        mean, square = _moments(inputs, group, m, self.name)
        if self.name == "wanda-sp":
            return np.abs(cols).sum(axis=1) * np.sqrt(square)
        variance = np.maximum(square - np.square(mean), 0.0)
        return variance * np.square(cols).sum(axis=1)


WANDA_SP = InputChannelCriterion("wanda-sp")
FLAP = InputChannelCriterion("flap")
