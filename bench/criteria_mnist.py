"""Every spa criterion and Torch-Pruning 1.6.0's criteria on one trained BN ResNet, real MNIST digits, side by side.

    .venv/bin/python bench/criteria_mnist.py [--criteria l1,l2,...] [--targets 0.5,0.33] [--scope local] [--no-tp]

The dense model (bench/mnist_common.py: 4,000 training digits, BASE_EPOCHS fixed, seed fixed) is trained once and
cached under out/bench/cache/. For each FLOPs target and each criterion: prune (spa: `api.prune_program(criterion=...,
keep_flops=..., scope=..., calib=250 training digits with labels)`; Torch-Pruning: its `pruning_ratio` bisected to
the FLOPs spa reached), then measure the kept FLOPs (torch.utils.flop_counter on the pruned module), the held-out
accuracy before and after the same fine-tunes (FT_EPOCHS of Adam, cosine, one per --ft-seeds data order, the same
for every method; the table gives their mean and standard deviation), and the pruning time (spa: the `api.prune_program`
call, calibration included; Torch-Pruning: its gradient passes and `pruner.step()`). A criterion or option the
installed spa does not accept yet is skipped with its reason printed. Prints a table and the wall time; writes
out/bench/criteria_mnist.{json,png} (criteria_mnist_<scope>.* for another scope).
"""

from __future__ import annotations

import argparse
import copy
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
    tp_importances,
    tp_prune,
    tp_ratio_for,
    train,
)

SPA_CRITERIA = "l1 l2 random bn-scale fpgm lamp taylor hessian obd-c hrank thinet cp wanda-sp flap snip grasp crop"
TARGETS = (0.5, 0.33)
BASE_EPOCHS = 6
FT_EPOCHS = 1
FT_LR = 1e-3


@dataclass
class Row:
    tool: str
    criterion: str
    target: float
    flops_kept: float = 0.0
    acc_pruned: float = 0.0
    acc_finetuned: list[float] = field(default_factory=list)  # one per fine-tune seed
    prune_s: float = 0.0
    finetune_s: float = 0.0  # per fine-tune
    target_by: str = ""
    skipped: str = ""

    @property
    def tuned(self) -> float:
        return statistics.fmean(self.acc_finetuned)

    @property
    def spread(self) -> float:
        return statistics.pstdev(self.acc_finetuned)


