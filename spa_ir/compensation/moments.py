"""The analytic ("stats", data-free) source of OBSPA: per-channel means and variances of every consumer's input,
derived from what the network carries, propagated through the emitted fx graph. No data is run.

The walk visits the graph once, in order, and keeps for each value what is known of it:
- a constant (a parameter, buffer, literal or scalar, and anything computed from constants alone: those ops are
  run on the real tensors, so transposed weights and position embeddings are constants);
- moments: `mean` and `var` (float64) that broadcast against the value's shape like a tensor in an elementwise op
  (aligned at the last dim; a size-1 dim means "the same for every index there"), so a conv output carries
  `[C, 1, 1]` and a linear output `[F]`, and view ops act on the moment tensors themselves;
- unknown, with the op and node that stopped it.

Sources of moments (the distribution of the model's inputs is never assumed):
- batch norm (eval; `_native_batch_norm_legit_no_training`, `batch_norm`, `native_batch_norm`,
  `_native_batch_norm_legit`): the running statistics describe its input, so its output has mean β and variance
  γ²·rv/(rv+eps) per channel (in training mode the batch's statistics normalize, and the running ones stand in for
  them; without running statistics: γ²);
- layer norm / group norm / RMS norm with affine parameters: mean β (0 for RMS norm), variance γ². This assumes
  per-position normalization leaves each feature standardized across samples and positions too (the norm itself
  only standardizes each position's features, or each group's); RMS norm is further assumed zero-mean.

Rules (each value's elements taken as Gaussian where an op needs a distribution):
- conv / linear / mm / addmm / matmul with a constant weight, from per-channel input moments, features independent
  (no covariance across channels or kernel positions): mean_o = Σ_f W[o,f]·μ_f + b_o (a conv's W summed over kernel
  positions; padding ignored), var_o = Σ_f W[o,f]²·σ_f². A transposed conv divides both sums by the product of its
  strides (the taps an output gets on average).
- ReLU / ReLU6 / hardtanh / clamp: the clipped Gaussian, closed form. GELU (erf and tanh), SiLU, hardswish,
  hardsigmoid, sigmoid, tanh, leaky ReLU, ELU, softplus, erf, ... : 64-point Gauss-Hermite quadrature on a Gaussian
  input. A chain of elementwise ops on one Gaussian value (ONNX's `x * 0.5 * (1 + erf(x / √2))`, `x * sigmoid(x)`)
  is integrated as one function of it, so the factors' dependence is kept.
- add / sub of two values: independent sum; mul: product of independent variables (mean μ1μ2, variance
  σ1²σ2² + σ1²μ2² + σ2²μ1²); with a constant: exact.
- average pooling (avg pool, adaptive avg pool, mean over dims, every averaged dim taken as positional): the mean
  is unchanged. The variance follows an
  AR(1) model of spatial correlation, separable per averaged dim: averaging n neighbours whose correlation at
  distance j is r^j keeps f_r(n) = (1 + 2·Σ_{j<n} (1 - j/n)·r^j) / n of the variance, with r = `POOL_CORRELATION`
  (0.35), fitted to what a trained MNIST BN ResNet shows on real digits (2x2 and 3x3 windows and global pools of
  its 4x4-14x14 maps): within 3x either way, median 1.1x; the worst miss is the last stage's global pool, 3x under
  (those maps are nearly uniform). Independence (r = 0, var/n) is up to 8.4x under there and full correlation
  (r = 1, var) up to 110x over (the stem's global pool). Random-weight nets on white-noise inputs are nearer
  independence, where the rule over-estimates by 1.4-3.3x (tests/unit/test_moments.py).
- max pooling: the expected max (and its square) of k iid copies of the input, k the window size, integrated
  numerically; when the input is a nondecreasing function g of a Gaussian (ReLU, clamp, sigmoid, ...) the max is
  g(max of the Gaussians), which is exact for iid inputs. It ignores the window's correlation (which lowers the
  max).
- scaled dot-product attention, and matmul(softmax(..., dim=-1), V): the output is a convex mix of V's rows over
  positions; its mean is V's mean (exact for attention weights independent of V; in self-attention they are not,
  and a test measures 0.4 standard deviations off) and its variance V's variance (averaged over key positions):
  an upper bound, tight for one-hot attention and up to L times the truth for uniform attention over L positions.
- views (reshape / view / flatten / unflatten / permute / transpose / unsqueeze / squeeze / select / slice /
  narrow / split / chunk / expand), cat, dropout, clone, type conversions: the moment tensors follow the op (a
  flatten of [N, C, H, W] gives each channel's moments to its H·W features).
- anything else (embedding lookups, matmul of two activations, softmax, comparisons, ...) is unknown.

A consumer's moments are over samples and positions: the per-position moments are combined by the law of total
variance. Shapes come from running the graph on meta tensors; `example_inputs` gives the model inputs' shapes
(`meta_inputs(module)` builds them from the IR), and without them what needs a size (a flatten, an adaptive pool's
window, a reshape with -1) is unknown downstream of the inputs.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration.sites import Site
from spa_ir.core.errors import first_line

POOL_CORRELATION = 0.35
"""Neighbour correlation r of the AR(1) model average pooling's variance follows (see the module docstring)."""

QUADRATURE_POINTS = 64
MAX_GRID = 1201
"""Points of the grid (on [-8, 8] standard deviations) the expected max of a window is integrated on."""


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


# ----------------------------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class _Unknown:
    reason: str


@dataclass(frozen=True)
class _Const:
    value: Any


@dataclass(frozen=True, eq=False)
class _Val:
    """Moments broadcastable against the value (right-aligned); `src`/`fn`: the value is fn(src) elementwise, src
    taken as Gaussian (None: the value itself is); `monotone`: fn is nondecreasing."""

    mean: torch.Tensor
    var: torch.Tensor
    src: _Val | None = None
    fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    monotone: bool = True


@dataclass(frozen=True)
class _Tuple:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Repeat:
    """A list result whose every element has the same moments (a split along a dim the moments do not vary on)."""

    item: Any


Entry = _Unknown | _Const | _Val | _Tuple | _Repeat


Fn = Callable[[torch.Tensor], torch.Tensor]


class _Stop(Exception):
    """This op cannot derive moments: the reason."""


class _Propagate(Exception):
    """An operand is unknown: the node is unknown for the operand's reason."""

    def __init__(self, unknown: _Unknown):
        super().__init__(unknown.reason)
        self.unknown = unknown


# ---------------------------------------------------------------------------------------------- helpers


def _packet(node: fx.Node) -> str:
    t = node.target
    if t is operator.getitem:
        return "getitem"
    if isinstance(t, torch._ops.OpOverload):
        return f"{t.namespace}.{t._schema.name.split('::')[-1]}"
    return getattr(t, "__name__", str(t))


