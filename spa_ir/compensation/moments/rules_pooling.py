"""Pooling and reductions: average pools and means (the mean kept, the variance by the AR(1) pooling factor), max
pools and amax (the expected max of the window's iid copies)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.fx as fx

from spa_ir.compensation.moments.gaussian import adaptive_factor, expect, max_rule, pool_variance_factor
from spa_ir.compensation.moments.rules_elementwise import gauss, ident
from spa_ir.compensation.moments.values import (
    Entry,
    Stop,
    Val,
    make_val,
    norm_dim,
    packet,
    pad_rank,
    strip_leading,
    with_extras,
)

if TYPE_CHECKING:
    from spa_ir.compensation.moments.walk import Walk


def _spatial(a: dict[str, Any], key: str, n: int) -> list[int]:
    v = a[key]
    vs = [int(v)] * n if isinstance(v, int) else [int(s) for s in v]
    return vs * n if len(vs) == 1 else vs


def _pool_dims(p: str) -> int:
    """`aten.max_pool2d_with_indices` -> 2."""
    found = re.search(r"pool(\d)d", p)
    if found is None:
        raise Stop("pooling of unknown dimensionality")
    return int(found.group(1))


def _pooled(w: Walk, arg: Any, x: Val, n: int) -> tuple[int, list[int]]:
    """The rank to pad the moments to and the last `n` dims, the pooled ones."""
    rank = max(w.rank(arg) or 0, strip_leading(x.mean).dim(), n + 1)
    return rank, list(range(rank - n, rank))


def _check_flat(x: Val, rank: int, dims: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    if any(m.shape[d] != 1 for d in dims):
        raise Stop("moments that vary over the pooled positions")
    return m, v


def _size(shape: tuple[int, ...] | None, m: torch.Tensor, d: int) -> int | None:
    """The value's size along d: from its shape, else from moments that vary along d."""
    return shape[d] if shape is not None else (m.shape[d] if m.shape[d] > 1 else None)


def _reduced_dims(a: dict[str, Any], rank: int) -> list[int]:
    """A reduction's dims, normalized and sorted (none given: all)."""
    return sorted({norm_dim(int(d), rank) for d in (a.get("dim") or range(rank))})


def _squeeze_to(t: torch.Tensor, keep: Sequence[int]) -> torch.Tensor:
    """The size-1 dims not in `keep` dropped."""
    return t.reshape([t.shape[d] for d in keep])


def avg_pool(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = packet(node)
    n = _pool_dims(p)
    x = w.val(a["self"])
    rank, dims = _pooled(w, a["self"], x, n)
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    if "adaptive" in p:
        shape = w.shape(a["self"])
        out = _spatial(a, "output_size", n)
        factor = 1.0
        for d, o in zip(dims, out):
            size = _size(shape, m, d)
            if size is None:
                raise Stop("the input's spatial size is unknown (pass example_inputs)")
            if m.shape[d] > 1:
                if o != 1:
                    raise Stop("moments that vary over the pooled positions")
                m, v = m.mean(d, keepdim=True), v.mean(d, keepdim=True)
            factor *= adaptive_factor(size, o)
        return make_val(m, v * factor)
    m, v = _check_flat(x, rank, dims)
    factor = math.prod(pool_variance_factor(k) for k in _spatial(a, "kernel_size", n))
    return make_val(m, v * factor)


def mean(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    rank = w.rank(a["self"])
    if rank is None:
        raise Stop("rank of the input unknown")
    shape = w.shape(a["self"])
    dims = _reduced_dims(a, rank)
    m, v = pad_rank(x.mean, rank), pad_rank(x.var, rank)
    factor = 1.0
    for d in dims:
        size = _size(shape, m, d)
        if size is None:
            raise Stop("the size of a reduced dim is unknown (pass example_inputs)")
        m, v = m.mean(d, keepdim=True), v.mean(d, keepdim=True)
        factor *= pool_variance_factor(size)
    if not a.get("keepdim"):
        keep = [d for d in range(rank) if d not in dims]
        m, v = _squeeze_to(m, keep), _squeeze_to(v, keep)
    return make_val(m, v * factor)


def _max_of(x: Val, k: int) -> Val:
    """Moments of the max of k iid copies: g(max of the Gaussians) when x = g(Gaussian) with g nondecreasing."""
    src, f = gauss(x) if x.monotone else (x, ident)
    mean, var = expect(f, src.mean, src.var, max_rule(k))
    return make_val(mean, var)


def max_pool(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = packet(node)
    n = _pool_dims(p)
    x = w.val(a["self"])
    rank, dims = _pooled(w, a["self"], x, n)
    _check_flat(x, rank, dims)
    if "adaptive" in p:
        shape = w.shape(a["self"])
        if shape is None:
            raise Stop("the input's spatial size is unknown (pass example_inputs)")
        k = math.prod(math.ceil(shape[d] / o) for d, o in zip(dims, _spatial(a, "output_size", n)))
    else:
        k = math.prod(_spatial(a, "kernel_size", n))
    return with_extras(node, _max_of(x, k), "indices")


def amax(w: Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    rank, shape = w.rank(a["self"]), w.shape(a["self"])
    if rank is None or shape is None:
        raise Stop("the input's shape is unknown (pass example_inputs)")
    dims = _reduced_dims(a, rank)
    m, v = _check_flat(x, rank, dims)
    out = _max_of(Val(m, v, x.src, x.fn, x.monotone), math.prod(shape[d] for d in dims))
    if a.get("keepdim"):
        return out
    keep = [d for d in range(rank) if d not in dims]
    return make_val(_squeeze_to(pad_rank(out.mean, rank), keep), _squeeze_to(pad_rank(out.var, rank), keep))
