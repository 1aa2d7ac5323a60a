"""ONNX frontend: an `.onnx` file -> a torch-mlir `torch` dialect module whose weights are `spa.param` ops.

Steps, in `import_onnx_to_mlir`:

1. load (with external data), name unnamed nodes;
2. lift the weights out of the graph (`lift_weights`): float initializers, float tensors held in
   `Constant` nodes (TF/Keras/Paddle exports) and `Identity` copies of either (the torch exporter
   deduplicates equal initializers, e.g. all-ones BatchNorm scales, into `Identity` nodes) become
   extra graph inputs; their values come from `onnx.numpy_helper`;
3. check the (now weightless, small) model, fold constant shape arithmetic, infer shapes; then,
   while it folds something, fold reads of static dims (`Shape`/`Size`, and Gather/Slice/Concat of
   them) and the arithmetic that becomes constant, and pin Reshape targets that read a dynamic batch
   to constants (`fold_shape_arithmetic` with shapes), inferring shapes again; drop dead nodes;
4. import with torch-mlir's ONNX importer (`torch.operator "onnx.*"` ops) and run
   `convert-torch-onnx-to-torch,canonicalize` (not the backend pipeline: it decomposes BatchNorm);
5. fold `torch.prim.tolist` of literal tensors into `torch.prim.ListConstruct` of constants
   (`fold_literal_tolist`: the conversion of `Split` with a sizes tensor emits it, and spa's dialect
   has no `prim.tolist`: its results are variadic);
6. replace each lifted input by a `"spa.param"() {name = ...}` op and drop it from the signature.

Lifting weights to inputs, rather than rewriting literals afterwards, keeps weight blobs out of the IR,
keeps checking and shape inference fast (and under protobuf's 2 GB limit), and stops canonicalization
from merging weights that happen to hold equal values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from math import prod
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
import onnx.inliner
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator
from torch_mlir import ir
from torch_mlir.extras import onnx_importer
from torch_mlir.passmanager import PassManager

from spa_ir.core.errors import SpaError
from spa_ir.frontends.mlir_bridge import torch_mlir_context

__all__ = [
    "CONVERSION_PIPELINE", "SCALARIZE_SHAPES_PIPELINE", "check_model", "fold_literal_tolist", "fold_shape_arithmetic",
    "import_onnx_to_mlir", "infer_shapes", "lift_weights", "load_onnx_model", "prepare_onnx_model", "inferred_shapes",
]

CONVERSION_PIPELINE = "builtin.module(func.func(convert-torch-onnx-to-torch),canonicalize)"
# Optional: turns run-time shape arithmetic on dynamic dims (Shape/Gather/Concat feeding a Reshape,
# lowered to _shape_as_tensor/select/item) into !torch.int arithmetic, so a Reshape reads
# `[%batch, %seq, -1, 32]` (dynamic BERT: 1813 -> 680 lines). Off by default: it adds
# torch.runtime.assert ops, and it crashed (segfault) when run before canonicalize on a transformer.
SCALARIZE_SHAPES_PIPELINE = "builtin.module(func.func(torch-scalarize-shapes),canonicalize)"
# Inlines functions the importer expands ONNX function ops into (e.g. MeanVarianceNormalization).
_INLINE_PIPELINE = "builtin.module(inline,symbol-dce)"
FUNC_NAME = "main"

_FLOAT_TYPES = frozenset({
    onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
})

# Float inputs that are hyper-parameters, not weights: the conversion reads resize and quantization
# scales as constants (from a weight it would emit run-time `item` reads instead).
_NOT_WEIGHT_INPUTS: dict[str, frozenset[int]] = {
    "Resize": frozenset({1, 2}),
    "Upsample": frozenset({1}),
    "QuantizeLinear": frozenset({1, 2}),
    "DequantizeLinear": frozenset({1, 2}),
}

# A Constant node needs more than this many elements to count as a weight; single values
# (epsilons, attention scales stored as shape-[1] tensors) stay inline literals.
_MIN_CONSTANT_WEIGHT_ELEMENTS = 1

_DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
# Shape arithmetic on constants is folded up to this size (larger integer tensors are data, e.g. ids).
_MAX_FOLDED_ELEMENTS = 4096
_NOT_FOLDABLE = frozenset({
    "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli",
    "Dropout",
})

# Rounds of (fold Shape of static tensors, infer shapes): a folded Reshape shape can make later
# tensors static. Each round is one shape inference of the weightless graph.
_MAX_SHAPE_FOLDING_ROUNDS = 100

_CONSTANT_ATTR_DTYPES = {
    "value_float": np.float32, "value_floats": np.float32, "value_int": np.int64, "value_ints": np.int64,
}

Dim = int | str | None
"""A dim of an inferred shape: its size, the name of a symbolic dynamic dim (ONNX `dim_param`, e.g.
"batch"), or None (dynamic and unnamed)."""
Shape = tuple[Dim, ...]

_T = TypeVar("_T")
_ILLEGAL_ONNX_OP = re.compile(r'failed to legalize operation .*name = "onnx\.(\w+)"')
_NAME_LOC = re.compile(r'loc\("((?:[^"\\]|\\.)*)"')


def import_onnx_to_mlir(
    path: str | Path, *, scalarize_shapes: bool = False
) -> tuple[ir.Module, dict[str, np.ndarray]]:
    """Import an ONNX file as a `torch` dialect module plus its weights, keyed by `spa.param` name.

    Dynamic dimensions stay dynamic (`?`). Raises SpaError (naming the file, and the node where there is
    one) when the file is missing or invalid, or when an op has no conversion to the torch dialect.
    `scalarize_shapes` also runs SCALARIZE_SHAPES_PIPELINE (see there).
    """
    path = Path(path)
    model, weights = prepare_onnx_model(path)
    module, arg_names = _import_model(model, path)
    pipelines = [CONVERSION_PIPELINE] + ([SCALARIZE_SHAPES_PIPELINE] if scalarize_shapes else [])
    _convert(module, pipelines, model, path)
    fold_literal_tolist(module)
    _reject_unconverted_ops(module, model, path)
    _args_to_params(_main_func(module), arg_names, weights)
    _verify(module, path)
    return module, weights


def prepare_onnx_model(path: str | Path) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The ONNX-level half of the import: the model with weights as extra inputs, shapes inferred.

    The result is still a runnable ONNX model (feed the weights as inputs), which makes the
    rewrites testable against the original with onnxruntime.
    """
    path = Path(path)
    model = load_onnx_model(path)
    _name_unnamed_nodes(model.graph)
    weights = lift_weights(model, path)
    check_model(model, path)
    fold_shape_arithmetic(model)
    model = infer_shapes(model, path)
    for _ in range(_MAX_SHAPE_FOLDING_ROUNDS):
        if not fold_shape_arithmetic(model, inferred_shapes(model)):
            break
        model = infer_shapes(model, path)
    remove_dead_nodes(model.graph)
    return model, weights


