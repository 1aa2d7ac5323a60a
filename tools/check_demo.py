"""Checks the demo's outputs against the original model: the numbers must match, not just run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torchvision
from safetensors.torch import load_file


def main(out: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    missing, unexpected = reference.load_state_dict(load_file(out / "r18.safetensors"), strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    x = torch.randn(2, 3, 64, 64)[:1]
    with torch.no_grad():
        want = reference(x)
        rows = [("pt2", torch.export.load(str(out / "r18.pt2")).module()(x)),
                ("onnx -> spa -> pt2", torch.export.load(str(out / "r18_onnx.pt2")).module()(x))]
    sess = ort.InferenceSession(str(out / "r18.onnx"), providers=["CPUExecutionProvider"])
    rows.append(("onnxruntime", torch.from_numpy(sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0])))
    for name, got in rows:
        got = got[0] if isinstance(got, (tuple, list)) else got
        err = (got - want).abs().max().item() / want.abs().max().item()
        print(f"{name:>20}: max relative difference {err:.2e}")
        assert err < 1e-4, name
    params = sum(p.numel() for p in reference.parameters())
    print(f"resnet18: {params / 1e6:.2f} M parameters; all emitted models match the original")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
