"""The faithful ONNX writer on small graphs built with onnx.helper, one per thing it must rewrite: a shape constant
shared by a pruned and an unpruned Reshape (split into a new initializer), Split sizes (input and attribute), an
Expand shape, Slice bounds on a channel axis, a Constant-node weight and an Identity copy pruned differently from its
source, stale value_info. Each is pruned (criterion=random, only exact groups), written faithfully, checked with
onnx.checker's full check, and run in onnxruntime at two batch sizes (the batch is a dim_param) against the masked
original; the node list (names, op types) is the original's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_onnx_prune_oracle import run_onnx
from zoo import max_relative_error

from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.verify import masked_onnx

RNG = np.random.default_rng(0)


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(np.float32), name)


def _ints(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _conv(
    name: str, x: str, out: str, cin: int, cout: int, k: int = 1
) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    node = helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [out], name=name, pads=[k // 2] * 4)
    return node, [_weight(f"{name}.w", cout, cin, k, k), _weight(f"{name}.b", cout)]


def _model(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], outputs: list[str], opset: int = 17,
           channels: int = 3) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, 8, 8])
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    graph = helper.make_graph(nodes, "g", [x], ys, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="hand")
    model = onnx.shape_inference.infer_shapes(model)  # outputs typed, value_info recorded (to go stale)
    onnx.checker.check_model(model, full_check=True)
    return model


def _convs(*specs: tuple[str, str, str, int, int]) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    nodes, inits = [], []
    for spec in specs:
        node, weights = _conv(*spec)
        nodes.append(node)
        inits += weights
    return nodes, inits


def shared_reshape_shape() -> onnx.ModelProto:
    """Two Reshapes read one shape initializer; only the first one's channels are prunable (the second goes to an
    output)."""
    nodes, inits = _convs(("c1", "x", "a", 3, 8), ("c2", "x", "b", 3, 8), ("c3", "a3", "y1", 8, 4))
    nodes[1:1] = [
        helper.make_node("Relu", ["a"], ["a1"], name="relu"),
        helper.make_node("Reshape", ["a1", "flat"], ["a2"], name="flatten_a"),
        helper.make_node("Reshape", ["a2", "square"], ["a3"], name="unflatten_a"),
    ]
    nodes.append(helper.make_node("Reshape", ["b", "flat"], ["y2"], name="flatten_b"))
    inits += [_ints("flat", [0, 8, 64]), _ints("square", [-1, 8, 8, 8])]
    return _model(nodes, inits, ["y1", "y2"])


def split(opset: int) -> Callable[[], onnx.ModelProto]:
    def build() -> onnx.ModelProto:
        nodes, inits = _convs(("c1", "x", "a", 3, 8), ("ca", "p", "ya", 5, 4), ("cb", "q", "yb", 3, 4))
        if opset >= 13:
            inits.append(_ints("sizes", [5, 3]))
            nodes.insert(1, helper.make_node("Split", ["a", "sizes"], ["p", "q"], name="split", axis=1))
        else:
            nodes.insert(1, helper.make_node("Split", ["a"], ["p", "q"], name="split", axis=1, split=[5, 3]))
        nodes.append(helper.make_node("Add", ["ya", "yb"], ["y"], name="add"))
        return _model(nodes, inits, ["y"], opset)

    return build


def expand() -> onnx.ModelProto:
    """A per-channel gate broadcast back over the image by Expand (shape as a constant)."""
    nodes, inits = _convs(("c1", "x", "a", 3, 8), ("c2", "m", "y", 8, 4))
    nodes[1:1] = [
        helper.make_node("GlobalAveragePool", ["a"], ["g"], name="pool"),
        helper.make_node("Sigmoid", ["g"], ["s"], name="gate"),
        helper.make_node("Expand", ["s", "full"], ["e"], name="expand"),
        helper.make_node("Mul", ["a", "e"], ["m"], name="mul"),
    ]
    inits.append(_ints("full", [1, 8, 8, 8]))
    return _model(nodes, inits, ["y"])


def channel_slices() -> onnx.ModelProto:
    """A conv's channels cut in two by Slices with constant bounds, each half read by its own conv."""
    nodes, inits = _convs(("c1", "x", "a", 3, 8), ("ca", "p", "ya", 3, 4), ("cb", "q", "yb", 5, 4))
    nodes[1:1] = [
        helper.make_node("Slice", ["a", "s0", "e0", "ax"], ["p"], name="head"),
        helper.make_node("Slice", ["a", "s1", "e1", "ax"], ["q"], name="tail"),
    ]
    nodes.append(helper.make_node("Add", ["ya", "yb"], ["y"], name="add"))
    inits += [_ints("s0", [0]), _ints("e0", [3]), _ints("s1", [3]), _ints("e1", [2**62]), _ints("ax", [1])]
    return _model(nodes, inits, ["y"])


