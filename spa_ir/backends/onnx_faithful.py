"""Faithful ONNX out for ONNX in: the original graph itself, pruned.

A program that loads the user's ONNX file (by input/output names, with its own pre- and post-processing) must
keep working with the pruned one, so this writer does not re-export the IR: it edits the original graph. Node
names, op types, opset, metadata, input/output names and dynamic dims stay; what changes:

- every weight (`weight_values`: initializers, `Constant` nodes, `Identity` copies) gets the pruned program's
  tensor of that name (sliced, and refitted where compensation changed it); an `Identity` copy whose value is no
  longer its source's reads a new initializer instead (no new node);
- a created compensation bias `<node>.spa_bias` becomes an initializer and the node's bias (an Add after a MatMul:
  the only nodes this writer adds);
- size inputs follow the channels: the ops a node became carry its name as their location, so the pruned IR says
  each node's new output shapes, slice bounds, conv group count and recurrent hidden size. Constant entries of
  Reshape / Expand / ConstantOfShape / Resize sizes, Split sizes and Slice bounds are found through Concat /
  Unsqueeze / Squeeze / Cast / Identity chains (torch.onnx's `Concat(Shape(x)[0], 12, 64)`) and rewritten where
  they held an old dim; a run-time piece over static dims is pinned to the new dims (the import folded it the
  same way), one that is the whole `Shape` of a tensor already of the needed shape stays. A constant shared with
  a use that keeps its value is split into a new initializer;
- every other `Shape` read of a pruned tensor (an attention scale from the head width) is pinned to the old dims,
  which is what the original, the masked original and the IR compute;
- a pruned recurrent layer's zero initial states are dropped (absent means zero); what computed them stays as it
  was, unread;
- stale `value_info` is dropped (shapes inferred again; entries that disagree go).
Anything this cannot rewrite is a SpaError naming the node: never a file that does not run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from xdsl.dialects.builtin import ModuleOp, NameLoc
from xdsl.ir import Operation, SSAValue

from spa.dialects.torch_base import BaseTensorType
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.fileio import write_with_atomic
from spa_ir.core.ir import const_int, main_function, params, shape
from spa_ir.core.program import Program
from spa_ir.frontends.onnx.control_flow import subgraphs
from spa_ir.frontends.onnx.load import constant_value, file_sha256, inferred_shapes, node_name, onnx_source
from spa_ir.frontends.onnx.weights import weight_values
from spa_ir.ops.recurrent import hidden_size
from spa_ir.ops.spec import arg, operand_names

__all__ = [
    "BIAS_SUFFIX",
    "add_bias",
    "faithful_onnx",
    "save_faithful_onnx",
    "write_weights",
]

BIAS_SUFFIX = ".spa_bias"

_SHAPE_INPUTS = {"Reshape": 1, "Expand": 1, "ConstantOfShape": 0}
"""Ops whose input at this position is the output shape (entry i = output dim i)."""
_PASS_THROUGH = frozenset({"Unsqueeze", "Squeeze", "Cast", "Identity"})
"""Ops a size constant reaches its consumer through unchanged (on the 0-/1-d shape tensors they carry)."""
_SLICE_OP = "torch.aten.slice.Tensor"

Shapes = dict[str, tuple[int | str | None, ...]]
"""Value name -> its (inferred) dims."""


def save_faithful_onnx(program: Program, path: str | os.PathLike[str]) -> None:
    """Write the original ONNX file of `program` (recorded at import), pruned as `program` is. The original must
    still be there unchanged (its hash is checked); the result passes onnx.checker's full check."""
    source = onnx_source(program.module)
    if source is None:
        raise SpaError(
            "the IR was not imported from ONNX: no original graph to prune (use --via-torch)", where=program.source
        )
    original, sha256 = source
    if not original.is_file():
        raise SpaError(f"the original ONNX file '{original}' is missing (use --via-torch)", where=program.source)
    if file_sha256(original) != sha256:
        raise SpaError(
            f"the original ONNX file '{original}' changed since import (use --via-torch)", where=program.source
        )
    model = faithful_onnx(onnx.load(str(original)), program, str(original))

    def write(tmp: Path) -> None:
        onnx.save(model, str(tmp))
        try:
            onnx.checker.check_model(str(tmp), full_check=True)
        except Exception as e:  # ValidationError, InferenceError
            raise SpaError(f"the pruned ONNX graph does not check: {first_line(e)}", where=str(original)) from None

    write_with_atomic(path, write)


