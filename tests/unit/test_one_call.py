"""The one-call API, `spa_ir.prune(model_or_path, example_inputs=None, **options)`, from every kind of input.

Every pruned model is compared with an independent reference: the masked original (spa_ir.verify.masked on a copy of
the model taken before the call, masked_onnx run in onnxruntime for the ONNX file), or, for a saved file, the result's
own module. `result.module` must also train (one backward and optimizer step changes its outputs).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from oracle import TOLERANCE, assert_same_parameters, perturb
from torch import nn
from zoo import flat_outputs, max_relative_error

import spa_ir
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.result import PruneResult
from spa_ir.verify import masked, masked_onnx

ROOT = Path(__file__).resolve().parents[2]
KERAS_RESNET = ROOT / "tests/data/frameworks/keras_resnet_op15.onnx"


class SmallNet(nn.Module):
    """Conv, batch norm, a residual add, pooling and a classifier: groups across an add and into a linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(16, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU(), nn.Conv2d(24, 16, 1))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = torch.relu(h + self.block(h))
        return self.head(h.mean((2, 3)))


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return perturb(SmallNet()).eval()


X = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))


def plan_params(plan: Plan) -> dict[str, dict[str, list[int]]]:
    return {n: {str(d): idx for d, idx in dims.items()} for n, dims in plan.params.items()}


def masked_outputs(original: nn.Module, plan: Plan, *args: Any, **kwargs: Any) -> list[torch.Tensor]:
    """The masked original's outputs: `original` (the model as it was) with the plan's slices zeroed."""
    with torch.no_grad(), masked(original, plan_params(plan), plan.tensors, plan.masked_logits) as m:
        return flat_outputs(m(*args, **kwargs))


def outputs(module: nn.Module, *args: Any, **kwargs: Any) -> list[torch.Tensor]:
    with torch.no_grad():
        return flat_outputs(module(*args, **kwargs))


def run_onnx(path: str | Path | onnx.ModelProto, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    source = path.SerializeToString() if isinstance(path, onnx.ModelProto) else str(path)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs, strict=True)}
    return [torch.from_numpy(np.asarray(o)) for o in session.run(None, feed)]


def assert_trains(module: nn.Module, *inputs: torch.Tensor) -> None:
    """One backward and SGD step: every floating weight gets a gradient and the outputs move."""
    module.train()
    before = outputs(module, *inputs)
    params = [p for p in module.parameters() if p.is_floating_point()]
    assert params and all(p.requires_grad for p in params)
    flat_outputs(module(*inputs))[0].square().mean().backward()
    assert all(p.grad is not None for p in params)
    torch.optim.SGD(params, lr=0.1).step()
    assert max_relative_error(outputs(module, *inputs), before) > 1e-4
    module.eval()


# -- an nn.Module ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conv() -> tuple[nn.Module, PruneResult]:
    """The small net pruned in one call (positional input), and a copy of it as it was."""
    model = small_net()
    original = copy.deepcopy(model)
    return original, spa_ir.prune(model, X, ratio=0.5, only_exact=True)


def test_a_module_is_pruned_in_place_and_equals_the_masked_original(conv: tuple[nn.Module, PruneResult]) -> None:
    original, result = conv
    assert result.kind == "applied" and result.source == "module" and result.why_emitted is None
    assert result.plan.params, "something was pruned"
    assert result.verified is not None and result.verified <= TOLERANCE
    pruned = result.module
    assert isinstance(pruned, SmallNet) and pruned.head.in_features < 16
    assert isinstance(pruned.block[0], nn.Conv2d) and pruned.block[0].out_channels < 24
    assert_same_parameters(pruned, result.program)
    assert max_relative_error(outputs(pruned, X), masked_outputs(original, result.plan, X)) <= TOLERANCE


def test_the_report_counts_what_the_plan_removed(conv: tuple[nn.Module, PruneResult]) -> None:
    original, result = conv
    totals = result.report.to_json()["totals"]
    assert totals["params"]["before"] == sum(p.numel() for p in original.parameters())
    assert totals["params"]["after"] == sum(p.numel() for p in result.module.parameters())
    assert "->" in result.report.table() and totals["latency_ms"] is None
    timed = result.timed_report([X])
    latency = timed.to_json()["totals"]["latency_ms"]
    assert result.report is timed and latency["before"] > 0 and latency["after"] > 0
    assert timed.to_json()["totals"]["params"] == totals["params"]


