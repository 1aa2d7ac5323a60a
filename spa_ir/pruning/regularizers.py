"""Group-sparsity regularizers for a user's own training loop ("any time: during training").

Each regularizer is built once from the channel analysis of a Program (spa-propagate-channels and spa-form-groups,
run on a copy of its IR): every prunable group channel becomes the set of parameter entries that removing it removes,
in every member. `penalty(module)` reads those entries from the module's own parameters by their names (the emitted
module and the model the Program was imported from share the names), so the term is differentiable with respect to
them: add it to the loss. A parameter entry reached through several members of one group channel (a square weight
that both produces and consumes a residual stream holds channel k in row k and column k) is counted once in that
channel; the same weight under two names of one module (tied weights) is one parameter. Frozen groups are left out:
nothing can remove their channels, so nothing should push them towards zero.

- `GroupLasso`: strength * sum over group channels of the L2 norm of the channel's entries (PruningBench's GroupLASSO).
- `GroupNorm`: DepGraph's group-norm sparsity: strength/2 * sum of gamma_k * ||channel k||^2, gamma_k = 2^(alpha *
  (max - n_k) / (max - min)) over the group's channel norms n_k (constant in the gradient): weak channels are pushed
  up to 2^alpha times harder, as Torch-Pruning's GroupNormPruner.regularize.
- `GrowingReg`: Wang et al.'s growing regularization: 1/2 * sum of reg_k * ||channel k||^2, and `update(module)`
  raises each reg_k by delta scaled to [0, 1] by how weak channel k is (the weakest by delta, the strongest not at
  all), as Torch-Pruning's GrowingRegPruner.update_reg; `limit` caps reg_k.
- `BNScaleL1`: network slimming: strength * sum |gamma| over the BatchNorm weights in the groups.

    reg = GroupLasso(program, strength=1e-4)        # or GroupLasso(model, example_inputs=[x])
    model = api.to_torch(program)                   # or the nn.Module the program came from
    loss = F.cross_entropy(model(x), y) + reg.penalty(model)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program


@dataclass(frozen=True, eq=False)
class Slice:
    """One member of a group: channel k of the group is index row `indices[k]` of dim `dim` of weight `param`."""

    param: str
    dim: int
    indices: torch.Tensor  # [size, entries per channel], int64


@dataclass(frozen=True, eq=False)
class ChannelGroup:
    """A prunable group as the regularizers see it: its name (`@g2`), channel count and members."""

    name: str
    size: int
    slices: tuple[Slice, ...]


def channel_groups(
    source: Program | torch.nn.Module, example_inputs: Sequence[Any] | None = None
) -> list[ChannelGroup]:
    """The prunable groups of a Program (analysed on a copy of its IR; groups already formed are reused), or of an
    nn.Module imported with `example_inputs`."""
    if isinstance(source, torch.nn.Module):
        if example_inputs is None:
            raise SpaError("a module's groups need example_inputs to capture it (or pass its Program)")
        from spa_ir.api import import_torch

        program = import_torch(source, example_inputs)
    else:
        program = source
    from spa_ir.channels.annotations import group_ops

    if not group_ops(program.module):
        from spa.passes import parse_pipeline

        program = Program(program.module.clone(), program.weights, program.source)
        program.run(parse_pipeline("spa-propagate-channels,spa-form-groups"))
    return _prunable(program)


def _prunable(program: Program) -> list[ChannelGroup]:
    from spa_ir.channels.annotations import group_ops
    from spa_ir.channels.groups import from_member_attr

    groups = []
    for op in group_ops(program.module):
        if op.frozen:
            continue
        if op.slices is not None:  # (expert, neuron) pairs: a channel is entries of one expert's slice, not of a dim
            raise SpaError(
                f"group @{op.sym_name.data} holds experts' neurons per expert (spa_ir/ops/routing.py), which the "
                "regularizers' channels (indices of whole dims) cannot name"
            )
        size = op.size.value.data
        slices = []
        for attr in op.members.data:
            param, dim, index_map = from_member_attr(attr)
            slices.append(Slice(param, dim, torch.from_numpy(index_map.all_indices(size).astype(np.int64))))
        groups.append(ChannelGroup(f"@{op.sym_name.data}", size, tuple(slices)))
    return groups


def batch_norm_weights(program: Program) -> set[str]:
    """Names of the weights that some batch norm of the program scales by (its `weight` operand)."""
    from spa_ir.ops.registry import weight_roles
    from spa_ir.ops.spec import BN_SCALE

    return {name for name, roles in weight_roles(program.module).items() if BN_SCALE in roles}


def channel_sums(
    group: ChannelGroup, module: torch.nn.Module, f: Callable[[torch.Tensor], torch.Tensor] = torch.square
) -> torch.Tensor:
    """[size]: the sum of f(w) over the distinct parameter entries of each channel of the group (differentiable).
    Buffers (running statistics) are not parameters and are skipped."""
    by_param: dict[int, tuple[torch.nn.Parameter, dict[int, list[torch.Tensor]]]] = {}
    for s in group.slices:
        p = _parameter(module, s.param, group.name)
        if p is None:
            continue
        if s.dim >= p.ndim or int(s.indices.max()) >= p.shape[s.dim]:
            have = tuple(p.shape)
            raise SpaError(
                f"group {group.name}: '{s.param}' is {have} in the module, the group needs more of dim {s.dim}"
            )
        _, dims = by_param.setdefault(id(p), (p, {}))
        dims.setdefault(s.dim, []).append(s.indices)
    total: torch.Tensor | None = None
    for p, dims in by_param.values():
        merged = {d: torch.cat(ix, dim=1).to(p.device) for d, ix in sorted(dims.items())}
        part = _union_sums(f(p), merged, group.size)
        total = part if total is None else total + part
    if total is None:
        raise SpaError(f"group {group.name}: no member is a parameter of the module")
    return total


def _parameter(module: torch.nn.Module, name: str, group: str) -> torch.nn.Parameter | None:
    try:
        return module.get_parameter(name)
    except AttributeError:
        pass
    try:
        module.get_buffer(name)
    except AttributeError:
        raise SpaError(f"group {group}: the module has no parameter or buffer '{name}'") from None
    return None


def _union_sums(values: torch.Tensor, dims: dict[int, torch.Tensor], size: int) -> torch.Tensor:
    """Sum of `values` over the union, for each channel k, of the slices {x : x[d] in dims[d][k]} (inclusion-
    exclusion over the dims: an entry in the slices of two dims is in their intersection and counted once)."""
    total = values.new_zeros(size)
    order = sorted(dims)
    for r in range(1, len(order) + 1):
        for subset in itertools.combinations(order, r):
            rest = [d for d in range(values.ndim) if d not in subset]
            reduced = values.sum(dim=rest) if rest else values
            index = tuple(dims[d].view(size, *([1] * j), -1, *([1] * (r - 1 - j))) for j, d in enumerate(subset))
            part = reduced[index].sum(dim=tuple(range(1, r + 1)))
            total = total + part if r % 2 else total - part
    return total


def _groups(source: Program | torch.nn.Module | Iterable[ChannelGroup], example_inputs: Any) -> list[ChannelGroup]:
    if isinstance(source, (Program, torch.nn.Module)):
        return channel_groups(source, example_inputs)
    return list(source)


class GroupLasso:
    """strength * sum over the group channels of ||channel||_2 (sparsifies whole channels)."""

    def __init__(
        self,
        source: Program | torch.nn.Module | Iterable[ChannelGroup],
        strength: float = 1e-4,
        *,
        example_inputs: Sequence[Any] | None = None,
        eps: float = 1e-12,
    ):
        self.groups = _groups(source, example_inputs)
        self.strength = strength
        self.eps = eps  # keeps the norm's gradient finite at a channel that is already zero

    def penalty(self, module: torch.nn.Module) -> torch.Tensor:
        terms = [(channel_sums(g, module) + self.eps).sqrt().sum() for g in self.groups]
        return self.strength * _total(terms)


class GroupNorm:
    """DepGraph's group-norm sparsity: strength/2 * sum of gamma_k ||channel k||^2, gamma_k in [1, 2^alpha], largest
    for the group's weakest channel (gamma is a constant of each step, as in Torch-Pruning's gradient update)."""

    def __init__(
        self,
        source: Program | torch.nn.Module | Iterable[ChannelGroup],
        strength: float = 1e-4,
        *,
        alpha: float = 4.0,
        example_inputs: Sequence[Any] | None = None,
    ):
        self.groups = _groups(source, example_inputs)
        self.strength = strength
        self.alpha = alpha

    def scales(self, sums: torch.Tensor) -> torch.Tensor:
        norms = sums.detach().sqrt()
        spread = norms.max() - norms.min()
        if spread <= 0:
            return torch.ones_like(norms)
        return torch.pow(2.0, self.alpha * (norms.max() - norms) / spread)

    def penalty(self, module: torch.nn.Module) -> torch.Tensor:
        terms = []
        for g in self.groups:
            sums = channel_sums(g, module)
            terms.append((self.scales(sums) * sums).sum())
        return 0.5 * self.strength * _total(terms)


class GrowingReg:
    """Growing regularization: 1/2 * sum of reg_k ||channel k||^2 with one factor per group channel, starting at
    `strength`; each `update(module)` adds delta * (max - s_k) / (max - min) (s: the channels' squared norms), capped
    at `limit` (Torch-Pruning's defaults: strength = delta = 1e-5)."""

    def __init__(
        self,
        source: Program | torch.nn.Module | Iterable[ChannelGroup],
        strength: float = 1e-5,
        *,
        delta: float = 1e-5,
        limit: float | None = None,
        example_inputs: Sequence[Any] | None = None,
    ):
        self.groups = _groups(source, example_inputs)
        self.delta = delta
        self.limit = limit
        self.factors = {g.name: torch.full((g.size,), float(strength), dtype=torch.float64) for g in self.groups}

    def penalty(self, module: torch.nn.Module) -> torch.Tensor:
        terms = []
        for g in self.groups:
            sums = channel_sums(g, module)
            terms.append((self.factors[g.name].to(sums) * sums).sum())
        return 0.5 * _total(terms)

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        for g in self.groups:
            s = channel_sums(g, module).cpu().double()
            weakness = (s.max() - s) / (s.max() - s.min() + 1e-8)
            grown = self.factors[g.name] + self.delta * weakness
            self.factors[g.name] = grown.clamp(max=self.limit) if self.limit is not None else grown


class BNScaleL1:
    """Network slimming: strength * sum |gamma| of the BatchNorm weights that are members of prunable groups."""

    def __init__(
        self,
        source: Program | torch.nn.Module,
        strength: float = 1e-4,
        *,
        example_inputs: Sequence[Any] | None = None,
    ):
        if isinstance(source, torch.nn.Module):
            if example_inputs is None:
                raise SpaError("a module's batch norms need example_inputs to capture it (or pass its Program)")
            from spa_ir.api import import_torch

            source = import_torch(source, example_inputs)
        scales = batch_norm_weights(source)
        self.groups = [
            ChannelGroup(g.name, g.size, tuple(s for s in g.slices if s.param in scales))
            for g in channel_groups(source)
        ]
        self.groups = [g for g in self.groups if g.slices]
        if not self.groups:
            raise SpaError("bn-scale regularization: no prunable group has a BatchNorm weight", where=source.source)
        self.strength = strength

    def penalty(self, module: torch.nn.Module) -> torch.Tensor:
        return self.strength * _total([channel_sums(g, module, torch.abs).sum() for g in self.groups])


def _total(terms: list[torch.Tensor]) -> torch.Tensor:
    if not terms:
        raise SpaError("no prunable group to regularize")
    return torch.stack(terms).sum()


Regularizer = GroupLasso | GroupNorm | GrowingReg | BNScaleL1

REGULARIZERS: dict[str, type[Regularizer]] = {
    "group-lasso": GroupLasso,
    "group-norm": GroupNorm,
    "growing-reg": GrowingReg,
    "bn-scale": BNScaleL1,
}