def constant_weights() -> onnx.ModelProto:
    """A weight in a Constant node, and an Identity copy of another weight read by a conv on another branch (the
    torch exporter's de-duplication): the copy and its source are pruned differently."""
    nodes, inits = _convs(("c1", "x", "a", 3, 8), ("c2", "x", "b", 3, 8), ("c3", "a", "ya", 8, 4),
                          ("c4", "b", "yb", 8, 4))
    nodes[3].input[1] = "c4.w.copy"
    nodes.insert(0, helper.make_node("Identity", ["c3.w"], ["c4.w.copy"], name="dedup"))
    weight = next(i for i in inits if i.name == "c1.w")
    inits = [i for i in inits if i.name not in ("c1.w", "c4.w")]
    nodes.insert(0, helper.make_node("Constant", [], ["c1.w"], name="c1.w.const", value=weight))
    nodes.append(helper.make_node("Add", ["ya", "yb"], ["y"], name="add"))
    return _model(nodes, inits, ["y"])


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "shared_reshape_shape": shared_reshape_shape,
    "split_input": split(13),
    "split_attribute": split(11),
    "expand": expand,
    "channel_slices": channel_slices,
    "constant_weights": constant_weights,
}


def _faithful(name: str, tmp_path: Path) -> tuple[onnx.ModelProto, onnx.ModelProto, dict]:
    path = tmp_path / f"{name}.onnx"
    original = MODELS[name]()
    onnx.save(original, str(path))
    program = api.import_onnx(path)
    plan = api.prune_program(program, ratio=0.5, criterion="random", only_exact=True, seed=3).to_json()
    assert any(g["removed"] for g in plan["groups"]), f"{name}: nothing pruned"
    save_onnx(program, tmp_path / "out.onnx")
    out = onnx.load(str(tmp_path / "out.onnx"))
    assert [(n.name, n.op_type) for n in out.graph.node] == [(n.name, n.op_type) for n in original.graph.node]
    for batch in (2, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 8, 8)).astype(np.float32)
        import torch

        inputs = [torch.from_numpy(x)]
        want = run_onnx(masked_onnx(original, plan["params"]), inputs)
        assert max_relative_error(run_onnx(out, inputs), want) < 1e-5, f"{name} at batch {batch}"
    return original, out, plan


@pytest.mark.parametrize("name", list(MODELS))
def test_faithful_file_equals_the_masked_original(name: str, tmp_path: Path) -> None:
    original, out, _ = _faithful(name, tmp_path)
    added = {i.name for i in out.graph.initializer} - {i.name for i in original.graph.initializer}
    assert all(".spa_" in n for n in added), added


def test_a_shared_shape_constant_is_split_for_the_pruned_use(tmp_path: Path) -> None:
    _, out, _ = _faithful("shared_reshape_shape", tmp_path)
    inits = {i.name: numpy_helper.to_array(i) for i in out.graph.initializer}
    nodes = {n.name: n for n in out.graph.node}
    assert nodes["flatten_b"].input[1] == "flat" and list(inits["flat"]) == [0, 8, 64]  # the unpruned use
    fresh = nodes["flatten_a"].input[1]
    assert fresh == "flat.spa_flatten_a" and inits[fresh][1] < 8
    assert inits["square"][1] == inits[fresh][1]  # the single use is rewritten in place


def test_split_sizes_follow_the_halves(tmp_path: Path) -> None:
    for name in ("split_input", "split_attribute"):
        _, out, _ = _faithful(name, tmp_path)
        split_node = next(n for n in out.graph.node if n.op_type == "Split")
        widths = {i.name: numpy_helper.to_array(i).shape[1] for i in out.graph.initializer if i.name.endswith(".w")}
        sizes = (
            list(numpy_helper.to_array(next(i for i in out.graph.initializer if i.name == "sizes")))
            if name == "split_input"
            else list(next(a for a in split_node.attribute if a.name == "split").ints)
        )
        assert sizes == [widths["ca.w"], widths["cb.w"]] != [5, 3]


def test_identity_copy_pruned_differently_reads_its_own_initializer(tmp_path: Path) -> None:
    original, out, plan = _faithful("constant_weights", tmp_path)
    dedup = next(n for n in out.graph.node if n.name == "dedup")
    assert dedup.op_type == "Identity" and dedup.input[0] == "c4.w.copy.spa_weight"
    const = next(n for n in out.graph.node if n.name == "c1.w.const")
    assert numpy_helper.to_array(const.attribute[0].t).shape[0] < 8  # the Constant node's weight is sliced


def test_stale_value_info_is_dropped(tmp_path: Path) -> None:
    original, out, _ = _faithful("expand", tmp_path)
    assert original.graph.value_info
    bare = onnx.ModelProto()
    bare.CopyFrom(out)
    del bare.graph.value_info[:]
    inferred = {v.name: v.type for v in onnx.shape_inference.infer_shapes(bare).graph.value_info}
    assert all(inferred.get(v.name) == v.type for v in out.graph.value_info)
    assert len(out.graph.value_info) < len(original.graph.value_info)
