"""What the walk knows of each value (a constant, moments, unknown, or a tuple of those), the two ways a rule
gives up, and the helpers every rule uses on moment tensors and op names."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx

from spa_ir.calibration.sites import call_args


@dataclass(frozen=True)
class Unknown:
    reason: str


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True, eq=False)
class Val:
    """Moments broadcastable against the value (right-aligned); `src`/`fn`: the value is fn(src) elementwise, src
    taken as Gaussian (None: the value itself is); `monotone`: fn is nondecreasing."""

    mean: torch.Tensor
    var: torch.Tensor
    src: Val | None = None
    fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    monotone: bool = True


@dataclass(frozen=True)
class Items:
    """A tuple result (a norm's output and its saved statistics, a split's pieces)."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Repeat:
    """A list result whose every element has the same moments (a split along a dim the moments do not vary on)."""

    item: Any


Entry = Unknown | Const | Val | Items | Repeat


Fn = Callable[[torch.Tensor], torch.Tensor]


class Stop(Exception):
    """This op cannot derive moments: the reason."""


class Propagate(Exception):
    """An operand is unknown: the node is unknown for the operand's reason."""

    def __init__(self, unknown: Unknown):
        super().__init__(unknown.reason)
        self.unknown = unknown


# ---------------------------------------------------------------------------------------------- op names


def packet(node: fx.Node) -> str:
    """`aten.conv2d` for an aten call, `getitem`, else the target's name: the key of the rule table."""
    t = node.target
    if t is operator.getitem:
        return "getitem"
    if isinstance(t, torch._ops.OpOverload):
        return f"{t.namespace}.{t._schema.name.split('::')[-1]}"
    return getattr(t, "__name__", str(t))


def op_name(node: fx.Node) -> str:
    """The packet with its overload (`aten.mean.dim`): how reasons name the op."""
    t = node.target
    if isinstance(t, torch._ops.OpOverload):
        return f"{packet(node)}.{t._overloadname}"
    return packet(node)


def args_of(node: fx.Node) -> dict[str, Any]:
    """An aten call's arguments by schema name (defaults filled in); none for other targets, whose only rule
    (getitem) reads `node.args`."""
    return call_args(node) if isinstance(node.target, torch._ops.OpOverload) else {}


def with_extras(node: fx.Node, val: Val, what: str) -> Entry:
    """The op's result: a tuple-returning op gives (val, unknown `what`...)."""
    target = node.target
    if isinstance(target, torch._ops.OpOverload) and len(target._schema.returns) > 1:
        rest = Unknown(f"{op_name(node)} (node {node.name}): {what}")
        return Items((val,) + (rest,) * (len(target._schema.returns) - 1))
    return val


# ---------------------------------------------------------------------------------------- moment tensors


def f64(t: Any) -> torch.Tensor:
    return torch.as_tensor(t).detach().to(torch.float64)


def make_val(mean: torch.Tensor, var: torch.Tensor, **kw: Any) -> Val:
    """Moments broadcast to one shape, float64, leading size-1 dims dropped, the variance clamped at 0."""
    mean, var = torch.broadcast_tensors(mean.to(torch.float64), var.to(torch.float64))
    return Val(strip_leading(mean), strip_leading(var.clamp_min(0)), **kw)


def strip_leading(t: torch.Tensor) -> torch.Tensor:
    """Leading size-1 dims dropped (they broadcast anyway)."""
    while t.dim() > 0 and t.shape[0] == 1:
        t = t[0]
    return t


def pad_rank(t: torch.Tensor, rank: int) -> torch.Tensor:
    """`t` with leading size-1 dims up to `rank` dims."""
    t = strip_leading(t) if t.dim() > rank else t
    if t.dim() > rank:
        raise Stop(f"moments of rank {t.dim()} for a value of rank {rank}")
    return t.reshape((1,) * (rank - t.dim()) + tuple(t.shape))


def norm_dim(d: int, rank: int) -> int:
    if not -rank <= d < rank:
        raise Stop(f"dim {d} out of range for rank {rank}")
    return d % rank


def per_channel(v: Val, axis: int, rank: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Moments of the dim `axis` (of a value of `rank`) over everything else: law of total variance."""
    m, s = pad_rank(v.mean, rank), pad_rank(v.var, rank)
    other = [d for d in range(rank) if d != axis]
    mean = m.mean(other) if other else m
    second = (s + m * m).mean(other) if other else s + m * m
    var = (second - mean * mean).clamp_min(0)
    if mean.numel() == 1 and n != 1:
        mean, var = mean.reshape(1).expand(n), var.reshape(1).expand(n)
    if mean.numel() != n:
        raise Stop(f"moments of {mean.numel()} channels where {n} are read")
    return mean.reshape(n), var.reshape(n)