def _op_name(node: fx.Node) -> str:
    t = node.target
    if isinstance(t, torch._ops.OpOverload):
        return f"{_packet(node)}.{t._overloadname}"
    return _packet(node)


def _call_args(node: fx.Node) -> dict[str, Any]:
    """The call's arguments by schema name, defaults filled in (positional `args` for non-aten targets)."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload):
        return {f"arg{i}": a for i, a in enumerate(node.args)} | dict(node.kwargs)
    out: dict[str, Any] = {}
    for i, a in enumerate(target._schema.arguments):
        if i < len(node.args):
            out[a.name] = node.args[i]
        elif a.name in node.kwargs:
            out[a.name] = node.kwargs[a.name]
        elif a.has_default_value():
            out[a.name] = a.default_value
    return out


def _f64(t: Any) -> torch.Tensor:
    return torch.as_tensor(t).detach().to(torch.float64)


def _val(mean: torch.Tensor, var: torch.Tensor, **kw: Any) -> _Val:
    mean, var = torch.broadcast_tensors(mean.to(torch.float64), var.to(torch.float64))
    return _Val(_strip(mean), _strip(var.clamp_min(0)), **kw)


def _strip(t: torch.Tensor) -> torch.Tensor:
    """Leading size-1 dims dropped (they broadcast anyway)."""
    while t.dim() > 0 and t.shape[0] == 1:
        t = t[0]
    return t


def _pad(t: torch.Tensor, rank: int) -> torch.Tensor:
    """`t` with leading size-1 dims up to `rank` dims."""
    t = _strip(t) if t.dim() > rank else t
    if t.dim() > rank:
        raise _Stop(f"moments of rank {t.dim()} for a value of rank {rank}")
    return t.reshape((1,) * (rank - t.dim()) + tuple(t.shape))


def _norm_dim(d: int, rank: int) -> int:
    if not -rank <= d < rank:
        raise _Stop(f"dim {d} out of range for rank {rank}")
    return d % rank


def _phi(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _hermite() -> tuple[torch.Tensor, torch.Tensor]:
    """Standard-normal nodes and weights: E[g(Z)] = Σ w_i g(x_i)."""
    x, w = np.polynomial.hermite.hermgauss(QUADRATURE_POINTS)
    return torch.from_numpy(x * math.sqrt(2.0)), torch.from_numpy(w / math.sqrt(math.pi))


_GH = _hermite()


def _max_rule(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights for E[g(M)], M the max of k iid standard normals (density k·φ·Φ^(k-1) on a grid)."""
    x = torch.linspace(-8.0, 8.0, MAX_GRID, dtype=torch.float64)
    w = k * _phi(x) * torch.special.ndtr(x).pow(k - 1)
    return x, w / w.sum()