# ----------------------------------------------------------------------------------------------------
# Loading


def load_onnx_model(path: Path) -> onnx.ModelProto:
    """Load an ONNX model with its external data, expanding model-local functions (the converter knows
    standard ops only); a missing or unparsable file is a SpaError."""
    if not path.is_file():
        raise SpaError("ONNX file not found", where=str(path))
    try:
        model = onnx.load(str(path))
        return onnx.inliner.inline_local_functions(model) if model.functions else model
    except Exception as e:  # protobuf, external data and the inliner raise assorted error types
        raise SpaError(f"cannot parse ONNX model: {_first_line(e)}", where=str(path)) from None


def check_model(model: onnx.ModelProto, path: Path) -> None:
    """onnx.checker on the model; a violation is a SpaError."""
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as e:
        raise SpaError(f"invalid ONNX model: {_first_line(e)}", where=str(path)) from None


def infer_shapes(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """Shape inference with data propagation, as torch-mlir's import tool does; errors are SpaError."""
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError) as e:
        raise SpaError(f"ONNX shape inference failed: {_first_line(e)}", where=str(path)) from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def _name_unnamed_nodes(graph: onnx.GraphProto) -> None:
    """Give every node a name, so every op (and every error) has a NameLoc to point at."""
    for index, node in enumerate(graph.node):
        if not node.name:
            node.name = node.output[0] if node.output and node.output[0] else f"{node.op_type}_{index}"