def faithful_onnx(original: onnx.ModelProto, program: Program, where: str = "<onnx>") -> onnx.ModelProto:
    """A copy of `original` pruned as `program` (imported from it, then pruned) is."""
    out = onnx.ModelProto()
    out.CopyFrom(original)
    dead = _rewrite_sizes(out, _NewShapes(program.module), _old_shapes(original, where), where)  # before biases
    weights = {p.weight_name: to_numpy(program.tensor(p)) for p in params(program.module) if p.weight_name not in dead}
    write_weights(out, weights, where)
    _drop_stale_value_info(out, where)
    return out


def _old_shapes(original: onnx.ModelProto, where: str) -> tuple[Shapes, dict[str, int]]:
    """Every value's shape before pruning and every value's element type: shape inference of the import's folded
    graph (which knows the shapes behind `Shape` reads), then of the original graph (the folded-away size
    tensors)."""
    from spa_ir.frontends.onnx import prepare_model

    copy = onnx.ModelProto()
    copy.CopyFrom(original)
    folded, _ = prepare_model(copy, Path(where))
    inferred = _infer(original, where)
    shapes = {**inferred_shapes(inferred), **inferred_shapes(folded)}
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    return shapes, types


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as numpy in its own dtype, bfloat16 as ml_dtypes' (onnx's numpy type for it): a created bias too."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy()


# -- weights -------------------------------------------------------------------------------------------------


def write_weights(model: onnx.ModelProto, values: dict[str, np.ndarray], where: str = "<onnx>") -> None:
    """Put `values` into `model`'s weights of those names (initializers, Constant nodes, Identity copies), each
    cast to the weight's own dtype; a name that is no weight must be a created bias `<node>.spa_bias`."""
    existing = weight_values(model)
    for name in [n for n in values if n not in existing]:
        add_bias(model, name, values[name])
    todo = {n: np.ascontiguousarray(v.astype(existing[n].dtype)) for n, v in values.items() if n in existing}
    for init in model.graph.initializer:
        if init.name in todo:
            init.CopyFrom(numpy_helper.from_array(todo.pop(init.name), init.name))
    for node in model.graph.node:
        if not node.output or node.output[0] not in todo:
            continue
        name = node.output[0]
        value = todo.pop(name)
        if node.op_type == "Constant":
            del node.attribute[:]
            node.attribute.append(onnx.helper.make_attribute("value", numpy_helper.from_array(value, name)))
        elif not _equal(values.get(node.input[0], existing.get(node.input[0])), value):
            copy = f"{name}.spa_weight"  # the copy and its source were pruned differently: split them
            model.graph.initializer.append(numpy_helper.from_array(value, copy))
            node.input[0] = copy
    if todo:
        raise SpaError(f"weights not found in the ONNX graph: {sorted(todo)}", where=where)


def _equal(source: np.ndarray | None, value: np.ndarray) -> bool:
    return source is not None and source.shape == value.shape and bool(np.array_equal(source, value))


def add_bias(model: onnx.ModelProto, name: str, value: np.ndarray) -> None:
    """Give the node `<node>` of a created `<node>.spa_bias` that bias: Conv's / Gemm's third input, or an Add
    after a MatMul."""
    if not name.endswith(BIAS_SUFFIX):
        raise SpaError(f"the plan creates '{name}', which names no ONNX node's bias (<node>{BIAS_SUFFIX})")
    wanted = name[: -len(BIAS_SUFFIX)]
    nodes = list(model.graph.node)
    node = next((n for i, n in enumerate(nodes) if node_name(n, i) == wanted), None)
    if node is None:
        raise SpaError(f"the plan creates '{name}', but the ONNX graph has no node '{wanted}'")
    model.graph.initializer.append(numpy_helper.from_array(value, name))
    if node.op_type in ("Conv", "Gemm") and len(node.input) == 2:
        node.input.append(name)
        return
    if node.op_type != "MatMul":
        raise SpaError(f"the plan creates '{name}', but node '{wanted}' is a {node.op_type}")
    result = node.output[0]
    node.output[0] = f"{result}.spa_unbiased"
    add = onnx.helper.make_node("Add", [node.output[0], name], [result], name=f"{wanted}.spa_bias_add")
    model.graph.node.insert(nodes.index(node) + 1, add)


