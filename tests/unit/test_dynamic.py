"""Dynamic shapes through every backend: `api.import_torch(..., dynamic_shapes=...)` (torch.export's format) and the
command line's `--dynamic-batch` / `--dynamic INPUT:AXIS=NAME` (`dynamic_shapes.named_dims`).

A small residual conv net (dynamic batch, captured at batch 1) and a 2-layer BERT (hidden 64; input_ids and
attention_mask tied by one Dim per axis: batch and seq) are pruned at 0.5 with only_exact, then emitted as a
torch.fx GraphModule, a .pt2 and an ONNX file; each runs at batch 1 and 5 (BERT also at seq 8 and 13) and must equal
the masked original (`spa_ir.verify.masked`) there. The ONNX inputs' dim_params carry the names; the IR says `?` in
torch-mlir's format and keeps the names through save/load and the torch-mlir text; a channel dim asked dynamic is
refused in one line naming the input and the axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import pytest
import torch
from hf_encoders import TEXT, HFCall, _model
from oracle import TOLERANCE, perturb
from torch.export import Dim
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends import export, torch_mlir
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program
from spa_ir.frontends.dynamic_shapes import named_dims
from spa_ir.verify import masked


class SmallResNet(torch.nn.Module):
    """conv-bn-relu, a residual block, adaptive pooling and a classifier over `view(batch, -1)`: the view's size
    list holds the run-time batch (aten.size.int) and a constant that pruning rewrites."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.conv1 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.stem(x)))
        y = torch.relu(y + self.bn1(self.conv1(y)))
        y = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv2(y)), 2)
        return self.fc(y.view(y.size(0), -1))


def _bert() -> torch.nn.Module:
    names = ("input_ids", "attention_mask")
    return HFCall(_model("BertModel", "BertConfig", **TEXT), names, ("last_hidden_state", "pooler_output")).eval()