# ----------------------------------------------------------------------------------------------------
# Folding shape arithmetic


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
    all static folds; a Reshape target that also holds symbolic sizes (the batch) is pinned to a
    constant (`_pinned_target`).
    """
    graph = model.graph
    opsets = {o.domain: o.version for o in model.opset_import}
    known = _known_small_values(graph)
    entries: dict[str, np.ndarray] = {}  # integer tensors read from shapes: object arrays of Dim
    nodes: list[onnx.NodeProto] = []
    rewritten = 0
    for node in graph.node:
        values = _evaluate_if_constant(node, known, opsets)
        if values is None and shapes is not None and node.domain in _DEFAULT_DOMAINS:
            read = _shape_entries(node, shapes, known, entries)
            if read is not None and all(isinstance(d, int) for d in read.flat):
                values = {node.output[0]: read.astype(np.int64)}
            elif read is not None:
                entries[node.output[0]] = read
            elif (target := _pinned_target(node, shapes, entries)) is not None:
                name = f"{node.name}/pinned_shape"
                nodes.append(onnx.helper.make_node("Constant", [], [name], name=name, value=numpy_helper.from_array(target, name)))
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


def inferred_shapes(model: onnx.ModelProto) -> dict[str, Shape]:
    """The ranked shapes shape inference recorded, by value name (inputs, intermediate values, outputs)."""
    shapes: dict[str, Shape] = {}
    for info in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tensor_type = info.type.tensor_type
        if info.type.HasField("tensor_type") and tensor_type.HasField("shape"):
            shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                                      for d in tensor_type.shape.dim)
    return shapes


class _ShapeRead:
    """One node, seen as reading shapes: its inputs as object arrays of `Dim`s where they are shape reads
    (`entries`) or integer constants (`known`)."""

    def __init__(self, node: onnx.NodeProto, shapes: Mapping[str, Shape], known: Mapping[str, np.ndarray],
                 entries: Mapping[str, np.ndarray]):
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
    return None if dims is None else np.asarray(dims[r.attrs.get("start", 0):r.attrs.get("end", len(dims))], dtype=object)


def _read_size(r: _ShapeRead) -> np.ndarray | None:
    dims = r.shapes.get(r.ins[0])
    return np.asarray(prod(dims), dtype=object) if dims is not None and all(isinstance(d, int) for d in dims) else None


def _read_arithmetic(symbol: str) -> Callable[[_ShapeRead], np.ndarray | None]:
    """Integer arithmetic on shape reads; an entry computed from a symbolic one is a new symbol (it can
    only be pinned to -1)."""
    combine = np.frompyfunc(lambda x, y: None if x is None or y is None else f"({x}{symbol}{y})", 2, 1)

    def read(r: _ShapeRead) -> np.ndarray | None:
        a, b = r.operand(0), r.operand(1)
        if len(r.ins) != 2 or not any(i in r.entries for i in r.ins) or a is None or b is None or a.ndim > 1 or b.ndim > 1:
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
    return data[int(starts.flat[0]):int(ends.flat[0])]


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
}
"""Op type -> its output, entry by entry, when it reads shapes (`Dim`s: sizes or dim symbols), else None."""


def _shape_entries(node: onnx.NodeProto, shapes: Mapping[str, Shape], known: Mapping[str, np.ndarray],
                   entries: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The output of a node that reads a shape, as an object array of `Dim`s, else None (`_SHAPE_READS`)."""
    read = _SHAPE_READS.get(node.op_type)
    if read is None or len(node.output) != 1 or not node.input:
        return None
    return read(_ShapeRead(node, shapes, known, entries))


