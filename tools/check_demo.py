"""Checks the demo's pruned models: they must compute what their masked originals compute (the original with the
plan's refitted tensors written in and every slice the plan removes set to zero), and be smaller. Prints what was
pruned and what it buys.

    python tools/check_demo.py .demo
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from safetensors.torch import load_file

from spa.tools.demo_models import token_batches
from spa_ir.core.plan import Plan
from spa_ir.verify import masked, masked_onnx, weight_values

TOLERANCE = 1e-4


def relative_error(got: np.ndarray | torch.Tensor, want: np.ndarray | torch.Tensor) -> float:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.abs(got - want).max() / np.abs(want).max())


def seconds(run: Callable[[], Any], repeat: int = 5) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def plan_summary(plan: dict[str, Any]) -> str:
    groups = plan["groups"]
    pruned = [g for g in groups if g["removed"]]
    removed = sum(len(g["removed"]) for g in pruned)
    return (
        f"{len(groups)} groups, {len(pruned)} pruned ({removed} of their "
        f"{sum(g['size'] for g in pruned)} channels), {sum(1 for g in groups if g['frozen'])} frozen, "
        f"{sum(1 for g in groups if not g['exact'])} inexact"
    )


def check(name: str, err: float, before: int, after: int, t_before: float, t_after: float) -> None:
    print(f"{name}: pruned vs masked original: max relative difference {err:.2e}")
    print(
        f"{name}: parameters {before / 1e6:.2f} M -> {after / 1e6:.2f} M ({after / before:.2f}x); "
        f"CPU latency {t_before * 1e3:.1f} ms -> {t_after * 1e3:.1f} ms ({t_before / t_after:.2f}x faster)"
    )
    assert err < TOLERANCE, f"{name}: the pruned model does not compute the masked original"
    assert after < before, f"{name}: nothing was removed"


def densenet(out: Path) -> None:
    torch.manual_seed(0)  # the weights spa-translate --seed 0 made; they must be the ones it stored
    model = torchvision.models.densenet121().eval()
    state = load_file(out / "densenet.safetensors")
    for name, tensor in model.state_dict().items():
        if name in state:
            assert torch.equal(state[name], tensor), name
    plan = json.loads((out / "densenet.plan.json").read_text())
    print(f"densenet121: {plan_summary(plan)}")
    pruned = torch.export.load(str(out / "densenet.pruned.pt2")).module()
    unpruned = torch.export.load(str(out / "densenet.pt2")).module()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = pruned(x)
        assert relative_error(unpruned(x), model(x)) < TOLERANCE, "the unpruned export differs from the model"
        t_before, t_after = seconds(lambda: unpruned(x)), seconds(lambda: pruned(x))
        with masked(model, plan["params"]) as m:
            want = m(x)
    before = sum(p.numel() for p in model.parameters())
    after = sum(p.numel() for p in pruned.parameters())
    check("densenet121", relative_error(got, want), before, after, t_before, t_after)


def minilm(out: Path) -> None:
    """OBSPA's data-free model against its masked original with the plan's tensors written in, and how close its
    sentence embeddings stay to the unpruned model's, beside plain L1 removal at the same FLOPs."""
    original = onnx.load(str(out / "minilm.onnx"))

    def session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
        source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
        return ort.InferenceSession(source, providers=["CPUExecutionProvider"])

    def run(s: ort.InferenceSession, ids: torch.Tensor) -> np.ndarray:
        return s.run(None, {s.get_inputs()[0].name: ids.numpy()})[0]

    def weights(model: onnx.ModelProto) -> int:
        return sum(int(v.size) for v in weight_values(model).values() if np.issubdtype(v.dtype, np.floating))

    full = session(original)
    batches = token_batches()
    references = [run(full, ids) for ids in batches]
    for label, stem in (("OBSPA, data-free", "minilm"), ("L1, plain removal", "minilm.l1")):
        plan = json.loads((out / f"{stem}.plan.json").read_text())
        tensors = Plan.load(out / f"{stem}.plan.json").tensors
        print(f"MiniLM (ONNX), {label}: {plan_summary(plan)}; {len(tensors)} tensors refitted")
        pruned_path = out / f"{stem}.pruned.onnx"
        pruned = session(pruned_path)
        reference = session(masked_onnx(original, plan["params"], tensors))
        errors: list[float] = []
        similarity: list[float] = []
        for ids, unpruned in zip(batches, references):
            got, want = run(pruned, ids), run(reference, ids)
            errors.append(relative_error(got, want))
            a, b = unpruned.mean(axis=1), got.mean(axis=1)  # mean-pooled sentence embeddings
            similarity.extend((a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1))
        kept = plan.get("selection", {}).get("achieved", {}).get("flops", float("nan"))
        print(
            f"MiniLM (ONNX), {label}: {len(similarity)} real sentences, {kept:.2f} of the FLOPs kept; cosine "
            f"similarity of the sentence embeddings to the unpruned model's: mean {np.mean(similarity):.3f}, "
            f"min {np.min(similarity):.3f} (no fine-tuning)"
        )
        t_before = seconds(lambda: run(full, batches[0]))
        t_after = seconds(lambda s=pruned: run(s, batches[0]))  # type: ignore[misc]  # bound per iteration
        after = weights(onnx.load(str(pruned_path)))
        check(f"MiniLM (ONNX), {label}", max(errors), weights(original), after, t_before, t_after)


def main(out: Path) -> None:
    densenet(out)
    minilm(out)
    print("all pruned models compute their masked originals")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".demo"))
