"""Control flow (Loop, Scan, If) as opaque ops: kept out of torch-mlir's conversion, which turns some into
`prim.Loop` / `prim.If` and rejects others (tf2onnx's while-loops of a Keras GRU), so that every model with
control flow imports the same way.

Each such node becomes one `OPAQUE_PREFIX<OpType>` node in a custom domain, reading the node's inputs and every
outer value its bodies read, with the node's output types. torch-mlir imports it as `torch.operator
"onnx.<that name>"` (it names every op `onnx.*`), which `name_opaque_ops` renames `spa_onnx.<OpType>` before the
conversion (which would reject it: every `onnx.*` op must convert). Channel analysis has no rule for it, so every
channel reaching it is frozen and reported; the faithful ONNX writer keeps the original node verbatim (it edits
the original file); a PyTorch backend refuses it with a located error.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx
from torch_mlir import ir

OPAQUE_DOMAIN = "spa_onnx"
"""The custom domain of control-flow nodes hidden from the conversion (IR op names `spa_onnx.<OpType>`)."""
OPAQUE_PREFIX = "SpaOpaque"

CONTROL_FLOW = frozenset({"Loop", "Scan", "If"})


def hide_control_flow(model: onnx.ModelProto) -> int:
    """Replace the main graph's control-flow nodes by opaque ones (in place; shapes must be inferred, the
    outputs' types come from them); return how many."""
    graph = model.graph
    typed = {v.name: v for v in [*graph.value_info, *graph.output]}
    hidden = 0
    for index, node in enumerate(graph.node):
        if node.op_type not in CONTROL_FLOW or node.domain not in ("", "ai.onnx"):
            continue
        reads = [*node.input, *(n for n in outer_reads(node) if n not in node.input)]
        opaque = onnx.helper.make_node(
            OPAQUE_PREFIX + node.op_type, reads, list(node.output), name=node.name, domain=OPAQUE_DOMAIN
        )
        graph.node[index].CopyFrom(opaque)
        for out in node.output:
            if out not in typed:
                graph.value_info.append(onnx.helper.make_empty_tensor_value_info(out))
        hidden += 1
    if hidden and all(o.domain != OPAQUE_DOMAIN for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid(OPAQUE_DOMAIN, 1))
    return hidden


def name_opaque_ops(module: ir.Module) -> None:
    """Rename the imported `torch.operator "onnx.SpaOpaque<Op>"` ops `spa_onnx.<Op>` (see the module docstring)."""
    prefix = f"onnx.{OPAQUE_PREFIX}"

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "torch.operator":
            name = ir.StringAttr(op.attributes["name"]).value
            if name.startswith(prefix):
                with op.context:
                    op.attributes["name"] = ir.StringAttr.get(f"{OPAQUE_DOMAIN}.{name.removeprefix(prefix)}")
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)


def outer_reads(node: onnx.NodeProto) -> list[str]:
    """The values a node's subgraphs read from the scope around the node, in first-read order."""
    found: list[str] = []
    for graph in subgraphs(node):
        for name in _free_names(graph):
            if name not in found:
                found.append(name)
    return found


def _free_names(graph: onnx.GraphProto) -> Iterator[str]:
    defined = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    for node in graph.node:
        for name in [*node.input, *(n for sub in subgraphs(node) for n in _free_names(sub))]:
            if name and name not in defined:
                yield name
        defined |= set(node.output)


def subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    """The bodies of a node (If branches, Loop / Scan bodies)."""
    for attr in node.attribute:
        if attr.HasField("g"):
            yield attr.g
        yield from attr.graphs
