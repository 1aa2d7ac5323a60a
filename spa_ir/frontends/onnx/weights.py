"""Weights: which tensors of an ONNX graph are weights, under which names, and lifting them to graph inputs.

`weight_values` is the one naming rule: the frontend lifts exactly these (their names become the
`spa.param` names a plan refers to), and the masked original (`spa_ir.verify.masked_onnx`) masks exactly
these. Why lift them to inputs: see the package's docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import numpy_helper

from spa_ir.core.errors import SpaError, first_line
from spa_ir.frontends.onnx.load import DEFAULT_DOMAINS, FLOAT_TYPES, constant_value, is_float

__all__ = ["lift_weights", "weight_values"]

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

_P = TypeVar("_P")
_T = TypeVar("_T")


def weight_values(model: onnx.ModelProto, path: Path | None = None) -> dict[str, np.ndarray]:
    """The main graph's weights by name (the names of the imported program's `spa.param`s).

    Weights are float initializers of rank >= 1, float `Constant` nodes with more than
    `_MIN_CONSTANT_WEIGHT_ELEMENTS` elements, and `Identity` nodes copying a weight (each copy is a
    weight of its own under the Identity's output name, so pruning one leaves the other intact).
    Integer tensors (Reshape shapes, indices) and inputs listed in `_NOT_WEIGHT_INPUTS` are no weights:
    the conversion reads their values. A malformed tensor is a SpaError (naming `path` where given).
    """
    return _find_weights(model.graph, path)[0]


def lift_weights(model: onnx.ModelProto, path: Path) -> dict[str, np.ndarray]:
    """Turn the main graph's weights (`weight_values`) into graph inputs after the real ones; return their
    values (writeable arrays)."""
    graph = model.graph
    weights, lifted_nodes = _find_weights(graph, path)
    _remove_initializers(graph, set(weights))
    _remove_nodes(graph, lifted_nodes)
    _add_weight_inputs(graph, weights)
    # numpy_helper returns read-only views of the raw bytes, which torch.from_numpy warns about.
    return {name: value if value.flags.writeable else value.copy() for name, value in weights.items()}


def _find_weights(graph: onnx.GraphProto, path: Path | None) -> tuple[dict[str, np.ndarray], set[int]]:
    """The weights by name, and the indices of the nodes (Constant, Identity) that define some of them."""
    excluded = _not_weight_names(graph)
    weights: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        if init.data_type in FLOAT_TYPES and len(init.dims) >= 1 and init.name not in excluded:
            weights[init.name] = _read(numpy_helper.to_array, init, f"initializer '{init.name}'", path)
    defining_nodes: set[int] = set()
    for index, node in enumerate(graph.node):
        value = _weight_defined_by(node, weights, excluded, path)
        if value is not None:
            weights[node.output[0]] = value
            defining_nodes.add(index)
    return weights, defining_nodes


def _read(read: Callable[[_P], _T], proto: _P, what: str, path: Path | None) -> _T:
    """`read(proto)`, with a malformed tensor reported as a SpaError naming it."""
    try:
        return read(proto)
    except Exception as e:  # inconsistent dims/data, unknown data types
        where = None if path is None else str(path)
        raise SpaError(f"invalid ONNX model: cannot read {what}: {first_line(e)}", where=where) from None


_ASSEMBLING = frozenset({"Concat", "Cast", "Identity", "Unsqueeze", "Squeeze", "Reshape"})
"""Ops a hyper-parameter is assembled through from constants (torch.onnx without constant folding writes a
Resize's scales as `Concat(Constant [1, 1], Constant [2, 2])`): their constant inputs are no weights either."""


def _not_weight_names(graph: onnx.GraphProto) -> set[str]:
    """Names used at an input position whose value is a hyper-parameter or a state (see table), and the values
    such an input is assembled from."""
    producer = {o: n for n in graph.node for o in n.output}
    todo = [
        node.input[index]
        for node in graph.node
        for index in _NOT_WEIGHT_INPUTS.get(node.op_type, ())
        if index < len(node.input) and node.input[index]
    ]
    names: set[str] = set()
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        node = producer.get(name)
        if node is not None and node.op_type in _ASSEMBLING:
            todo += [i for i in node.input if i]
    return names


def _weight_defined_by(
    node: onnx.NodeProto, weights: dict[str, np.ndarray], excluded: set[str], path: Path | None
) -> np.ndarray | None:
    """The weight value a Constant node or an Identity-of-a-weight node defines, else None."""
    if node.domain not in DEFAULT_DOMAINS or len(node.output) != 1 or node.output[0] in excluded:
        return None
    if node.op_type == "Identity" and len(node.input) == 1 and node.input[0] in weights:
        return weights[node.input[0]].copy()
    if node.op_type == "Constant":
        value = _read(constant_value, node, f"Constant node '{node.name}'", path)
        if value is not None and _is_constant_weight(value):
            return value
    return None


def _is_constant_weight(value: np.ndarray) -> bool:
    return is_float(value.dtype) and value.ndim >= 1 and value.size > _MIN_CONSTANT_WEIGHT_ELEMENTS


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