# -- the pruned program's shapes, by node -------------------------------------------------------------------


class _NewShapes:
    """The pruned IR's ops by the ONNX node they came from (their NameLoc): new output shapes and slice bounds."""

    def __init__(self, module: ModuleOp):
        self.ops: dict[str, list[Operation]] = {}
        for op in main_function(module).walk():
            loc = getattr(op, "location", None)
            if isinstance(loc, NameLoc):
                self.ops.setdefault(loc.desc.data, []).append(op)

    def outputs(self, node: onnx.NodeProto, name: str, rank: int | None) -> list[tuple[int, ...] | None]:
        """The new shape of each output of `node` (named `name` at import; None where the IR has no value)."""
        results = [r for op in self.ops.get(name, []) for r in op.results if _is_tensor(r)]
        if len(node.output) == 1:
            ranked = [r for r in results if rank is None or len(shape(r) or ()) == rank]
            return [shape(ranked[-1]) if ranked else None]
        for op in reversed(self.ops.get(name, [])):
            tensors = [r for r in op.results if _is_tensor(r)]
            if len(tensors) == len(node.output):
                return [shape(r) for r in tensors]
        return [None] * len(node.output)

    def groups(self, name: str) -> int | None:
        """The group count of the convolution node `name` became (depthwise convs' follows their channels)."""
        for op in self.ops.get(name, []):
            if "groups" in operand_names(op):
                return const_int(arg(op, "groups"))
        return None

    def slices(self, name: str) -> dict[int, tuple[int | None, int | None, int]]:
        """dim -> (start, end, input size) of the `aten.slice` ops node `name` became."""
        found: dict[int, tuple[int | None, int | None, int]] = {}
        for op in self.ops.get(name, []):
            if op.name == _SLICE_OP:
                x, start, end = arg(op, "self_"), arg(op, "start"), arg(op, "end")
                in_shape, d = shape(x), const_int(arg(op, "dim"))
                if in_shape is not None and d is not None:
                    d %= len(in_shape)
                    found[d] = (const_int(start), const_int(end), in_shape[d])
        return found


def _is_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, BaseTensorType)


# -- size constants -------------------------------------------------------------------------------------------


@dataclass
class _Piece:
    """Positions [start, start + length) of a size tensor, read by `consumer` at input `slot` from `name`: a
    constant (`values`: an initializer or a Constant node's output) or a value computed at run time (`values`
    None). `new` holds the positions that must change; `shared` says the piece reaches the size through a
    node whose output has other uses."""

    name: str
    consumer: onnx.NodeProto
    slot: int
    start: int
    length: int
    values: np.ndarray | None
    shared: bool = False
    new: dict[int, int] = field(default_factory=dict)

    def value(self, j: int) -> int | None:
        return None if self.values is None else int(self.values[j])

    def changed(self) -> bool:
        return any(self.value(j) != v for j, v in self.new.items())


