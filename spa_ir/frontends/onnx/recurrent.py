"""ONNX `LSTM` / `GRU` / `RNN` nodes -> PyTorch's recurrent ops, before torch-mlir's conversion turns them into a
`torch.prim.Loop` (which spa's channel analysis and backend cannot read).

Each `torch.operator "onnx.LSTM"` (GRU, RNN) of the imported module is replaced, in place, by a one-layer
`torch.operator "torch.aten.lstm.input"` (`gru.input`, `rnn_tanh.input`, `rnn_relu.input`: spa_ir/ops/recurrent.py)
and by ONNX glue ops (`onnx.Slice`, `onnx.Concat`, `onnx.Reshape`, `onnx.Transpose`, `onnx.Gather`, `onnx.Constant`)
that the conversion then lowers as it lowers any graph. The glue is what differs between the two conventions:

- weights: ONNX packs W [dirs, G*H, I], R [dirs, G*H, H], B [dirs, 2*G*H] (Wb then Rb) with the gates in ONNX
  order (LSTM i,o,f,c; GRU z,r,h); PyTorch takes per direction w_ih [G*H, I], w_hh [G*H, H], b_ih, b_hh with the
  gates i,f,g,o (GRU r,z,n). The glue slices the ONNX tensors, so they stay the weights (`spa.param`s under their
  ONNX names) and each pruned dim of a plan is a dim of an ONNX initializer;
- layouts: Y [seq, dirs, batch, H] (layout=1: [batch, seq, dirs, H]) from PyTorch's [seq, batch, dirs*H];
  initial_h / Y_h [dirs, batch, H] (layout=1: [batch, dirs, H]); absent initial states are zeros;
- direction `reverse`: a forward layer over the sequence reversed (a Gather on the sequence axis), its Y reversed
  back.

The ops keep the node's location, so errors and the faithful ONNX writer find the node. What PyTorch's ops
cannot express is a SpaError naming the node: non-default activations, clip, input_forget, peepholes, GRU's
linear_before_reset=0, sequence_lens other than all full length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import numpy_helper
from torch_mlir import ir
from torch_mlir.extras.fx_importer import TORCH_DTYPE_TO_INT

from spa_ir.core.dtypes import MLIR_TO_TORCH
from spa_ir.core.errors import SpaError
from spa_ir.frontends.onnx.load import constant_value
from spa_ir.ops.recurrent import ONNX_RECURRENT

__all__ = ["lower_recurrent"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_TORCH_GATE_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}
"""For each PyTorch gate (LSTM i,f,g,o; GRU r,z,n), its index among the ONNX gates (LSTM i,o,f,c; GRU z,r,h)."""
_DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh")}
_RNN_ACTIVATIONS = ("Tanh", "Relu")
_DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}
_STATES = {"LSTM": (5, 6), "GRU": (5,), "RNN": (5,)}
"""Input positions of initial_h (and initial_c) among X W R B sequence_lens initial_h initial_c P."""
_UNSUPPORTED_ATTRIBUTES = ("clip", "activation_alpha", "activation_beta")
_FLOATS = ("f32", "f64", "f16", "bf16")

_VTENSOR = re.compile(r"^!torch\.vtensor<\[([^\]]*)\],(\w+)>$")
_NAME_LOC = re.compile(r'loc\("((?:[^"\\]|\\.)*)"')

Shape = list[int | None]
"""A tensor's dims, None where dynamic (`?`)."""


def lower_recurrent(module: ir.Module, model: onnx.ModelProto, path: Path) -> int:
    """Replace every ONNX LSTM / GRU / RNN operator of `module` (imported from `model`, whose constants give
    sequence_lens) by its PyTorch op and glue; return how many were replaced."""
    ops = _recurrent_ops(module)
    for op in ops:
        _Lowering(op, model, path).run()
    return len(ops)


def _recurrent_ops(module: ir.Module) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "torch.operator" and _onnx_name(op) in _GATES:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _onnx_name(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["name"]).value.removeprefix("onnx.")


