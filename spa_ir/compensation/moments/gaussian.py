"""Gaussian integrals the rules need: moments of a function of a Gaussian (Gauss-Hermite quadrature), of the max of
k iid Gaussians (a grid), of a clipped Gaussian (closed form), and the share of variance average pooling keeps."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from spa_ir.compensation.moments.values import Stop, pad_rank, strip_leading

POOL_CORRELATION = 0.35
"""Neighbour correlation r of the AR(1) model average pooling's variance follows (see the package docstring)."""

QUADRATURE_POINTS = 64
MAX_GRID = 1201
"""Points of the grid (on [-8, 8] standard deviations) the expected max of a window is integrated on."""

Quadrature = tuple[torch.Tensor, torch.Tensor]
"""Standard-normal nodes and weights of a quadrature: E[g(Z)] = Σ w_i g(x_i)."""


def _phi(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _hermite() -> Quadrature:
    """Standard-normal nodes and weights: E[g(Z)] = Σ w_i g(x_i)."""
    x, w = np.polynomial.hermite.hermgauss(QUADRATURE_POINTS)
    return torch.from_numpy(x * math.sqrt(2.0)), torch.from_numpy(w / math.sqrt(math.pi))


_GH = _hermite()


def max_rule(k: int) -> Quadrature:
    """Nodes and weights for E[g(M)], M the max of k iid standard normals (density k·φ·Φ^(k-1) on a grid)."""
    x = torch.linspace(-8.0, 8.0, MAX_GRID, dtype=torch.float64)
    w = k * _phi(x) * torch.special.ndtr(x).pow(k - 1)
    return x, w / w.sum()


def expect(
    fn: Callable[[torch.Tensor], torch.Tensor],
    mean: torch.Tensor,
    var: torch.Tensor,
    rule: Quadrature = _GH,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of fn(X), X ~ N(mean, var) elementwise, by the quadrature rule (standard-normal nodes)."""
    x, w = rule
    pad = 8  # room for constants of any rank the chain broadcasts with, below the nodes' leading dim
    m, v = pad_rank(mean, pad), pad_rank(var, pad)
    shape = (len(x),) + (1,) * pad
    z = m + v.sqrt() * x.view(shape)
    y = fn(z).to(torch.float64)
    ws = w.view((len(w),) + (1,) * (y.dim() - 1))
    first = (ws * y).sum(0)
    second = (ws * y * y).sum(0)
    out_var = (second - first * first).clamp_min(0)
    if not (torch.isfinite(first).all() and torch.isfinite(out_var).all()):
        raise Stop("non-finite moments")
    return strip_leading(first), strip_leading(out_var)


def clipped(mean: torch.Tensor, var: torch.Tensor, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of clamp(X, lo, hi), X ~ N(mean, var): the clipped Gaussian in closed form."""
    s = var.clamp_min(0).sqrt()
    tiny = s <= 1e-12 * (1 + mean.abs())
    ss = torch.where(tiny, torch.ones_like(s), s)
    p_lo = p_hi = d_lo = d_hi = t_lo = t_hi = torch.zeros_like(mean)
    ones = torch.ones_like(mean)
    e1 = torch.zeros_like(mean)
    e2 = torch.zeros_like(mean)
    if math.isfinite(lo):
        a = (lo - mean) / ss
        p_lo, d_lo, t_lo = torch.special.ndtr(a), _phi(a), a * _phi(a)
        e1, e2 = e1 + lo * p_lo, e2 + lo * lo * p_lo
    if math.isfinite(hi):
        b = (hi - mean) / ss
        q, d_hi, t_hi = torch.special.ndtr(b), _phi(b), b * _phi(b)
        p_hi = ones - q
        e1, e2 = e1 + hi * p_hi, e2 + hi * hi * p_hi
    inside = ones - p_lo - p_hi
    e1 = e1 + mean * inside + ss * (d_lo - d_hi)
    e2 = e2 + mean * mean * inside + 2 * mean * ss * (d_lo - d_hi) + ss * ss * (inside + t_lo - t_hi)
    out_var = (e2 - e1 * e1).clamp_min(0)
    det = mean.clamp(lo, hi)
    return torch.where(tiny, det, e1), torch.where(tiny, torch.zeros_like(det), out_var)


def pool_variance_factor(n: int, r: float = POOL_CORRELATION) -> float:
    """The share of the variance an average of n neighbours keeps when their correlation at distance j is r^j."""
    if n <= 1:
        return 1.0
    return (1 + 2 * sum((1 - j / n) * r**j for j in range(1, n))) / n


def adaptive_factor(size: int, out: int) -> float:
    """f_r averaged over an adaptive pool's windows along one dim (their sizes differ when out does not divide)."""
    windows = [math.ceil((i + 1) * size / out) - math.floor(i * size / out) for i in range(out)]
    return sum(pool_variance_factor(n) for n in windows) / out
