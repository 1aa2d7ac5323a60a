"""Folding shape arithmetic: integer tensors computed from constants, and reads of static dims, become
Constant nodes; Reshape and Expand targets that read a dynamic batch are pinned to constants; PRelu slopes
get their input's rank less one; dead nodes are dropped.

The exporters compute sizes at run time (index arithmetic on constants, `Shape` reads of tensors whose
shapes are known, tf2onnx's Tensordot products); left alone they reach the IR as tensor arithmetic and
`item` reads that channel analysis cannot see through, and unranked tensors that the conversion cannot
handle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from math import prod
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from spa_ir.frontends.onnx.load import (
    DEFAULT_DOMAINS,
    FLOAT_TYPES,
    Shape,
    constant_value,
    infer_shapes,
    inferred_shapes,
    is_float,
)

__all__ = ["fold_shape_arithmetic", "fold_shapes", "remove_dead_nodes"]

# Shape arithmetic on constants is folded up to this size (larger integer tensors are data, e.g. ids).
_MAX_FOLDED_ELEMENTS = 4096
_NOT_FOLDABLE = frozenset(
    {
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
        "Dropout",
    }
)

# Rounds of (fold Shape of static tensors, infer shapes): a folded Reshape shape can make later
# tensors static. Each round is one shape inference of the weightless graph.
_MAX_SHAPE_FOLDING_ROUNDS = 100


def fold_shapes(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """Fold constant shape arithmetic, infer shapes; then, while it folds something, fold reads of static
    dims and pin Reshape and Expand targets (`fold_shape_arithmetic` with shapes), inferring shapes again; drop dead
    nodes. Returns the model with shapes inferred (shape inference returns a new ModelProto)."""
    fold_shape_arithmetic(model)
    model = infer_shapes(model, path)
    for _ in range(_MAX_SHAPE_FOLDING_ROUNDS):
        if not fold_shape_arithmetic(model, inferred_shapes(model)):
            break
        model = infer_shapes(model, path)
    if align_prelu_slopes(model, inferred_shapes(model)):
        model = infer_shapes(model, path)
    remove_dead_nodes(model.graph)
    return model


def align_prelu_slopes(model: onnx.ModelProto, shapes: Mapping[str, Shape]) -> int:
    """Reshape each PRelu slope of rank below the input's rank less one (a [C] slope on [N, L, C]) to that rank
    (`[1, C]`); return how many were.

    ONNX broadcasts the slope from the right, PyTorch's prelu applies a [C] slope to dim 1, and the conversion
    passes the slope on unchanged: at full rank only the ONNX reading is left (spa_ir/ops/elementwise.py's
    prelu). Slopes of one element, of unknown shape and inputs of rank 2 (where both readings agree) stay."""
    added: list[tuple[int, onnx.NodeProto]] = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "PRelu" or node.domain not in DEFAULT_DOMAINS or len(node.input) != 2:
            continue
        x, slope_dims = shapes.get(node.input[0]), shapes.get(node.input[1])
        slope = [d for d in slope_dims or () if isinstance(d, int)]
        if x is None or slope_dims is None or len(slope) != len(slope_dims):
            continue
        if len(x) < 3 or len(slope) >= len(x) - 1 or prod(slope) <= 1:
            continue
        name = f"{node.name}/slope"
        target = numpy_helper.from_array(np.asarray([1] * (len(x) - 1 - len(slope)) + slope, np.int64), name)
        shape_node = onnx.helper.make_node("Constant", [], [f"{name}_shape"], name=f"{name}_shape", value=target)
        reshape = onnx.helper.make_node("Reshape", [node.input[1], f"{name}_shape"], [name], name=name)
        node.input[1] = name
        added.append((index, shape_node))
        added.append((index, reshape))
    for offset, (index, new) in enumerate(added):
        model.graph.node.insert(index + offset, new)
    return len(added) // 2


def fold_shape_arithmetic(model: onnx.ModelProto, shapes: Mapping[str, Shape] | None = None) -> int:
    """Replace main-graph nodes computing small integer tensors from constants by Constant nodes;
    return how many nodes were rewritten.

    The torch exporter emits index arithmetic (Add, Mod, Reshape of constants feeding Slice/Concat
    into a Reshape's shape) that ONNX shape inference cannot propagate, leaving later tensors
    unranked, and the conversion cannot handle unranked tensors. Each node is evaluated with
    onnx's reference implementation; float results (other than single values) are never folded,
    so weights and their transformations stay in the graph.

    With `shapes` (`inferred_shapes`), reads of shapes are followed entry by entry (`_shape_entries`):
    the exporter computes sizes at run time from `Shape` (`chunk`'s slice bounds, Swin's window sizes,
    `x.size(1)`), which otherwise reach the IR as tensor arithmetic and `item` reads that channel
    analysis cannot see through and torch.export turns into SymInt guards. A read whose entries are
    all static folds; a Reshape or Expand target that also holds symbolic sizes (the batch) is pinned
    to a constant (`_pinned_target`).
    """
    graph = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    known = _known_small_values(graph)
    entries: dict[str, np.ndarray] = {}  # integer tensors read from shapes: object arrays of Dim
    nodes: list[onnx.NodeProto] = []
    rewritten = 0
    for node in graph.node:
        values = _evaluate_if_constant(node, known, opsets)
        if values is None and shapes is not None and node.domain in DEFAULT_DOMAINS:
            read = _shape_entries(node, shapes, known, entries)
            if read is not None and all(isinstance(d, int) for d in read.flat):
                values = {node.output[0]: read.astype(np.int64)}
            elif read is not None:
                entries[node.output[0]] = read
            elif (target := _pinned_target(node, shapes, entries)) is not None:
                name = f"{node.name}/pinned_shape"
                value = numpy_helper.from_array(target, name)
                nodes.append(onnx.helper.make_node("Constant", [], [name], name=name, value=value))
                node.input[1] = name
                rewritten += 1
        if values is None:
            nodes.append(node)
            continue
        known.update(values)
        nodes.extend(_constant_nodes(node, values))
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


class _ShapeRead:
    """One node, seen as reading shapes: its inputs as object arrays of `Dim`s where they are shape reads
    (`entries`) or integer constants (`known`)."""

    def __init__(
        self,
        node: onnx.NodeProto,
        shapes: Mapping[str, Shape],
        known: Mapping[str, np.ndarray],
        entries: Mapping[str, np.ndarray],
    ):
        self.node, self.shapes, self.known, self.entries = node, shapes, known, entries
        self.ins = list(node.input)
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def operand(self, k: int) -> np.ndarray | None:
        """Input k as an object array, None when it is absent, not integer or not known at import time."""
        name = self.ins[k] if k < len(self.ins) else ""
        if name in self.entries:
            return self.entries[name]
        value = self.known.get(name)
        return value.astype(object) if value is not None and np.issubdtype(value.dtype, np.integer) else None

    def data(self) -> np.ndarray | None:
        """The first input, when it is itself a shape read (the ops below only follow those)."""
        return self.entries.get(self.ins[0]) if self.ins else None


def _read_shape(r: _ShapeRead) -> np.ndarray | None:
    dims = r.shapes.get(r.ins[0])
    if dims is None:
        return None
    return np.asarray(dims[r.attrs.get("start", 0) : r.attrs.get("end", len(dims))], dtype=object)


def _read_size(r: _ShapeRead) -> np.ndarray | None:
    dims = r.shapes.get(r.ins[0])
    sizes = [d for d in dims or () if isinstance(d, int)]
    return np.asarray(prod(sizes), dtype=object) if dims is not None and len(sizes) == len(dims) else None


def _read_arithmetic(symbol: str) -> Callable[[_ShapeRead], np.ndarray | None]:
    """Integer arithmetic on shape reads; an entry computed from a symbolic one is a new symbol (it can
    only be pinned to -1)."""
    combine = np.frompyfunc(lambda x, y: None if x is None or y is None else f"({x}{symbol}{y})", 2, 1)

    def read(r: _ShapeRead) -> np.ndarray | None:
        a, b = r.operand(0), r.operand(1)
        if len(r.ins) != 2 or not any(i in r.entries for i in r.ins) or a is None or b is None:
            return None
        if a.ndim > 1 or b.ndim > 1:
            return None
        return np.asarray(combine(a, b), dtype=object)

    return read


def _read_copy(r: _ShapeRead) -> np.ndarray | None:
    """Identity, and Cast to an integer type."""
    if r.node.op_type == "Cast" and r.attrs.get("to") not in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
        return None
    return r.data()


def _read_concat(r: _ShapeRead) -> np.ndarray | None:
    parts = [q for q in map(r.operand, range(len(r.ins))) if q is not None and q.ndim == 1]
    if r.attrs.get("axis") not in (0, -1) or len(parts) != len(r.ins) or not any(i in r.entries for i in r.ins):
        return None
    return np.concatenate(parts)


def _read_unsqueeze_squeeze(r: _ShapeRead) -> np.ndarray | None:
    """Along axis 0 only (axes: an input since opset 13, else an attribute)."""
    data = r.data()
    axes = r.operand(1) if len(r.ins) > 1 and r.ins[1] else np.asarray(r.attrs.get("axes", [0]), dtype=object)
    if data is None or axes is None or [int(a) for a in axes.flat] != [0]:
        return None
    if r.node.op_type == "Unsqueeze":
        return data.reshape((1, *data.shape))
    return data.reshape(data.shape[1:]) if data.shape[:1] == (1,) else None


def _read_gather(r: _ShapeRead) -> np.ndarray | None:
    data, index = r.data(), r.operand(1)
    if data is None or index is None or len(r.ins) != 2 or r.attrs.get("axis", 0) != 0 or data.ndim != 1:
        return None
    picks = [int(i) for i in index.flat]
    if not all(-len(data) <= i < len(data) for i in picks):
        return None
    return data[np.asarray(picks, dtype=np.int64)].reshape(index.shape)


def _read_slice(r: _ShapeRead) -> np.ndarray | None:
    data = r.data()
    if data is None or data.ndim != 1 or len(r.ins) < 3:
        return None
    starts, ends, axes, steps = (r.operand(k) for k in range(1, 5))
    given = [i for i in r.ins[1:5] if i]
    bounds = [b for b in (starts, ends, axes, steps) if b is not None]
    if len(bounds) != len(given) or any(b.size != 1 for b in bounds) or starts is None or ends is None:
        return None  # a bound read at run time, or several axes
    if (axes is not None and int(axes.flat[0]) != 0) or (steps is not None and int(steps.flat[0]) != 1):
        return None
    return data[int(starts.flat[0]) : int(ends.flat[0])]


def _read_reduce_prod(r: _ShapeRead) -> np.ndarray | None:
    """The product of a 1-D shape read (tf2onnx's Tensordot flattens the free dims to
    `ReduceProd(Gather(Shape(x), free))` rows); axes (an attribute, or an input since opset 18) must be 0."""
    data = r.data()
    axes = r.operand(1) if len(r.ins) > 1 and r.ins[1] else np.asarray(r.attrs.get("axes", [0]), dtype=object)
    if data is None or data.ndim != 1 or axes is None or [int(a) for a in axes.flat] not in ([0], [-1]):
        return None
    entries = list(data)
    if any(d is None for d in entries):
        total: object = None
    elif all(isinstance(d, int) for d in entries):
        total = prod(entries)
    else:
        total = "(" + "*".join(str(d) for d in entries) + ")"
    out = np.empty((1,) if r.attrs.get("keepdims", 1) else (), dtype=object)
    out[...] = total
    return out


_SHAPE_READS: dict[str, Callable[[_ShapeRead], np.ndarray | None]] = {
    "Shape": _read_shape,
    "Size": _read_size,
    **{op: _read_arithmetic(symbol) for op, symbol in {"Mul": "*", "Div": "/", "Add": "+", "Sub": "-"}.items()},
    "Identity": _read_copy,
    "Cast": _read_copy,
    "Concat": _read_concat,
    "Unsqueeze": _read_unsqueeze_squeeze,
    "Squeeze": _read_unsqueeze_squeeze,
    "Gather": _read_gather,
    "Slice": _read_slice,
    "ReduceProd": _read_reduce_prod,
}
"""Op type -> its output, entry by entry, when it reads shapes (`Dim`s: sizes or dim symbols), else None."""


def _shape_entries(
    node: onnx.NodeProto,
    shapes: Mapping[str, Shape],
    known: Mapping[str, np.ndarray],
    entries: Mapping[str, np.ndarray],
) -> np.ndarray | None:
    """The output of a node that reads a shape, as an object array of `Dim`s, else None (`_SHAPE_READS`)."""
    read = _SHAPE_READS.get(node.op_type)
    if read is None or len(node.output) != 1 or not node.input:
        return None
    return read(_ShapeRead(node, shapes, known, entries))


def _pinned_target(
    node: onnx.NodeProto, shapes: Mapping[str, Shape], entries: Mapping[str, np.ndarray]
) -> np.ndarray | None:
    """A constant target for a Reshape or Expand whose target reads symbolic sizes (`_PINNED`), or None."""
    pin = _PINNED.get(node.op_type)
    if pin is None or len(node.input) != 2 or node.domain not in DEFAULT_DOMAINS:
        return None
    target, data = entries.get(node.input[1]), shapes.get(node.input[0])
    if target is None or data is None or target.ndim != 1 or any(d is None for d in target):
        return None
    return pin(node, target, data)


def _pinned_reshape(node: onnx.NodeProto, target: np.ndarray, data: Shape) -> np.ndarray | None:
    """With a dynamic batch the exporter builds `x.view(x.size(0), 2, 24, 8, 8)` as
    `Concat(Unsqueeze(Gather(Shape(x), 0)), constants)`. An entry holding a symbolic dim becomes 0
    (ONNX: copy the input's dim) where the data has that same symbolic dim, else -1 when it is the only
    one and the target has no -1. The sizes are then constants the pruner can rewrite, and the batch
    stays dynamic."""
    allow_zero = any(a.name == "allowzero" and a.i for a in node.attribute)
    pinned = [d if isinstance(d, int) else 0 for d in target]
    symbolic = [k for k, d in enumerate(target) if isinstance(d, str)]
    for k in symbolic:
        if allow_zero or k >= len(data) or data[k] != target[k]:
            if len(symbolic) > 1 or -1 in pinned:
                return None
            pinned[k] = -1
    return np.asarray(pinned, dtype=np.int64)


def _pinned_expand(node: onnx.NodeProto, target: np.ndarray, data: Shape) -> np.ndarray | None:
    """`Expand(gate, Shape(x))` (a squeeze-excite gate broadcast to the map, `expand_as`): an entry holding
    a symbolic dim becomes 1 (keep the input's dim) where the input, aligned from the right, has that same
    symbolic dim; any other symbolic entry would broadcast to a size known only at run time."""
    lead = len(target) - len(data)
    pinned = []
    for k, d in enumerate(target):
        if isinstance(d, str) and (k < lead or data[k - lead] != d):
            return None
        pinned.append(1 if isinstance(d, str) else d)
    return np.asarray(pinned, dtype=np.int64)


_PINNED: dict[str, Callable[[onnx.NodeProto, np.ndarray, Shape], np.ndarray | None]] = {
    "Reshape": _pinned_reshape,
    "Expand": _pinned_expand,
}
"""Op type -> its target (input 1) as constants, given the target's entries and the data's (input 0) shape."""


def remove_dead_nodes(graph: onnx.GraphProto) -> None:
    """Drop the nodes no graph output depends on (shape arithmetic left behind by folding)."""
    used = {o.name for o in graph.output} | _subgraph_inputs(graph)
    kept: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(o in used for o in node.output):
            kept.append(node)
            used.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))


def _subgraph_inputs(graph: onnx.GraphProto) -> set[str]:
    """Every name the nodes of `graph`'s subgraphs (If/Loop bodies) read: they may read outer values."""
    names: set[str] = set()
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs):
                names.update(i for n in sub.node for i in n.input)
                names |= _subgraph_inputs(sub)
    return names


def _known_small_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Values of initializers and Constant nodes that are small non-weights (index/shape tensors)."""
    known = {i.name: numpy_helper.to_array(i) for i in graph.initializer if _is_small_non_weight_proto(i)}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in DEFAULT_DOMAINS:
            value = constant_value(node)
            if value is not None and _is_small_non_weight(value):
                known[node.output[0]] = value
    return known


def _evaluate_if_constant(
    node: onnx.NodeProto, known: dict[str, np.ndarray], opsets: dict[str, int]
) -> dict[str, np.ndarray] | None:
    """The outputs of `node` when all its inputs are known and all its outputs are small non-weights."""
    if (
        node.domain not in DEFAULT_DOMAINS
        or node.op_type in _NOT_FOLDABLE
        or not node.input
        or any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)
        or not all(name in known for name in node.input if name)
    ):
        return None
    try:
        evaluator = ReferenceEvaluator(node, opsets={"": opsets.get("", opsets.get("ai.onnx", 1))})
        outputs = evaluator.run(None, {name: known[name] for name in node.input if name})
    except Exception:  # an op the reference runtime lacks or rejects: leave it to the converter
        return None
    values = {name: np.asarray(v) for name, v in zip(node.output, outputs) if name}
    return values if all(_is_small_non_weight(v) for v in values.values()) else None


def _constant_nodes(node: onnx.NodeProto, values: dict[str, np.ndarray]) -> list[onnx.NodeProto]:
    """Constant nodes for a folded node's outputs, named after the node (locations stay readable)."""
    suffixes = [""] if len(values) == 1 else [f":{i}" for i in range(len(values))]
    return [
        onnx.helper.make_node(
            "Constant", [], [name], name=node.name + suffix, value=numpy_helper.from_array(value, name)
        )
        for suffix, (name, value) in zip(suffixes, values.items())
    ]


def _is_small_non_weight(value: np.ndarray) -> bool:
    if value.size > _MAX_FOLDED_ELEMENTS or value.dtype == object:
        return False
    return not is_float(value.dtype) or value.size <= 1


def _is_small_non_weight_proto(tensor: onnx.TensorProto) -> bool:
    size = int(np.prod(tensor.dims, dtype=np.int64))
    if size > _MAX_FOLDED_ELEMENTS or tensor.data_type == onnx.TensorProto.STRING:
        return False
    return tensor.data_type not in FLOAT_TYPES or size <= 1