@dataclass(frozen=True)
class _Node:
    """One ONNX recurrent node, checked: what the replacement is built from."""

    kind: str  # LSTM, GRU, RNN
    hidden: int
    dirs: int
    reverse: bool
    batch_first: bool  # layout=1
    seq: int | None
    batch: int | None
    dtype: str
    nonlinearity: str  # RNN: Tanh or Relu

    @property
    def aten(self) -> str:
        return ONNX_RECURRENT[f"RNN {self.nonlinearity}" if self.kind == "RNN" else self.kind]

    @property
    def seq_axis(self) -> int:
        return 1 if self.batch_first else 0


class _Lowering:
    """Checks one `torch.operator "onnx.<LSTM|GRU|RNN>"` and builds its replacement right before it."""

    def __init__(self, op: ir.Operation, model: onnx.ModelProto, path: Path):
        self.op = op
        self.model = model
        self.kind = _onnx_name(op)
        self.node_name = _node_name(op)
        self.where = f"{path}: {self.kind} node '{self.node_name}'"

    def fail(self, message: str) -> SpaError:
        return SpaError(message, where=self.where)

    def run(self) -> None:
        node = self.check()
        with self.op.context, self.op.location, ir.InsertionPoint(self.op):
            outputs = self.build(node)
        for result, value in zip(self.op.results, outputs):
            if value is not None:
                result.replace_all_uses_with(value)
        self.op.erase()

    # -- reading the node -----------------------------------------------------------------------------

    def input(self, index: int) -> ir.Value | None:
        """The operand at an ONNX input position; None when absent (`torch.constant.none`, or left off)."""
        operands = self.op.operands
        if index >= len(operands) or _tensor_type(operands[index]) is None:
            return None
        return operands[index]

    def attr(self, name: str) -> ir.Attribute | None:
        key = f"torch.onnx.{name}"
        return self.op.attributes[key] if key in self.op.attributes else None

    def int_attr(self, name: str, default: int) -> int:
        a = self.attr(name)
        return default if a is None else ir.IntegerAttr(a).value

    def str_attr(self, name: str, default: str) -> str:
        a = self.attr(name)
        return default if a is None else ir.StringAttr(a).value

    def check(self) -> _Node:
        """The node as PyTorch's op can compute it, or a SpaError saying what it cannot."""
        r = self.input(2)
        hidden = self.int_attr("hidden_size", (_shape(r)[-1] or 0) if r is not None else 0)  # optional: R's width
        direction = self.str_attr("direction", "forward")
        if direction not in _DIRECTIONS:
            raise self.fail(f"unknown direction '{direction}'")
        dirs = _DIRECTIONS[direction]
        for name in _UNSUPPORTED_ATTRIBUTES:
            if self.attr(name) is not None:
                raise self.fail(f"attribute '{name}' has no PyTorch equivalent")
        if self.kind == "LSTM" and self.int_attr("input_forget", 0):
            raise self.fail("input_forget=1 (coupled input and forget gates) has no PyTorch equivalent")
        if self.kind == "LSTM" and self.input(7) is not None:
            raise self.fail("peephole weights (input P) have no PyTorch equivalent")
        if self.kind == "GRU" and self.int_attr("linear_before_reset", 0) != 1:
            raise self.fail("linear_before_reset=0 differs from PyTorch's GRU (reset gate applied after R)")
        nonlinearity = self.check_activations(dirs)
        x = _tensor_type(self.op.operands[0])
        width = x[0][-1] if x is not None else None
        if x is None or len(x[0]) != 3 or x[1] not in _FLOATS or width is None:
            raise self.fail(f"input X of type {self.op.operands[0].type}: needs a rank-3 float tensor of known width")
        (d0, d1, _), dtype = x
        batch_first = self.int_attr("layout", 0) == 1
        seq, batch = (d1, d0) if batch_first else (d0, d1)
        self.check_weights(hidden, dirs, width)
        self.check_sequence_lens(seq)
        if direction == "reverse" and seq is None:
            raise self.fail("direction 'reverse' needs a static sequence length (the sequence is reversed by index)")
        return _Node(self.kind, hidden, dirs, direction == "reverse", batch_first, seq, batch, dtype, nonlinearity)

    def check_activations(self, dirs: int) -> str:
        a = self.attr("activations")
        given = tuple(ir.StringAttr(s).value for s in ir.ArrayAttr(a)) if a is not None else None
        if self.kind == "RNN":
            given = given or ("Tanh",) * dirs
            if len(set(given)) != 1 or given[0] not in _RNN_ACTIVATIONS:
                raise self.fail(f"activations {list(given)}: PyTorch's RNN applies one of Tanh, Relu everywhere")
            return given[0]
        default = _DEFAULT_ACTIVATIONS[self.kind]
        if given is not None and given not in (default, default * dirs):
            raise self.fail(f"activations {list(given)} differ from PyTorch's {list(default)}")
        return ""

    def check_weights(self, hidden: int, dirs: int, width: int) -> None:
        gh = _GATES[self.kind] * hidden
        expected = {1: [dirs, gh, width], 2: [dirs, gh, hidden], 3: [dirs, 2 * gh]}
        for index, name in ((1, "W"), (2, "R"), (3, "B")):
            value = self.input(index)
            if value is None and index < 3:
                raise self.fail(f"input {name} is missing")
            if value is not None and _shape(value) != expected[index]:
                raise self.fail(
                    f"input {name} of shape {_shape(value)}, expected {expected[index]} (hidden_size {hidden})"
                )

    def check_sequence_lens(self, seq: int | None) -> None:
        """sequence_lens absent, or a constant of full lengths only (PyTorch runs every sequence to its end)."""
        if self.input(4) is None:
            return
        lengths = _node_input_ints(self.model, self.node_name, 4)
        if lengths is None or seq is None or any(v != seq for v in lengths):
            raise self.fail("sequence_lens other than every sequence at full length has no PyTorch equivalent")

    # -- building -------------------------------------------------------------------------------------

    def build(self, n: _Node) -> list[ir.Value | None]:
        """The values replacing the node's outputs (Y, Y_h[, Y_c]); None for outputs nothing uses."""
        g = _Glue(n.dtype)
        x = self.op.operands[0]
        if n.reverse:
            x = g.reverse(x, n.seq_axis)
        params = [w for d in range(n.dirs) for w in self.direction_params(g, n, d)]
        states = [self.initial_state(g, n, i) for i in _STATES[n.kind]]
        outer: Shape = [n.batch, n.seq] if n.batch_first else [n.seq, n.batch]
        state_type = _vtensor([n.dirs, n.batch, n.hidden], n.dtype)
        types = [_vtensor([*outer, n.dirs * n.hidden], n.dtype), *[state_type] * len(states)]
        results = g.recurrent(n.aten, x, states, params, self.input(3) is not None, n.dirs == 2, n.batch_first, types)
        used = [bool(list(r.uses)) for r in self.op.results]
        outputs: list[ir.Value | None] = [None] * len(used)
        if used and used[0]:
            outputs[0] = self.y_output(g, n, results[0])
        for i, state in enumerate(results[1 : len(used)], start=1):
            if used[i]:
                outputs[i] = g.transpose(state, [1, 0, 2]) if n.batch_first else state
        return outputs

    def direction_params(self, g: _Glue, n: _Node, d: int) -> list[ir.Value]:
        """PyTorch's w_ih, w_hh (and b_ih, b_hh) of direction d, sliced from W, R (and B)."""
        gh = _GATES[n.kind] * n.hidden
        order = _TORCH_GATE_ORDER[n.kind]
        w, r, b = self.input(1), self.input(2), self.input(3)
        assert w is not None and r is not None  # check_weights
        w_ih = g.gates(g.direction(w, d, n.dirs), n.hidden, order)
        w_hh = g.gates(g.direction(r, d, n.dirs), n.hidden, order)
        if b is None:
            return [w_ih, w_hh]
        bias = g.direction(b, d, n.dirs)
        b_ih = g.gates(g.slice(bias, 0, 0, gh), n.hidden, order)
        b_hh = g.gates(g.slice(bias, 0, gh, 2 * gh), n.hidden, order)
        return [w_ih, w_hh, b_ih, b_hh]

    def initial_state(self, g: _Glue, n: _Node, index: int) -> ir.Value:
        """initial_h / initial_c as PyTorch's [dirs, batch, H]; zeros when absent."""
        state = self.input(index)
        if state is None:
            return g.zeros([n.dirs, n.batch, n.hidden], self.op.operands[0], 0 if n.batch_first else 1)
        return g.transpose(state, [1, 0, 2]) if n.batch_first else state

    def y_output(self, g: _Glue, n: _Node, out: ir.Value) -> ir.Value:
        """Y from PyTorch's output [seq|batch, batch|seq, dirs*H]: [.., .., dirs, H], then [seq, dirs, batch, H]."""
        if n.reverse:
            out = g.reverse(out, n.seq_axis)
        split = g.reshape(out, [0, 0, n.dirs, n.hidden])
        return split if n.batch_first else g.transpose(split, [0, 2, 1, 3])


