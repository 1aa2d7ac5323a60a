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


def resnet18(out: Path) -> None:
    """The pruned .pt2 against the masked original at two batch sizes (the batch stayed dynamic), and the linalg
    module torch-mlir's pipelines made of the pruned IR, run by torch-mlir's ExecutionEngine."""
    from spa_ir.backends.torch_mlir import compile_linalg
    from spa_ir.core.program import Program

    torch.manual_seed(0)  # the weights spa-translate --seed 0 made; they must be the ones it stored
    model = torchvision.models.resnet18().eval()
    state = load_file(out / "resnet18.safetensors")
    for name, tensor in model.state_dict().items():
        if name in state:
            assert torch.equal(state[name], tensor), name
    plan = json.loads((out / "resnet18.plan.json").read_text())
    print(f"resnet18: {plan_summary(plan)}")
    pruned = torch.export.load(str(out / "resnet18.pruned.pt2")).module()
    unpruned = torch.export.load(str(out / "resnet18.pt2")).module()
    errors = []
    for batch in (1, 4):
        x = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad(), masked(model, plan["params"]) as m:
            errors.append(relative_error(pruned(x), m(x)))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert relative_error(unpruned(x), model(x)) < TOLERANCE, "the unpruned export differs from the model"
        t_before, t_after = seconds(lambda: unpruned(x)), seconds(lambda: pruned(x))
        want = pruned(x).numpy()
    before = sum(p.numel() for p in model.parameters())
    after = sum(p.numel() for p in pruned.parameters())
    check("resnet18 (.pt2, batch 1 and 4)", max(errors), before, after, t_before, t_after)
    text = (out / "resnet18.pruned.linalg.mlir").read_text()
    linalg_ops = sum(text.count(f"linalg.{op}") for op in ("conv_2d_nchw_fchw", "matmul", "generic"))
    assert "torch." not in text, "the lowered module still holds torch ops"
    engine = compile_linalg(Program.load(out / "resnet18.pruned.mlir"))
    err = relative_error(engine(x.numpy())[0], want)
    print(
        f"resnet18 (linalg-on-tensors): {len(text.splitlines())} lines, {linalg_ops} linalg convolutions, matmuls "
        f"and generics, no torch op left; torch-mlir's ExecutionEngine vs the pruned .pt2: {err:.2e}"
    )
    assert err < TOLERANCE, "the linalg module does not compute the pruned model"


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
    emitted = torch.export.load(str(out / "minilm.pruned.pt2")).module()
    with torch.no_grad():
        got = emitted(batches[0])
    got = got[0] if isinstance(got, (tuple, list)) else got
    err = relative_error(got, run(session(out / "minilm.pruned.onnx"), batches[0]))
    print(f"MiniLM, OBSPA, data-free: the pruned .pt2 (PyTorch) vs the pruned .onnx: {err:.2e}")
    assert err < TOLERANCE, "the pruned .pt2 and .onnx differ"
    totals = json.loads((out / "minilm.report.json").read_text())["totals"]
    flops, params = totals["flops"], totals["params"]
    print(
        f"MiniLM report ({out}/minilm.report.json, plot {out}/minilm.widths.png): FLOPs "
        f"{flops['after'] / flops['before']:.2f} of the original, parameters {params['after'] / params['before']:.2f}"
    )
    assert (out / "minilm.widths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the plot is not a PNG"


def main(out: Path) -> None:
    minilm(out)
    resnet18(out)
    print("all pruned models compute their masked originals")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".demo"))
