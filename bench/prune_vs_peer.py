"""spa vs Torch-Pruning: the same model pruned 50% with L1, end to end, in one process.

    .venv/bin/python bench/prune_vs_peer.py [model ...]      (make bench installs torch-pruning)

spa's time covers capture -> import -> prune passes -> emit (fx GraphModule), and is also printed per
stage (capture is torch.export's own cost); Torch-Pruning's covers its dependency graph and pruning of
the nn.Module in place. Both tools first prune a warm-up model, so one-time costs (importing torch-mlir,
xDSL, torch.export's machinery, torch_pruning) are not counted. Peak memory is the process's peak RSS
growth during each run (ru_maxrss is monotone, so spa runs first on a fresh model). Goal: ratio <= 1.0.
`capture/peer` is torch.export's share (the frontend's floor: no pass of spa's can lower it) and
`rest/peer` spa's own import, passes and emit.
"""

from __future__ import annotations

import resource
import sys
import time

import torch
import torchvision

MODELS = ["resnet50", "densenet121", "vit_b_16", "convnext_tiny", "efficientnet_b0"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def run_spa(model: torch.nn.Module, x: torch.Tensor) -> tuple[dict[str, float], int]:
    from spa_ir import api
    from spa_ir.frontends.torch import capture, import_exported

    t0 = time.perf_counter()
    ep = capture(model, [x])
    t1 = time.perf_counter()
    program = import_exported(ep)
    t2 = time.perf_counter()
    api.prune_program(program, ratio=0.5, criterion="l1")
    t3 = time.perf_counter()
    gm = api.to_torch(program)
    t4 = time.perf_counter()
    return {"total": t4 - t0, "capture": t1 - t0, "import": t2 - t1, "prune": t3 - t2, "emit": t4 - t3}, _params(gm)


def run_peer(model: torch.nn.Module, x: torch.Tensor) -> tuple[float, int]:
    import torch_pruning as tp

    t0 = time.perf_counter()
    ignored = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1000]
    kwargs = {}
    if isinstance(model, torchvision.models.VisionTransformer):
        kwargs = {"num_heads": {m: m.num_heads for m in model.modules() if isinstance(m, torch.nn.MultiheadAttention)}}
    pruner = tp.pruner.MagnitudePruner(model, x, importance=tp.importance.MagnitudeImportance(p=1),
                                       pruning_ratio=0.5, ignored_layers=ignored, **kwargs)
    pruner.step()
    return time.perf_counter() - t0, _params(model)


def main(names: list[str]) -> None:
    warm = torchvision.models.resnet18().eval(), torch.randn(1, 3, 64, 64)
    run_spa(*warm)
    run_peer(*warm)
    print(f"{'model':<18}{'params':>9}{'spa s':>8}{'(capture':>9}{'import':>8}{'prune':>7}{'emit)':>7}{'spa params':>12}"
          f"{'peer s':>8}{'peer params':>13}{'spa/peer':>10}{'capture/peer':>14}{'rest/peer':>11}{'spa MB':>9}{'peer MB':>9}")
    for name in names or MODELS:
        size = 224
        torch.manual_seed(0)
        model = torchvision.models.get_model(name, weights=None).eval()
        x = torch.randn(1, 3, size, size)
        base = _params(model)
        m0 = _rss_mb()
        t_spa, p_spa = run_spa(model, x)
        m1 = _rss_mb()
        t_peer, p_peer = run_peer(model, x)
        m2 = _rss_mb()
        stages = "".join(f"{t_spa[k]:>{w}.2f}" for k, w in (("capture", 9), ("import", 8), ("prune", 7), ("emit", 7)))
        print(f"{name:<18}{base / 1e6:>8.1f}M{t_spa['total']:>8.2f}{stages}{p_spa / 1e6:>11.1f}M{t_peer:>8.2f}{p_peer / 1e6:>12.1f}M"
              f"{t_spa['total'] / t_peer:>10.2f}{t_spa['capture'] / t_peer:>14.2f}{(t_spa['total'] - t_spa['capture']) / t_peer:>11.2f}"
              f"{m1 - m0:>9.0f}{m2 - m1:>9.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