def _expect(
    fn: Callable[[torch.Tensor], torch.Tensor],
    mean: torch.Tensor,
    var: torch.Tensor,
    rule: tuple[torch.Tensor, torch.Tensor] = _GH,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of fn(X), X ~ N(mean, var) elementwise, by the quadrature rule (standard-normal nodes)."""
    x, w = rule
    pad = 8  # room for constants of any rank the chain broadcasts with, below the nodes' leading dim
    m, v = _pad(mean, pad), _pad(var, pad)
    shape = (len(x),) + (1,) * pad
    z = m + v.sqrt() * x.view(shape)
    y = fn(z).to(torch.float64)
    ws = w.view((len(w),) + (1,) * (y.dim() - 1))
    first = (ws * y).sum(0)
    second = (ws * y * y).sum(0)
    out_var = (second - first * first).clamp_min(0)
    if not (torch.isfinite(first).all() and torch.isfinite(out_var).all()):
        raise _Stop("non-finite moments")
    return _strip(first), _strip(out_var)


def _clipped(mean: torch.Tensor, var: torch.Tensor, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
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


def _adaptive_factor(size: int, out: int) -> float:
    """f_r averaged over an adaptive pool's windows along one dim (their sizes differ when out does not divide)."""
    windows = [math.ceil((i + 1) * size / out) - math.floor(i * size / out) for i in range(out)]
    return sum(pool_variance_factor(n) for n in windows) / out


def _per_channel(v: _Val, axis: int, rank: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Moments of the dim `axis` (of a value of `rank`) over everything else: law of total variance."""
    m, s = _pad(v.mean, rank), _pad(v.var, rank)
    other = [d for d in range(rank) if d != axis]
    mean = m.mean(other) if other else m
    second = (s + m * m).mean(other) if other else s + m * m
    var = (second - mean * mean).clamp_min(0)
    if mean.numel() == 1 and n != 1:
        mean, var = mean.reshape(1).expand(n), var.reshape(1).expand(n)
    if mean.numel() != n:
        raise _Stop(f"moments of {mean.numel()} channels where {n} are read")
    return mean.reshape(n), var.reshape(n)


# --------------------------------------------------------------------------------------------- the walk


_BN = {"aten._native_batch_norm_legit_no_training", "aten.batch_norm", "aten.native_batch_norm"}
_BN |= {"aten._native_batch_norm_legit"}
_NORMS = _BN | {"aten.layer_norm", "aten.native_layer_norm", "aten.group_norm", "aten.native_group_norm"}
_NORMS |= {"aten.rms_norm"}
_CONVS = {"aten.conv1d", "aten.conv2d", "aten.conv3d", "aten.convolution", "aten._convolution"}
_CONV_T = {"aten.conv_transpose1d", "aten.conv_transpose2d", "aten.conv_transpose3d"}
_CLIPS: dict[str, Callable[[dict[str, Any]], tuple[float, float]]] = {
    "aten.relu": lambda a: (0.0, math.inf),
    "aten.relu6": lambda a: (0.0, 6.0),
    "aten.hardtanh": lambda a: (float(a["min_val"]), float(a["max_val"])),
    "aten.clamp": lambda a: (
        -math.inf if a["min"] is None else float(a["min"]),
        math.inf if a["max"] is None else float(a["max"]),
    ),
    "aten.clamp_min": lambda a: (float(a["min"]), math.inf),
    "aten.clamp_max": lambda a: (-math.inf, float(a["max"])),
}
_MONOTONE = {"aten.sigmoid", "aten.tanh", "aten.hardsigmoid", "aten.erf", "aten.exp", "aten.softplus", "aten.selu"}
_MONOTONE |= {"aten.celu", "aten.elu", "aten.leaky_relu", "aten.log_sigmoid"}
_QUADRATURE = _MONOTONE | {"aten.gelu", "aten.silu", "aten.hardswish", "aten.mish", "aten.abs", "aten.square"}
_QUADRATURE |= {"aten.sin", "aten.cos", "aten.pow"}
_IDENTITY = {"aten.clone", "aten.contiguous", "aten.alias", "aten.detach", "aten.lift_fresh_copy", "aten.dropout"}
_IDENTITY |= {"aten.feature_dropout", "aten.alpha_dropout", "aten.expand", "aten.broadcast_to", "aten.expand_as"}
_IDENTITY |= {"aten._to_copy", "aten.to", "aten.type_as"}
_RESHAPES = {"aten.reshape", "aten.view", "aten._unsafe_view", "aten.flatten", "aten.unflatten"}
_SAME_RANK = _NORMS | set(_CLIPS) | _QUADRATURE | _IDENTITY | {"aten.neg", "aten.softmax", "aten._softmax"}
_SAME_RANK |= {"aten.transpose", "aten.t", "aten.numpy_T", "aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"}
_SAME_RANK |= {"aten.max_pool1d", "aten.max_pool2d", "aten.max_pool3d", "aten.adaptive_avg_pool1d"}
_SAME_RANK |= {"aten.adaptive_avg_pool2d", "aten.adaptive_avg_pool3d", "aten._adaptive_avg_pool2d", "aten.linear"}
_SAME_RANK |= {"aten.max_pool2d_with_indices", "aten.slice", "aten.narrow", "aten.add", "aten.sub", "aten.mul"}
_SAME_RANK |= {"aten.div", "aten.rsub", "aten.scaled_dot_product_attention"}


class _Walk:
    """One pass over the graph: shapes (on meta tensors) and what is known of each value."""

    def __init__(self, gm: fx.GraphModule, params: Mapping[str, torch.Tensor], inputs: Sequence[torch.Tensor] | None):
        self.gm = gm
        self.params = params
        self.inputs = list(inputs) if inputs is not None else None
        self.env: dict[fx.Node, Entry] = {}
        self.meta: dict[fx.Node, Any] = {}
        self.placeholders = 0

    # ---------------------------------------------------------------- shapes

    def _meta_of(self, node: fx.Node) -> Any:
        """The node's value on meta tensors (None where an input's shape is unknown)."""
        if node.op == "get_attr":
            try:
                return _tree_meta(self.attr(str(node.target)))
            except AttributeError:
                return None
        if node.op == "placeholder":
            i = self.placeholders
            self.placeholders += 1
            if self.inputs is None or i >= len(self.inputs):
                return None
            return torch.empty(self.inputs[i].shape, dtype=self.inputs[i].dtype, device="meta")
        if node.op != "call_function":
            return None
        missing = False

        def get(n: fx.Node) -> Any:
            nonlocal missing
            m = self.meta.get(n)
            if m is None:
                missing = True
            return m

        args, kwargs = fx.node.map_arg((node.args, node.kwargs), get)
        if missing:
            return None
        if "device" in kwargs:
            kwargs = kwargs | {"device": "meta"}
        try:
            assert callable(node.target)
            return node.target(*args, **kwargs)
        except Exception:  # an op without a meta kernel, or one reading values: its shape stays unknown
            return None

    def shape(self, arg: Any) -> tuple[int, ...] | None:
        m = self.meta.get(arg) if isinstance(arg, fx.Node) else None
        return tuple(int(s) for s in m.shape) if isinstance(m, torch.Tensor) else None

    def rank(self, arg: Any) -> int | None:
        """The value's rank: from its shape, else from the op (a conv's weight, a reshape's target, its input)."""
        s = self.shape(arg)
        if s is not None:
            return len(s)
        if not isinstance(arg, fx.Node) or arg.op != "call_function":
            return None
        p, a = _packet(arg), _call_args(arg)
        if p in _CONVS | _CONV_T:
            w = self.entry(a.get("weight"))
            return w.value.dim() if isinstance(w, _Const) and isinstance(w.value, torch.Tensor) else None
        if p in ("aten.reshape", "aten.view", "aten._unsafe_view"):
            return len(a["shape"] if "shape" in a else a["size"])
        if p == "aten.permute":
            return len(a["dims"])
        if p == "getitem" or p in _SAME_RANK:
            first = arg.args[0] if arg.args else None
            return self.rank(first)
        return None

    # --------------------------------------------------------------- entries

    def entry(self, arg: Any) -> Entry:
        if isinstance(arg, fx.Node):
            return self.env[arg]
        return _Const(arg)

    def val(self, arg: Any) -> _Val:
        """The operand's moments (a constant has variance 0); raises _Propagate for an unknown operand."""
        e = self.entry(arg)
        if isinstance(e, _Unknown):
            raise _Propagate(e)
        if isinstance(e, _Val):
            return e
        if isinstance(e, _Const) and isinstance(e.value, (torch.Tensor, int, float, bool)):
            m = _f64(e.value)
            return _Val(m, torch.zeros((), dtype=torch.float64).expand(m.shape))
        raise _Stop(f"operand is a {type(e.value if isinstance(e, _Const) else e).__name__}, not a tensor")

    def const_tensor(self, arg: Any) -> torch.Tensor | None:
        e = self.entry(arg)
        if isinstance(e, _Const) and isinstance(e.value, torch.Tensor):
            return e.value
        return None

    def attr(self, target: str) -> Any:
        if target in self.params:
            return self.params[target]
        obj: Any = self.gm
        for part in target.split("."):
            obj = getattr(obj, part)
        return obj

    def run(self) -> None:
        for node in self.gm.graph.nodes:
            if node.op == "output":
                continue
            self.meta[node] = self._meta_of(node)
            entry = self.visit(node)
            self.env[node] = entry
            if isinstance(entry, _Const):  # exact, also where meta kernels fail
                self.meta[node] = _tree_meta(entry.value)

    def visit(self, node: fx.Node) -> Entry:
        if node.op == "placeholder":
            return _Unknown(f"model input (node {node.name}): nothing is known of the data")
        if node.op not in ("call_function", "get_attr"):
            return _Unknown(f"{node.op} {node.target} (node {node.name}): no moment rule")
        try:
            if node.op == "get_attr":
                return _Const(self.attr(str(node.target)))
            folded = self._fold(node)
            if folded is not None:
                return folded
            return self._rule(node)
        except _Propagate as p:
            return p.unknown
        except _Stop as s:
            return _Unknown(f"{_op_name(node)} (node {node.name}): {s}")
        except Exception as e:  # a rule's own failure must not stop the walk: the value is unknown
            return _Unknown(f"{_op_name(node)} (node {node.name}): failed: {first_line(e, named=True)}")

    def _fold(self, node: fx.Node) -> Entry | None:
        """Ops on constants only are run on the real tensors."""
        used: list[fx.Node] = []
        fx.node.map_arg((node.args, node.kwargs), used.append)
        if not all(isinstance(self.env[n], _Const) for n in used):
            return None
        args, kwargs = fx.node.map_arg((node.args, node.kwargs), self._const_value)
        assert callable(node.target)
        with torch.no_grad():
            return _Const(node.target(*args, **kwargs))

    def _const_value(self, n: fx.Node) -> Any:
        e = self.env[n]
        assert isinstance(e, _Const)
        return e.value

    def _rule(self, node: fx.Node) -> Entry:
        p = _packet(node)
        rule = _RULES.get(p)
        if rule is None:
            if p in _CLIPS:
                return _clip_rule(self, node, _call_args(node), p)
            if p in _QUADRATURE:
                return _quad_rule(self, node, _call_args(node), p)
            reason = _KNOWN_UNKNOWN.get(p, "no moment rule")
            raise _Stop(reason)
        return rule(self, node, _call_args(node))


def _tree_meta(value: Any) -> Any:
    """A constant's meta counterpart (tensors to meta tensors, containers kept)."""
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_tree_meta(v) for v in value)
    return value


