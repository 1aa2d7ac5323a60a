"""Criteria that choose channels so the next layer's input is best reconstructed without them: ThiNet (greedy),
channel pruning by LASSO (He et al. 2017), and OBSPA's optimal-brain-surgeon saliency.

ThiNet and LASSO work on the Gram matrix of the channels' contributions to the consumers' outputs: for a consumer
y = Σ_c W_c x_c, G[c, d] = E[(W_c x_c)·(W_d x_d)], computed from the weight and the consumer's input second-moment
matrix (IN_COV). Removing a set S changes the output by Σ_{c∈S} W_c x_c, whose mean square is 1_Sᵀ G 1_S. The
order in which channels leave is the ranking. OBSPA scores a channel by the error left after the kept weights
are refitted (spa-obspa-compensate does the refit)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spa_ir.calibration import kinds
from spa_ir.compensation import obs
from spa_ir.pruning.criteria.base import Group, Inputs, Member, channel_rows


def contribution_gram(inputs: Inputs, group: Group, m: Member, name: str) -> np.ndarray:
    """G over the group's channels for one consumer member (the channels' indices in its input dim summed)."""
    w = inputs.weight(m.param)
    cols = np.moveaxis(w, m.dim, 0)  # [C, O, kernel...] for a conv (dim 1), [C, O] for a linear or x @ W
    c = cols.shape[0]
    if m.dim == 0:  # x @ W: W is [C, O]
        wf = cols.reshape(c, -1, 1)
    else:
        wf = np.moveaxis(w.reshape(w.shape[0], c, -1), 0, 1)  # [C, O, K], K = kernel positions
    k = wf.shape[2]
    count = float(inputs.stat(group, m.param, kinds.IN_COV_COUNT, name).reshape(-1)[0])
    cov = inputs.stat(group, m.param, kinds.IN_COV, name).reshape(c, k, c, k) / max(count, 1.0)
    gram = np.einsum("aok,bol,akbl->ab", wf, wf, cov, optimize=True)
    idx = m.index_map.all_indices(group.size)
    return gram[idx[:, :, None, None], idx[None, None, :, :]].sum(axis=(1, 3))


def group_gram(inputs: Inputs, group: Group, name: str) -> np.ndarray:
    grams = [
        contribution_gram(inputs, group, m, name)
        for m in group.members
        if (c := inputs.consumer(m)) is not None and c.groups == 1
    ]
    if not grams:
        raise group.fail(f"{name} needs a conv, linear or matmul that reads the group's channels as inputs")
    return np.sum(grams, axis=0)


def rank_by_removal_order(order: list[int], size: int) -> np.ndarray:
    """Scores from a removal order: the first channel removed scores lowest."""
    scores = np.empty(size)
    scores[np.asarray(order, dtype=np.int64)] = np.arange(1, size + 1, dtype=np.float64)
    return scores


def thinet_order(gram: np.ndarray) -> list[int]:
    """ThiNet (Luo et al. 2017): remove, one at a time, the channel whose removal adds least to the
    reconstruction error 1_Sᵀ G 1_S of the removed set S."""
    size = gram.shape[0]
    cross = np.zeros(size)  # Σ_{s∈S} G[s, c]
    left = np.ones(size, dtype=bool)
    order = []
    for _ in range(size):
        increase = np.where(left, 2 * cross + np.diag(gram), np.inf)
        c = int(np.argmin(increase))
        order.append(c)
        left[c] = False
        cross += gram[c]
    return order


def lasso_order(gram: np.ndarray, steps: int = 40, iterations: int = 200) -> list[int]:
    """Channel selection by LASSO (He et al. 2017): min_β (β−1)ᵀG(β−1) + λ‖β‖₁ along a growing λ (FISTA,
    warm-started); a channel leaves when its β reaches zero. Channels still kept at the largest λ leave in
    order of |β|."""
    size = gram.shape[0]
    lipschitz = 2 * float(np.linalg.eigvalsh(gram)[-1]) + 1e-12
    lam_max = 2 * float(np.abs(gram.sum(axis=1)).max()) + 1e-12  # β = 0 is optimal from here on
    beta = np.ones(size)
    dropped_at = np.full(size, np.inf)
    for step, lam in enumerate(np.geomspace(lam_max * 1e-4, lam_max, steps)):
        z, prev, t = beta.copy(), beta.copy(), 1.0
        for _ in range(iterations):
            grad = 2 * gram @ (z - 1)
            nxt = z - grad / lipschitz
            nxt = np.sign(nxt) * np.maximum(np.abs(nxt) - lam / lipschitz, 0.0)
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            z = nxt + (t - 1) / t_next * (nxt - prev)
            prev, t = nxt, t_next
        beta = prev
        newly = (beta == 0) & np.isinf(dropped_at)
        dropped_at[newly] = step
    return sorted(range(size), key=lambda c: (dropped_at[c], abs(beta[c])))


@dataclass(frozen=True)
class Reconstruction:
    name: str
    default_norm: str = "none"
    needs: frozenset[str] = frozenset({kinds.IN_COV, kinds.IN_COV_COUNT})

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        gram = group_gram(inputs, group, self.name)
        order = thinet_order(gram) if self.name == "thinet" else lasso_order(gram)
        return [rank_by_removal_order(order, group.size)]


THINET = Reconstruction("thinet")
CP = Reconstruction("cp")


def consumer_moments(inputs: Inputs, group: Group, m: Member, features: int, kk: int) -> torch.Tensor:
    """H̃ of a consumer's inputs from the store: collected (IN_COV with its row sums), analytic per-channel
    moments of independent features (IN_SUM / IN_SQ / IN_COUNT, source=stats), else the identity."""
    stats = inputs.stats
    if stats is not None and stats.has(m.param, kinds.IN_COV) and stats.has(m.param, kinds.IN_ROW_SUM):
        n = float(stats.get(m.param, kinds.IN_COV_COUNT).reshape(-1)[0])
        return obs.augmented(stats.get(m.param, kinds.IN_COV), stats.get(m.param, kinds.IN_ROW_SUM), n)
    if stats is not None and all(stats.has(m.param, k) for k in (kinds.IN_SUM, kinds.IN_SQ, kinds.IN_COUNT)):
        n = float(stats.get(m.param, kinds.IN_COUNT).reshape(-1)[0])
        mean = stats.get(m.param, kinds.IN_SUM) / n
        var = stats.get(m.param, kinds.IN_SQ) / n - mean.pow(2)
        return obs.from_moments(mean.repeat_interleave(kk), var.repeat_interleave(kk))
    return obs.identity(features)


def _inverse(inputs: Inputs, group: Group, m: Member, features: int, kk: int) -> np.ndarray:
    """The damped H̃⁻¹ of a consumer, inverted once however many groups it reads (DenseNet's concatenations)."""
    return inputs.cached(
        ("obspa H inverse", m.param),
        lambda: torch.linalg.inv(obs.damped(consumer_moments(inputs, group, m, features, kk), inputs.damp)).numpy(),
    )


@dataclass(frozen=True)
class Obspa:
    """OBSPA's saliency: the least output error removing a channel leaves once the kept weights are refitted,
    ½·tr(W_B (H̃⁻¹_{B,B})⁻¹ W_Bᵀ) over the channel's features B, summed over the consumers that read the group
    (compensation/obs.py). H̃ is whatever the store holds for the source the pipeline chose (collected, analytic,
    or the identity). A group no weight reads as inputs (q·kᵀ head dims) has no refit: its score is the identity
    source's, ½‖slices‖² of its members."""

    name: str = "obspa"
    default_norm: str = "none"
    needs: frozenset[str] = frozenset({kinds.IN_COV, kinds.IN_COV_COUNT, kinds.IN_ROW_SUM})

    def scores(self, inputs: Inputs, group: Group) -> list[np.ndarray]:
        total = np.zeros(group.size)
        read = False
        for m in group.members:
            c = inputs.consumer(m)
            if c is None or c.groups != 1 or (c.op == "conv" and c.in_dim != 1):
                continue
            w = torch.from_numpy(inputs.weight(m.param))
            matrix = w.T if c.op == "matmul" else w.reshape(w.shape[0], -1)
            kk = int(np.prod(c.kernel)) if c.op == "conv" else 1
            inverse = _inverse(inputs, group, m, matrix.shape[1], kk)
            augmented = torch.cat([matrix, torch.zeros(matrix.shape[0], 1, dtype=matrix.dtype)], dim=1)
            blocks = torch.from_numpy(obs.feature_blocks(m.index_map.all_indices(group.size), kk))
            total += obs.block_costs(augmented.to(torch.float64), torch.from_numpy(inverse), blocks).numpy()
            read = True
        if not read:
            for m in group.members:
                total += 0.5 * np.square(channel_rows(inputs.weight(m.param), m, group.size)).sum(axis=1)
        return [total]


OBSPA = Obspa()
