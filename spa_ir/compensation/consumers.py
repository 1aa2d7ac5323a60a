"""What compensation works on: the pruned groups, the consumers that read their channels, and the units they form.

A consumer is a conv / linear / matmul call of the emitted graph whose weight reads activations (the calibration
sites, spa_ir/calibration/sites.py). It reads a group's channels when one of the group's members is that weight's
input-channel dim; its input features are the columns of its weight as a matrix [O, F] (a conv's unfolded
patches: channel c's kernel positions are features c·kk .. c·kk+kk-1). Consumers that share a pruned group, or
groups that share a consumer (a DenseNet conv reads a concat of several groups), form one unit: a unit's groups
go together, and its consumers are refitted on the inputs the prefix before them produces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.fx as fx
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration.sites import Site, find_sites
from spa_ir.channels.annotations import group_ops
from spa_ir.compensation.norms import Norm, batch_norms
from spa_ir.compensation.obs import feature_blocks
from spa_ir.core.ir import params
from spa_ir.core.weights import WeightStore
from spa_ir.pruning.criteria.base import Group, Member
from spa_ir.pruning.importance import as_group


@dataclass(frozen=True)
class Slice:
    """The indices one member loses along one dim of its weight."""

    param: str
    dim: int
    indices: np.ndarray
    at: int | None = None
    """The weight's dim-0 index the indices are in (a group of (expert, neuron) pairs), or None: the whole dim."""