class _Graph:
    """Producers, users, constants and old shapes of the graph being rewritten."""

    def __init__(self, model: onnx.ModelProto, old_shapes: Shapes, elem_types: dict[str, int]):
        self.model = model
        self.old_shapes = old_shapes
        self.elem_types = elem_types
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.consistent: set[tuple[str, int]] = set()
        """Edges (node, input slot) reading a whole `Shape` of a tensor whose new shape is what the input needs."""
        self.users: dict[str, int] = {}
        for node in _all_nodes(model.graph):
            for name in node.input:
                self.users[name] = self.users.get(name, 0) + 1
        for out in model.graph.output:
            self.users[out.name] = self.users.get(out.name, 0) + 1

    def np_type(self, name: str) -> np.dtype:
        """The element type of value `name` (int64 where inference did not say)."""
        return onnx.helper.tensor_dtype_to_np_dtype(self.elem_types.get(name, onnx.TensorProto.INT64))

    def constant(self, name: str) -> np.ndarray | None:
        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producer.get(name)
        return constant_value(node) if node is not None and node.op_type == "Constant" else None

    def pieces(self, consumer: onnx.NodeProto, slot: int) -> list[_Piece] | None:
        """The pieces of the 0-/1-d int tensor `consumer` reads at `slot`, by position: constants found through
        Concat and pass-through ops, the rest as run-time pieces (one per Concat input, at the highest edge
        above pass-through ops); None when a length is unknown."""
        name = consumer.input[slot]
        value = self.constant(name)
        if value is not None:
            return [_Piece(name, consumer, slot, 0, int(value.size), value.reshape(-1).astype(np.int64))]
        length = self._length(name)
        runtime = None if length is None else [_Piece(name, consumer, slot, 0, length, None)]
        node = self.producer.get(name)
        if node is None or node.op_type not in (*_PASS_THROUGH, "Concat"):
            return runtime
        inner: list[_Piece] = []
        for j in range(1 if node.op_type in _PASS_THROUGH else len(node.input)):
            found = self.pieces(node, j)
            if found is None:
                return runtime
            offset = sum(p.length for p in inner)
            for piece in found:
                piece.start += offset
            inner += found
        if node.op_type in _PASS_THROUGH and all(p.values is None for p in inner):
            return runtime
        for piece in inner:
            piece.shared = piece.shared or self.users.get(node.output[0], 0) > 1
        return inner

    def _length(self, name: str) -> int | None:
        dims = self.old_shapes.get(name)
        if dims is None:
            return None
        if len(dims) == 0:
            return 1
        return dims[0] if len(dims) == 1 and isinstance(dims[0], int) else None


def _rewrite_sizes(model: onnx.ModelProto, new: _NewShapes, old: tuple[Shapes, dict[str, int]], where: str) -> set[str]:
    """Rewrite what follows the channels; return the values no output depends on any more (a dropped initial
    state's computation: left as it was, weights included, so that it still runs)."""
    graph = _Graph(model, *old)
    names = [node_name(node, index) for index, node in enumerate(model.graph.node)]
    for node, name in zip(model.graph.node, names):
        if node.op_type in ("LSTM", "GRU", "RNN"):
            _recurrent(graph, node, hidden_size(new.ops.get(name, [])), f"{where}: node '{name}'")
    dead = _dead_values(model.graph)
    pieces: list[_Piece] = []
    new_shapes: Shapes = {}
    for node, name in zip(model.graph.node, names):
        if all(o in dead for o in node.output):
            continue
        old_out = [graph.old_shapes.get(o) for o in node.output]
        new_out = new.outputs(node, name, None if old_out[0] is None else len(old_out[0]))
        new_shapes.update({o: n for o, n in zip(node.output, new_out) if n is not None})
        unchanged = all(o is None or n is None or _static(o) == n for o, n in zip(old_out, new_out))
        if unchanged and node.op_type != "Slice":  # a Slice of a changed input may keep its size
            continue
        at = f"{where}: node '{name}'"
        if node.op_type in ("Conv", "ConvTranspose"):
            _set_int(node, "group", new.groups(name))
        elif node.op_type in _SHAPE_INPUTS or node.op_type == "Resize":
            pieces += _shape_input(graph, node, old_out[0], new_out[0], new_shapes, at)
        elif node.op_type == "Split":
            pieces += _split(graph, node, old_out, new_out, at)
        elif node.op_type == "Slice":
            pieces += _slice(graph, node, new.slices(name), at)
    _apply(graph, pieces, where)
    _keep_old_shape_reads(graph, new_shapes, where)
    return dead


def _dead_values(graph: onnx.GraphProto) -> set[str]:
    """Node outputs and initializers that no graph output depends on."""
    producer = {o: n for n in graph.node for o in n.output}
    live: set[str] = set()
    todo = [o.name for o in graph.output]
    while todo:
        name = todo.pop()
        if name in live:
            continue
        live.add(name)
        node = producer.get(name)
        if node is not None:
            todo += [i for n in _all_nodes_of(node) for i in n.input if i]
    every = {o for n in graph.node for o in n.output} | {i.name for i in graph.initializer}
    return every - live