def test_save_writes_every_format_and_each_reloads(conv: tuple[nn.Module, PruneResult], tmp_path: Path) -> None:
    _, result = conv
    want = outputs(result.module, X)
    result.save(tmp_path / "p.pt2")
    assert max_relative_error(outputs(torch.export.load(str(tmp_path / "p.pt2")).module(), X), want) <= TOLERANCE
    result.save(tmp_path / "p.onnx")
    assert max_relative_error(run_onnx(tmp_path / "p.onnx", [X]), want) <= TOLERANCE
    result.save(tmp_path / "p.mlir")
    assert (tmp_path / "p.safetensors").exists()
    reloaded = spa_ir.api.to_torch(spa_ir.api.load(tmp_path / "p.mlir"))
    assert max_relative_error(outputs(reloaded, X), want) <= TOLERANCE
    again = spa_ir.prune(str(tmp_path / "p.mlir"), ratio=0.5, only_exact=True)  # an .mlir input: pruned once more
    assert again.source == "mlir" and again.plan.params
    assert max_relative_error(outputs(again.module, X), masked_outputs(result.module, again.plan, X)) <= TOLERANCE


def test_an_unknown_suffix_writes_nothing(conv: tuple[nn.Module, PruneResult], tmp_path: Path) -> None:
    _, result = conv
    known = r"\(known: \.pt2, \.onnx, \.mlir\)"
    with pytest.raises(SpaError, match=rf"cannot tell the format from the suffix '\.pt' {known}"):
        result.save(tmp_path / "p.pt")
    assert list(tmp_path.iterdir()) == []


def test_the_applied_and_the_emitted_module_train() -> None:
    model = small_net()
    result = spa_ir.prune(model, (X,), ratio=0.5)  # inexact groups allowed: checked against the emitted module
    assert result.kind == "applied" and result.verified is not None
    emitted = spa_ir.api.to_torch(result.program)
    assert max_relative_error(outputs(model, X), outputs(emitted, X)) <= TOLERANCE
    assert_trains(result.module, X)
    assert_trains(emitted, X)


def test_dynamic_shapes_reach_the_capture(tmp_path: Path) -> None:
    """dynamic_shapes= is torch.export's: the batch stays dynamic in the IR and in the saved .pt2."""
    model = small_net()
    original = copy.deepcopy(model)
    result = spa_ir.prune(model, X, dynamic_shapes=({0: torch.export.Dim("batch")},), ratio=0.5, only_exact=True)
    assert result.kind == "applied" and "!torch.vtensor<[?,3,12,12],f32>" in result.program.text()
    result.save(tmp_path / "p.pt2")
    saved = torch.export.load(str(tmp_path / "p.pt2")).module()
    for batch in (1, 5):
        x = torch.randn(batch, 3, 12, 12, generator=torch.Generator().manual_seed(batch))
        assert max_relative_error(outputs(saved, x), masked_outputs(original, result.plan, x)) <= TOLERANCE


def test_calibration_options_reach_the_pipeline() -> None:
    """calib / calib_batch / loss as the Program-level call takes them: the same plan as api.prune_program's."""
    calib = torch.randn(8, 3, 12, 12, generator=torch.Generator().manual_seed(4))
    options: dict[str, Any] = {"criterion": "taylor", "ratio": 0.5, "only_exact": True}
    program = spa_ir.api.import_torch(small_net(), [X])
    want = spa_ir.api.prune_program(program, calib, calib_batch=4, loss="output-norm", **options)
    result = spa_ir.prune(small_net(), X, calib=calib, calib_batch=4, loss="output-norm", **options)
    assert result.plan.importance and result.plan.importance["criterion"] == "taylor"
    assert result.plan.to_json() == want.to_json() and want.params


def test_a_model_that_cannot_hold_the_plan_gets_the_emitted_module() -> None:
    class HardCoded(SmallNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.stem(x)
            h = torch.relu(h + self.block(h))
            return self.head(h.mean((2, 3)).view(-1, 16))  # a size the plan changes, in the code

    torch.manual_seed(0)
    model = perturb(HardCoded()).eval()
    original = copy.deepcopy(model)
    result = spa_ir.prune(model, X, ratio=0.5, only_exact=True)
    assert result.kind == "emitted" and result.why_emitted and "\n" not in result.why_emitted
    head = model.get_submodule("head")
    assert isinstance(head, nn.Linear) and head.weight.shape == (10, 16), "the refused model is left as it was"
    assert max_relative_error(outputs(result.module, X), masked_outputs(original, result.plan, X)) <= TOLERANCE


def test_bert_with_keyword_inputs() -> None:
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=64, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        max_position_embeddings=32,
    )  # fmt: skip
    torch.manual_seed(0)
    bert = BertModel(config).eval()
    original = copy.deepcopy(bert)
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(0, 64, (2, 9), generator=gen)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 6:] = 0
    result = spa_ir.prune(bert, {"attention_mask": mask, "input_ids": ids}, ratio=0.5, heads=True, only_exact=True)
    assert result.kind == "applied", result.why_emitted
    assert result.input_names == ["input_ids", "attention_mask"]  # forward's order, whatever the dict's
    assert bert.encoder.layer[0].intermediate.dense.out_features < 128
    want = masked_outputs(original, result.plan, input_ids=ids, attention_mask=mask)
    assert max_relative_error(outputs(bert, input_ids=ids, attention_mask=mask), want) <= TOLERANCE
    emitted = spa_ir.api.to_torch(result.program)
    assert max_relative_error(outputs(emitted, ids, mask), want) <= TOLERANCE


