"""The one pass over the graph: shapes on meta tensors, constants folded on the real tensors, and each other op's
moments from its rule (the dispatch table, by packet)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.fx as fx

from spa_ir.compensation.moments import rules_elementwise as elementwise
from spa_ir.compensation.moments import rules_linear as linear
from spa_ir.compensation.moments import rules_norms as norms
from spa_ir.compensation.moments import rules_pooling as pooling
from spa_ir.compensation.moments import rules_views as views
from spa_ir.compensation.moments.ops import (
    BN,
    CLIPS,
    CONV_T,
    CONVS,
    IDENTITY,
    QUADRATURE,
    RESHAPES,
    SAME_RANK,
    SOFTMAX,
    VIEWS,
)
from spa_ir.compensation.moments.values import (
    Const,
    Entry,
    Propagate,
    Stop,
    Unknown,
    Val,
    args_of,
    f64,
    op_name,
    packet,
)
from spa_ir.core.errors import first_line


class Walk:
    """One pass over the graph: shapes (on meta tensors) and what is known of each value."""

    def __init__(
        self,
        gm: fx.GraphModule,
        params: Mapping[str, torch.Tensor],
        inputs: Sequence[torch.Tensor] | None,
        per_position_norms: bool = True,
    ):
        self.gm = gm
        self.per_position_norms = per_position_norms
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
        p, a = packet(arg), args_of(arg)
        if p in CONVS | CONV_T:
            w = self.entry(a.get("weight"))
            return w.value.dim() if isinstance(w, Const) and isinstance(w.value, torch.Tensor) else None
        if p in VIEWS:
            return len(views.view_size(a))
        if p == "aten.permute":
            return len(a["dims"])
        if p == "getitem" or p in SAME_RANK:
            first = arg.args[0] if arg.args else None
            return self.rank(first)
        return None

    # --------------------------------------------------------------- entries

    def entry(self, arg: Any) -> Entry:
        if isinstance(arg, fx.Node):
            return self.env[arg]
        return Const(arg)

    def val(self, arg: Any) -> Val:
        """The operand's moments (a constant has variance 0); raises Propagate for an unknown operand."""
        e = self.entry(arg)
        if isinstance(e, Unknown):
            raise Propagate(e)
        if isinstance(e, Val):
            return e
        if isinstance(e, Const) and isinstance(e.value, (torch.Tensor, int, float, bool)):
            m = f64(e.value)
            return Val(m, torch.zeros((), dtype=torch.float64).expand(m.shape))
        raise Stop(f"operand is a {type(e.value if isinstance(e, Const) else e).__name__}, not a tensor")

    def const_tensor(self, arg: Any) -> torch.Tensor | None:
        e = self.entry(arg)
        if isinstance(e, Const) and isinstance(e.value, torch.Tensor):
            return e.value
        return None

    def attr(self, target: str) -> Any:
        """A get_attr's value: from `params` first, else the module's attribute."""
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
            if isinstance(entry, Const):  # exact, also where meta kernels fail
                self.meta[node] = _tree_meta(entry.value)

    def visit(self, node: fx.Node) -> Entry:
        if node.op == "placeholder":
            return Unknown(f"model input (node {node.name}): nothing is known of the data")
        if node.op not in ("call_function", "get_attr"):
            return Unknown(f"{node.op} {node.target} (node {node.name}): no moment rule")
        try:
            if node.op == "get_attr":
                return Const(self.attr(str(node.target)))
            folded = self._fold(node)
            if folded is not None:
                return folded
            return self._rule(node)
        except Propagate as p:
            return p.unknown
        except Stop as s:
            return Unknown(f"{op_name(node)} (node {node.name}): {s}")
        except Exception as e:  # a rule's own failure must not stop the walk: the value is unknown
            return Unknown(f"{op_name(node)} (node {node.name}): failed: {first_line(e, named=True)}")

    def _fold(self, node: fx.Node) -> Entry | None:
        """Ops on constants only are run on the real tensors."""
        used: list[fx.Node] = []
        fx.node.map_arg((node.args, node.kwargs), used.append)
        if not all(isinstance(self.env[n], Const) for n in used):
            return None
        args, kwargs = fx.node.map_arg((node.args, node.kwargs), self._const_value)
        assert callable(node.target)
        with torch.no_grad():
            return Const(node.target(*args, **kwargs))

    def _const_value(self, n: fx.Node) -> Any:
        e = self.env[n]
        assert isinstance(e, Const)
        return e.value

    def _rule(self, node: fx.Node) -> Entry:
        p = packet(node)
        rule = RULES.get(p)
        if rule is None:
            raise Stop(_KNOWN_UNKNOWN.get(p, "no moment rule"))
        return rule(self, node, args_of(node))


