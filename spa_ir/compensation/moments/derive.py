"""The entry point: walk the graph once, then read each consumer's input moments per input feature (over samples
and positions), or why they are missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.fx as fx
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration.sites import Site
from spa_ir.compensation.moments.values import Propagate, Stop, op_name, per_channel, strip_leading
from spa_ir.compensation.moments.walk import Walk
from spa_ir.core.errors import first_line


@dataclass(frozen=True)
class Moments:
    """Per-feature mean and variance of a consumer's input, over samples and positions."""

    mean: torch.Tensor
    """float64 [F]."""
    var: torch.Tensor
    """float64 [F]."""


@dataclass(frozen=True)
class MomentsReport:
    derived: dict[str, Moments]
    """Consumer weight name -> moments of its input features."""
    missing: dict[str, str]
    """Consumer weight name -> why nothing could be derived (the op and node that stopped it)."""


def _consumer_moments(w: Walk, site: Site) -> Moments:
    x = w.val(site.x)
    shape = tuple(int(s) for s in w.attr(site.weight).shape)
    c = site.consumer
    if c.op == "conv":
        transposed = bool(site.conv.get("transposed", False))
        n = shape[0] if transposed else shape[1] * c.groups
        rank = len(shape)
        mean, var = per_channel(x, 1, rank, n)
    else:
        n = shape[c.in_dim]
        rank = max(strip_leading(x.mean).dim(), 1)
        mean, var = per_channel(x, rank - 1, rank, n)
    if not (torch.isfinite(mean).all() and torch.isfinite(var).all()):
        raise Stop("non-finite moments")
    return Moments(mean.clone(), var.clone())


def meta_inputs(module: ModuleOp) -> list[torch.Tensor]:
    """The model inputs as meta tensors of their IR shapes (a dynamic dim as 1): `example_inputs` for a module."""
    from spa_ir.calibration.data import model_inputs

    return [
        torch.empty([d if d >= 0 else 1 for d in s.shape], dtype=s.dtype, device="meta") for s in model_inputs(module)
    ]


def consumer_input_moments(
    gm: fx.GraphModule,
    params: Mapping[str, torch.Tensor],
    sites: list[Site],
    *,
    example_inputs: Sequence[torch.Tensor] | None = None,
    per_position_norms: bool = True,
) -> MomentsReport:
    """Per-feature input moments of every consumer, derived from the network alone (see the package docstring).

    `params` are read first for a get_attr's tensor (the module's attribute otherwise, e.g. the running
    statistics). `example_inputs` (any device, `meta` too; only shapes and dtypes are read) give the model inputs'
    shapes, which flattens after unpooled maps and adaptive pools need. `per_position_norms=False` starts moments
    at batch norms only: layer / group / RMS norms normalize each position, and their γ, β say little of each
    channel across positions (compensation's stats source: on MiniLM, bias shifts from them measured worse than
    none)."""
    walk = Walk(gm, params, example_inputs, per_position_norms)
    walk.run()
    derived: dict[str, Moments] = {}
    missing: dict[str, str] = {}
    for site in sites:
        try:
            derived[site.weight] = _consumer_moments(walk, site)
        except Propagate as p:
            missing[site.weight] = p.unknown.reason
        except Stop as s:
            missing[site.weight] = f"{op_name(site.y)} (node {site.y.name}): {s}"
        except Exception as e:  # a malformed site must not stop the others
            missing[site.weight] = f"{op_name(site.y)} (node {site.y.name}): failed: {first_line(e, named=True)}"
    return MomentsReport(derived, missing)
