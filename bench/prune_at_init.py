"""Pruning at initialization: SNIP, CroP, GraSP and random at 2x and 4x FLOPs reduction, each pruned net trained from
scratch for the same budget as the dense baseline beside it.

    .venv/bin/python bench/prune_at_init.py [--criteria snip,crop,grasp,random] [--targets 0.5,0.25]

The net is bench/mnist_common.py's BN ResNet at its fixed-seed initialization; its batch norms' running statistics are
first set from the 250 calibration digits (one cumulative pass, weights untouched), so the captured graph, whose batch
norms use running statistics, sees at initialization what a training-mode forward would. spa prunes it
(`api.prune_program(criterion=..., keep_flops=..., scope=..., calib=those digits with labels)`); the pruned net is
trained from scratch (BASE_EPOCHS, the same schedule and seed as the dense baseline: for seed 0 the cached dense model
of bench/criteria_mnist.py, same initialization, same training). --seeds initializations (each with its own data
order); the table gives the mean accuracy and its standard deviation. A criterion or option the installed spa does not
accept yet is skipped with its reason printed. Prints a table and the wall times; writes
out/bench/prune_at_init.{json,png}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from spa_ir.core.fileio import write_text_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_common import (  # noqa: E402  (the bench folder is not a package)
    OUT,
    Digits,
    Point,
    SpaPruner,
    accuracy,
    cached_base,
    flops,
    load_digits,
    rebuilt,
    save_plot,
    seeded_model,
    train,
)

CRITERIA = "snip,crop,grasp,random"
TARGETS = (0.5, 0.25)
BASE_EPOCHS = 6  # as bench/criteria_mnist.py: its cached dense model is this bench's baseline
LR = 2e-3


@dataclass
class Row:
    criterion: str
    target: float
    flops_kept: float = 1.0
    params_kept: float = 1.0
    accuracy: list[float] = field(default_factory=list)  # one per seed
    prune_s: float = 0.0  # mean over seeds
    train_s: float = 0.0  # mean over seeds
    target_by: str = ""
    skipped: str = ""


@torch.no_grad()
def with_batch_statistics(model: torch.nn.Module, data: Digits) -> torch.nn.Module:
    """Running means/variances of every batch norm set to the calibration digits' statistics (a cumulative average)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for x, _ in data.calib():
        model(x)
    for m in norms:
        m.momentum = 0.1
    return model.eval()


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criteria", default=CRITERIA, help="spa criteria, comma-separated")
    ap.add_argument("--targets", default=",".join(map(str, TARGETS)), help="FLOPs fractions to keep")
    ap.add_argument("--scope", default="local", help="spa's scope")
    ap.add_argument("--seeds", type=int, default=3, help="initializations (and data orders); mean and spread")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: stable timings on a shared machine)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    data = load_digits()
    calib = data.calib()
    criteria = [c for c in args.criteria.split(",") if c]
    targets = [float(t) for t in args.targets.split(",")]

    rows = {("dense", 1.0): Row("dense", 1.0)}
    rows.update({(c, t): Row(c, t) for t in targets for c in criteria})
    modes = set()
    for seed in range(args.seeds):
        dense, dense_s = cached_base(data, BASE_EPOCHS, LR, seed)
        rows["dense", 1.0].accuracy.append(accuracy(dense, data))
        rows["dense", 1.0].train_s += dense_s / args.seeds
        init = with_batch_statistics(seeded_model(seed), data)
        dense_flops, dense_params = flops(init), params(init)
        spa = SpaPruner(init, args.scope)
        modes.add(spa.target_mode)
        for keep in targets:
            for c in criteria:
                row = rows[c, keep]
                if row.skipped:
                    continue
                result = spa.prune(c, keep, calib)
                if isinstance(result, str):
                    row.skipped = result
                    print(f"  skip {c} @ {keep}: {result}", flush=True)
                    continue
                module, prune_s, row.target_by = result
                row.flops_kept = flops(module) / dense_flops
                net = rebuilt(init, module)
                row.params_kept = params(net) / dense_params
                t0 = time.perf_counter()
                train(net, data, BASE_EPOCHS, LR, seed)
                row.train_s += (time.perf_counter() - t0) / args.seeds
                row.prune_s += prune_s / args.seeds
                row.accuracy.append(accuracy(net, data))
                print(f"  seed {seed} {c} @ {keep}: {row.accuracy[-1]:.2%} at FLOPs {row.flops_kept:.3f}", flush=True)

    print()
    print(
        f"{args.seeds} seed(s), {BASE_EPOCHS} epochs each, spa targets by {'/'.join(sorted(modes))}, scope {args.scope}"
    )
    head = f"{'criterion':<10}{'target':>7}{'FLOPs':>7}{'params':>8}{'accuracy':>10}{'+-':>6}"
    print(f"{head}{'prune s':>9}{'train s':>9}  target by")
    for r in rows.values():
        if not r.skipped:
            mean, spread = statistics.fmean(r.accuracy), statistics.pstdev(r.accuracy)
            print(
                f"{r.criterion:<10}{r.target:>7.2f}{r.flops_kept:>7.3f}{r.params_kept:>8.3f}{mean:>10.2%}"
                f"{100 * spread:>6.2f}{r.prune_s:>9.2f}{r.train_s:>9.1f}  {r.target_by}"
            )
    for r in rows.values():
        if r.skipped:
            print(f"skipped {r.criterion} @ {r.target}: {r.skipped}")
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {
        "epochs": BASE_EPOCHS,
        "seeds": args.seeds,
        "spa_targets": sorted(modes),
        "scope": args.scope,
        "rows": [asdict(r) for r in rows.values()],
    }
    write_text_atomic(OUT / "prune_at_init.json", json.dumps(summary, indent=1))
    points = [Point("spa", r.criterion, r.flops_kept, tuple(r.accuracy)) for r in rows.values() if r.accuracy]
    dense_mean = statistics.fmean(rows["dense", 1.0].accuracy)
    save_plot(OUT / "prune_at_init.png", f"Pruned at initialization, trained {BASE_EPOCHS} epochs", points, dense_mean)
    print(f"wrote {OUT / 'prune_at_init.json'}, {OUT / 'prune_at_init.png'}")
    print(f"wall time: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