def _all_nodes_of(node: onnx.NodeProto) -> Iterator[onnx.NodeProto]:
    """The node and the nodes of its subgraphs (which may read outer values)."""
    yield node
    for sub in subgraphs(node):
        yield from _all_nodes(sub)


def _keep_old_shape_reads(graph: _Graph, new_shapes: Shapes, where: str) -> None:
    """`Shape` / `Size` reads of a pruned tensor outside size inputs (an attention scale from the head width) give
    the old dims, as in the original and in the IR (whose import folded them): their remaining uses read a
    constant of the old value; for a tensor with dynamic dims, the `Gather` / `Slice` reads of its static dims."""
    for node in list(graph.model.graph.node):
        if node.op_type not in ("Shape", "Size") or not node.input:
            continue
        old, now = graph.old_shapes.get(node.input[0]), new_shapes.get(node.input[0])
        if old is None or now is None or _static(old) == _static(now):
            continue
        if node.op_type == "Size" or all(isinstance(d, int) for d in old):
            _pin(graph, node.output[0], np.asarray(_shape_value(node, old), dtype=np.int64))
            continue
        attrs = {a.name: a.i for a in node.attribute}
        listed = list(range(len(old)))[slice(attrs.get("start"), attrs.get("end"))]
        for user in _readers(graph, node.output[0]):
            read = _read_dims(graph, user, len(listed))
            dims = None if read is None else [listed[d] for d in read[0]]
            if read is not None and dims is not None and all(isinstance(old[d], int) for d in dims):
                value = np.asarray([old[d] for d in dims], dtype=graph.np_type(user.output[0]))
                _pin(graph, user.output[0], value.reshape(read[1]))
            elif dims is None or any(_static(old)[d] != now[d] for d in dims):
                raise SpaError(f"node '{user.name}' reads pruned dims of '{node.input[0]}' at run time", where=where)


def _readers(graph: _Graph, name: str) -> Iterator[onnx.NodeProto]:
    """The nodes reading value `name`, through Cast and Identity (which keep a shape vector's entries)."""
    users = [
        u
        for u in graph.model.graph.node
        if any(n == name and _edge(u, i) not in graph.consistent for i, n in enumerate(u.input))
    ]
    for user in users:
        if user.op_type in ("Cast", "Identity"):
            yield from _readers(graph, user.output[0])
        else:
            yield user


def _shape_value(node: onnx.NodeProto, old: tuple[int | str | None, ...]) -> list[int] | int:
    if node.op_type == "Size":
        return int(np.prod([int(d or 0) for d in old]))
    attrs = {a.name: a.i for a in node.attribute}
    return [int(d or 0) for d in old[slice(attrs.get("start"), attrs.get("end"))]]


def _read_dims(graph: _Graph, user: onnx.NodeProto, rank: int) -> tuple[list[int], tuple[int, ...]] | None:
    """The dims a Gather (constant indices) or Slice (constant bounds) of a whole shape reads, and the shape of
    what it returns; None for other reads."""
    if user.op_type == "Gather" and len(user.input) > 1:
        index = graph.constant(user.input[1])
        return None if index is None else ([int(i) % rank for i in index.reshape(-1)], index.shape)
    if user.op_type != "Slice":
        return None
    bounds = _slice_bounds(graph, user)
    if bounds is None or bounds[2] not in (None, [0], [-1]):
        return None
    starts, ends, _, steps = bounds
    dims = list(range(rank))[slice(starts[0], ends[0], 1 if steps is None else steps[0])]
    return dims, (len(dims),)


def _slice_bounds(
    graph: _Graph, node: onnx.NodeProto
) -> tuple[list[int], list[int], list[int] | None, list[int] | None] | None:
    """A Slice's constant starts, ends, axes and steps (inputs, or attributes before opset 10); None when the
    bounds are computed at run time."""
    if len(node.input) == 1:
        attrs = {a.name: [int(i) for i in a.ints] for a in node.attribute}
        return attrs["starts"], attrs["ends"], attrs.get("axes"), None
    found = [graph.constant(n) if n else None for n in [*node.input[1:], "", ""][:4]]
    if found[0] is None or found[1] is None:
        return None
    starts, ends, axes, steps = ([int(i) for i in v.reshape(-1)] if v is not None else None for v in found)
    assert starts is not None and ends is not None
    return starts, ends, axes, steps


