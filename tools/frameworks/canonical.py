"""What an ONNX file computes, as a value to compare: `make frameworks` tells a regenerated converter output
that computes the same from one that does not.

Kept: node op types and domains, attributes, how values connect (through Identity nodes), initializer and
Constant tensor contents, the graph's input and output names and types, value_info types, opset imports, IR
version, local functions. Left out: node names, graph names, producer strings, doc strings and metadata
(converters embed versions, counters and timestamps there), and the names of intermediate values and weights:
tf2onnx merges equal constants and numbers the names it makes in an order that changes from run to run
(TensorFlow's graph order), so two conversions of one model differ in which of two equal constants keeps its
name, in the order of independent nodes, and in which side of an Identity a Loop body's output sits. Weights and
Constant outputs are named by their contents, every other value by what computes it (value numbering), and
nodes compare as a set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import onnx
from onnx import numpy_helper


def _contents(t: onnx.TensorProto) -> str:
    """A tensor by value: raw_data and the typed *_data fields that hold the same numbers compare equal."""
    array = numpy_helper.to_array(t)
    digest = hashlib.sha256(array.tobytes()).hexdigest()[:16]
    return f"const<{t.data_type}x{'x'.join(map(str, t.dims))}:{digest}>"


def _type(t: onnx.TypeProto) -> tuple[Any, ...]:
    if t.HasField("tensor_type"):
        shape = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.tensor_type.shape.dim)
        return ("tensor", t.tensor_type.elem_type, shape if t.tensor_type.HasField("shape") else None)
    return ("other", t.SerializeToString(deterministic=True))


@dataclass
class _Scope:
    """Value names -> canonical names, for one graph and the graphs nested in it (a Loop body reads outer values).
    `original` keeps one original name per canonical one, to name what differs in a report."""

    names: dict[str, str] = field(default_factory=dict)
    original: dict[str, str] = field(default_factory=dict)

    def nested(self) -> _Scope:
        return _Scope(dict(self.names), self.original)

    def define(self, name: str, canonical: str) -> None:
        self.names[name] = canonical
        self.original.setdefault(canonical, name)

    def __call__(self, name: str) -> str:
        return self.names.get(name, name)  # "" (an omitted optional input) and unknown names stay as they are


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def _attribute(a: onnx.AttributeProto, scope: _Scope) -> tuple[Any, ...]:
    kinds = onnx.AttributeProto
    value: Any
    if a.ref_attr_name:
        value = ("ref", a.ref_attr_name)
    elif a.type == kinds.TENSOR:
        value = _contents(a.t)
    elif a.type == kinds.GRAPH:
        value = _graph(a.g, scope.nested(), keep_io=False)
    elif a.type == kinds.TENSORS:
        value = tuple(_contents(t) for t in a.tensors)
    elif a.type == kinds.GRAPHS:
        value = tuple(_graph(g, scope.nested(), keep_io=False) for g in a.graphs)
    else:
        value = onnx.helper.get_attribute_value(a)
        value = tuple(value) if isinstance(value, list) else value
        if isinstance(value, float) or (isinstance(value, tuple) and value and isinstance(value[0], float)):
            value = repr(value)  # NaN != NaN would make a file differ from itself
    return (a.name, a.type, value)


def _node(n: onnx.NodeProto, scope: _Scope, interface: set[str]) -> tuple[Any, ...] | None:
    """A node by what it computes; each output is named by a digest of that and its position (value numbering),
    so neither the converter's names nor the order of independent nodes show. An Identity computes nothing: its
    output is its input (tf2onnx puts a Loop body's Identity before or after the value it copies), None."""
    inputs = tuple(scope(x) for x in n.input)
    if n.op_type == "Identity" and not n.domain and n.output[0] not in interface:
        scope.define(n.output[0], inputs[0])
        return None
    attributes = tuple(sorted((_attribute(a, scope) for a in n.attribute), key=repr))
    computes = (n.domain or "", n.op_type, inputs, attributes)
    constant = n.op_type == "Constant" and not n.domain and len(n.attribute) == 1 and n.attribute[0].name == "value"
    for i, name in enumerate(n.output):
        if name in interface or not name:
            scope.define(name, name)
        elif constant:
            scope.define(name, _contents(n.attribute[0].t))
        else:
            scope.define(name, f"%{_digest((computes, i))}")
    return (*computes, tuple(scope(x) for x in n.output))


def _graph(g: onnx.GraphProto, scope: _Scope, keep_io: bool) -> dict[str, Any]:
    """`keep_io`: the main graph's inputs and outputs are its interface and keep their names; a subgraph's are
    positional (a Loop body's input names mean nothing outside it)."""
    for t in g.initializer:
        scope.define(t.name, _contents(t))
    for i, v in enumerate(g.input):
        scope.define(v.name, v.name if keep_io else f"%arg{i}")
    interface = {v.name for v in g.output} if keep_io else set()
    nodes = tuple(sorted((c for c in (_node(n, scope, interface) for n in g.node) if c is not None), key=repr))
    return {
        "inputs": tuple((scope(v.name), _type(v.type)) for v in g.input),
        "outputs": tuple((scope(v.name), _type(v.type)) for v in g.output),
        "value_info": tuple(sorted((scope(v.name), _type(v.type)) for v in g.value_info)),
        "initializers": tuple(sorted(scope(t.name) for t in g.initializer)),
        "sparse_initializers": tuple(sorted(s.SerializeToString(deterministic=True) for s in g.sparse_initializer)),
        "nodes": nodes,
    }


def canonical_with_names(model: onnx.ModelProto) -> tuple[dict[str, Any], dict[str, str]]:
    """The canonical form, and an original name for each canonical value name (for reports)."""
    scope = _Scope()
    functions = tuple(
        (f.domain, f.name, tuple(f.input), tuple(f.output), tuple(f.attribute), f.SerializeToString(deterministic=True))
        for f in model.functions
    )
    form = {
        "ir_version": model.ir_version,
        "opset_imports": tuple(sorted((o.domain or "", o.version) for o in model.opset_import)),
        "graph": _graph(model.graph, scope, keep_io=True),
        "functions": functions,
    }
    return form, scope.original


def canonical(model: onnx.ModelProto) -> dict[str, Any]:
    """What a file computes, without the names and strings that change from one conversion to the next."""
    return canonical_with_names(model)[0]


def _nodes(old: dict[str, Any], new: dict[str, Any], names: dict[str, str]) -> list[str]:
    """The nodes of one file only. A changed node changes the names of everything computed from it, so the nodes
    shown are where the difference starts: those whose inputs the checked-in file has too."""
    gone = [n for n in old["nodes"] if n not in new["nodes"]]
    added = [n for n in new["nodes"] if n not in old["nodes"]]
    if not gone and not added:
        return []
    known = {v for n in old["nodes"] for v in n[4]} | {v for v, _ in old["inputs"]} | set(old["initializers"])
    starts = [n for n in added if all(x in known or x.startswith("const<") or not x for x in n[2])] or added
    shown = [f"{n[1]} -> {names.get(n[4][0], n[4][0]) if n[4] else '-'}" for n in starts[:3]]
    return [f"nodes: {len(added)} only regenerated, from {shown}; {len(gone)} only checked in"]


def differences(old: onnx.ModelProto, new: onnx.ModelProto) -> list[str]:
    """What differs between two files' canonical forms, one phrase each (empty: they compute the same)."""
    (a, _), (b, names) = canonical_with_names(old), canonical_with_names(new)
    found = [key for key in ("ir_version", "opset_imports", "functions") if a[key] != b[key]]
    found += [
        f"graph {key}"
        for key in ("inputs", "outputs", "value_info", "sparse_initializers")
        if a["graph"][key] != b["graph"][key]
    ]
    old_init, new_init = set(a["graph"]["initializers"]), set(b["graph"]["initializers"])
    if old_init != new_init:
        changed = sorted(names.get(c, c) for c in new_init - old_init)
        found.append(f"initializers: {len(changed)} with new contents {changed[:3]}, {len(old_init - new_init)} gone")
    return found + _nodes(a["graph"], b["graph"], names)