_SOFTMAX = {"aten.softmax", "aten._softmax"}
_KNOWN_UNKNOWN = {
    "aten.embedding": "a lookup's moments depend on the distribution of the ids",
    "aten.index_select": "a lookup's moments depend on the distribution of the indices",
    "aten.bmm": "matmul of two activations",
    "aten.softmax": "softmax (only its use as attention weights is followed)",
    "aten._softmax": "softmax (only its use as attention weights is followed)",
}


# ------------------------------------------------------------------------------------------------ rules

Rule = Callable[[_Walk, fx.Node, dict[str, Any]], Entry]


def _norm_out(w: _Walk, node: fx.Node, val: _Val) -> Entry:
    """The op's result: tuple-returning norms give (output, unknown statistics)."""
    target = node.target
    if isinstance(target, torch._ops.OpOverload) and len(target._schema.returns) > 1:
        rest = _Unknown(f"{_op_name(node)} (node {node.name}): saved statistics")
        return _Tuple((val,) + (rest,) * (len(target._schema.returns) - 1))
    return val


def _affine(w: _Walk, a: dict[str, Any], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    gamma, beta = w.const_tensor(a.get("weight")), w.const_tensor(a.get("bias"))
    if (a.get("weight") is not None and gamma is None) or (a.get("bias") is not None and beta is None):
        raise _Stop("affine parameters are not constants")
    g = _f64(gamma).reshape(-1) if gamma is not None else torch.ones(n, dtype=torch.float64)
    b = _f64(beta).reshape(-1) if beta is not None else torch.zeros(n, dtype=torch.float64)
    return g, b


def _batch_norm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Running statistics describe the input: out ~ (β, γ²·rv/(rv+eps)) per channel."""
    rv = w.const_tensor(a.get("running_var"))
    sizes = [t.numel() for t in (w.const_tensor(a.get(k)) for k in ("weight", "bias", "running_var")) if t is not None]
    if not sizes:
        raise _Stop("no affine parameters or running statistics give the channel count")
    g, b = _affine(w, a, sizes[0])
    scale = _f64(rv) / (_f64(rv) + float(a["eps"])) if rv is not None else torch.ones_like(g)
    rank = w.rank(a["input"])
    if rank is None:
        raise _Stop("rank of the input unknown")
    tail = (1,) * (rank - 2)
    return _norm_out(w, node, _val(b.reshape(-1, *tail), (g * g * scale).reshape(-1, *tail)))


def _layer_norm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Per-position normalization taken as per-feature standardization: out ~ (β, γ²)."""
    shape = [int(s) for s in a["normalized_shape"]]
    g, b = _affine(w, a, math.prod(shape))
    return _norm_out(w, node, _val(b.reshape(shape), (g * g).reshape(shape)))


def _group_norm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    n = int(a["C"]) if "C" in a else None
    gamma = w.const_tensor(a.get("weight"))
    n = n or (gamma.numel() if gamma is not None else None)
    if n is None:
        raise _Stop("channel count unknown")
    g, b = _affine(w, a, n)
    rank = w.rank(a["input"])
    if rank is None:
        raise _Stop("rank of the input unknown")
    tail = (1,) * (rank - 2)
    return _norm_out(w, node, _val(b.reshape(-1, *tail), (g * g).reshape(-1, *tail)))


def _rms_norm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Assumed zero-mean features: out ~ (0, γ²)."""
    shape = [int(s) for s in a["normalized_shape"]]
    g, _ = _affine(w, {"weight": a.get("weight")}, math.prod(shape))
    return _val(torch.zeros(shape, dtype=torch.float64), (g * g).reshape(shape))


def _conv(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["weight"])
    if weight is None:
        raise _Stop("the weight is not a constant")
    x = w.val(a["input"])
    transposed = bool(a.get("transposed", False)) or _packet(node) in _CONV_T
    groups = int(a.get("groups", 1))
    wt = _f64(weight)
    rank = wt.dim()
    if transposed:  # [C_in, C_out/g, k...] -> [C_out, C_in/g, k...] per group
        cin, cout_g = wt.shape[0], wt.shape[1]
        wt = wt.reshape(groups, cin // groups, cout_g, *wt.shape[2:]).transpose(1, 2)
        wt = wt.reshape(groups * cout_g, cin // groups, *wt.shape[3:])
    cout, cin_g = wt.shape[0], wt.shape[1]
    mu, var = _per_channel(x, 1, rank, cin_g * groups)
    flat = wt.reshape(cout, cin_g, -1)
    ws, w2 = flat.sum(-1), flat.square().sum(-1)  # over kernel positions
    if transposed:
        taps = math.prod(int(s) for s in a.get("stride", [1])) or 1
        ws, w2 = ws / taps, w2 / taps
    per_group = (groups, cout // groups, cin_g)
    mean = (ws.reshape(per_group) @ mu.reshape(groups, cin_g, 1)).reshape(cout)
    out_var = (w2.reshape(per_group) @ var.reshape(groups, cin_g, 1)).reshape(cout)
    bias = w.const_tensor(a.get("bias"))
    if a.get("bias") is not None and bias is None:
        raise _Stop("the bias is not a constant")
    if bias is not None:
        mean = mean + _f64(bias)
    tail = (1,) * (rank - 2)
    return _val(mean.reshape(cout, *tail), out_var.reshape(cout, *tail))


def _dense(x: _Val, weight: torch.Tensor, bias: torch.Tensor | None) -> _Val:
    """x @ weight (+ bias), weight [F_in, F_out], features independent; in column blocks of at most 2^22 float64
    weights (a VGG classifier's 10^8 would need 1.6 GB at once)."""
    f_in, f_out = weight.shape
    rank = max(x.mean.dim(), 1)  # leading dims: moments that vary over positions
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    if m.shape[-1] == 1 and f_in != 1:
        m, v = m.expand(*m.shape[:-1], f_in), v.expand(*v.shape[:-1], f_in)
    step = max(1, (1 << 22) // max(f_in, 1))
    means, variances = [], []
    for j in range(0, f_out, step):
        wt = _f64(weight[:, j : j + step])
        means.append(m @ wt)
        variances.append(v @ wt.square())
    mean, var = torch.cat(means, -1), torch.cat(variances, -1)
    if bias is not None:
        mean = mean + _f64(bias)
    return _val(mean, var)


def _linear(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight, bias = w.const_tensor(a["weight"]), w.const_tensor(a.get("bias"))
    if weight is None or (a.get("bias") is not None and bias is None):
        raise _Stop("the weight is not a constant")
    return _dense(w.val(a["input"]), weight.T, bias)


def _mm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["mat2"])
    if weight is None:
        raise _Stop("matmul of two activations")
    return _dense(w.val(a["self"]), weight, None)


def _addmm(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight, bias = w.const_tensor(a["mat2"]), w.const_tensor(a["self"])
    if weight is None or bias is None:
        raise _Stop("matmul of two activations")
    out = _dense(w.val(a["mat1"]), weight, None)
    beta, alpha = float(a.get("beta", 1)), float(a.get("alpha", 1))
    return _val(alpha * out.mean + beta * _f64(bias), alpha * alpha * out.var)


def _through_identity(arg: Any) -> Any:
    while isinstance(arg, fx.Node) and arg.op == "call_function" and _packet(arg) in _IDENTITY:
        arg = arg.args[0]
    return arg


def _matmul(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    weight = w.const_tensor(a["other"])
    if weight is not None:
        if weight.dim() != 2:
            raise _Stop(f"a constant operand of rank {weight.dim()}")
        return _dense(w.val(a["self"]), weight, None)
    probs = _through_identity(a["self"])
    if isinstance(probs, fx.Node) and probs.op == "call_function" and _packet(probs) in _SOFTMAX:
        dim = int(_call_args(probs)["dim"])
        rank = w.rank(probs)
        if dim == -1 or (rank is not None and dim == rank - 1):
            return _mix(w.val(a["other"]))
    raise _Stop("matmul of two activations")


def _mix(v: _Val) -> _Val:
    """A convex mix over V's rows (dim -2): V's moments averaged over positions (the variance an upper bound)."""
    rank = max(v.mean.dim(), 2)
    m, s = _pad(v.mean, rank), _pad(v.var, rank)
    return _val(m.mean(-2, keepdim=True), s.mean(-2, keepdim=True))


def _sdpa(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    v = w.val(a["value"])
    out = _mix(v)
    if a.get("enable_gqa") and out.mean.dim() >= 3:
        q, k = w.shape(a["query"]), w.shape(a["value"])
        if q is None or k is None:
            raise _Stop("head counts unknown")
        r = q[-3] // k[-3]
        if r > 1 and _pad(out.mean, 3).shape[-3] > 1:
            out = _val(_pad(out.mean, 3).repeat_interleave(r, -3), _pad(out.var, 3).repeat_interleave(r, -3))
    target = node.target
    if isinstance(target, torch._ops.OpOverload) and len(target._schema.returns) > 1:
        rest = _Unknown(f"{_op_name(node)} (node {node.name}): attention statistics")
        return _Tuple((out,) + (rest,) * (len(target._schema.returns) - 1))
    return out


# ----------------------------------------------------------------------------------- elementwise ops


def _gauss(v: _Val) -> tuple[_Val, Callable[[torch.Tensor], torch.Tensor]]:
    """The Gaussian a value is an elementwise function of, and that function."""
    if v.src is not None and v.fn is not None:
        return v.src, v.fn
    return v, _ident


def _ident(t: torch.Tensor) -> torch.Tensor:
    return t


def _unary(x: _Val, op: Fn, monotone: bool, clip: tuple[float, float] | None) -> _Val:
    """op(x): the clipped Gaussian in closed form when x is Gaussian and op a clamp, else quadrature over the
    Gaussian x is a function of."""
    src, f = _gauss(x)
    if clip is not None and x.src is None:
        mean, var = _clipped(_f64(x.mean), _f64(x.var), *clip)
    else:
        mean, var = _expect(lambda z: op(f(z)), src.mean, src.var)
    return _val(mean, var, src=src, fn=lambda z: op(f(z)), monotone=x.monotone and monotone)


def _clip_rule(w: _Walk, node: fx.Node, a: dict[str, Any], p: str) -> Entry:
    lo, hi = _CLIPS[p](a)
    return _unary(w.val(a["self"]), lambda t: t.clamp(lo, hi), True, (lo, hi))


def _quad_rule(w: _Walk, node: fx.Node, a: dict[str, Any], p: str) -> Entry:
    x = w.val(node.args[0])
    rest, kwargs = node.args[1:], dict(node.kwargs)
    if any(isinstance(r, fx.Node) for r in rest) or any(isinstance(r, fx.Node) for r in kwargs.values()):
        raise _Stop("a tensor operand besides the input")
    target = node.target
    assert callable(target)
    monotone = p in _MONOTONE and not (p == "aten.leaky_relu" and float(a["negative_slope"]) < 0)
    monotone = monotone and not (p in ("aten.elu", "aten.celu") and float(a.get("alpha", 1)) < 0)
    return _unary(x, lambda t: target(t, *rest, **kwargs), monotone, None)


def _operand(w: _Walk, arg: Any) -> _Val | torch.Tensor:
    """A constant as a float64 tensor, else the operand's moments."""
    e = w.entry(arg)
    if isinstance(e, _Const) and isinstance(e.value, (torch.Tensor, int, float, bool)):
        return _f64(e.value)
    return w.val(arg)


_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
}


def _binary(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = _packet(node).split(".")[-1]
    alpha = float(a.get("alpha", 1))
    x, y = _operand(w, a["self"]), _operand(w, a["other"])
    if p == "rsub":
        p, x, y = "sub", y, x
    if p in ("sub", "add") and alpha != 1:
        y = _scaled(y, alpha)
        alpha = 1.0
    if p == "div" and a.get("rounding_mode") is not None:
        raise _Stop("rounded division")
    op = _BINARY[p]
    if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
        return _Const(op(x, y))
    if isinstance(x, torch.Tensor):
        assert isinstance(y, _Val)
        if p == "div":
            raise _Stop("division by an activation")
        return _with_const(y, x, p, swapped=True)
    if isinstance(y, torch.Tensor):
        return _with_const(x, y, p, swapped=False)
    return _two_vals(x, y, p)


def _scaled(v: _Val | torch.Tensor, c: float) -> _Val | torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v * c
    src, f = _gauss(v)
    return _val(v.mean * c, v.var * c * c, src=src, fn=lambda z: f(z) * c, monotone=v.monotone and c >= 0)


def _with_const(x: _Val, c: torch.Tensor, p: str, *, swapped: bool) -> _Val:
    """x op c (c op x when swapped): exact moments, the elementwise chain kept."""
    src, f = _gauss(x)
    if p == "add":
        return _val(x.mean + c, x.var, src=src, fn=lambda z: f(z) + c, monotone=x.monotone)
    if p == "sub" and not swapped:
        return _val(x.mean - c, x.var, src=src, fn=lambda z: f(z) - c, monotone=x.monotone)
    if p == "sub":
        return _val(c - x.mean, x.var, src=src, fn=lambda z: c - f(z), monotone=False)
    if p == "mul":
        up = x.monotone and bool((c >= 0).all())
        return _val(x.mean * c, x.var * c * c, src=src, fn=lambda z: f(z) * c, monotone=up)
    if bool((c == 0).any()):
        raise _Stop("division by zero")
    up = x.monotone and bool((c > 0).all())
    return _val(x.mean / c, x.var / (c * c), src=src, fn=lambda z: f(z) / c, monotone=up)


def _two_vals(x: _Val, y: _Val, p: str) -> _Val:
    """Two activations: one function of the same Gaussian is integrated; otherwise they are independent."""
    sx, fx_ = _gauss(x)
    sy, fy = _gauss(y)
    op = _BINARY[p]
    if sx is sy:
        fn = lambda z: op(fx_(z), fy(z))  # noqa: E731
        mean, var = _expect(fn, sx.mean, sx.var)
        return _val(mean, var, src=sx, fn=fn, monotone=False)
    if p in ("add", "sub"):
        return _val(op(x.mean, y.mean), x.var + y.var)
    if p == "mul":
        return _val(x.mean * y.mean, x.var * y.var + x.var * y.mean**2 + y.var * x.mean**2)
    raise _Stop("division by an activation")


def _neg(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = _scaled(w.val(a["self"]), -1.0)
    assert isinstance(x, _Val)
    return x


def _identity(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    first = node.args[0]
    if _packet(node) in ("aten.dropout", "aten.feature_dropout", "aten.alpha_dropout") and a.get("train"):
        raise _Stop("dropout in training mode")
    dtype = a.get("dtype")
    if isinstance(dtype, torch.dtype) and not dtype.is_floating_point:
        raise _Stop(f"a cast to {dtype}")
    e = w.entry(first)
    if isinstance(e, _Unknown):
        raise _Propagate(e)
    return w.val(first)


def _native_dropout(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    if a.get("train"):
        raise _Stop("dropout in training mode")
    return _Tuple((w.val(a["input"]), _Unknown(f"{_op_name(node)} (node {node.name}): the dropout mask")))


def _getitem(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    e = w.entry(node.args[0])
    i = node.args[1]
    if isinstance(e, _Unknown):
        raise _Propagate(e)
    if isinstance(e, _Repeat):
        return e.item
    if isinstance(e, _Tuple) and isinstance(i, int):
        return e.items[i]
    raise _Stop("indexing an activation")


# ------------------------------------------------------------------------------------------ pooling


def _spatial(a: dict[str, Any], key: str, n: int) -> list[int]:
    v = a[key]
    vs = [int(v)] * n if isinstance(v, int) else [int(s) for s in v]
    return vs * n if len(vs) == 1 else vs


def _pool_dims(p: str) -> int:
    """`aten.max_pool2d_with_indices` -> 2."""
    found = re.search(r"pool(\d)d", p)
    if found is None:
        raise _Stop("pooling of unknown dimensionality")
    return int(found.group(1))


def _check_flat(x: _Val, rank: int, dims: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    if any(m.shape[d] != 1 for d in dims):
        raise _Stop("moments that vary over the pooled positions")
    return m, v


def _avg_pool(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = _packet(node)
    n = _pool_dims(p)
    x = w.val(a["self"])
    rank = max(w.rank(a["self"]) or 0, _strip(x.mean).dim(), n + 1)
    dims = list(range(rank - n, rank))
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    if "adaptive" in p:
        shape = w.shape(a["self"])
        out = _spatial(a, "output_size", n)
        factor = 1.0
        for d, o in zip(dims, out):
            size = shape[d] if shape is not None else (m.shape[d] if m.shape[d] > 1 else None)
            if size is None:
                raise _Stop("the input's spatial size is unknown (pass example_inputs)")
            if m.shape[d] > 1:
                if o != 1:
                    raise _Stop("moments that vary over the pooled positions")
                m, v = m.mean(d, keepdim=True), v.mean(d, keepdim=True)
            factor *= _adaptive_factor(size, o)
        return _val(m, v * factor)
    m, v = _check_flat(x, rank, dims)
    factor = math.prod(pool_variance_factor(k) for k in _spatial(a, "kernel_size", n))
    return _val(m, v * factor)


def _mean(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    rank = w.rank(a["self"])
    if rank is None:
        raise _Stop("rank of the input unknown")
    shape = w.shape(a["self"])
    dims = sorted({_norm_dim(int(d), rank) for d in (a.get("dim") or range(rank))})
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    factor = 1.0
    for d in dims:
        size = shape[d] if shape is not None else (m.shape[d] if m.shape[d] > 1 else None)
        if size is None:
            raise _Stop("the size of a reduced dim is unknown (pass example_inputs)")
        m, v = m.mean(d, keepdim=True), v.mean(d, keepdim=True)
        factor *= pool_variance_factor(size)
    if not a.get("keepdim"):
        keep = [d for d in range(rank) if d not in dims]
        m, v = m.reshape([m.shape[d] for d in keep]), v.reshape([v.shape[d] for d in keep])
    return _val(m, v * factor)


def _max_of(x: _Val, k: int) -> _Val:
    """Moments of the max of k iid copies: g(max of the Gaussians) when x = g(Gaussian) with g nondecreasing."""
    src, f = _gauss(x) if x.monotone else (x, _ident)
    mean, var = _expect(f, src.mean, src.var, _max_rule(k))
    return _val(mean, var)


def _max_pool(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    p = _packet(node)
    n = _pool_dims(p)
    x = w.val(a["self"])
    rank = max(w.rank(a["self"]) or 0, _strip(x.mean).dim(), n + 1)
    dims = list(range(rank - n, rank))
    _check_flat(x, rank, dims)
    if "adaptive" in p:
        shape = w.shape(a["self"])
        if shape is None:
            raise _Stop("the input's spatial size is unknown (pass example_inputs)")
        k = math.prod(math.ceil(shape[d] / o) for d, o in zip(dims, _spatial(a, "output_size", n)))
    else:
        k = math.prod(_spatial(a, "kernel_size", n))
    out = _max_of(x, k)
    target = node.target
    if isinstance(target, torch._ops.OpOverload) and len(target._schema.returns) > 1:
        return _Tuple((out, _Unknown(f"{_op_name(node)} (node {node.name}): indices")))
    return out


def _amax(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    rank, shape = w.rank(a["self"]), w.shape(a["self"])
    if rank is None or shape is None:
        raise _Stop("the input's shape is unknown (pass example_inputs)")
    dims = sorted({_norm_dim(int(d), rank) for d in (a.get("dim") or range(rank))})
    m, v = _check_flat(x, rank, dims)
    out = _max_of(_Val(m, v, x.src, x.fn, x.monotone), math.prod(shape[d] for d in dims))
    if a.get("keepdim"):
        return out
    keep = [d for d in range(rank) if d not in dims]
    om, ov = _pad(out.mean, rank), _pad(out.var, rank)
    return _val(om.reshape([om.shape[d] for d in keep]), ov.reshape([ov.shape[d] for d in keep]))


# -------------------------------------------------------------------------------------------- views


def _rank_for(w: _Walk, arg: Any, x: _Val, *dims: int) -> int:
    """The rank to pad the moments to: the value's, or enough for negative dims when it is unknown."""
    r = w.rank(arg)
    if r is not None:
        return r
    if all(d < 0 for d in dims):
        return max([_strip(x.mean).dim(), *(-d for d in dims)])
    raise _Stop("rank of the input unknown")


def _both(x: _Val, rank: int, f: Callable[[torch.Tensor], torch.Tensor]) -> _Val:
    return _val(f(_pad(x.mean, rank)), f(_pad(x.var, rank)))


def _roll(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Positions move; along a dim the moments do not vary on, nothing changes."""
    x = w.val(a["self"])
    shifts, dims = [int(s) for s in a["shifts"]], [int(d) for d in a["dims"]]
    if not dims:
        raise _Stop("a roll of the flattened value")
    return _both(x, _rank_for(w, a["self"], x, *dims), lambda t: t.roll(shifts, dims))


def _constant_pad(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """Padded positions hold the constant (variance 0): the moments become position-dependent there."""
    if a.get("mode", "constant") != "constant":
        raise _Stop(f"{a['mode']} padding")
    x = w.val(a["self"])
    shape = w.shape(a["self"])
    if shape is None:
        raise _Stop("the input's shape is unknown (pass example_inputs)")
    pads = [int(p) for p in a["pad"]]
    rank = len(shape)
    touched = range(rank - len(pads) // 2, rank)
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    size = [shape[d] if d in touched else m.shape[d] for d in range(rank)]
    value = 0.0 if a.get("value") is None else float(a["value"])
    return _val(F.pad(m.expand(size), pads, value=value), F.pad(v.expand(size), pads, value=0.0))


def _permute(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    dims = [int(d) for d in a["dims"]]
    return _both(x, len(dims), lambda t: t.permute(dims))


def _transpose(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    if _packet(node) in ("aten.t", "aten.numpy_T"):
        d0, d1 = -2, -1
    else:
        d0, d1 = int(a["dim0"]), int(a["dim1"])
    rank = _rank_for(w, a["self"], x, d0, d1)
    return _both(x, max(rank, 2), lambda t: t.transpose(d0, d1))


def _unsqueeze(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a["dim"])
    if d < 0:
        rank = _rank_for(w, a["self"], x, d + 1 if d < -1 else -1)
        return _both(x, rank, lambda t: t.unsqueeze(d))
    rank = _rank_for(w, a["self"], x)
    return _both(x, rank, lambda t: t.unsqueeze(d))


def _squeeze(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    shape = w.shape(a["self"])
    if shape is None:
        raise _Stop("the input's shape is unknown (pass example_inputs)")
    rank = len(shape)
    given = a.get("dim", a.get("dims"))
    dims = range(rank) if given is None else ([given] if isinstance(given, int) else list(given))
    drop = {_norm_dim(int(d), rank) for d in dims if shape[int(d)] == 1}
    keep = [d for d in range(rank) if d not in drop]
    return _both(x, rank, lambda t: t.reshape([t.shape[d] for d in keep]))


def _select(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a["dim"])
    rank = _rank_for(w, a["self"], x, d)
    d = _norm_dim(d, rank)
    index = int(a["index"])

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.select(d, index if t.shape[d] > 1 else 0)

    return _both(x, rank, pick)


def _slice(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    p = _packet(node)
    d = int(a.get("dim", 0))
    rank = _rank_for(w, a["self"], x, d)
    d = _norm_dim(d, rank)
    end: int | None
    if p == "aten.narrow":
        start, end, step = int(a["start"]), int(a["start"]) + int(a["length"]), 1
    else:
        start = 0 if a.get("start") is None else int(a["start"])
        end = None if a.get("end") is None else int(a["end"])
        step = int(a.get("step", 1))

    def cut(t: torch.Tensor) -> torch.Tensor:
        if t.shape[d] == 1:
            return t
        index = [slice(None)] * t.dim()
        index[d] = slice(start, end, step)
        return t[tuple(index)]

    return _both(x, rank, cut)


def _split(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    x = w.val(a["self"])
    d = int(a.get("dim", 0))
    rank = _rank_for(w, a["self"], x, d)
    d = _norm_dim(d, rank)
    m, v = _pad(x.mean, rank), _pad(x.var, rank)
    if m.shape[d] == 1:
        return _Repeat(_val(m, v))
    p = _packet(node)
    if p == "aten.chunk":
        ms, vs = m.chunk(int(a["chunks"]), d), v.chunk(int(a["chunks"]), d)
    else:
        size = a["split_sizes"] if p == "aten.split_with_sizes" else a["split_size"]
        sizes = int(size) if isinstance(size, int) else [int(s) for s in size]
        ms, vs = m.split(sizes, d), v.split(sizes, d)
    return _Tuple(tuple(_val(mi, vi) for mi, vi in zip(ms, vs)))


def _cat(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    parts = [w.val(t) for t in a["tensors"]]
    d = int(a.get("dim", 0))
    rank = w.rank(node) or max((w.rank(t) or 0) for t in a["tensors"])
    if rank == 0:
        raise _Stop("rank unknown")
    d = _norm_dim(d, rank)
    ms, vs = [], []
    for arg, part in zip(a["tensors"], parts):
        m, v = _pad(part.mean, rank), _pad(part.var, rank)
        if m.shape[d] == 1:
            shape = w.shape(arg)
            if shape is None:
                raise _Stop("an operand's size along the cat dim is unknown (pass example_inputs)")
            size = list(m.shape)
            size[d] = shape[d]
            m, v = m.expand(size), v.expand(size)
        ms.append(m)
        vs.append(v)
    others = torch.broadcast_shapes(*[tuple(1 if i == d else s for i, s in enumerate(m.shape)) for m in ms])

    def full(t: torch.Tensor) -> torch.Tensor:
        return t.expand([t.shape[i] if i == d else others[i] for i in range(rank)])

    return _val(torch.cat([full(m) for m in ms], d), torch.cat([full(v) for v in vs], d))


def _reshape(w: _Walk, node: fx.Node, a: dict[str, Any]) -> Entry:
    """The moments' trailing dims (expanded to their real sizes) reshaped to the target's suffix of that size."""
    x = w.val(node.args[0])
    target = w.shape(node)
    if target is None and _packet(node) in ("aten.reshape", "aten.view", "aten._unsafe_view"):
        given = [int(s) for s in (a["shape"] if "shape" in a else a["size"])]
        target = tuple(given) if all(s >= 0 for s in given) else None
    if target is None:
        raise _Stop("the target shape is unknown (pass example_inputs)")
    in_shape = w.shape(node.args[0])
    m, v = _strip(x.mean), _strip(x.var)
    top = len(in_shape) if in_shape is not None else m.dim()
    for k in range(max(m.dim(), 1), top + 1):
        mk = _pad(m, k)
        sizes: list[int] = []
        for i in range(k):
            real = in_shape[len(in_shape) - k + i] if in_shape is not None else None
            if real is None:
                if mk.shape[i] == 1:
                    raise _Stop("the input's shape is unknown (pass example_inputs)")
                real = int(mk.shape[i])
            sizes.append(real)
        total = math.prod(sizes)
        for j in range(len(target), -1, -1):
            tail = target[j:]
            if math.prod(tail) == total:
                return _val(mk.expand(sizes).reshape(tail), _pad(v, k).expand(sizes).reshape(tail))
            if math.prod(tail) > total:
                break
    raise _Stop("the channel dims cannot be followed through the reshape")


_RULES: dict[str, Rule] = {
    "aten.linear": _linear,
    "aten.mm": _mm,
    "aten.addmm": _addmm,
    "aten.matmul": _matmul,
    "aten.scaled_dot_product_attention": _sdpa,
    "aten._scaled_dot_product_flash_attention_for_cpu": _sdpa,
    "aten.layer_norm": _layer_norm,
    "aten.native_layer_norm": _layer_norm,
    "aten.group_norm": _group_norm,
    "aten.native_group_norm": _group_norm,
    "aten.rms_norm": _rms_norm,
    "aten.neg": _neg,
    "aten.native_dropout": _native_dropout,
    "getitem": _getitem,
    "aten.mean": _mean,
    "aten.amax": _amax,
    "aten.permute": _permute,
    "aten.roll": _roll,
    "aten.pad": _constant_pad,
    "aten.constant_pad_nd": _constant_pad,
    "aten.transpose": _transpose,
    "aten.t": _transpose,
    "aten.numpy_T": _transpose,
    "aten.unsqueeze": _unsqueeze,
    "aten.squeeze": _squeeze,
    "aten.select": _select,
    "aten.slice": _slice,
    "aten.narrow": _slice,
    "aten.split": _split,
    "aten.split_with_sizes": _split,
    "aten.chunk": _split,
    "aten.cat": _cat,
    "aten.concat": _cat,
}
_RULES |= {p: _batch_norm for p in _BN}
_RULES |= {p: _conv for p in _CONVS | _CONV_T}
_RULES |= {p: _identity for p in _IDENTITY}
_RULES |= {p: _reshape for p in _RESHAPES}
_RULES |= {f"aten.{p}": _binary for p in ("add", "sub", "mul", "div", "rsub")}
_RULES |= {f"aten.{p}": _avg_pool for p in ("avg_pool1d", "avg_pool2d", "avg_pool3d", "_adaptive_avg_pool2d")}
_RULES |= {f"aten.adaptive_avg_pool{n}d": _avg_pool for n in (1, 2, 3)}
_RULES |= {f"aten.max_pool{n}d": _max_pool for n in (1, 2, 3)}
_RULES |= {f"aten.max_pool{n}d_with_indices": _max_pool for n in (2, 3)}
_RULES |= {f"aten.adaptive_max_pool{n}d": _max_pool for n in (1, 2, 3)}


# ------------------------------------------------------------------------------------------ the entry


def _consumer_moments(w: _Walk, site: Site) -> Moments:
    e = w.entry(site.x)
    if isinstance(e, _Unknown):
        raise _Propagate(e)
    x = w.val(site.x)
    shape = _weight_shape(w, site)
    c = site.consumer
    if c.op == "conv":
        transposed = bool(site.conv.get("transposed", False))
        n = shape[0] if transposed else shape[1] * c.groups
        rank = len(shape)
        mean, var = _per_channel(x, 1, rank, n)
    else:
        n = shape[c.in_dim]
        rank = max(_strip(x.mean).dim(), 1)
        mean, var = _per_channel(x, rank - 1, rank, n)
    if not (torch.isfinite(mean).all() and torch.isfinite(var).all()):
        raise _Stop("non-finite moments")
    return Moments(mean.clone(), var.clone())


def _weight_shape(w: _Walk, site: Site) -> tuple[int, ...]:
    t = w.params.get(site.weight)
    if t is None:
        t = w.attr(site.weight)
    return tuple(int(s) for s in t.shape)


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
) -> MomentsReport:
    """Per-feature input moments of every consumer, derived from the network alone (see the module docstring).

    `params` are read first for a get_attr's tensor (the module's attribute otherwise, e.g. the running
    statistics). `example_inputs` (any device, `meta` too; only shapes and dtypes are read) give the model inputs'
    shapes, which flattens after unpooled maps and adaptive pools need."""
    walk = _Walk(gm, params, example_inputs)
    walk.run()
    derived: dict[str, Moments] = {}
    missing: dict[str, str] = {}
    for site in sites:
        try:
            derived[site.weight] = _consumer_moments(walk, site)
        except _Propagate as p:
            missing[site.weight] = p.unknown.reason
        except _Stop as s:
            missing[site.weight] = f"{_op_name(site.y)} (node {site.y.name}): {s}"
        except Exception as e:  # a malformed site must not stop the others
            missing[site.weight] = f"{_op_name(site.y)} (node {site.y.name}): failed: {first_line(e, named=True)}"
    return MomentsReport(derived, missing)