@dataclass
class PrunedGroup:
    group: Group
    removed: list[int]
    parts: int = 1
    """spa.group's `slices`: channel c is channel c % (size / parts) at dim-0 index c // (size / parts)."""

    def slices(self) -> list[Slice]:
        """Every member's removed indices (the masked original zeroes exactly these), per dim-0 slice with parts."""
        per = self.group.size // self.parts
        out = []
        for i in range(self.parts):
            gone = [c % per for c in self.removed if c // per == i]
            for m in self.group.members:
                idx = m.index_map.all_indices(per)[gone].ravel()
                out.append(Slice(m.param, m.dim, np.sort(idx), i if self.parts > 1 else None))
        return out


@dataclass
class Consumer:
    """One consumer call and how its weight reads as a matrix [O, F]."""

    site: Site
    shape: tuple[int, ...]
    position: int
    """Its call's index in the graph (units go in this order)."""
    bias: str | None
    """The weight name of its bias (the conv / linear bias operand, addmm's `self`, or the [O] parameter an add right
    after a matmul adds), None when it has none."""
    norm_only: bool = False
    """Its output is read only by batch norms with running statistics (a bias shift can go into their running
    means instead of a new bias)."""
    reads: list[tuple[PrunedGroup, Member]] = field(default_factory=list)

    @property
    def weight(self) -> str:
        return self.site.weight

    @property
    def kernel_positions(self) -> int:
        return int(np.prod(self.site.consumer.kernel)) if self.site.consumer.op == "conv" else 1

    @property
    def features(self) -> int:
        w = self.shape
        return int(np.prod(w)) // w[0] if self.site.consumer.op != "matmul" else w[0]

    @property
    def outputs(self) -> int:
        return self.shape[0] if self.site.consumer.op != "matmul" else self.shape[1]

    def skip_reason(self) -> str | None:
        """Why this consumer is left as plain removal (None: it is refitted)."""
        c = self.site.consumer
        if c.op == "conv" and c.in_dim != 1:
            return "transposed conv"
        if c.groups != 1:
            return "grouped conv"
        return None

    def channel_features(self, member: Member, size: int) -> np.ndarray:
        """[size, block]: the features of each group channel in this consumer's matrix."""
        return feature_blocks(member.index_map.all_indices(size), self.kernel_positions)

    def removed_features(self) -> np.ndarray:
        gone = [self.channel_features(m, pg.group.size)[pg.removed].ravel() for pg, m in self.reads if pg.removed]
        return np.unique(np.concatenate(gone)) if gone else np.zeros(0, dtype=np.int64)

    def matrix(self, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """The augmented weight [O, F+1] (bias last; zeros when it has none), float64."""
        w = weight.to(torch.float64)
        w2 = w.T if self.site.consumer.op == "matmul" else w.reshape(w.shape[0], -1)
        b = (
            bias.to(torch.float64).reshape(-1, 1)
            if bias is not None
            else torch.zeros(w2.shape[0], 1, dtype=torch.float64, device=w.device)
        )
        return torch.cat([w2, b], dim=1)

    def split(self, matrix: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The augmented matrix back to (weight shaped and typed like `like`, bias [O])."""
        w2, b = matrix[:, :-1], matrix[:, -1]
        w = w2.T if self.site.consumer.op == "matmul" else w2.reshape(like.shape)
        return w.to(like.dtype).contiguous(), b.to(like.dtype).contiguous()


@dataclass
class Unit:
    groups: list[PrunedGroup]
    consumers: list[Consumer]


@dataclass
class Layout:
    """Everything compensation needs to know about the pruned program's structure."""

    units: list[Unit]
    without_consumers: list[PrunedGroup]
    """Pruned groups no weight reads as inputs (q·kᵀ head dims): plain removal, masked from the start."""
    consumers: dict[str, Consumer]


def pruned_groups(module: ModuleOp) -> list[PrunedGroup]:
    param_ops = {p.weight_name: p for p in params(module)}
    out = []
    for g in group_ops(module):
        gone = [int(i) for i in g.removed.get_values()] if g.removed is not None else []
        if gone and not g.frozen:
            out.append(PrunedGroup(as_group(g, param_ops), gone, g.slices.value.data if g.slices is not None else 1))
    return out


def _bias_of(site: Site, names: set[str], shapes: dict[str, tuple[int, ...]]) -> str | None:
    from spa_ir.calibration.sites import call_args

    node = site.y
    target = str(node.target)
    if site.consumer.op == "conv" or target.startswith(("aten.linear", "aten.addmm")):
        b = call_args(node).get("self" if target.startswith("aten.addmm") else "bias")
        return str(b.target) if isinstance(b, fx.Node) and b.op == "get_attr" and str(b.target) in names else None
    users = [u for u in node.users if isinstance(u.target, torch._ops.OpOverload)]
    if len(users) != 1 or len(node.users) != 1 or "add" not in str(users[0].target):
        return None
    a = call_args(users[0])
    if a.get("alpha", 1) != 1:
        return None
    operands = [a.get("self"), a.get("other")]
    if node not in operands:
        return None
    other = operands[1 - operands.index(node)]
    if isinstance(other, fx.Node) and other.op == "get_attr" and str(other.target) in names:
        if len(shapes[str(other.target)]) == 1:
            return str(other.target)
    return None


def layout(
    module: ModuleOp, gm: fx.GraphModule, sites: Sequence[Site], shapes: dict[str, tuple[int, ...]], norms: set[fx.Node]
) -> Layout:
    """Units in graph order. `norms`: the graph's batch-norm calls (a consumer read only by them is `norm_only`)."""
    from spa_ir.calibration.sites import call_args

    position = {n: i for i, n in enumerate(gm.graph.nodes)}
    names = set(shapes)
    consumers: dict[str, Consumer] = {}
    for s in sites:
        users = list(s.y.users)
        norm_only = bool(users) and all(u in norms and call_args(u).get("input") is s.y for u in users)
        consumers[s.weight] = Consumer(s, shapes[s.weight], position[s.y], _bias_of(s, names, shapes), norm_only)
    groups = pruned_groups(module)
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_reader: dict[str, int] = {}
    without = []
    for gi, pg in enumerate(groups):
        read = False
        for m in pg.group.members:
            c = consumers.get(m.param)
            if c is not None and c.site.consumer.in_dim == m.dim:
                c.reads.append((pg, m))
                read = True
                if m.param in first_reader:
                    parent[find(gi)] = find(first_reader[m.param])
                else:
                    first_reader[m.param] = gi
        if not read:
            without.append(pg)
    by_root: dict[int, Unit] = {}
    for gi, pg in enumerate(groups):
        if pg in without:
            continue
        by_root.setdefault(find(gi), Unit([], [])).groups.append(pg)
    for c in consumers.values():
        if c.reads:
            gi = groups.index(c.reads[0][0])
            by_root[find(gi)].consumers.append(c)
    units = sorted(by_root.values(), key=lambda u: min(c.position for c in u.consumers))
    for u in units:
        u.consumers.sort(key=lambda c: c.position)
    return Layout(units, without, consumers)


@dataclass
class Graph:
    """The emitted module of the program as compensation reads it."""

    gm: fx.GraphModule
    tensors: dict[str, torch.Tensor]
    sites: list[Site]
    norms: dict[fx.Node, Norm]
    layout: Layout

    def to(self, device: torch.device) -> Graph:
        """This graph with its module and tensors on `device` (in place: the module is emitted for one run)."""
        from spa_ir.calibration.device import on_device

        on_device(self.gm, device)
        self.tensors = {n: t.to(device) for n, t in self.tensors.items()}
        return self


def emit(module: ModuleOp, weights: WeightStore) -> Graph:
    from spa_ir.backends.torch_fx import to_graph_module
    from spa_ir.core.program import Program

    gm = to_graph_module(Program(module, weights, "<compensation>"))
    stored = {p.weight_name for p in params(module) if not p.is_buffer}
    tensors: dict[str, torch.Tensor] = {n: t.detach() for n, t in [*gm.named_parameters(), *gm.named_buffers()]}
    shapes = {n: tuple(t.shape) for n, t in tensors.items()}
    floats = {n for n in stored if n in tensors and tensors[n].is_floating_point()}
    sites = find_sites(gm, floats, shapes)
    norms = batch_norms(gm)
    return Graph(gm, tensors, sites, norms, layout(module, gm, sites, shapes, set(norms)))
