"""The optimal-brain-surgeon algebra of structured removal, in float64 (../shared/notes/research.md, "OBSPA as
this project formulates it").

A consumer computes y = W x + b over input features x (a conv's features are its unfolded patches: the columns
of weight.reshape(O, -1)). Its augmented input second-moment matrix is H = E[x̃ x̃ᵀ] with x̃ = [x; 1], so the
last row and column hold the features' means and the bias is the weight of the constant feature. Removing the
features R and refitting the kept ones K (the bias among them) to keep E‖W x̃ − W' x̃_K‖² minimal is a least-squares
problem with the closed form

    W'_K = W_K + W_R · H_{R,K} · H_{K,K}⁻¹          (the OBS update of all rows at once)

and the least loss it leaves, ½·tr(W_R (H⁻¹_{R,R})⁻¹ W_Rᵀ), is the OBS saliency of removing R. Damping adds
λ·mean(diag H) to the features' diagonal (never to the constant's), which keeps H_{K,K} invertible when features
are collinear or never active.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def feature_blocks(indices: np.ndarray, kernel_positions: int) -> np.ndarray:
    """[channels, block]: each channel's features in a consumer's matrix, from its indices along the input dim
    ([channels, k], a member's index map) and the kernel positions each index spans (a conv's feature of index
    i and position j is i·kk + j)."""
    kk = kernel_positions
    return (indices[:, :, None] * kk + np.arange(kk)[None, None, :]).reshape(indices.shape[0], -1)


def augmented(second: torch.Tensor, total: torch.Tensor, rows: float) -> torch.Tensor:
    """H̃ = [[Σxxᵀ, Σx], [Σxᵀ, n]] / n from the sums over n rows: [F+1, F+1], float64."""
    f = second.shape[0]
    h = torch.empty(f + 1, f + 1, dtype=torch.float64, device=second.device)
    h[:f, :f] = second.to(torch.float64)
    h[:f, f] = h[f, :f] = total.to(torch.float64)
    h[f, f] = rows
    return h / max(rows, 1.0)


def from_moments(mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """H̃ of independent features with these means and variances: diag(σ²) + μ̃μ̃ᵀ with μ̃ = [μ; 1]."""
    mu = torch.cat([mean.to(torch.float64), torch.ones(1, dtype=torch.float64, device=mean.device)])
    h = torch.outer(mu, mu)
    f = mean.shape[0]
    h[range(f), range(f)] += var.to(torch.float64).clamp(min=0)
    return h


def identity(features: int) -> torch.Tensor:
    """H̃ that knows nothing: unit, uncorrelated, zero-mean features (the update is plain removal)."""
    return torch.eye(features + 1, dtype=torch.float64)


def damped(h: torch.Tensor, damp: float) -> torch.Tensor:
    """H̃ + λ·mean(diag H)·I on the features (the constant's entry untouched)."""
    f = h.shape[0] - 1
    out = h.clone()
    diag = h.diagonal()[:f]
    scale = float(diag.mean()) if f else 0.0
    out[range(f), range(f)] += damp * (scale if scale > 0 else 1.0)
    return out


def update(w: torch.Tensor, h: torch.Tensor, removed: torch.Tensor, *, damp: float = 0.0) -> torch.Tensor:
    """The augmented weight [O, F+1] (bias last) refitted on the kept features after `removed` go (the removed
    columns come back zero): W'_K = W_K + W_R H_RK (H_KK + D)⁻¹, the OBS update with the damping D, which is the
    least-squares fit with a ridge pull towards the weights it had: (W·H_{:,K} + W_K·D)(H_KK + D)⁻¹.
    (Fitting the original model's outputs from the prefix's inputs instead, with their cross moments, measured
    worse: MiniLM mean cosine 0.900 against 0.916, MNIST ResNet / VGG 96.7% / 96.9% against 96.9% / 97.2%.)"""
    f1 = h.shape[0]
    gone = torch.zeros(f1, dtype=torch.bool, device=h.device)
    gone[removed.to(h.device)] = True
    kept = torch.nonzero(~gone).flatten()
    w = w.to(torch.float64)
    ridge = damped(h, damp).diagonal() - h.diagonal()
    a = h[kept][:, kept] + torch.diag(ridge[kept])
    b = w @ h[:, kept] + w[:, kept] * ridge[kept]
    out = torch.zeros_like(w)
    out[:, kept] = torch.linalg.solve(a, b.T).T  # B A⁻¹, as a solve: A Xᵀ = Bᵀ (A symmetric)
    return out


def saliencies(w: torch.Tensor, h: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """The OBS saliency ½·tr(W_B (H⁻¹_{B,B})⁻¹ W_Bᵀ) of removing each block B of features alone (a row of `blocks`
    [channels, block]: a channel's kernel positions, its flattened positions), from one inverse of H̃. `w` is
    [O, F+1]."""
    return block_costs(w.to(torch.float64), torch.linalg.inv(h), blocks)


def loss(w: torch.Tensor, w_new: torch.Tensor, h: torch.Tensor) -> float:
    """½·E‖(W − W') x̃‖² = ½·tr((W − W') H̃ (W − W')ᵀ): what a refit costs on the data H̃ came from."""
    d = (w - w_new).to(torch.float64)
    return 0.5 * float(torch.trace(d @ h @ d.T))


def greedy(
    ws: Sequence[torch.Tensor], hs: Sequence[torch.Tensor], blocks: Sequence[Sequence[torch.Tensor]], count: int
) -> list[int]:
    """OBC-style selection of `count` channels: remove, one at a time, the channel whose removal costs least
    summed over the consumers under their current weights and H⁻¹, then apply its OBS update to each consumer's
    weights and downdate each H⁻¹ (the removed features' block eliminated). `ws[i]` is consumer i's augmented
    weight [O, F+1], `hs[i]` its H̃, `blocks[i][k]` channel k's features in it. Returns the channels in the order
    they go (the first `count` of the greedy order)."""
    weights = [w.to(torch.float64).clone() for w in ws]
    inverses = [torch.linalg.inv(h) for h in hs]
    stacked = [torch.stack(list(bl)) for bl in blocks]  # [channels, block] per consumer
    size = stacked[0].shape[0]
    left = torch.ones(size, dtype=torch.bool, device=weights[0].device)
    order: list[int] = []
    for _ in range(min(count, size)):
        candidates = torch.nonzero(left).flatten()
        cost = torch.zeros(len(candidates), dtype=torch.float64, device=left.device)
        for w, h_inv, b in zip(weights, inverses, stacked):
            cost += block_costs(w, h_inv, b[candidates])
        best = int(candidates[int(torch.argmin(cost))])
        for i, (w, h_inv, b) in enumerate(zip(weights, inverses, stacked)):
            f = b[best]
            step = torch.linalg.solve(h_inv[f][:, f], h_inv[f])  # (H⁻¹_BB)⁻¹ H⁻¹_B,:
            weights[i] = w - w[:, f] @ step
            inverses[i] = h_inv - h_inv[:, f] @ step
        left[best] = False
        order.append(best)
    return order


def block_costs(w: torch.Tensor, h_inv: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """½·tr(W_B (H⁻¹_{B,B})⁻¹ W_Bᵀ) for every row B of `blocks` [channels, block] at once."""
    hb = h_inv[blocks[:, :, None], blocks[:, None, :]]  # [C, b, b]
    wb = w[:, blocks].permute(1, 2, 0)  # [C, b, O]
    return 0.5 * (wb * torch.linalg.solve(hb, wb)).sum(dim=(1, 2))