def _node_name(op: ir.Operation) -> str:
    """The node name in the op's NameLoc (as the importer attached it)."""
    match = _NAME_LOC.search(str(op.location))
    return re.sub(r'\\(["\\])', r"\1", match.group(1)) if match else str(op.location)


def _node_input_ints(model: onnx.ModelProto, node_name: str, index: int) -> list[int] | None:
    """The integers input `index` of the named node holds: an initializer or a Constant node's output; None when
    it is computed."""
    node = next((n for n in model.graph.node if n.name == node_name), None)
    if node is None or index >= len(node.input):
        return None
    name = node.input[index]
    tensor = next((t for t in model.graph.initializer if t.name == name), None)
    if tensor is not None:
        return [int(v) for v in numpy_helper.to_array(tensor).reshape(-1)]
    producer = next((n for n in model.graph.node if n.op_type == "Constant" and name in n.output), None)
    value = constant_value(producer) if producer is not None else None
    return None if value is None else [int(v) for v in value.reshape(-1)]


# -- types ----------------------------------------------------------------------------------------------


def _tensor_type(value: ir.Value) -> tuple[Shape, str] | None:
    """(shape, dtype) of a `!torch.vtensor`; None for anything else (`!torch.none`)."""
    match = _VTENSOR.match(str(value.type))
    if match is None:
        return None
    dims = [d.strip() for d in match.group(1).split(",") if d.strip()]
    return [None if d == "?" else int(d) for d in dims], match.group(2)


