"""Recurrent layers (LSTM, GRU, Elman RNN with tanh or relu): hidden units as channels, gate blocks frozen,
layers coupled through the stacked states. And the loops and branches ONNX control flow that is not a recurrent
layer becomes (`prim.Loop`, `prim.If`): their regions are not analyzed, so every channel reaching them is frozen,
the values their bodies capture included, and the backend refuses them with a located error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spa.dialects.torch import AtenSliceTensorOp, PrimListConstructOp
from spa.dialects.torch_base import BaseTensorType, VTensorLiteralOp
from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Cat, Layout, Prod, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import op_key, site
from spa_ir.ops.common import fresh, unify_all
from spa_ir.ops.spec import Emitter, OpSpec, Resize, Rule, arg, each, operand_names, table
from spa_ir.pruning.shapes import Shapes, make_int

_LIST = "torch.prim.ListConstruct"
_RECURRENT = "input hx params has_biases num_layers dropout train bidirectional batch_first"

ONNX_RECURRENT: dict[str, str] = {
    "LSTM": "torch.aten.lstm.input",
    "GRU": "torch.aten.gru.input",
    "RNN Tanh": "torch.aten.rnn_tanh.input",
    "RNN Relu": "torch.aten.rnn_relu.input",
}
"""The op the ONNX frontend (spa_ir/frontends/onnx/recurrent.py) builds for an ONNX LSTM, GRU, RNN (by activation)."""
_RECURRENT_OPS = frozenset(ONNX_RECURRENT.values())


def recurrent(gates: int, hidden_list: bool) -> Rule:
    """lstm.input / gru.input / rnn_tanh.input / rnn_relu.input(input, hx, params, has_biases, num_layers, dropout,
    train, bidirectional, batch_first). Per layer and direction the weights are w_ih [G*H, I], w_hh [G*H, H]
    (+ b_ih, b_hh): rows are gate-major (G gates of H units), so rows = gates x hidden with the gate count frozen; the
    hidden units of a layer are its w_hh columns. A layer's input is the previous layer's output (both
    directions concatenated). The stacked states h0/c0/h_n/c_n put every layer in one tensor, so all
    layers' hidden spaces are coupled; their other dims (layers x directions, batch) and the input's sequence and
    batch dims are frozen. Exact when the initial state is zero on removed units: their gates see 0, so their cell
    and hidden states stay 0 (tanh, relu and the gates' products of 0). A state that is zero everywhere and holds no
    channel (a literal, a run-time broadcast of 0) couples nothing: `resize_states` slices it."""

    def rule(p: Propagation, op: Operation) -> None:
        x = arg(op, "input")
        items = p.list_items.get(arg(op, "params"))
        has_biases, layers = p.const(arg(op, "has_biases")), p.const_int(arg(op, "num_layers"))
        bidirectional = p.const(arg(op, "bidirectional"))  # batch_first moves only non-channel dims
        if items is None or layers is None or not isinstance(bidirectional, bool) or not isinstance(has_biases, bool):
            return p.freeze_op(op, "recurrent layer with non-constant configuration")
        dirs, per = (2 if bidirectional else 1), (4 if has_biases else 2)
        if len(items) != layers * dirs * per:
            return p.freeze_op(op, "recurrent layer with projections or unexpected weights")
        where = site(op)
        prev = p.layout(x)[-1]
        hidden: list[Layout] = []
        for layer in range(layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, *biases = items[(layer * dirs + d) * per : (layer * dirs + d + 1) * per]
                h = p.layout(w_hh)[1]
                gate = fresh(p, gates, f"{where} gates")
                p.spaces.freeze(gate, Reason("gate blocks of a recurrent layer", where))
                rows = Prod((gate, h))
                for v in (w_ih, w_hh, *biases):
                    p.spaces.unify(p.layout(v)[0], rows, where)
                p.spaces.unify(p.layout(w_ih)[1], prev, where)
                outs.append(p.spaces.resolve(h))
            prev = p.spaces.resolve(Cat(tuple(outs)) if dirs == 2 else outs[0])
            hidden.extend(outs)
        state = unify_all(p, hidden, where) if hidden else Anon(1)
        hx = arg(op, "hx")
        states = p.list_items.get(hx, []) if hidden_list else [hx]
        fixed = Reason("layer, direction and batch dims of a recurrent layer's state", where)
        for v in states:
            if not p.is_tensor(v):
                continue
            *outer, units = p.layout(v)
            if all_zero(v) and not p.has_channels(units):
                continue  # a zero literal or a run-time broadcast of 0: `resize` slices it to the units kept
            p.spaces.unify(units, state, where)
            for dim in outer:  # must match the layer count and the input's batch (an ONNX zero state is a weight)
                p.spaces.freeze(dim, fixed)
        zero = all(p.is_zero(v) for v in states)
        xl = p.layout(x)
        for dim in xl[:-1]:  # sequence and batch: the states' batch must stay the input's
            p.spaces.freeze(dim, fixed)
        p.set(op.results[0], [*xl[:-1], p.spaces.resolve(prev)], zero=zero)
        for r in op.results[1:]:
            rs = p.shape(r) or ()
            p.set(r, [Anon(n) for n in rs[:-1]] + [p.spaces.resolve(state)], zero=zero)

    return rule


_ZERO_SOURCES = frozenset({"torch.aten.zeros", "torch.aten.new_zeros", "torch.aten.zeros_like"})
_SAME_VALUES = frozenset(
    {
        "torch.aten.broadcast_to",
        "torch.aten.expand",
        "torch.aten.unsqueeze",
        "torch.aten.squeeze.dim",
        "torch.aten.reshape",
        "torch.aten.view",
        "torch.aten.transpose.int",
        "torch.aten.permute",
        "torch.aten.to.dtype",
        "torch.aten.slice.Tensor",
        "torch.aten.clone",
    }
)
"""Ops whose result holds only values of their first operand: zeros in, zeros out."""


def all_zero(v: SSAValue) -> bool:
    """Whether `v` is zero everywhere by construction: a zero literal or factory, reshaped or broadcast (how
    converters spell an initial state: tf2onnx's `Expand(0, [batch, H])`, the frontend's folded zeros)."""
    owner = v.owner
    while isinstance(owner, Operation) and owner.name in _SAME_VALUES and owner.operands:
        owner = owner.operands[0].owner
    if isinstance(owner, VTensorLiteralOp) and isinstance(owner.value, DenseIntOrFPElementsAttr):
        return all(x == 0 for x in owner.value.get_values())
    return isinstance(owner, Operation) and owner.name in _ZERO_SOURCES


def resize_states(hidden_list: bool) -> Resize:
    """An all-zero initial state that took no channel (`all_zero`, not a factory the rule unified) sliced to the
    pruned hidden size, its first units being as zero as any; LSTM's (h0, c0) in a new list (the old one may be
    shared with another layer)."""

    def resize(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
        hidden = shapes.new(op.results[1])[-1]
        hx = arg(op, "hx")
        owner = hx.owner
        listed = hidden_list and isinstance(owner, Operation) and owner.name == _LIST
        states = list(owner.operands) if listed and isinstance(owner, Operation) else [hx]
        new = [_first_units(v, hidden, op, rewriter) if all_zero(v) and not shapes.changed(v) else v for v in states]
        if new == states:
            return
        new_hx = new[0]
        if listed:
            new_list = PrimListConstructOp.create(operands=new, result_types=[hx.type])
            rewriter.insert_op(new_list, InsertPoint.before(op))
            new_hx = new_list.results[0]
        op.operands[operand_names(op).index("hx")] = new_hx
        rewriter.notify_op_modified(op)

    return resize


def _first_units(v: SSAValue, hidden: int, before: Operation, rewriter: PatternRewriter) -> SSAValue:
    """v[..., :hidden] (v itself when it has that many units)."""
    old = v.type
    if not isinstance(old, BaseTensorType) or old.get_shape()[-1] == hidden:
        return v
    dims = [*old.get_shape()[:-1], hidden]
    bounds = [make_int(n, before, rewriter) for n in (-1, 0, hidden, 1)]
    new = AtenSliceTensorOp.create(operands=[v, *bounds], result_types=[old.with_shape(dims)])
    rewriter.insert_op(new, InsertPoint.before(before))
    return new.results[0]


def hidden_size(ops: Iterable[Operation]) -> int | None:
    """The hidden size of the recurrent op among `ops` (those an ONNX LSTM / GRU / RNN node became, by its
    NameLoc): what the node's `hidden_size` attribute must say once its units are pruned. None when there is none."""
    for op in ops:
        if op_key(op) in _RECURRENT_OPS and len(op.results) > 1 and isinstance(op.results[1].type, BaseTensorType):
            return op.results[1].type.get_shape()[-1]
    return None


