"""The pruning flow as a user runs it: spa-translate -> spa-opt --prune-groups --plan -> export, checked
against the masked original built from the imported weights and the plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torchvision
from safetensors.torch import load_file

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path) -> None:
    proc = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def masked_original(model: torch.nn.Module, weights: Path, plan: dict) -> torch.nn.Module:
    missing, unexpected = model.load_state_dict(load_file(weights), strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
    state = model.state_dict()
    for name, dims in plan["params"].items():
        for dim, idx in dims.items():
            state[name].index_fill_(int(dim), torch.tensor(idx), 1.0 if name.endswith("running_var") else 0.0)
    return model.eval()


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got - want).abs().max() / want.abs().max()).item()


def test_densenet_pruned_through_the_tools_matches_masked_original(tmp_path: Path) -> None:
    run("spa-translate", "--import-torch", "torchvision.models:densenet121", "--input-shape", "1,3,64,64", "--seed", "0", "-o", "d.mlir", cwd=tmp_path)
    run("spa-opt", "d.mlir", "--prune-groups=ratio=0.5 criterion=random seed=1 only-exact=true", "--plan=plan.json", "-o", "p.mlir", cwd=tmp_path)
    run("spa-translate", "--export-torch", "p.mlir", "-o", "p.pt2", cwd=tmp_path)
    assert (tmp_path / "p.safetensors").exists()
    plan = json.loads((tmp_path / "plan.json").read_text())
    pruned = torch.export.load(str(tmp_path / "p.pt2")).module()
    reference = masked_original(torchvision.models.densenet121(), tmp_path / "d.safetensors", plan)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(pruned(x), reference(x)) < 1e-4
    before = sum(p.numel() for p in reference.parameters())
    after = sum(p.numel() for p in pruned.parameters())
    assert 0.2 < after / before < 0.6  # about half the channels: roughly a third of the weights
    pruned_groups = [g for g in plan["groups"] if g["removed"]]
    assert pruned_groups and all(g["exact"] and len(g["removed"]) == g["size"] // 2 for g in pruned_groups)


def test_onnx_model_pruned_through_the_tools_runs_in_onnxruntime(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    torch.onnx.export(model, (torch.randn(1, 3, 64, 64),), str(tmp_path / "r.onnx"), dynamo=False,
                      do_constant_folding=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    run("spa-translate", "--import-onnx", "r.onnx", "-o", "o.mlir", cwd=tmp_path)
    run("spa-opt", "o.mlir", "--prune-groups=ratio=0.5 criterion=random seed=1 only-exact=true", "--plan=plan.json", "-o", "p.mlir", cwd=tmp_path)
    run("spa-translate", "--export-onnx", "p.mlir", "-o", "p.onnx", cwd=tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    reference = masked_original(torchvision.models.resnet18(), tmp_path / "o.safetensors", plan)
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 64, 64)  # another batch size: the batch dim stayed dynamic
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])
    with torch.no_grad():
        assert relative_error(got, reference(x)) < 1e-4
    assert any(g["removed"] for g in plan["groups"])
    assert np.prod(session.get_inputs()[0].shape[1:]) == 3 * 64 * 64
