"""The command-line tools as a new user runs them: import torchvision's ResNet-18, round-trip it through
spa-opt, emit .pt2 / ONNX / torch-mlir text, import the ONNX and a saved ExportedProgram again, and check
every artifact computes what the original model computes.

The tools run as subprocesses (the installed `spa-translate` / `spa-opt` of this venv) in one tmp dir
shared by the module; independent commands run concurrently to keep the file fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from safetensors.torch import load_file

BIN = Path(sys.executable).parent
SPA_TRANSLATE = str(BIN / "spa-translate")
SPA_OPT = str(BIN / "spa-opt")
SHAPE = (1, 3, 64, 64)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.update(extra)
    return env


def run_all(cwd: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands concurrently in `cwd`; every one must succeed."""
    procs = [subprocess.Popen(c, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    done = []
    for cmd, p in zip(commands, procs):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, f"{' '.join(cmd)} failed ({p.returncode}):\n{err}"
        done.append(subprocess.CompletedProcess(cmd, p.returncode, out, err))
    return done


def max_rel_diff(got: torch.Tensor | np.ndarray, want: torch.Tensor) -> float:
    got = torch.as_tensor(np.asarray(got)) if not isinstance(got, torch.Tensor) else got
    assert got.shape == want.shape, (got.shape, want.shape)
    return float((got.double() - want.double()).abs().max() / want.double().abs().max().clamp_min(1e-12))


@dataclass
class Artifacts:
    dir: Path
    reference: torch.nn.Module  # a fresh torchvision resnet18 with the weights of r18.safetensors
    missing: list[str]
    unexpected: list[str]
    x: torch.Tensor
    spa_opt_stdout: str
    user_model: torch.nn.Module  # the model saved as user.pt2 (independent of the spa-translate import)


@pytest.fixture(scope="module")
def art(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    d = tmp_path_factory.mktemp("cli")
    t = SPA_TRANSLATE
    importer = subprocess.Popen([t, "--import-torch", "torchvision.models:resnet18", "--input-shape", "1,3,64,64",
                                 "--seed", "0", "-o", "r18.mlir"], cwd=d, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Meanwhile: a user's own saved ExportedProgram, for --import-pt2.
    torch.manual_seed(1)
    user_model = torchvision.models.resnet18().eval()
    torch.export.save(torch.export.export(user_model, (torch.randn(SHAPE),)), str(d / "user.pt2"))
    _, err = importer.communicate(timeout=600)
    assert importer.returncode == 0, err

    opt, *_ = run_all(d, [SPA_OPT, "r18.mlir"],
                      [t, "--export-torch", "r18.mlir", "-o", "r18.pt2"],
                      [t, "--export-onnx", "r18.mlir", "-o", "r18.onnx"],
                      [t, "--export-torch-mlir", "r18.mlir", "-o", "r18.torch.mlir"],
                      [t, "--import-pt2", "user.pt2", "-o", "user.mlir"])
    run_all(d, [t, "--import-onnx", "r18.onnx", "-o", "r18o.mlir"])
    run_all(d, [t, "--export-torch", "r18o.mlir", "-o", "r18o.pt2"])

    reference = torchvision.models.resnet18().eval()
    missing, unexpected = reference.load_state_dict(load_file(str(d / "r18.safetensors")), strict=False)
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(123))
    return Artifacts(d, reference, list(missing), list(unexpected), x, opt.stdout, user_model)


def _reference_out(art: Artifacts) -> torch.Tensor:
    with torch.no_grad():
        return art.reference(art.x)


def test_import_torch_writes_ir_and_state_dict_named_weights(art: Artifacts) -> None:
    assert (art.dir / "r18.mlir").is_file() and (art.dir / "r18.safetensors").is_file()
    assert art.unexpected == []
    assert all(k.endswith("num_batches_tracked") for k in art.missing), art.missing
    text = (art.dir / "r18.mlir").read_text()
    assert 'spa.param "layer4.1.conv2.weight" : !torch.vtensor<[512,512,3,3],f32>' in text
    assert 'spa.param "bn1.running_var" buffer' in text
    # --seed 0 means torch.manual_seed(0) before building: the same weights as a resnet18 built so.
    torch.manual_seed(0)
    seeded = torchvision.models.resnet18()
    assert torch.equal(art.reference.fc.weight, seeded.fc.weight)


def test_export_torch_matches_the_weights_loaded_into_torchvision(art: Artifacts) -> None:
    module = torch.export.load(str(art.dir / "r18.pt2")).module()
    with torch.no_grad():
        got = module(art.x)
    assert max_rel_diff(got, _reference_out(art)) < 1e-5
    # The compared outputs depend on the weights: a differently seeded model is far off.
    torch.manual_seed(7)
    with torch.no_grad():
        other = torchvision.models.resnet18().eval()(art.x)
    assert max_rel_diff(other, _reference_out(art)) > 1e-2


def test_spa_opt_prints_the_ir_it_read(art: Artifacts) -> None:
    assert art.spa_opt_stdout == (art.dir / "r18.mlir").read_text()


def test_export_onnx_runs_in_onnxruntime(art: Artifacts) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(art.dir / "r18.onnx"), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    (got,) = session.run(None, {inp.name: art.x.numpy()})
    assert max_rel_diff(got, _reference_out(art)) < 1e-4


def test_import_onnx_then_export_torch(art: Artifacts) -> None:
    assert (art.dir / "r18o.safetensors").is_file()
    module = torch.export.load(str(art.dir / "r18o.pt2")).module()
    with torch.no_grad():
        got = module(art.x)
    assert max_rel_diff(got, _reference_out(art)) < 1e-4


def test_export_torch_mlir_parses_in_torch_mlir(art: Artifacts) -> None:
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_d

    text = (art.dir / "r18.torch.mlir").read_text()
    ctx = ir.Context()
    torch_d.register_dialect(ctx)
    module = ir.Module.parse(text, ctx)
    ops: list[str] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        ops.append(op.name)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    assert ops.count("torch.aten.conv2d") == 20
    assert "spa.param" not in ops  # weights inlined as dense_resource literals
    assert ops.count("torch.vtensor.literal") >= 102  # 62 parameters, 40 running statistics


def test_import_pt2_of_a_saved_exported_program(art: Artifacts) -> None:
    from spa_ir import api

    weights = load_file(str(art.dir / "user.safetensors"))
    state = art.user_model.state_dict()
    assert set(weights) <= set(state) and {k for k in state if not k.endswith("num_batches_tracked")} <= set(weights)
    for name, tensor in weights.items():
        assert torch.equal(tensor, state[name]), name
    gm = api.to_torch(api.load(art.dir / "user.mlir"))
    with torch.no_grad():
        want = art.user_model(art.x)
        got = gm(art.x)
    assert max_rel_diff(got, want) < 1e-5


def test_no_stray_files(art: Artifacts) -> None:
    names = sorted(p.name for p in art.dir.iterdir())
    assert names == sorted([
        "r18.mlir", "r18.safetensors", "r18.pt2", "r18.onnx", "r18.torch.mlir", "r18o.mlir", "r18o.safetensors",
        "r18o.pt2", "user.pt2", "user.mlir", "user.safetensors"]), names
