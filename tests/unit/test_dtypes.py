"""fp16 and bf16 models stay in their dtype: a PyTorch model (`model.half()`, `.to(torch.bfloat16)`, inputs in the
same dtype) imports, prunes (l1, random, obspa) and emits (torch.fx, .pt2, .onnx) with every weight, buffer and
output in its own dtype; compensation accumulates in float64 and writes back in the model's dtype; an fp16 ONNX file
imports, prunes and goes back through the faithful route as fp16, run in onnxruntime.

The oracle is the masked original computed in the same dtype. Tolerances (max |pruned - masked| / max |masked| on
the outputs) per dtype: fp32 1e-4, fp16 1e-2, bf16 5e-2. Measured on the CPU (one thread): 0 for fp16 and bf16 on
this net and on resnet18 at 32x32 (the CPU kernels accumulate in float32; removed channels add exact zeros), 2.5e-7
(l1) / 2.9e-6 (obspa) for fp32; the tolerances are the dtypes' own rounding distance to a float64 computation,
measured on resnet18 at 32x32 (fp16 8e-4 .. 3.6e-3, bf16 5e-3 .. 4.9e-2), for kernels that accumulate otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from models_extra import CompensatedNet
from onnx import numpy_helper
from safetensors import safe_open

from spa_ir import api
from spa_ir.backends import export
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.verify import PlanParams, masked, masked_onnx

TOLERANCE = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
"""Relative output error allowed against the masked original in the same dtype."""

REFIT_TOLERANCE = {torch.float16: 1e-2, torch.bfloat16: 1e-1}
"""Relative difference allowed between a dtype's refitted tensors and the fp32 refit of the same weights on the same
data (the activations whose second moments are taken are computed in the dtype). Measured on this net: fp16 at most
3e-3 (fc.weight; rounding the fp32 refit to fp16 alone: 4e-4), bf16 at most 4.5e-2 (fc.bias; rounding: 4e-3)."""

DTYPES = [torch.float16, torch.bfloat16]
MLIR_NAME = {torch.float16: "f16", torch.bfloat16: "bf16"}
ONNX_TYPE = {torch.float16: onnx.TensorProto.FLOAT16, torch.bfloat16: onnx.TensorProto.BFLOAT16}
CRITERIA: dict[str, dict[str, Any]] = {
    "l1": {"criterion": "l1"},
    "random": {"criterion": "random", "seed": 1},
    "obspa": {"criterion": "obspa", "source": "data"},
}


def _net() -> CompensatedNet:
    """The conv-BN net with batch-norm statistics and scales away from their defaults (so compensation's
    batch-norm corrections and the rounding of normalized values are exercised)."""
    torch.manual_seed(0)
    model = CompensatedNet().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (model.b1, model.b2):
            assert bn.running_mean is not None and bn.running_var is not None
            bn.running_mean.copy_(torch.rand(bn.num_features, generator=gen) - 0.5)
            bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
            bn.weight.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
    return model


X = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(2))
CALIB = torch.randn(32, 3, 6, 6, generator=torch.Generator().manual_seed(3))


def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want.double()).abs().max() / want.double().abs().max())


def _params(plan: Plan) -> PlanParams:
    """The plan's removed slices as verify's masked originals read them (dims as in the JSON)."""
    return {name: {str(d): idx for d, idx in dims.items()} for name, dims in plan.params.items()}


def _prune(model: torch.nn.Module, dtype: torch.dtype, **options: Any) -> tuple[Program, Plan]:
    program = api.import_torch(model, [X.to(dtype)])
    calib = CALIB.to(dtype) if options.get("source") == "data" else None
    return program, api.prune_program(program, calib, ratio=0.5, **options)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One thread for this module: on the 2 shared cores a second thread's spinning doubled its CPU time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=DTYPES, ids=lambda d: MLIR_NAME[d])
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    dtype: torch.dtype = request.param
    return dtype


@pytest.fixture(scope="module")
def model(dtype: torch.dtype) -> torch.nn.Module:
    return _net().to(dtype)


@pytest.fixture(scope="module")
def pruned(model: torch.nn.Module, dtype: torch.dtype) -> dict[str, tuple[Program, Plan]]:
    """The model pruned at 0.5 by each criterion, in its dtype."""
    return {name: _prune(model, dtype, **options) for name, options in CRITERIA.items()}


def test_ir_and_safetensors_keep_the_dtype(
    dtype: torch.dtype, pruned: dict[str, tuple[Program, Plan]], tmp_path: Path
) -> None:
    program, _ = pruned["l1"]
    program.save(tmp_path / "m.mlir")
    text = (tmp_path / "m.mlir").read_text()
    assert f",{MLIR_NAME[dtype]}>" in text and ",f32>" not in text
    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as f:
        stored = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert stored == {"F16" if dtype == torch.float16 else "BF16"}


@pytest.mark.parametrize("criterion", sorted(CRITERIA))
def test_pruned_equals_the_masked_original_in_its_dtype(
    model: torch.nn.Module, dtype: torch.dtype, pruned: dict[str, tuple[Program, Plan]], criterion: str
) -> None:
    program, plan = pruned[criterion]
    assert any(g["removed"] for g in plan.groups)
    assert all(t.dtype == dtype for t in plan.tensors.values())  # compensation writes back in the model's dtype
    assert (criterion == "obspa") == bool(plan.tensors)
    gm = api.to_torch(program)
    assert {t.dtype for t in [*gm.parameters(), *gm.buffers()] if t.is_floating_point()} == {dtype}
    with torch.no_grad():
        got = gm(X.to(dtype))
        with masked(model, _params(plan), plan.tensors) as reference:
            want = reference(X.to(dtype))
    assert got.dtype == want.dtype == dtype
    assert _relative(got, want) <= TOLERANCE[dtype]


def test_compensation_accumulates_in_float64_and_writes_back_in_the_dtype(
    model: torch.nn.Module, dtype: torch.dtype
) -> None:
    """l1 picks the same channels from the same weights in fp32 (the dtype's weights, upcast) and in the dtype; the
    refits then differ only by the activations' rounding, which float64 second moments do not add to. The refit
    moves the tensors by much more than that (it is no rounding of the original)."""
    options = {"criterion": "l1", "compensate": "obspa", "source": "data"}
    _, low = _prune(model, dtype, **options)
    _, full = _prune(_net().to(dtype).float(), torch.float32, **options)
    assert low.params == full.params and sorted(low.tensors) == sorted(full.tensors) and low.tensors
    original = dict(model.state_dict())
    for name, tensor in low.tensors.items():
        assert tensor.dtype == dtype and full.tensors[name].dtype == torch.float32
        assert _relative(tensor, full.tensors[name]) <= REFIT_TOLERANCE[dtype], name
    moved = [_relative(tensor, original[n]) for n, tensor in low.tensors.items() if n in original]
    assert moved and max(moved) > 0.5


def test_pt2_and_onnx_keep_the_dtype(
    dtype: torch.dtype, pruned: dict[str, tuple[Program, Plan]], tmp_path: Path
) -> None:
    """The compensated model (new biases, corrected statistics) as .pt2 and as ONNX: weights, inputs and outputs in
    the dtype. fp16 runs in onnxruntime; bf16 is written at opset 22 (the first whose Conv takes bfloat16) and passes
    onnx's full check, but onnxruntime's CPU provider has no bfloat16 kernels to run it."""
    program, _ = pruned["obspa"]
    with torch.no_grad():
        want = api.to_torch(program)(X.to(dtype))
    export.save_pt2(program, tmp_path / "p.pt2")
    loaded = torch.export.load(str(tmp_path / "p.pt2")).module()
    assert {t.dtype for t in [*loaded.parameters(), *loaded.buffers()] if t.is_floating_point()} == {dtype}
    with torch.no_grad():
        got = loaded(X.to(dtype))
    assert got.dtype == dtype and _relative(got, want) <= TOLERANCE[dtype]

    export.save_onnx(program, tmp_path / "p.onnx")
    proto = onnx.load(str(tmp_path / "p.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    floats = {i.data_type for i in proto.graph.initializer if i.data_type not in (onnx.TensorProto.INT64,)}
    assert floats == {ONNX_TYPE[dtype]}
    assert [v.type.tensor_type.elem_type for v in [*proto.graph.input, *proto.graph.output]] == [ONNX_TYPE[dtype]] * 2
    if dtype == torch.float16:
        session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
        out = session.run(None, {session.get_inputs()[0].name: X.half().numpy()})[0]
        assert out.dtype == np.float16 and _relative(torch.from_numpy(out), want) <= TOLERANCE[dtype]
    else:
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= export.BF16_OPSET
        back = api.import_onnx(tmp_path / "p.onnx")  # bf16 initializers read back bit for bit
        assert back.external_weight_names()
        for name in back.external_weight_names():
            assert back.weights[name].dtype == dtype and torch.equal(back.weights[name], program.weights[name]), name


def test_calibration_data_of_another_dtype_is_a_one_line_error(
    dtype: torch.dtype, pruned: dict[str, tuple[Program, Plan]]
) -> None:
    """No silent cast of the data to the model's dtype (or back); the data is checked before any pass runs."""
    program, _ = pruned["l1"]
    with pytest.raises(SpaError, match=f"is f32 but the model takes {MLIR_NAME[dtype]}") as e:
        api.prune_program(program, CALIB, ratio=0.5, criterion="obspa", source="data")
    assert "\n" not in str(e.value)


# -- an fp16 ONNX file -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fp16_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch.onnx's export of the `.half()` net (batch dynamic; its batch norms folded into the convs)."""
    path = tmp_path_factory.mktemp("fp16_onnx") / "h.onnx"
    torch.onnx.export(_net().half(), (X[:1].half(),), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})  # fmt: skip
    return path