def _pin(graph: _Graph, name: str, value: np.ndarray) -> None:
    """Every remaining use of value `name` reads a new initializer holding `value` instead."""
    fresh = f"{name}.spa_old"
    graph.model.graph.initializer.append(numpy_helper.from_array(value, fresh))
    for node in _all_nodes(graph.model.graph):
        for i, n in enumerate(node.input):
            if n == name and _edge(node, i) not in graph.consistent:
                node.input[i] = fresh


_INITIAL_STATES = (5, 6)
"""Inputs of ONNX LSTM / GRU / RNN holding initial_h (and initial_c)."""
_ZERO_PRESERVING = frozenset(
    {"Expand", "Unsqueeze", "Squeeze", "Reshape", "Cast", "Identity", "Tile", "Transpose", "Slice", "Gather"}
)


def _recurrent(graph: _Graph, node: onnx.NodeProto, hidden: int | None, at: str) -> None:
    """A recurrent layer whose hidden units were pruned: its hidden_size (the IR's recurrent op's), and its initial
    states, which pruning requires to be zero (the channel rule freezes the units otherwise): a zero state is
    dropped (absent means zeros in ONNX), so no node is added; the nodes that computed it stay, unread."""
    old = next((a.i for a in node.attribute if a.name == "hidden_size"), None)
    if hidden is None or hidden < 0 or hidden == old:
        return
    _set_int(node, "hidden_size", hidden)
    for slot in _INITIAL_STATES:
        if slot < len(node.input) and node.input[slot]:
            if not _is_zero(graph, node.input[slot]):
                raise SpaError(f"initial state '{node.input[slot]}' of a pruned recurrent layer is not zero", where=at)
            node.input[slot] = ""


def _is_zero(graph: _Graph, name: str) -> bool:
    """Whether value `name` is all zeros by construction (a zero constant, ConstantOfShape of 0, or reshapes and
    broadcasts of those)."""
    value = graph.constant(name)
    if value is not None:
        return not np.any(value)
    node = graph.producer.get(name)
    if node is None:
        return False
    if node.op_type == "ConstantOfShape":
        fill = next((numpy_helper.to_array(a.t) for a in node.attribute if a.name == "value"), None)
        return fill is None or not np.any(fill)
    return node.op_type in _ZERO_PRESERVING and bool(node.input) and _is_zero(graph, node.input[0])


def _set_int(node: onnx.NodeProto, name: str, value: int | None) -> None:
    """An int attribute that follows the channels (a conv's group, a recurrent layer's hidden_size)."""
    for attr in node.attribute:
        if attr.name == name and value is not None and value >= 0:
            attr.i = value


def _static(dims: Sequence[int | str | None]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else -1 for d in dims)


def _pieces(graph: _Graph, node: onnx.NodeProto, slot: int, at: str) -> list[_Piece]:
    found = graph.pieces(node, slot)
    if found is None:
        raise SpaError(f"cannot follow the {node.op_type} input '{node.input[slot]}' to its pieces", where=at)
    return found


def _shape_input(
    graph: _Graph,
    node: onnx.NodeProto,
    old: Sequence[int | str | None] | None,
    new: tuple[int, ...] | None,
    new_shapes: Shapes,
    at: str,
) -> list[_Piece]:
    """An output-shape input: a constant entry that held an old output dim the pruned program changed takes the
    new dim; a run-time piece that is the whole `Shape` of a tensor whose new shape it needs stays (`expand_as`);
    another run-time piece over static dims is pinned to the new dims (what the import folded it to)."""
    slot = _SHAPE_INPUTS.get(node.op_type, 3)
    if slot >= len(node.input) or not node.input[slot] or old is None or new is None:
        return []
    axes = _axes(node, len(old)) if node.op_type == "Resize" else list(range(len(old)))
    found = _pieces(graph, node, slot, at)
    for piece in found:
        if piece.start + piece.length > len(axes):
            raise SpaError(f"{node.op_type} size input is longer than its output rank", where=at)
        span = [axes[piece.start + j] for j in range(piece.length)]
        if piece.values is None:
            read = _shape_read(graph, piece.consumer, piece.slot)
            if read is not None and _reads_new_dims(new_shapes.get(read[0]), [new[a] for a in span]):
                graph.consistent.add(read[1])
            elif all(new[a] >= 0 for a in span):
                piece.new = {j: new[a] for j, a in enumerate(span)}
            elif any(new[a] >= 0 and new[a] != old[a] for a in span):
                raise SpaError(f"a run-time {node.op_type} size mixes a pruned and a dynamic dim", where=at)
            continue
        for j, a in enumerate(span):
            if piece.value(j) == old[a] and new[a] >= 0 and new[a] != old[a]:
                piece.new[j] = new[a]
    return found