_CONTROL_FLOW = "control flow (its regions are not analyzed)"


def control_flow(p: Propagation, op: Operation) -> None:
    """prim.Loop / prim.If: freeze what reaches the op, its operands and what its regions capture from outside
    (a branch reading a weight or an activation directly: no operand says so)."""
    p.freeze_op(op, _CONTROL_FLOW)
    reason = Reason(_CONTROL_FLOW, site(op))
    for v in _captured(op):
        for dim in p.operand_dims(v):
            p.spaces.freeze(dim, reason)


def _captured(op: Operation) -> list[SSAValue]:
    """Values the op's regions use that are defined outside the op."""
    inner = {o for region in op.regions for o in region.walk()}
    blocks = {b for o in (op, *inner) for region in o.regions for b in region.blocks}
    found: dict[SSAValue, None] = {}
    for o in inner:
        for v in o.operands:
            defined_inside = v.owner in inner or v.owner in blocks
            if not defined_inside:
                found[v] = None
    return list(found)


def _refuse_control_flow(e: Emitter, op: Operation) -> Any:
    raise SpaError(
        f"'{op_key(op)}' (ONNX Loop / Scan / If that is not a recurrent layer) has no PyTorch emission: the backend "
        "emits straight-line graphs (the faithful ONNX file keeps it: --export-onnx)"
    )


_OPAQUE_CONTROL_FLOW = [f"spa_onnx.{name}" for name in ("Loop", "Scan", "If")]
"""The ONNX frontend's control flow kept opaque (spa_ir/frontends/onnx/control_flow.py)."""


OPS = table(
    {
        ONNX_RECURRENT["LSTM"]: OpSpec(rule=recurrent(gates=4, hidden_list=True), resize=resize_states(True)),
        ONNX_RECURRENT["GRU"]: OpSpec(rule=recurrent(gates=3, hidden_list=False), resize=resize_states(False)),
        ONNX_RECURRENT["RNN Tanh"]: OpSpec(rule=recurrent(gates=1, hidden_list=False), resize=resize_states(False)),
        ONNX_RECURRENT["RNN Relu"]: OpSpec(rule=recurrent(gates=1, hidden_list=False), resize=resize_states(False)),
        **each(
            ["torch.prim.Loop", "torch.prim.If", *_OPAQUE_CONTROL_FLOW],
            OpSpec(rule=control_flow, emit=_refuse_control_flow),
        ),
    },
    # no op classes: they arrive as `torch.operator` (the opaque control flow with variadic, unnamed operands)
    operators={**dict.fromkeys(ONNX_RECURRENT.values(), _RECURRENT), **dict.fromkeys(_OPAQUE_CONTROL_FLOW, "")},
)