def measure(
    row: Row, module: torch.nn.Module, base: torch.nn.Module, data: Digits, dense_flops: int, seeds: int
) -> Row:
    """FLOPs of the pruned module, its accuracy, and its accuracy after the same fine-tune from each seed."""
    row.flops_kept = flops(module) / dense_flops
    eager = rebuilt(base, module)
    row.acc_pruned = accuracy(eager, data)
    t0 = time.perf_counter()
    for seed in range(seeds):
        net = train(copy.deepcopy(eager), data, FT_EPOCHS, FT_LR, seed)
        row.acc_finetuned.append(accuracy(net, data))
    row.finetune_s = (time.perf_counter() - t0) / seeds
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criteria", default=SPA_CRITERIA.replace(" ", ","), help="spa criteria, comma-separated")
    ap.add_argument("--targets", default=",".join(map(str, TARGETS)), help="FLOPs fractions to keep")
    ap.add_argument("--scope", default="local", help="spa's scope (Torch-Pruning: global_pruning unless local)")
    ap.add_argument("--no-tp", action="store_true", help="leave Torch-Pruning out")
    ap.add_argument("--ft-seeds", type=int, default=3, help="fine-tunes per pruned net (data orders); mean and spread")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: stable timings on a shared machine)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    wall = time.perf_counter()
    criteria = [c for c in args.criteria.split(",") if c]
    targets = [float(t) for t in args.targets.split(",")]

    data = load_digits()
    base, train_s = cached_base(data, BASE_EPOCHS)
    dense_acc, dense_flops = accuracy(base, data), flops(base)
    print(
        f"dense: {dense_acc:.2%} held-out, {dense_flops / 50 / 1e6:.2f} MFLOPs/digit"
        f" (trained in {train_s:.0f} s, cached)"
    )
    calib = data.calib()
    spa = SpaPruner(base, args.scope)
    print(f"spa targets: {spa.target_mode}, scope {args.scope}")

    rows: list[Row] = []
    for keep in targets:
        for c in criteria:
            row = Row("spa", c, keep)
            result = spa.prune(c, keep, calib)
            if isinstance(result, str):
                row.skipped = result
                print(f"  skip spa {c} @ {keep}: {result}", flush=True)
            else:
                module, row.prune_s, row.target_by = result
                measure(row, module, base, data, dense_flops, args.ft_seeds)
                print(f"  spa {c} @ {keep}: {row.tuned:.2%} at FLOPs {row.flops_kept:.3f}", flush=True)
            rows.append(row)
        if not args.no_tp:
            # the FLOPs spa reached at this target (the nominal target where no spa criterion ran)
            reached = [r.flops_kept for r in rows if r.tool == "spa" and r.target == keep and not r.skipped]
            aim = sum(reached) / len(reached) if reached else keep
            global_pruning = args.scope != "local"
            local_ratio = None if global_pruning else tp_ratio_for("tp-l1", base, aim, calib, False)
            for name in tp_importances():
                ratio = local_ratio if local_ratio is not None else tp_ratio_for(name, base, aim, calib, True)
                row = Row("torch-pruning", name, keep, target_by=f"ratio {ratio:.3f}")
                try:
                    model, row.prune_s = tp_prune(name, base, ratio, calib, global_pruning)
                    measure(row, model, base, data, dense_flops, args.ft_seeds)
                    print(f"  {name} @ {keep}: {row.tuned:.2%} at FLOPs {row.flops_kept:.3f}", flush=True)
                except Exception as e:  # a peer criterion that fails on this model is reported, not fatal
                    row.skipped = f"{type(e).__name__}: {e}"[:160]
                rows.append(row)

    print()
    head = f"{'tool':<14}{'criterion':<14}{'target':>7}{'FLOPs':>7}{'pruned':>8}{'tuned':>8}{'+-':>6}"
    print(f"{head}{'prune s':>9}{'tune s':>8}  target by")
    for r in rows:
        if not r.skipped:
            print(
                f"{r.tool:<14}{r.criterion:<14}{r.target:>7.2f}{r.flops_kept:>7.3f}{r.acc_pruned:>8.2%}"
                f"{r.tuned:>8.2%}{100 * r.spread:>6.2f}{r.prune_s:>9.2f}{r.finetune_s:>8.1f}  {r.target_by}"
            )
    skipped = {(r.tool, r.criterion): r.skipped for r in rows if r.skipped}
    if skipped:
        print(f"skipped ({len(skipped)}):")
        for (tool, c), why in skipped.items():
            print(f"  {tool} {c}: {why}")
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {
        "dense_acc": dense_acc,
        "dense_flops": dense_flops,
        "spa_targets": spa.target_mode,
        "scope": args.scope,
        "base_epochs": BASE_EPOCHS,
        "ft_epochs": FT_EPOCHS,
        "ft_seeds": args.ft_seeds,
        "rows": [asdict(r) for r in rows],
    }
    stem = OUT / ("criteria_mnist" if args.scope == "local" else f"criteria_mnist_{args.scope}")
    write_text_atomic(stem.with_suffix(".json"), json.dumps(summary, indent=1))
    points = [Point(r.tool, r.criterion, r.flops_kept, tuple(r.acc_finetuned)) for r in rows if not r.skipped]
    title = f"MNIST BN ResNet, scope {args.scope}, after {FT_EPOCHS} fine-tune epoch(s)"
    save_plot(stem.with_suffix(".png"), title, points, dense_acc)
    print(f"wrote {stem.with_suffix('.json')}, {stem.with_suffix('.png')}")
    print(f"wall time: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
