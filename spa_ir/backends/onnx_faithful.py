"""Faithful ONNX out for ONNX in: the original graph itself, pruned.

A program that loads the user's ONNX file (by input/output names, with its own pre- and post-processing) must
keep working with the pruned one, so this writer does not re-export the IR: it edits the original graph. Node
names, op types, opset, metadata, input/output names and dynamic dims stay; what changes:

- every weight (`weight_values`: initializers, `Constant` nodes, `Identity` copies) gets the pruned program's
  tensor of that name (sliced, and refitted where compensation changed it); an `Identity` copy whose value is no
  longer its source's reads a new initializer instead (no new node);
- a created compensation bias `<node>.spa_bias` becomes an initializer and the node's bias (an Add after a MatMul:
  the only nodes this writer adds);
- size constants (Reshape / Expand / ConstantOfShape / Resize sizes, Split sizes, Slice bounds on a pruned
  axis) are rewritten to the pruned program's shapes. The ops a node became carry its name as their location,
  so the pruned IR says each node's new output shapes. A constant is found through Concat / Unsqueeze /
  Squeeze / Cast / Identity chains (torch.onnx's `Concat(Shape(x)[0], 12, 64)`); run-time parts adapt by
  themselves. A constant shared with a use that keeps its value is split into a new initializer;
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
from spa_ir.frontends.onnx.load import constant_value, file_sha256, inferred_shapes, node_name, onnx_source
from spa_ir.frontends.onnx.weights import weight_values

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
    old_shapes = inferred_shapes(_infer(original, where))
    write_weights(out, {p.weight_name: _numpy(program.tensor(p)) for p in params(program.module)}, where)
    _rewrite_sizes(out, _NewShapes(program.module, out.graph), old_shapes, where)
    _drop_stale_value_info(out, where)
    return out


def _numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


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

    def __init__(self, module: ModuleOp, graph: onnx.GraphProto):
        self.ops: dict[str, list[Operation]] = {}
        for op in main_function(module).walk():
            loc = getattr(op, "location", None)
            if isinstance(loc, NameLoc):
                self.ops.setdefault(loc.desc.data, []).append(op)
        self.names = {id(n): node_name(n, i) for i, n in enumerate(graph.node)}

    def name(self, node: onnx.NodeProto) -> str:
        return self.names.get(id(node), node.name)

    def outputs(self, node: onnx.NodeProto, rank: int | None) -> list[tuple[int, ...] | None]:
        """The new shape of each output of `node` (None where the IR has no value for it)."""
        results = [r for op in self.ops.get(self.name(node), []) for r in op.results if _is_tensor(r)]
        if len(node.output) == 1:
            ranked = [r for r in results if rank is None or len(shape(r) or ()) == rank]
            return [shape(ranked[-1]) if ranked else None]
        for op in reversed(self.ops.get(self.name(node), [])):
            tensors = [r for r in op.results if _is_tensor(r)]
            if len(tensors) == len(node.output):
                return [shape(r) for r in tensors]
        return [None] * len(node.output)

    def slices(self, node: onnx.NodeProto) -> dict[int, tuple[int | None, int | None, int]]:
        """dim -> (start, end, input size) of the `aten.slice` ops `node` became."""
        found: dict[int, tuple[int | None, int | None, int]] = {}
        for op in self.ops.get(self.name(node), []):
            if op.name == _SLICE_OP:
                x, dim, start, end = op.operands[:4]
                in_shape, d = shape(x), const_int(dim)
                if in_shape is not None and d is not None:
                    d %= len(in_shape)
                    found[d] = (const_int(start), const_int(end), in_shape[d])
        return found


def _is_tensor(v: SSAValue) -> bool:
    return isinstance(v.type, BaseTensorType)


# -- size constants -------------------------------------------------------------------------------------------


@dataclass
class _Leaf:
    """A constant piece of a size tensor: positions [start, start + len(values)) of it, read by `consumer` at
    input `slot` from `name` (an initializer or a Constant node's output)."""

    name: str
    consumer: onnx.NodeProto
    slot: int
    start: int
    values: np.ndarray
    new: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.new = self.values.copy()


class _Graph:
    """Producers, users and constants of the graph being rewritten."""

    def __init__(self, model: onnx.ModelProto, old_shapes: dict[str, tuple[int | str | None, ...]]):
        self.model = model
        self.old_shapes = old_shapes
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.users: dict[str, int] = {}
        for node in _all_nodes(model.graph):
            for name in node.input:
                self.users[name] = self.users.get(name, 0) + 1
        for out in model.graph.output:
            self.users[out.name] = self.users.get(out.name, 0) + 1

    def constant(self, name: str) -> np.ndarray | None:
        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producer.get(name)
        return constant_value(node) if node is not None and node.op_type == "Constant" else None

    def leaves(self, consumer: onnx.NodeProto, slot: int, where: str) -> list[_Leaf] | None:
        """The constant pieces of the 1-d int tensor `consumer` reads at `slot`, with their positions; None when
        its layout cannot be followed (a run-time piece of unknown length)."""
        name = consumer.input[slot]
        value = self.constant(name)
        if value is not None:
            return [_Leaf(name, consumer, slot, 0, value.reshape(-1).astype(np.int64))]
        node = self.producer.get(name)
        if node is None:
            return []
        if node.op_type in _PASS_THROUGH and node.input:
            return self._through(node, 0, 0, where)
        if node.op_type != "Concat":
            return []  # computed at run time: adapts to the pruned shapes by itself
        found: list[_Leaf] = []
        position = 0
        for slot_j, piece in enumerate(node.input):
            length = self._length(piece)
            if length is None:
                return None
            inner = self._through(node, slot_j, position, where)
            if inner is None:
                return None
            found += inner
            position += length
        return found

    def _through(self, node: onnx.NodeProto, slot: int, offset: int, where: str) -> list[_Leaf] | None:
        if self.users.get(node.output[0], 0) > 1 and self._has_constant(node, slot):
            raise SpaError(
                f"size computation of node '{node.name}' is shared: cannot rewrite it for one use", where=where
            )
        inner = self.leaves(node, slot, where)
        if inner is None:
            return None
        for leaf in inner:
            leaf.start += offset
        return inner

    def _has_constant(self, node: onnx.NodeProto, slot: int) -> bool:
        return self.constant(node.input[slot]) is not None

    def _length(self, name: str) -> int | None:
        value = self.constant(name)
        if value is not None:
            return int(value.size)
        dims = self.old_shapes.get(name)
        if dims is None:
            return None
        if len(dims) == 0:
            return 1
        return dims[0] if len(dims) == 1 and isinstance(dims[0], int) else None


def _rewrite_sizes(
    model: onnx.ModelProto, new: _NewShapes, old_shapes: dict[str, tuple[int | str | None, ...]], where: str
) -> None:
    graph = _Graph(model, old_shapes)
    leaves: list[_Leaf] = []
    for node in list(model.graph.node):
        old_out = [old_shapes.get(o) for o in node.output]
        new_out = new.outputs(node, None if old_out[0] is None else len(old_out[0]))
        if all(o is None or n is None or _static(o) == n for o, n in zip(old_out, new_out)):
            if node.op_type != "Slice":
                continue
        at = f"{where}: node '{new.name(node)}'"
        if node.op_type in _SHAPE_INPUTS or node.op_type == "Resize":
            leaves += _shape_input(graph, node, old_out[0], new_out[0], at)
        elif node.op_type == "Split":
            leaves += _split(graph, node, old_out, new_out, at)
        elif node.op_type == "Slice":
            leaves += _slice(graph, node, new, at)
    _apply(graph, leaves)


def _static(dims: Sequence[int | str | None]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else -1 for d in dims)


def _shape_input(
    graph: _Graph,
    node: onnx.NodeProto,
    old: Sequence[int | str | None] | None,
    new: tuple[int, ...] | None,
    at: str,
) -> list[_Leaf]:
    """Entries of an output-shape input that held an old output dim the pruned program changed take the new dim."""
    slot = _SHAPE_INPUTS.get(node.op_type, 3)
    if slot >= len(node.input) or not node.input[slot] or old is None or new is None:
        return []
    axes = _axes(node, len(old)) if node.op_type == "Resize" else list(range(len(old)))
    found = graph.leaves(node, slot, at)
    if found is None:
        raise SpaError(f"cannot follow the {node.op_type} size input to its constants", where=at)
    for leaf in found:
        for j in range(len(leaf.values)):
            position = leaf.start + j
            if position >= len(axes):
                raise SpaError(f"{node.op_type} size input is longer than its output rank", where=at)
            axis = axes[position]
            if leaf.values[j] == old[axis] and new[axis] >= 0 and new[axis] != old[axis]:
                leaf.new[j] = new[axis]
    return found


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
) -> list[_Leaf]:
    """Split sizes: the new output sizes along the axis (input or attribute)."""
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    if any(s is None for s in new) or old[0] is None:
        raise SpaError("the pruned program has no shape for every Split output", where=at)
    axis %= len(old[0])
    sizes = np.asarray([s[axis] for s in new if s is not None], dtype=np.int64)
    if len(node.input) > 1 and node.input[1]:
        found = graph.leaves(node, 1, at)
        if not found or len(found) != 1 or len(found[0].values) != len(sizes):
            raise SpaError("cannot follow the Split sizes to one constant", where=at)
        found[0].new = sizes
        return found
    for attr in node.attribute:
        if attr.name == "split":
            del attr.ints[:]
            attr.ints.extend(int(s) for s in sizes)
            return []
    if len(set(sizes.tolist())) != 1:
        raise SpaError("an even Split became uneven: no sizes to rewrite", where=at)
    return []