def _edge(node: onnx.NodeProto, slot: int) -> tuple[str, int]:
    return (node.name or node.output[0], slot)


def _shape_read(graph: _Graph, consumer: onnx.NodeProto, slot: int) -> tuple[str, tuple[str, int]] | None:
    """When input `slot` of `consumer` is, through Cast / Identity, the whole `Shape` of a tensor: that tensor and
    the edge reading the Shape's output."""
    node = graph.producer.get(consumer.input[slot])
    while node is not None and node.op_type in ("Cast", "Identity"):
        consumer, slot = node, 0
        node = graph.producer.get(node.input[0])
    whole = node is not None and not any(a.name in ("start", "end") for a in node.attribute)
    return (node.input[0], _edge(consumer, slot)) if node is not None and node.op_type == "Shape" and whole else None


def _reads_new_dims(read: tuple[int | str | None, ...] | None, wanted: list[int]) -> bool:
    """Whether a shape read at run time gives the wanted dims (static ones equal, dynamic ones dynamic)."""
    return read is not None and len(read) == len(wanted) and all(r == w for r, w in zip(_static(read), wanted))


def _axes(node: onnx.NodeProto, rank: int) -> list[int]:
    for attr in node.attribute:
        if attr.name == "axes":
            return [a % rank for a in attr.ints]
    return list(range(rank))


def _split(
    graph: _Graph,
    node: onnx.NodeProto,
    old: list[tuple[int | str | None, ...] | None],
    new: list[tuple[int, ...] | None],
    at: str,
) -> list[_Piece]:
    """Split sizes: the new output sizes along the axis (input or attribute)."""
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    if old[0] is None or any(s is None for s in new):
        raise SpaError("the pruned program has no shape for every Split output", where=at)
    axis %= len(old[0])
    sizes = [s[axis] for s in new if s is not None]
    if len(node.input) > 1 and node.input[1]:
        found = _pieces(graph, node, 1, at)
        for piece in found:
            piece.new = {j: sizes[piece.start + j] for j in range(piece.length)}
        return found
    for attr in node.attribute:
        if attr.name == "split":
            del attr.ints[:]
            attr.ints.extend(sizes)
            return []
    if len(set(sizes)) != 1:
        raise SpaError("an even Split became uneven: it has no sizes to rewrite", where=at)
    return []