def _pinned_target(node: onnx.NodeProto, shapes: Mapping[str, Shape], entries: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """A constant target for a Reshape whose target reads symbolic sizes, or None.

    With a dynamic batch the exporter builds `x.view(x.size(0), 2, 24, 8, 8)` as
    `Concat(Unsqueeze(Gather(Shape(x), 0)), constants)`. An entry holding a symbolic dim becomes 0
    (ONNX: copy the input's dim) where the data has that same symbolic dim, else -1 when it is the only
    one and the target has no -1. The sizes are then constants the pruner can rewrite, and the batch
    stays dynamic."""
    if node.op_type != "Reshape" or len(node.input) != 2:
        return None
    target, data = entries.get(node.input[1]), shapes.get(node.input[0])
    if target is None or data is None or target.ndim != 1 or any(d is None for d in target):
        return None
    allow_zero = any(a.name == "allowzero" and a.i for a in node.attribute)
    pinned = [d if isinstance(d, int) else 0 for d in target]
    symbolic = [k for k, d in enumerate(target) if isinstance(d, str)]
    for k in symbolic:
        if allow_zero or k >= len(data) or data[k] != target[k]:
            if len(symbolic) > 1 or -1 in pinned:
                return None
            pinned[k] = -1
    return np.asarray(pinned, dtype=np.int64)


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
        if node.op_type == "Constant" and node.domain in _DEFAULT_DOMAINS:
            value = _constant_value(node)
            if value is not None and _is_small_non_weight(value):
                known[node.output[0]] = value
    return known


def _evaluate_if_constant(
    node: onnx.NodeProto, known: dict[str, np.ndarray], opsets: dict[str, int]
) -> dict[str, np.ndarray] | None:
    """The outputs of `node` when all its inputs are known and all its outputs are small non-weights."""
    if (
        node.domain not in _DEFAULT_DOMAINS
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
    return not _is_float(value.dtype) or value.size <= 1


def _is_small_non_weight_proto(tensor: onnx.TensorProto) -> bool:
    size = int(np.prod(tensor.dims, dtype=np.int64))
    if size > _MAX_FOLDED_ELEMENTS or tensor.data_type == onnx.TensorProto.STRING:
        return False
    return tensor.data_type not in _FLOAT_TYPES or size <= 1


def _is_float(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.floating) or dtype.name == "bfloat16"


# ----------------------------------------------------------------------------------------------------
# Weights


def lift_weights(model: onnx.ModelProto, path: Path) -> dict[str, np.ndarray]:
    """Turn the main graph's weights into graph inputs (after the real ones); return their values.

    Weights are float initializers of rank >= 1, float `Constant` nodes with more than
    `_MIN_CONSTANT_WEIGHT_ELEMENTS` elements, and `Identity` nodes copying a weight (each copy becomes
    a weight of its own under the Identity's output name, so pruning one leaves the other intact).
    Integer tensors (Reshape shapes, indices) and inputs listed in `_NOT_WEIGHT_INPUTS` stay inline:
    the conversion reads their values.
    """
    graph = model.graph
    excluded = _not_weight_names(graph)
    weights: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        if init.data_type in _FLOAT_TYPES and len(init.dims) >= 1 and init.name not in excluded:
            weights[init.name] = _read(lambda: numpy_helper.to_array(init), f"initializer '{init.name}'", path)
    lifted_nodes: set[int] = set()
    for index, node in enumerate(graph.node):
        value = _weight_defined_by(node, weights, excluded, path)
        if value is not None:
            weights[node.output[0]] = value
            lifted_nodes.add(index)
    _remove_initializers(graph, set(weights))
    _remove_nodes(graph, lifted_nodes)
    _add_weight_inputs(graph, weights)
    # numpy_helper returns read-only views of the raw bytes, which torch.from_numpy warns about.
    return {name: value if value.flags.writeable else value.copy() for name, value in weights.items()}


def _read(read: Callable[[], _T], what: str, path: Path) -> _T:
    """`read()`, with a malformed tensor reported as a SpaError naming it."""
    try:
        return read()
    except Exception as e:  # inconsistent dims/data, unknown data types
        raise SpaError(f"invalid ONNX model: cannot read {what}: {_first_line(e)}", where=str(path)) from None


def _not_weight_names(graph: onnx.GraphProto) -> set[str]:
    """Names used at an input position whose value is a hyper-parameter or a state (see table)."""
    names: set[str] = set()
    for node in graph.node:
        for index in _NOT_WEIGHT_INPUTS.get(node.op_type, ()):
            if index < len(node.input) and node.input[index]:
                names.add(node.input[index])
    return names


def _weight_defined_by(
    node: onnx.NodeProto, weights: dict[str, np.ndarray], excluded: set[str], path: Path
) -> np.ndarray | None:
    """The weight value a Constant node or an Identity-of-a-weight node defines, else None."""
    if node.domain not in _DEFAULT_DOMAINS or len(node.output) != 1 or node.output[0] in excluded:
        return None
    if node.op_type == "Identity" and len(node.input) == 1 and node.input[0] in weights:
        return weights[node.input[0]].copy()
    if node.op_type == "Constant":
        value = _read(lambda: _constant_value(node), f"Constant node '{node.name}'", path)
        if value is not None and _is_constant_weight(value):
            return value
    return None


def _constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    """The tensor a Constant node holds, or None for the sparse and string forms."""
    for attr in node.attribute:
        if attr.name == "value":
            return numpy_helper.to_array(attr.t)
        if attr.name in _CONSTANT_ATTR_DTYPES:
            return np.asarray(onnx.helper.get_attribute_value(attr), dtype=_CONSTANT_ATTR_DTYPES[attr.name])
    return None


def _is_constant_weight(value: np.ndarray) -> bool:
    return _is_float(value.dtype) and value.ndim >= 1 and value.size > _MIN_CONSTANT_WEIGHT_ELEMENTS


def _remove_initializers(graph: onnx.GraphProto, names: set[str]) -> None:
    kept = [init for init in graph.initializer if init.name not in names]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _remove_nodes(graph: onnx.GraphProto, indices: set[int]) -> None:
    kept = [node for index, node in enumerate(graph.node) if index not in indices]
    del graph.node[:]
    graph.node.extend(kept)


def _add_weight_inputs(graph: onnx.GraphProto, weights: dict[str, np.ndarray]) -> None:
    """Declare each weight as a graph input with its exact type (old models may already list some)."""
    declared = {i.name for i in graph.input}
    for name, value in weights.items():
        elem_type = onnx.helper.np_dtype_to_tensor_dtype(value.dtype)
        info = onnx.helper.make_tensor_value_info(name, elem_type, list(value.shape))
        if name in declared:
            next(i for i in graph.input if i.name == name).CopyFrom(info)
        else:
            graph.input.append(info)


# ----------------------------------------------------------------------------------------------------
# Import and conversion


def _import_model(model: onnx.ModelProto, path: Path) -> tuple[ir.Module, list[str]]:
    """Run torch-mlir's ONNX importer (as `torch-mlir-import-onnx` does): onnx.* ops, and arg names."""
    context = torch_mlir_context()
    try:
        model_info = onnx_importer.ModelInfo(model)
        module = model_info.create_module(context=context)
        importer = onnx_importer.NodeImporter.define_function(model_info.main_graph, module.operation)
        importer.import_all()
    except Exception as e:  # OnnxImportError, MLIRError, and asserts on malformed graphs
        raise SpaError(f"ONNX import failed: {_first_line(e)}", where=str(path)) from None
    return module, list(model_info.main_graph.input_map)


def _convert(module: ir.Module, pipelines: list[str], model: onnx.ModelProto, path: Path) -> None:
    """Lower onnx.* operators to aten ops, keeping BatchNorm, convolutions and matmuls recognizable."""
    if len(_funcs(module)) > 1:
        pipelines = [_INLINE_PIPELINE, *pipelines]
    try:
        with module.context:
            for pipeline in pipelines:
                PassManager.parse(pipeline).run(module.operation)
    except ir.MLIRError as e:
        for diagnostic in e.error_diagnostics:
            match = _ILLEGAL_ONNX_OP.search(diagnostic.message)
            if match:
                _raise_unsupported(match.group(1), _loc_name(diagnostic.location), model, path)
        raise SpaError(f"ONNX to torch conversion failed: {_diagnostics_text(e)}", where=str(path)) from None


def _diagnostics_text(e: ir.MLIRError) -> str:
    first = e.error_diagnostics[0] if e.error_diagnostics else None
    return f"{first.message} at {first.location}".splitlines()[0] if first else _first_line(e)


def _funcs(module: ir.Module) -> list[ir.Operation]:
    return [op.operation for op in module.body.operations if op.operation.name == "func.func"]


def _main_func(module: ir.Module) -> ir.Operation:
    (func,) = _funcs(module)
    return func


def _reject_unconverted_ops(module: ir.Module, model: onnx.ModelProto, path: Path) -> None:
    """Raise on any `torch.operator "onnx.*"` the conversion left in place."""
    leftovers = _unconverted_ops(module)
    if leftovers:
        op_type, node_name = leftovers[0]
        _raise_unsupported(op_type, node_name, model, path)


def _raise_unsupported(op_type: str, node_name: str, model: onnx.ModelProto, path: Path) -> None:
    """SpaError naming the op (with its domain when not the standard one), the node and the file."""
    domain = next((n.domain for n in model.graph.node if n.name == node_name), "")
    if domain in _DEFAULT_DOMAINS:
        why = "torch-mlir has no conversion for it with these operand types"
        qualified = op_type
    else:
        why = "custom-domain ops have no conversion"
        qualified = f"{domain}.{op_type}"
    raise SpaError(f"unsupported ONNX op '{qualified}' (node '{node_name}'): {why}", where=str(path))


def _unconverted_ops(module: ir.Module) -> list[tuple[str, str]]:
    """(op type, node name) of every onnx.* operator still in the module, in program order."""
    found: list[tuple[str, str]] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "torch.operator":
            name = ir.StringAttr(op.attributes["name"]).value
            if name.startswith("onnx."):
                found.append((name.removeprefix("onnx."), _loc_name(op.location)))
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _loc_name(location: ir.Location) -> str:
    """The (first) NameLoc name in a location: the ONNX node name the importer attached."""
    match = _NAME_LOC.search(str(location))
    if not match:
        return str(location)
    return re.sub(r'\\(["\\])', r"\1", match.group(1))


# ----------------------------------------------------------------------------------------------------
# Folding prim.tolist of literals

# list type -> (attribute class reading the literal's values, constant op, its result type, its value
# attribute's type): the lists `prim.tolist` of a literal can be rebuilt from constants.
_LIST_CONSTANTS: dict[str, tuple[type[ir.DenseElementsAttr], str, str, Callable[[], ir.Type]]] = {
    "!torch.list<int>": (ir.DenseIntElementsAttr, "torch.constant.int", "!torch.int", lambda: ir.IntegerType.get_signless(64)),
    "!torch.list<float>": (ir.DenseFPElementsAttr, "torch.constant.float", "!torch.float", ir.F64Type.get),
}


def fold_literal_tolist(module: ir.Module) -> int:
    """Replace `torch.prim.tolist` of a rank-1 `torch.vtensor.literal` by a `torch.prim.ListConstruct`
    of `torch.constant.int`/`float` ops; return how many were folded.

    torch-mlir's ONNX conversion emits `prim.tolist` for sizes held in a tensor (`Split`'s `split`
    input, after `fold_shape_arithmetic` made them a literal). `prim.tolist` has variadic results,
    which spa's generated dialect does not model, and its consumers (`aten.split_with_sizes`) read the
    sizes as an int list anyway. Literals left without users are erased.
    """
    folded = 0
    for op in _ops_named(module, "torch.prim.tolist"):
        values = _literal_list(op)
        if values is None:
            continue
        _, const_name, const_type, attr_type = _LIST_CONSTANTS[str(op.results[0].type)]
        literal = _defining_op(op.operands[0])
        with ir.InsertionPoint(op), op.location:
            items = [
                ir.Operation.create(const_name, results=[ir.Type.parse(const_type)],
                                    attributes={"value": _scalar_attr(attr_type(), v)}).result
                for v in values
            ]
            listed = ir.Operation.create("torch.prim.ListConstruct", results=[op.results[0].type], operands=items)
        op.results[0].replace_all_uses_with(listed.result)
        op.erase()
        if literal is not None and not list(literal.results[0].uses):
            literal.erase()
        folded += 1
    return folded


def _literal_list(op: ir.Operation) -> list[int] | list[float] | None:
    """The values a `prim.tolist` of a rank-1 literal produces, or None when it is not one."""
    if len(op.operands) != 1 or len(op.results) != 1:
        return None
    kind = _LIST_CONSTANTS.get(str(op.results[0].type))
    literal = _defining_op(op.operands[0])
    if kind is None or literal is None or literal.name != "torch.vtensor.literal":
        return None
    try:
        dense = kind[0](literal.attributes["value"])
    except ValueError:  # dense_resource blobs and the like: left to fail loudly in the bridge
        return None
    if ir.ShapedType(dense.type).rank != 1:
        return None
    return [dense[i] for i in range(len(dense))]


def _defining_op(value: ir.Value) -> ir.Operation | None:
    """The op defining `value` (None for a block argument); the bindings hand out OpViews."""
    owner = value.owner
    if isinstance(owner, ir.OpView):
        return owner.operation
    return owner if isinstance(owner, ir.Operation) else None


def _scalar_attr(attr_type: ir.Type, value: int | float) -> ir.Attribute:
    return ir.FloatAttr.get(attr_type, value) if isinstance(attr_type, ir.F64Type) else ir.IntegerAttr.get(attr_type, value)


def _ops_named(module: ir.Module, name: str) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == name:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


# ----------------------------------------------------------------------------------------------------
# Weights as spa.param


def _args_to_params(func: ir.Operation, arg_names: list[str], weights: dict[str, np.ndarray]) -> None:
    """Replace each weight argument of `func` by a `spa.param` op and drop it from the signature.

    `arg_names` are the ONNX input names in argument order; the arguments left are the model's real
    inputs. The function is renamed `main`, like the PyTorch frontend's.
    """
    entry = func.regions[0].blocks[0]
    first_op = entry.operations[0]
    weight_args = [(i, n, a) for i, (n, a) in enumerate(zip(arg_names, entry.arguments)) if n in weights]
    for _, name, arg in weight_args:
        with ir.InsertionPoint(first_op), arg.location:
            param = ir.Operation.create(
                "spa.param", results=[arg.type], attributes={"name": ir.StringAttr.get(name)}
            )
        arg.replace_all_uses_with(param.result)
    for index, _, _ in reversed(weight_args):
        entry.erase_argument(index)
    with func.context:
        old = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        new = ir.FunctionType.get([a.type for a in entry.arguments], old.results)
        func.attributes["function_type"] = ir.TypeAttr.get(new)
        func.attributes["sym_name"] = ir.StringAttr.get(FUNC_NAME)


def _verify(module: ir.Module, path: Path) -> None:
    try:
        module.operation.verify()
    except ir.MLIRError as e:
        raise SpaError(f"imported module does not verify: {_first_line(e)}", where=str(path)) from None
