"""Criteria from the loss's gradients on calibration data: first order (Taylor, SNIP), second order
(OBD's diagonal Fisher, GraSP's and CroP's Hessian-gradient product). Each is an elementwise score of every
weight of a member, summed over the channel's slices; the statistics come from spa-collect-stats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spa_ir.calibration import kinds
from spa_ir.ops.spec import FILTER
from spa_ir.pruning.criteria.base import Group, Inputs, Member, per_channel, per_index

Elementwise = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(weight, statistic) -> per-weight score."""


def _first_order(w: np.ndarray, g: np.ndarray) -> np.ndarray:
    return np.abs(w * g)


def _obd(w: np.ndarray, fisher: np.ndarray) -> np.ndarray:
    return 0.5 * np.square(w) * fisher


def _grasp(w: np.ndarray, hg: np.ndarray) -> np.ndarray:
    # GraSP (Wang et al. 2020) removes the weights of highest -θ⊙Hg: as an importance, θ⊙Hg (signed).
    return w * hg


def _crop(w: np.ndarray, hg: np.ndarray) -> np.ndarray:
    return np.abs(w * hg)


@dataclass(frozen=True)
class GradientCriterion:
    """`score(θ, statistic)` per weight over the members (all float weights, or with `outputs_only` the output
    channels of convs and linears, as OBD-C does)."""

    name: str
    kind: str
    score: Elementwise
    outputs_only: bool = False
    default_norm: str = "none"

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({self.kind})

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        out = []
        for m in group.members:
            if not inputs.trainable(m.param):
                continue
            if self.outputs_only and not (m.dim == 0 and inputs.has_role(m.param, FILTER)):
                continue
            key = (self.name, m.param, str(m.dim))
            out.append(per_channel(inputs.cached(key, lambda m=m: self._per_index(inputs, group, m)), m, group.size))  # type: ignore[misc]  # m bound per member
        if not out:
            what = "a conv or linear weight on its output dim" if self.outputs_only else "a float weight"
            raise group.fail(f"{self.name} needs {what} among the group's members")
        return out

    def _per_index(self, inputs: Inputs, group: Group, m: Member) -> np.ndarray:
        stat = inputs.stat(group, m.param, self.kind, self.name)
        return per_index(self.score(inputs.weight(m.param), stat), m.dim)


TAYLOR = GradientCriterion("taylor", kinds.GRAD, _first_order)
"""Molchanov et al. 2019: |θ·∂L/∂θ| (the loss change of removing a weight, to first order)."""
SNIP = GradientCriterion("snip", kinds.GRAD, _first_order)
"""Lee et al. 2019, at initialization: |θ ⊙ g| (connection sensitivity; the same formula as Taylor, meant for
untrained weights)."""
HESSIAN = GradientCriterion("hessian", kinds.FISHER, _obd)
"""OBD (LeCun et al. 1990) with the diagonal empirical Fisher: ½θ²·mean_i (∂ℓ_i/∂θ)², one squared gradient per
sample (not the square of the batch gradient)."""
OBD_C = GradientCriterion("obd-c", kinds.FISHER, _obd, outputs_only=True)
"""OBD on the output channels of convs and linears only (EigenDamage's channel-level OBD, as PruningBench and
Torch-Pruning's OBDCImportance define it; spa's Fisher is the diagonal one of `hessian`)."""
GRASP = GradientCriterion("grasp", kinds.HG, _grasp)
"""GraSP (Wang et al. 2020), at initialization: θ ⊙ Hg, so that pruning keeps the gradient flow."""
CROP = GradientCriterion("crop", kinds.HG, _crop)
"""CroP (Rachwan et al. 2022): |θ ⊙ Hg|, gradient-flow preservation whatever its sign."""