@pytest.mark.parametrize("options", [{"criterion": "l1"}, {"criterion": "obspa", "source": "stats"}], ids=str)
def test_fp16_onnx_file_prunes_and_exports_faithfully_in_fp16(
    fp16_onnx: Path, options: dict[str, Any], tmp_path: Path
) -> None:
    original = onnx.load(str(fp16_onnx))
    assert {i.data_type for i in original.graph.initializer} == {onnx.TensorProto.FLOAT16}
    program = api.import_onnx(fp16_onnx)
    plan = api.prune_program(program, ratio=0.5, **options)
    assert any(g["removed"] for g in plan.groups)
    assert all(t.dtype == torch.float16 for t in plan.tensors.values())
    export.save_onnx(program, tmp_path / "p.onnx")
    pruned = onnx.load(str(tmp_path / "p.onnx"))
    assert {i.data_type for i in pruned.graph.initializer} == {onnx.TensorProto.FLOAT16}
    assert sum(i.dims[0] for i in pruned.graph.initializer) < sum(i.dims[0] for i in original.graph.initializer)
    x = X.half().numpy()
    got = ort.InferenceSession(pruned.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    reference = masked_onnx(original, _params(plan), plan.tensors).SerializeToString()
    want = ort.InferenceSession(reference, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert got.dtype == want.dtype == np.float16
    assert _relative(torch.from_numpy(got), torch.from_numpy(want)) <= TOLERANCE[torch.float16]


def test_bf16_onnx_file_prunes_and_exports_faithfully_in_bf16(fp16_onnx: Path, tmp_path: Path) -> None:
    """The fp16 file's initializers, inputs and outputs as bfloat16 at opset 22: created biases stay bfloat16 in the
    faithful file and in the masked original (onnxruntime's CPU provider cannot run either: no bf16 kernels)."""
    original = onnx.load(str(fp16_onnx))
    for init in original.graph.initializer:
        value = numpy_helper.to_array(init).astype(np.float32).astype(ml_dtypes.bfloat16)
        init.CopyFrom(numpy_helper.from_array(value, init.name))
    for value_info in [*original.graph.input, *original.graph.output]:
        value_info.type.tensor_type.elem_type = onnx.TensorProto.BFLOAT16
    del original.graph.value_info[:]
    original.opset_import[0].version = export.BF16_OPSET
    onnx.save(original, str(tmp_path / "b.onnx"))
    program = api.import_onnx(tmp_path / "b.onnx")
    plan = api.prune_program(program, ratio=0.5, criterion="obspa", source="stats")
    assert any(n.endswith(".spa_bias") for n in plan.tensors)
    assert all(t.dtype == torch.bfloat16 for t in plan.tensors.values())
    export.save_onnx(program, tmp_path / "p.onnx")
    for proto in (onnx.load(str(tmp_path / "p.onnx")), masked_onnx(original, _params(plan), plan.tensors)):
        onnx.checker.check_model(proto, full_check=True)
        assert {i.data_type for i in proto.graph.initializer} == {onnx.TensorProto.BFLOAT16}
        assert set(plan.tensors) <= {i.name for i in proto.graph.initializer}
