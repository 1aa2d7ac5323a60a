"""The consumers of the emitted module (aten conv / convolution / linear / mm / addmm / matmul whose weight
operand is a stored parameter, directly or through a 2-D transpose, as ONNX's Gemm lowers), and the graph
rewrites calibration runs: each consumer's activation operand (and a 2-D conv's output) handed to the graph's
outputs, and the calls vmap has no batching rule for replaced by their compositions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx

from spa_ir.calibration.store import Consumer

_CONVS = {"aten.conv1d", "aten.conv2d", "aten.conv3d", "aten.convolution"}
_LINEAR = {"aten.linear": ("input", "weight")}
_MATMULS = {"aten.mm": ("self", "mat2"), "aten.addmm": ("mat1", "mat2"), "aten.matmul": ("self", "other")}
_TRANSPOSES = {"aten.t", "aten.transpose", "aten.permute", "aten.numpy_T"}


@dataclass
class Site:
    """One consumer call in the graph: its weight, what it is, the conv geometry for IN_COV."""

    weight: str
    consumer: Consumer
    x: fx.Node
    y: fx.Node
    conv: dict[str, Any] = field(default_factory=dict)
    tap_x: int | None = None
    tap_y: int | None = None


def _packet(node: fx.Node) -> str:
    target = node.target
    if node.op != "call_function" or not isinstance(target, torch._ops.OpOverload):
        return ""
    return f"{target.namespace}.{target._schema.name.split('::')[-1]}"


def call_args(node: fx.Node) -> dict[str, Any]:
    """The call's arguments by schema name, defaults filled in."""
    target = node.target
    assert isinstance(target, torch._ops.OpOverload)
    out: dict[str, Any] = {}
    for i, a in enumerate(target._schema.arguments):
        if i < len(node.args):
            out[a.name] = node.args[i]
        elif a.name in node.kwargs:
            out[a.name] = node.kwargs[a.name]
        elif a.has_default_value():
            out[a.name] = a.default_value
    return out


def _weight_of(node: Any, names: set[str]) -> tuple[str, bool] | None:
    """(parameter name, transposed) when `node` is a stored parameter or a 2-D transpose of one."""
    if not isinstance(node, fx.Node):
        return None
    if node.op == "get_attr" and str(node.target) in names:
        return str(node.target), False
    if _packet(node) in _TRANSPOSES:
        a = call_args(node)
        dims = a.get("dims")
        if dims is not None and [int(d) for d in dims] != [1, 0]:
            return None
        inner = _weight_of(node.args[0], names)
        return (inner[0], not inner[1]) if inner is not None else None
    return None


def find_sites(gm: fx.GraphModule, weights: set[str], shapes: Mapping[str, tuple[int, ...]]) -> list[Site]:
    """Every consumer call whose weight is one of `weights` (stored, non-buffer parameters)."""
    sites = []
    for node in gm.graph.nodes:
        packet = _packet(node)
        if packet in _CONVS:
            a = call_args(node)
            w = _weight_of(a["weight"], weights)
            if w is None or w[1]:
                continue
            transposed = bool(a.get("transposed", False))
            kernel = tuple(shapes[w[0]][2:])
            geometry = {k: a.get(k) for k in ("stride", "padding", "dilation")} | {"transposed": transposed}
            consumer = Consumer("conv", 0 if transposed else 1, int(a.get("groups", 1)), kernel)
            sites.append(Site(w[0], consumer, a["input"], node, geometry))
        elif packet in _LINEAR or packet in _MATMULS:
            x_name, w_name = (_LINEAR | _MATMULS)[packet]
            a = call_args(node)
            w = _weight_of(a[w_name], weights)
            if w is None or len(shapes[w[0]]) != 2:
                continue
            linear = packet in _LINEAR
            in_dim = 1 if linear != w[1] else 0
            consumer = Consumer("linear" if in_dim == 1 else "matmul", in_dim)
            sites.append(Site(w[0], consumer, a[x_name], node))
    return sites


def instrument(
    gm: fx.GraphModule, sites: list[Site], taps_in: bool, taps_out: bool, extra: Sequence[fx.Node] = ()
) -> list[int]:
    """Make the graph return `(original output, (tapped values...))`; `extra` nodes are tapped too, at the
    returned positions."""
    taps: list[fx.Node] = []
    for s in sites:
        if taps_in:
            s.tap_x = len(taps)
            taps.append(s.x)
        if taps_out and s.consumer.op == "conv" and len(s.consumer.kernel) == 2 and not s.conv["transposed"]:
            s.tap_y = len(taps)
            taps.append(s.y)
    positions = list(range(len(taps), len(taps) + len(extra)))
    taps.extend(extra)
    out = next(n for n in gm.graph.nodes if n.op == "output")
    out.args = ((out.args[0], tuple(taps)),)
    gm.recompile()
    return positions


def _batch_norm_no_training(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    mean: torch.Tensor,
    var: torch.Tensor,
    momentum: float,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eval-mode batch norm from ops vmap has rules for (aten's fused kernel has none: vmap would loop over
    samples inside it, with a warning per call)."""
    shape = [1, -1] + [1] * (x.dim() - 2)
    y = (x - mean.view(shape)) * torch.rsqrt(var + eps).view(shape)
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y, x.new_empty(0), x.new_empty(0)


def _batch_norm_eval(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    mean: torch.Tensor,
    var: torch.Tensor,
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool,
) -> torch.Tensor:
    """aten.batch_norm (as ONNX's BatchNormalization lowers) at training=False, the same composition. At
    training=True (a training capture) the batch statistics normalize as they do there, without the running-
    statistics update: calibration changes no statistics, and vmap has no rule for the in-place update."""
    if training:
        return torch.ops.aten.batch_norm.default(x, weight, bias, None, None, True, momentum, eps, cudnn_enabled)
    return _batch_norm_no_training(x, weight, bias, mean, var, momentum, eps)[0]


_VMAPPABLE = {
    torch.ops.aten._native_batch_norm_legit_no_training.default: _batch_norm_no_training,
    torch.ops.aten.batch_norm.default: _batch_norm_eval,
}


def vmappable(gm: fx.GraphModule) -> None:
    """Replace the calls vmap has no batching rule for by equivalent compositions."""
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target in _VMAPPABLE:
            node.target = _VMAPPABLE[node.target]
    gm.recompile()