# -- files and ExportedPrograms ----------------------------------------------------------------------------------


def test_an_onnx_file_saves_as_its_own_graph_pruned(tmp_path: Path) -> None:
    original = onnx.load(str(KERAS_RESNET))
    x = torch.randn(2, 32, 32, 3, generator=torch.Generator().manual_seed(3))
    result = spa_ir.prune(KERAS_RESNET, ratio=0.5, only_exact=True)
    assert result.kind == "emitted" and result.source == "onnx" and result.plan.params
    result.save(tmp_path / "pruned.onnx")
    pruned = onnx.load(str(tmp_path / "pruned.onnx"))
    assert [n.name for n in pruned.graph.node] == [n.name for n in original.graph.node]  # the faithful route
    want = run_onnx(masked_onnx(original, plan_params(result.plan), result.plan.tensors), [x])
    assert max_relative_error(run_onnx(tmp_path / "pruned.onnx", [x]), want) <= TOLERANCE
    assert max_relative_error(outputs(result.module, x), want) <= TOLERANCE


@pytest.fixture(scope="module")
def exported() -> tuple[nn.Module, torch.export.ExportedProgram]:
    model = small_net()
    return model, torch.export.export(model, (X,))


def test_a_pt2_file_and_an_exported_program(
    exported: tuple[nn.Module, torch.export.ExportedProgram], tmp_path: Path
) -> None:
    model, ep = exported
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    from_file = spa_ir.prune(tmp_path / "m.pt2", ratio=0.5, only_exact=True)
    from_ep = spa_ir.prune(ep, ratio=0.5, only_exact=True)
    assert (from_file.source, from_ep.source) == ("pt2", "exported")
    assert from_file.plan.to_json() == from_ep.plan.to_json() and from_file.plan.params
    for result in (from_file, from_ep):
        assert result.kind == "emitted"
        assert max_relative_error(outputs(result.module, X), masked_outputs(model, result.plan, X)) <= TOLERANCE
    assert_trains(from_ep.module, X)


# -- errors ------------------------------------------------------------------------------------------------------


def test_bad_options_are_the_pipelines_error_before_any_capture() -> None:
    from spa.passes import pipeline_passes

    with pytest.raises(SpaError) as want:
        pipeline_passes("spa-prune-groups", keep_flop=0.5)
    model = small_net()
    calls: list[Any] = []
    model.register_forward_pre_hook(lambda *a: calls.append(a))
    with pytest.raises(SpaError) as got:
        spa_ir.prune(model, X, keep_flop=0.5)
    assert str(got.value) == str(want.value) and "unknown option 'keep-flop'" in str(got.value)
    assert calls == [], "nothing ran before the options were checked"


@pytest.fixture(scope="module")
def conv_program() -> Any:
    return spa_ir.api.import_torch(small_net(), [X])


@pytest.mark.parametrize(
    "options", [{"criterion": "nope"}, {"keep_flops": 1.5}, {"ratio": 0.5, "keep_flops": 0.5}], ids=str
)
def test_bad_option_values_are_the_program_level_error(options: dict[str, Any], conv_program: Any) -> None:
    from spa_ir.reporting import snapshot

    with pytest.raises(SpaError) as want:
        spa_ir.api.prune_program(snapshot(conv_program), **options)
    with pytest.raises(SpaError) as got:
        spa_ir.prune(small_net(), X, **options)
    assert str(got.value) == str(want.value) and "\n" not in str(got.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((small_net(),), r"an nn\.Module needs example_inputs"),
        (("model.h5",), r"cannot tell the format from the suffix '\.h5' \(known: \.onnx, \.pt2, \.mlir\)"),
        (("missing.onnx",), r"file not found"),
        ((KERAS_RESNET, X), r"example_inputs= is for an nn\.Module"),
        ((42,), r"cannot prune a int"),
    ],
)
def test_what_cannot_be_pruned_is_one_line(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(SpaError, match=message) as e:
        spa_ir.prune(*args, ratio=0.5)
    assert "\n" not in str(e.value)


# -- the package -------------------------------------------------------------------------------------------------


def test_import_spa_ir_is_light() -> None:
    code = "import sys, spa_ir; print(sorted(m for m in ('torch', 'torch_mlir', 'xdsl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert set(spa_ir.__all__) <= set(dir(spa_ir))
    with pytest.raises(AttributeError, match="no attribute 'prnue'"):
        spa_ir.prnue  # noqa: B018  # the attribute access is the test