def _shape(value: ir.Value) -> Shape:
    t = _tensor_type(value)
    assert t is not None, f"not a tensor: {value.type}"
    return list(t[0])


def _vtensor(shape: Sequence[int | None], dtype: str) -> ir.Type:
    return ir.Type.parse(f"!torch.vtensor<[{','.join('?' if d is None else str(d) for d in shape)}],{dtype}>")


# -- glue -----------------------------------------------------------------------------------------------


class _Glue:
    """Creates ONNX ops (lowered later by the conversion), the recurrent op and its operands at the current
    insertion point."""

    def __init__(self, dtype: str):
        self.dtype = dtype

    def onnx(
        self,
        name: str,
        operands: Sequence[ir.Value],
        shape: Shape,
        attributes: dict[str, ir.Attribute] | None = None,
        dtype: str | None = None,
    ) -> ir.Value:
        attrs = {"name": ir.StringAttr.get(f"onnx.{name}"), **(attributes or {})}
        return _create("torch.operator", _vtensor(shape, dtype or self.dtype), operands, attrs)

    def ints(self, values: Sequence[int]) -> ir.Value:
        dense = ir.Attribute.parse(f"dense<[{', '.join(str(v) for v in values)}]> : tensor<{len(values)}xsi64>")
        return self.onnx("Constant", [], [len(values)], {"torch.onnx.value": dense}, dtype="si64")

    def slice(self, x: ir.Value, axis: int, start: int, end: int) -> ir.Value:
        shape = _shape(x)
        shape[axis] = end - start
        return self.onnx("Slice", [x, self.ints([start]), self.ints([end]), self.ints([axis])], shape)

    def concat(self, xs: Sequence[ir.Value], axis: int) -> ir.Value:
        shape = _shape(xs[0])
        shape[axis] = sum(_shape(x)[axis] or 0 for x in xs)
        return self.onnx("Concat", xs, shape, {"torch.onnx.axis": _si64(axis)})

    def reshape(self, x: ir.Value, target: Sequence[int]) -> ir.Value:
        """ONNX Reshape: a 0 copies the input's dim, so dynamic batch and sequence dims pass through."""
        source = _shape(x)
        return self.onnx("Reshape", [x, self.ints(target)], [source[i] if t == 0 else t for i, t in enumerate(target)])

    def transpose(self, x: ir.Value, perm: Sequence[int]) -> ir.Value:
        source = _shape(x)
        attr = ir.ArrayAttr.get([_si64(p) for p in perm])
        return self.onnx("Transpose", [x], [source[p] for p in perm], {"torch.onnx.perm": attr})

    def reverse(self, x: ir.Value, axis: int) -> ir.Value:
        """x reversed along a static axis (Gather of the indices backwards: an index pick on a non-channel dim)."""
        length = _shape(x)[axis]
        assert length is not None
        attrs = {"torch.onnx.axis": _si64(axis)}
        return self.onnx("Gather", [x, self.ints(list(range(length - 1, -1, -1)))], _shape(x), attrs)

    def direction(self, w: ir.Value, d: int, dirs: int) -> ir.Value:
        """w[d] of a [dirs, ...] weight, as Slice + Reshape (views the channel analysis sees through)."""
        picked = self.slice(w, 0, d, d + 1) if dirs > 1 else w
        return self.reshape(picked, [s or 0 for s in _shape(w)[1:]])

    def gates(self, w: ir.Value, hidden: int, order: Sequence[int]) -> ir.Value:
        """Rows regrouped from ONNX gate order into PyTorch's (gates consecutive in both are sliced together)."""
        runs: list[tuple[int, int]] = []
        for g in order:
            if runs and runs[-1][1] == g:
                runs[-1] = (runs[-1][0], g + 1)
            else:
                runs.append((g, g + 1))
        if len(runs) == 1:
            return w
        return self.concat([self.slice(w, 0, a * hidden, b * hidden) for a, b in runs], 0)

    def zeros(self, shape: Shape, like: ir.Value, batch_axis: int) -> ir.Value:
        """`aten.zeros` of `shape`, a dynamic batch read from `like` at run time (spa_ir/ops/recurrent.py slices a
        zero state when the hidden units are pruned: canonicalization folds static zeros into a literal)."""
        sizes = [_int(d) if d is not None else self.size(like, batch_axis) for d in shape]
        none = _create("torch.constant.none", ir.Type.parse("!torch.none"), [], {})
        dtype = _int(TORCH_DTYPE_TO_INT[MLIR_TO_TORCH[self.dtype]])
        operands = [_list(sizes, "!torch.list<int>"), dtype, none, none, none]
        return _create("torch.aten.zeros", _vtensor(shape, self.dtype), operands, {})

    def size(self, x: ir.Value, dim: int) -> ir.Value:
        return _create("torch.aten.size.int", ir.Type.parse("!torch.int"), [x, _int(dim)], {})

    def recurrent(
        self,
        name: str,
        x: ir.Value,
        states: list[ir.Value],
        params: list[ir.Value],
        has_biases: bool,
        bidirectional: bool,
        batch_first: bool,
        types: list[ir.Type],
    ) -> list[ir.Value]:
        """`<lstm|gru|rnn_*>.input(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
        batch_first)` of one layer; LSTM's hx is the list (h0, c0), the others' one tensor."""
        hx = _list(states, "!torch.list<vtensor>") if len(states) > 1 else states[0]
        flags = [_bool(has_biases), _int(1), _float(0.0), _bool(False), _bool(bidirectional), _bool(batch_first)]
        operands = [x, hx, _list(params, "!torch.list<vtensor>"), *flags]
        attrs = {"name": ir.StringAttr.get(name)}
        op = ir.Operation.create("torch.operator", results=types, operands=operands, attributes=attrs, regions=0)
        return list(op.results)


def _create(name: str, result: ir.Type, operands: Sequence[ir.Value], attributes: dict[str, ir.Attribute]) -> ir.Value:
    return ir.Operation.create(name, results=[result], operands=list(operands), attributes=attributes, regions=0).result


def _si64(v: int) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signed(64), v)


def _list(items: list[ir.Value], list_type: str) -> ir.Value:
    return _create("torch.prim.ListConstruct", ir.Type.parse(list_type), items, {})


def _bool(v: bool) -> ir.Value:
    return _create("torch.constant.bool", ir.Type.parse("!torch.bool"), [], {"value": ir.BoolAttr.get(v)})


def _int(v: int) -> ir.Value:
    attr = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), v)
    return _create("torch.constant.int", ir.Type.parse("!torch.int"), [], {"value": attr})


def _float(v: float) -> ir.Value:
    attr = ir.FloatAttr.get(ir.F64Type.get(), v)
    return _create("torch.constant.float", ir.Type.parse("!torch.float"), [], {"value": attr})