def _slice(
    graph: _Graph, node: onnx.NodeProto, bounds: dict[int, tuple[int | None, int | None, int]], at: str
) -> list[_Piece]:
    """Slice bounds on an axis whose size the pruned program changed take the IR's new start and end (a
    constant "to the end" stays)."""
    data_shape = graph.old_shapes.get(node.input[0])
    if not bounds or data_shape is None:
        return []
    rank = len(data_shape)
    if len(node.input) == 1:  # opset < 10: bounds as attributes, rewritten in place
        _slice_attributes(node, bounds, data_shape)
        return []
    if len(node.input) < 3:
        return []
    axes_value = graph.constant(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    axes = [int(a) % rank for a in axes_value] if axes_value is not None else list(range(rank))
    found: list[_Piece] = []
    for slot in (1, 2):
        for piece in _pieces(graph, node, slot, at):
            for j in range(piece.length):
                axis = axes[piece.start + j]
                start, end, size = bounds.get(axis, (None, None, -1))
                old_size = data_shape[axis]
                if start is None or end is None or size < 0 or size == old_size:
                    continue
                old_value = piece.value(j)
                to_end = slot == 2 and old_value is not None and isinstance(old_size, int) and old_value >= old_size
                if not (to_end and end >= size):
                    piece.new[j] = start if slot == 1 else end
            found.append(piece)
    return found


def _slice_attributes(
    node: onnx.NodeProto,
    bounds: dict[int, tuple[int | None, int | None, int]],
    data_shape: tuple[int | str | None, ...],
) -> None:
    """Before opset 10 a Slice's bounds are attributes: the IR's new bounds on a changed axis go there."""
    attrs = {a.name: a for a in node.attribute}
    starts, ends = attrs["starts"].ints, attrs["ends"].ints
    axes = [a % len(data_shape) for a in attrs["axes"].ints] if "axes" in attrs else list(range(len(starts)))
    for j, axis in enumerate(axes):
        start, end, size = bounds.get(axis, (None, None, -1))
        old_size = data_shape[axis]
        if start is None or end is None or size < 0 or size == old_size:
            continue
        starts[j] = start
        if not (isinstance(old_size, int) and ends[j] >= old_size and end >= size):
            ends[j] = end


def _apply(graph: _Graph, pieces: list[_Piece], where: str) -> None:
    """Write the changed pieces: a constant in place when all its uses change alike, else (and for run-time
    pieces) a new initializer that this use reads."""
    changed = [p for p in pieces if p.changed()]
    by_name: dict[str, list[_Piece]] = {}
    for piece in changed:
        if piece.shared:
            raise SpaError(
                f"the size input '{piece.name}' of node '{piece.consumer.name}' is shared: cannot "
                "rewrite it for one use",
                where=where,
            )
        by_name.setdefault(piece.name, []).append(piece)
    for name, uses in by_name.items():
        values = [_values(graph, p, where) for p in uses]
        if (
            uses[0].values is not None
            and len(uses) == graph.users.get(name, 0)
            and all(np.array_equal(v, values[0]) for v in values)
        ):
            _set_constant(graph, name, values[0])
            continue
        for piece, value in zip(uses, values):
            fresh = f"{name}.spa_{piece.consumer.name or piece.consumer.output[0]}"
            graph.model.graph.initializer.append(numpy_helper.from_array(value, fresh))
            piece.consumer.input[piece.slot] = fresh


def _values(graph: _Graph, piece: _Piece, where: str) -> np.ndarray:
    """The piece's new tensor, in its own dtype and shape."""
    if piece.values is None and len(piece.new) < piece.length:
        raise SpaError(
            f"cannot pin the run-time size '{piece.name}' of node '{piece.consumer.name}': not every entry is known",
            where=where,
        )
    flat = [piece.new.get(j, piece.value(j)) for j in range(piece.length)]
    old = graph.constant(piece.name)
    if old is not None:
        return np.asarray(flat).astype(old.dtype).reshape(old.shape)
    elem = graph.elem_types.get(piece.name, onnx.TensorProto.INT64)
    dims = graph.old_shapes.get(piece.name, (piece.length,))
    return np.asarray(flat, dtype=onnx.helper.tensor_dtype_to_np_dtype(elem)).reshape([int(d or 1) for d in dims])


def _set_constant(graph: _Graph, name: str, value: np.ndarray) -> None:
    if name in graph.initializers:
        graph.initializers[name].CopyFrom(numpy_helper.from_array(value, name))
        return
    node = graph.producer[name]
    del node.attribute[:]
    node.attribute.append(onnx.helper.make_attribute("value", numpy_helper.from_array(value, name)))


# -- value_info ----------------------------------------------------------------------------------------------


def _drop_stale_value_info(model: onnx.ModelProto, where: str) -> None:
    """Keep the recorded intermediate shapes that shape inference of the pruned graph still agrees with."""
    if not model.graph.value_info:
        return
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]
    inferred = inferred_shapes(_infer(bare, where))
    recorded = inferred_shapes(model)
    kept = [v for v in model.graph.value_info if v.name in inferred and recorded.get(v.name) == inferred[v.name]]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept)


def _infer(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # InferenceError, ValueError
        raise SpaError(f"ONNX shape inference failed: {first_line(e)}", where=where) from None


def _all_nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node, subgraphs' (If / Loop / Scan bodies) included: they may read outer values."""
    for node in graph.node:
        yield from _all_nodes_of(node)