def _tree_meta(value: Any) -> Any:
    """A constant's meta counterpart (tensors to meta tensors, containers kept)."""
    if isinstance(value, torch.Tensor):
        return torch.empty(value.shape, dtype=value.dtype, device="meta")
    if isinstance(value, (tuple, list)):
        return type(value)(_tree_meta(v) for v in value)
    return value


_KNOWN_UNKNOWN = {
    "aten.embedding": "a lookup's moments depend on the distribution of the ids",
    "aten.index_select": "a lookup's moments depend on the distribution of the indices",
    "aten.bmm": "matmul of two activations",
}
_KNOWN_UNKNOWN |= {p: "softmax (only its use as attention weights is followed)" for p in SOFTMAX}
"""Ops without a rule, and why."""


Rule = Callable[[Walk, fx.Node, dict[str, Any]], Entry]

RULES: dict[str, Rule] = {
    "aten.linear": linear.linear,
    "aten.mm": linear.mm,
    "aten.addmm": linear.addmm,
    "aten.matmul": linear.matmul,
    "aten.scaled_dot_product_attention": linear.sdpa,
    "aten._scaled_dot_product_flash_attention_for_cpu": linear.sdpa,
    "aten.layer_norm": norms.layer_norm,
    "aten.native_layer_norm": norms.layer_norm,
    "aten.group_norm": norms.group_norm,
    "aten.native_group_norm": norms.group_norm,
    "aten.rms_norm": norms.rms_norm,
    "aten.neg": elementwise.neg,
    "aten.native_dropout": elementwise.native_dropout,
    "getitem": views.getitem,
    "aten.mean": pooling.mean,
    "aten.amax": pooling.amax,
    "aten.permute": views.permute,
    "aten.roll": views.roll,
    "aten.pad": views.constant_pad,
    "aten.constant_pad_nd": views.constant_pad,
    "aten.transpose": views.transpose,
    "aten.t": views.transpose,
    "aten.numpy_T": views.transpose,
    "aten.unsqueeze": views.unsqueeze,
    "aten.squeeze": views.squeeze,
    "aten.select": views.select,
    "aten.slice": views.slice_,
    "aten.narrow": views.slice_,
    "aten.split": views.split,
    "aten.split_with_sizes": views.split,
    "aten.chunk": views.split,
    "aten.cat": views.cat,
    "aten.concat": views.cat,
}
RULES |= {p: norms.batch_norm for p in BN}
RULES |= {p: linear.conv for p in CONVS | CONV_T}
RULES |= {p: elementwise.identity for p in IDENTITY}
RULES |= {p: views.reshape for p in RESHAPES}
RULES |= {f"aten.{p}": elementwise.binary for p in ("add", "sub", "mul", "div", "rsub")}
RULES |= {f"aten.{p}": pooling.avg_pool for p in ("avg_pool1d", "avg_pool2d", "avg_pool3d", "_adaptive_avg_pool2d")}
RULES |= {f"aten.adaptive_avg_pool{n}d": pooling.avg_pool for n in (1, 2, 3)}
RULES |= {f"aten.max_pool{n}d": pooling.max_pool for n in (1, 2, 3)}
RULES |= {f"aten.max_pool{n}d_with_indices": pooling.max_pool for n in (2, 3)}
RULES |= {f"aten.adaptive_max_pool{n}d": pooling.max_pool for n in (1, 2, 3)}
RULES |= {p: elementwise.clip_rule for p in CLIPS}
RULES |= {p: elementwise.quad_rule for p in QUADRATURE}
"""Packet -> the op's moment rule."""