def _tokens(batch: int, seq: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(batch * 100 + seq)
    mask = torch.ones(batch, seq, dtype=torch.long)
    mask[0, seq // 2 :] = 0  # padding in the first sample: the mask matters
    return [torch.randint(3, 100, (batch, seq), generator=g), mask]


@dataclass
class Case:
    model: torch.nn.Module
    program: Program
    pruned: Program
    plan: dict[str, dict[str, list[int]]]
    folder: Path
    sizes: list[list[torch.Tensor]]
    dims: list[list[str | int]]
    """The ONNX inputs' dims as dim_param or dim_value."""


def _case(
    tmp: Path, model: torch.nn.Module, inputs: list[torch.Tensor], spec: Any, sizes: list[list[torch.Tensor]]
) -> Case:
    program = api.import_torch(model, inputs, "model", dynamic_shapes=spec)
    program.save(tmp / "m.mlir")
    pruned = api.load(tmp / "m.mlir")  # names and bounds survive the text round trip
    plan = api.prune_program(pruned, ratio=0.5, only_exact=True, criterion="l1")
    export.save_pt2(pruned, tmp / "p.pt2")
    export.save_onnx(pruned, tmp / "p.onnx")
    graph = onnx.load(str(tmp / "p.onnx")).graph
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input]
    params = {w: {str(d): idx for d, idx in ds.items()} for w, ds in plan.params.items()}
    return Case(model, program, pruned, params, tmp, sizes, dims)


@pytest.fixture(scope="module")
def resnet(tmp_path_factory: pytest.TempPathFactory) -> Case:
    torch.manual_seed(0)
    model = perturb(SmallResNet().eval())
    sizes = [[torch.randn(b, 3, 16, 16, generator=torch.Generator().manual_seed(b))] for b in (1, 5)]
    spec = ({0: Dim("batch")},)
    return _case(tmp_path_factory.mktemp("resnet"), model, [torch.randn(1, 3, 16, 16)], spec, sizes)


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> Case:
    batch, seq = Dim("batch"), Dim("seq")
    spec = (({0: batch, 1: seq}, {0: batch, 1: seq}),)  # HFCall's forward(*args): one entry, a tuple per tensor
    sizes = [_tokens(b, s) for b in (1, 5) for s in (8, 13)]
    return _case(tmp_path_factory.mktemp("bert"), _bert(), _tokens(1, 8), spec, sizes)


def _emitted(case: Case) -> dict[str, Callable[..., list[torch.Tensor]]]:
    """The pruned model through each backend, as a function of the inputs to flat output tensors."""
    gm = api.to_torch(case.pruned)
    pt2 = torch.export.load(str(case.folder / "p.pt2")).module()
    session = ort.InferenceSession(str(case.folder / "p.onnx"))
    names = [i.name for i in session.get_inputs()]

    def onnx_run(*xs: torch.Tensor) -> list[torch.Tensor]:
        return [torch.from_numpy(o) for o in session.run(None, {n: x.numpy() for n, x in zip(names, xs)})]

    return {
        "torch.fx": lambda *xs: flat_outputs(gm(*xs)),
        ".pt2": lambda *xs: flat_outputs(pt2(*xs)),
        ".onnx": onnx_run,
    }


@pytest.mark.parametrize("name", ["resnet", "bert"])
def test_pruned_backends_equal_masked_original_at_each_size(name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(name)
    before = sum(t.numel() for t in case.program.weights.values())
    after = sum(t.numel() for t in case.pruned.weights.values())
    assert after < before, f"{name}: nothing pruned"
    runs = _emitted(case)
    for inputs in case.sizes:
        with torch.no_grad():
            unpruned = flat_outputs(case.model(*inputs))
        with torch.no_grad(), masked(case.model, case.plan) as reference:
            want = flat_outputs(reference(*inputs))
        assert max_relative_error(unpruned, want) > 1e-3, f"{name}: the plan removes nothing the outputs depend on"
        with torch.no_grad():
            for backend, run in runs.items():
                error = max_relative_error(run(*inputs), want)
                shapes = [tuple(x.shape) for x in inputs]
                assert error < TOLERANCE, f"{name} {backend} at {shapes}: {error:.1e} from the masked original"


def test_ir_says_question_marks_with_names(resnet: Case, bert: Case) -> None:
    """torch-mlir's own format for symbolic dims, the names beside it (and kept by save/load and pruning)."""
    text = resnet.pruned.text()
    assert "func.func @main(%0: !torch.vtensor<[?,3,16,16],f32>" in text
    assert 'spa.dim_names = [["batch", "", "", ""]]' in text
    assert "torch.aten.size.int %0" in text  # the view's batch stays read at run time
    text = bert.pruned.text()
    assert "!torch.vtensor<[?,?],si64>, %1: !torch.vtensor<[?,?],si64>" in text
    assert 'spa.dim_names = [["batch", "seq"], ["batch", "seq"]]' in text
    assert "spa.dim_max = {seq = 32 : i64}" in text  # the position table's length, found at capture
    assert "!torch.vtensor<[?,3,16,16],f32>" in torch_mlir.to_text(resnet.pruned, inline_weights=False)


def test_onnx_dim_params_carry_the_names(resnet: Case, bert: Case) -> None:
    assert resnet.dims == [["batch", 3, 16, 16]]
    assert bert.dims == [["batch", "seq"], ["batch", "seq"]]


def test_pt2_keeps_the_tie_and_the_bound(bert: Case) -> None:
    """The .pt2 takes any batch and sequence, but not a mask of another length or a sequence past the table."""
    pt2 = torch.export.load(str(bert.folder / "p.pt2")).module()
    ids, mask = _tokens(2, 9)
    with pytest.raises(AssertionError, match=r"Guard failed: input_1.size\(\)\[1\] == input_0.size\(\)\[1\]"):
        pt2(ids, mask[:, :8])
    with pytest.raises(AssertionError, match=r"Guard failed: input_0.size\(\)\[1\] <= 32"):
        pt2(*_tokens(1, 33))


def test_channel_dim_asked_dynamic_is_refused_in_one_line(resnet: Case) -> None:
    with pytest.raises(SpaError) as e:
        api.import_torch(resnet.model, [torch.randn(2, 3, 16, 16)], "net", dynamic_shapes=({0: Dim("b"), 1: Dim("c")},))
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith("net: input 0 ('x') axis 1 cannot be dynamic: the model fixes it to 3"), message


def test_named_dims_from_the_command_line() -> None:
    """--dynamic-batch and --dynamic INPUT:AXIS=NAME as torch.export's spec: one Dim object per name, shared."""
    model = _model("BertModel", "BertConfig", **TEXT)  # forward(input_ids, attention_mask, ...)
    ids, mask = _tokens(1, 8)
    spec = named_dims(model, [ids, mask], [("input_ids", 1, "seq"), ("1", -1, "seq")], batch=True)
    assert [sorted(d) for d in spec] == [[0, 1], [0, 1]]
    assert spec[0][0] is spec[1][0] and spec[0][0].__name__ == "batch"
    assert spec[0][1] is spec[1][1] and spec[0][1].__name__ == "seq"
    with pytest.raises(SpaError, match="already named 'batch'"):
        named_dims(model, [ids, mask], [("0", 0, "b")], batch=True)
    with pytest.raises(SpaError, match="no input 'token_ids' \\(its inputs: input_ids, attention_mask\\)"):
        named_dims(model, [ids, mask], [("token_ids", 1, "seq")], batch=False)
    with pytest.raises(SpaError, match="input 0 has 2 dims"):
        named_dims(model, [ids, mask], [("0", 2, "seq")], batch=False)


class SelfAttention(torch.nn.Module):
    """nn.MultiheadAttention(32, 4) and a classifier over [seq, batch, 32]: with a dynamic batch its views merge the
    batch with the heads (`[5, B, 32] -> [5, B * 4, 8]`, the size `mul.int(B, 4)`) and split it back for SDPA."""

    def __init__(self) -> None:
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(32, 4)
        self.fc = torch.nn.Linear(32, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.attention(x, x, x, need_weights=False)[0])


def _vit() -> torch.nn.Module:
    from torchvision.models import VisionTransformer

    return VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2, hidden_dim=32, mlp_dim=64)


@pytest.mark.parametrize(
    ("build", "example", "axis", "heads"),
    [(SelfAttention, (5, 2, 32), 1, 4), (_vit, (2, 3, 32, 32), 0, 2)],
    ids=["multihead-attention", "vit"],
)
def test_heads_merged_with_a_dynamic_batch_prune(
    build: Callable[[], torch.nn.Module], example: tuple[int, ...], axis: int, heads: int, tmp_path: Path
) -> None:
    """A batch merged with the heads is `_ x s3` (the IR round-trips it): half the heads go, and the pruned model
    equals the masked original at batch 1 and 3 through torch.fx and .pt2 (the size `B * 4` became `B * 2`)."""
    torch.manual_seed(0)
    model = perturb(build().eval())
    program = api.import_torch(model, [torch.randn(example)], "model", dynamic_shapes=({axis: Dim("batch")},))
    plan = api.prune_program(program, ratio=0.5, only_exact=True, heads=True, criterion="l1")
    head_groups = [g for g in plan.groups if g["size"] == heads]
    assert head_groups and all(len(g["removed"]) == heads // 2 for g in head_groups), plan.groups
    program.save(tmp_path / "pruned.mlir")
    pruned = api.load(tmp_path / "pruned.mlir")
    export.save_pt2(pruned, tmp_path / "p.pt2")
    runs = {"torch.fx": api.to_torch(pruned), ".pt2": torch.export.load(str(tmp_path / "p.pt2")).module()}
    params = {w: {str(d): idx for d, idx in ds.items()} for w, ds in plan.params.items()}
    for batch in (1, 3):
        shape = list(example)
        shape[axis] = batch
        x = torch.randn(shape, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad(), masked(model, params) as reference:
            want = flat_outputs(reference(x))
        with torch.no_grad():
            assert max_relative_error(flat_outputs(model(x)), want) > 1e-3, "the plan removes nothing the outputs use"
            for backend, run in runs.items():
                error = max_relative_error(flat_outputs(run(x)), want)
                assert error < TOLERANCE, f"{backend} at batch {batch}: {error:.1e} from the masked original"


def test_synthetic_inputs_stay_within_a_recorded_bound() -> None:
    """A BERT whose position table (16) is shorter than the synthetic sequence (32): data-free OBSPA synthesizes
    within the bound the capture recorded (`spa.dim_max`), and the compensated model equals its masked original."""
    names = ("input_ids", "attention_mask")
    torch.manual_seed(0)
    model = HFCall(_model("BertModel", "BertConfig", **{**TEXT, "max_position_embeddings": 16}), names).eval()
    batch, seq = Dim("batch"), Dim("seq")
    program = api.import_torch(model, _tokens(2, 8), dynamic_shapes=(({0: batch, 1: seq}, {0: batch, 1: seq}),))
    plan = api.prune_program(program, keep_flops=0.7, criterion="obspa", only_exact=True, samples=8)
    assert plan.compensation is not None and plan.compensation["source"] == "synthetic" and plan.tensors
    gm = api.to_torch(program)
    params = {w: {str(d): idx for d, idx in ds.items()} for w, ds in plan.params.items()}
    for ids in (_tokens(1, 8), _tokens(3, 13)):
        with torch.no_grad(), masked(model, params, plan.tensors) as reference:
            want = flat_outputs(reference(*ids))
        with torch.no_grad():
            assert max_relative_error(flat_outputs(gm(*ids)), want) < TOLERANCE