def _slice(graph: _Graph, node: onnx.NodeProto, new: _NewShapes, at: str) -> list[_Leaf]:
    """Slice bounds on an axis whose size the pruned program changed: the IR's new start and end."""
    bounds = new.slices(node)
    if not bounds or len(node.input) < 3:
        return []
    data_shape = graph.old_shapes.get(node.input[0])
    if data_shape is None:
        return []
    rank = len(data_shape)
    axes_value = graph.constant(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    axes = [int(a) % rank for a in axes_value] if axes_value is not None else list(range(rank))
    found: list[_Leaf] = []
    for slot in (1, 2):
        pieces = graph.leaves(node, slot, at)
        if pieces is None or len(pieces) != 1:
            raise SpaError("cannot follow the Slice bounds to one constant", where=at)
        leaf = pieces[0]
        for j, axis in enumerate(axes):
            start, end, size = bounds.get(axis, (None, None, -1))
            old_size = data_shape[axis]
            if start is None or end is None or size < 0 or size == old_size:
                continue
            wanted = start if slot == 1 else end
            is_to_end = slot == 2 and isinstance(old_size, int) and leaf.values[j] >= old_size and end >= size
            if not is_to_end:
                leaf.new[j] = wanted
        found.append(leaf)
    return found


def _apply(graph: _Graph, leaves: list[_Leaf]) -> None:
    """Write the changed leaves: in place when every use of the constant changes alike, else into a new
    initializer that this use reads."""
    changed = [leaf for leaf in leaves if not np.array_equal(leaf.new, leaf.values)]
    by_constant: dict[str, list[_Leaf]] = {}
    for leaf in changed:
        by_constant.setdefault(leaf.name, []).append(leaf)
    for name, uses in by_constant.items():
        everyone = len(uses) == graph.users.get(name, 0) and all(np.array_equal(u.new, uses[0].new) for u in uses)
        if everyone:
            _set_constant(graph, name, uses[0].new)
            continue
        for use in uses:
            fresh = f"{name}.spa_{use.consumer.name or use.consumer.output[0]}"
            dtype = graph.constant(name)
            assert dtype is not None
            value = use.new.astype(dtype.dtype).reshape(dtype.shape)
            graph.model.graph.initializer.append(numpy_helper.from_array(value, fresh))
            use.consumer.input[use.slot] = fresh


def _set_constant(graph: _Graph, name: str, values: np.ndarray) -> None:
    old = graph.constant(name)
    assert old is not None
    value = values.astype(old.dtype).reshape(old.shape)
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
        yield node
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                yield from _all_nodes(sub)
