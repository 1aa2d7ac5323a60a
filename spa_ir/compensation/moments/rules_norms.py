"""Where moments start: normalizations with known statistics or affine parameters (batch norm's running statistics,
layer / group / RMS norm's γ and β)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.fx as fx

from spa_ir.compensation.moments.values import Entry, Stop, f64, make_val, with_extras

if TYPE_CHECKING:
    from spa_ir.compensation.moments.walk import Walk


def _affine(w: Walk, a: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    gamma, beta = w.const_tensor(a.get("weight")), w.const_tensor(a.get("bias"))
    if (a.get("weight") is not None and gamma is None) or (a.get("bias") is not None and beta is None):
        raise Stop("affine parameters are not constants")
    g = f64(gamma).reshape(-1) if gamma is not None else torch.ones(n, dtype=torch.float64)
    b = f64(beta).reshape(-1) if beta is not None else torch.zeros(n, dtype=torch.float64)
    return g, b


def _channel_first(w: Walk, node: fx.Node, a: dict[str, Any], mean: torch.Tensor, var: torch.Tensor) -> Entry:
    """Per-channel moments laid out on dim 1 of the input ([C, 1, ...]), the saved statistics unknown."""
    rank = w.rank(a["input"])
    if rank is None:
        raise Stop("rank of the input unknown")
    tail = (1,) * (rank - 2)
    return with_extras(node, make_val(mean.reshape(-1, *tail), var.reshape(-1, *tail)), "saved statistics")


def batch_norm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Running statistics describe the input: out ~ (β, γ²·rv/(rv+eps)) per channel."""
    rv = w.const_tensor(a.get("running_var"))
    sizes = [t.numel() for t in (w.const_tensor(a.get(k)) for k in ("weight", "bias", "running_var")) if t is not None]
    if not sizes:
        raise Stop("no affine parameters or running statistics give the channel count")
    g, b = _affine(w, a, sizes[0])
    scale = f64(rv) / (f64(rv) + float(a["eps"])) if rv is not None else torch.ones_like(g)
    return _channel_first(w, node, a, b, g * g * scale)


def _per_position(w: Walk) -> None:
    if not w.per_position_norms:
        raise Stop("a per-position norm's γ, β do not give its channels' moments (per_position_norms=False)")


def layer_norm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Per-position normalization taken as per-feature standardization: out ~ (β, γ²)."""
    _per_position(w)
    shape = [int(s) for s in a["normalized_shape"]]
    g, b = _affine(w, a, math.prod(shape))
    return with_extras(node, make_val(b.reshape(shape), (g * g).reshape(shape)), "saved statistics")


def group_norm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    _per_position(w)
    n = int(a["C"]) if "C" in a else None
    gamma = w.const_tensor(a.get("weight"))
    n = n or (gamma.numel() if gamma is not None else None)
    if n is None:
        raise Stop("channel count unknown")
    g, b = _affine(w, a, n)
    return _channel_first(w, node, a, b, g * g)


def rms_norm(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Assumed zero-mean features: out ~ (0, γ²)."""
    _per_position(w)
    shape = [int(s) for s in a["normalized_shape"]]
    g, _ = _affine(w, {"weight": a.get("weight")}, math.prod(shape))
    return make_val(torch.zeros(shape, dtype=torch.float64), (g * g).reshape(shape))
