"""Measured latency speed-up of spa-pruned models against their FLOPs reduction, beside Torch-Pruning's.

    .venv/bin/python bench/latency.py [--models resnet50,vit_b_16,minilm] [--quick] [--device cpu|cuda]
                                      [--round-to 1,8] [--batches 1,8] [--profile] [--threads 2]

Each model is captured at each batch size (static shapes; `--dynamic-batch`: once, dynamic), pruned to keep-flops
0.5 (L1, spa-prune-groups) with `round-to` 1 and 8 and timed at batch 1 and 8 on two backends: `torch` (the emitted
torch.fx module, spa_ir.api.to_torch; the unpruned program's emitted module is the baseline) and `ort` (onnxruntime
on the exported .onnx of each, spa_ir.backends.export.save_onnx). The peer, Torch-Pruning 1.6, prunes the same
nn.Module (magnitude L1, same round-to) to the same measured FLOPs (its ratio bisected) and is timed the same way
(eager module against the eager original; torch.onnx exports for ort).

FLOPs are counted by torch.utils.flop_counter on the modules themselves (the same conventions as spa_ir/cost.py).
Latency is the median of N timed runs after warm-up, before and after interleaved run by run (load on a shared
machine drifts), torch.set_num_threads(threads) and onnxruntime's intra-op threads alike. speed-up = before / after;
the physical limit is 1 / FLOPs-ratio, and efficiency = speed-up / limit (1.0 at the limit; the issue's "0.70 of
it" for resnet50 and "0.25" for vit_b_16 are this number). `spa/peer` divides spa's
speed-up by the peer's. `--profile` adds, per model, torch.profiler's self time per op before and after (which ops
did not get cheaper) and the FLOPs by op. The machine's load (os.getloadavg) is printed and stored.

Output: a table on stdout, JSON under out/bench/latency.json (and the profile, if asked, in the same file).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "bench"
MODELS = ("resnet50", "vit_b_16", "minilm")
KEEP_FLOPS = 0.5


@dataclass
class Case:
    """One model as the bench runs it: the module, an input maker for a batch size, and the peer's settings."""

    name: str
    model: nn.Module
    make_input: Callable[[int], torch.Tensor]
    peer_kwargs: Callable[[nn.Module], dict[str, Any]]
    peer_fix: Callable[[nn.Module, Any], None]


@dataclass
class Row:
    model: str
    tool: str
    round_to: int
    batch: int
    backend: str
    flops_ratio: float
    before_ms: float
    after_ms: float
    speedup: float = 0.0
    limit: float = 0.0
    efficiency: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        self.speedup = self.before_ms / self.after_ms if self.after_ms > 0 else 0.0
        self.limit = 1.0 / self.flops_ratio if self.flops_ratio > 0 else 0.0
        self.efficiency = self.speedup / self.limit if self.limit > 0 else 0.0


@dataclass
class Results:
    settings: dict[str, Any]
    load_start: tuple[float, float, float]
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    profiles: dict[str, Any] = field(default_factory=dict)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0


# ------------------------------------------------------------------------------------------------- models


def _torchvision(name: str) -> Case:
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()

    def peer_kwargs(m: nn.Module) -> dict[str, Any]:
        ignored: list[nn.Module] = [x for x in m.modules() if isinstance(x, nn.Linear) and x.out_features == 1000]
        if isinstance(m, torchvision.models.VisionTransformer):
            heads = {x: x.num_heads for x in m.modules() if isinstance(x, nn.MultiheadAttention)}
            return {"ignored_layers": ignored, "num_heads": heads, "prune_head_dims": True, "prune_num_heads": False}
        return {"ignored_layers": ignored}

    def peer_fix(m: nn.Module, pruner: Any) -> None:
        if isinstance(m, torchvision.models.VisionTransformer):
            m.hidden_dim = m.conv_proj.out_channels  # read by its _process_input reshape

    return Case(name, model, lambda b: torch.randn(b, 3, 224, 224), peer_kwargs, peer_fix)


def _minilm(seq: int = 128) -> Case:
    from spa.tools.demo_models import minilm, token_batches

    model: Any = minilm()
    model.bert.pooler = None  # its output is not returned (spa's capture drops it; Torch-Pruning would leave it wide)
    ids = torch.cat(token_batches(batch=8, length=seq)[:1])

    def make(b: int) -> torch.Tensor:
        return ids.repeat((b + len(ids) - 1) // len(ids), 1)[:b]

    def peer_kwargs(m: Any) -> dict[str, Any]:
        heads = {}
        x: Any
        for x in m.modules():
            if hasattr(x, "query") and hasattr(x, "key") and hasattr(x, "value"):
                n = getattr(x, "num_attention_heads", None) or m.bert.config.num_attention_heads
                heads.update({x.query: n, x.key: n, x.value: n})
        return {"num_heads": heads, "prune_head_dims": True, "prune_num_heads": False}

    def peer_fix(m: Any, pruner: Any) -> None:
        x: Any
        for x in m.modules():
            if hasattr(x, "query") and hasattr(x, "key") and hasattr(x, "value"):
                n = pruner.num_heads.get(x.query, m.bert.config.num_attention_heads)
                for attr, value in (
                    ("num_attention_heads", n),
                    ("attention_head_size", x.query.out_features // n),
                    ("all_head_size", x.query.out_features),
                    ("head_dim", x.query.out_features // n),
                ):
                    if hasattr(x, attr):
                        setattr(x, attr, value)

    return Case("minilm", model, make, peer_kwargs, peer_fix)


def load_case(name: str) -> Case:
    return _minilm() if name == "minilm" else _torchvision(name)


# ----------------------------------------------------------------------------------------------- measuring


def _cpu_attention_flops(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """flop_counter's own SDPA formula for the CPU flash kernel, which its registry leaves out (CUDA's are in)."""
    from torch.utils.flop_counter import sdpa_flop_count

    return int(sdpa_flop_count(query, key, value))


def flop_counter() -> Any:
    from torch.utils.flop_counter import FlopCounterMode

    cpu_flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    return FlopCounterMode(display=False, custom_mapping={cpu_flash: _cpu_attention_flops})


def flops(model: nn.Module, x: torch.Tensor) -> int:
    counter = flop_counter()
    with torch.no_grad(), counter:
        model(x)
    return int(counter.get_total_flops())


def interleaved_ms(
    before: Callable[[], Any], after: Callable[[], Any], warmup: int, runs: int, sync: Callable[[], None]
) -> tuple[float, float]:
    """Median milliseconds of each, timed alternately so a change in the machine's load hits both alike."""
    for _ in range(warmup):
        before()
        after()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, out in ((before, times[0]), (after, times[1])):
            sync()
            t = time.perf_counter()
            fn()
            sync()
            out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def torch_runner(model: nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.no_grad():
            return model(x)

    return run


def ort_runner(path: Path, x: torch.Tensor, threads: int, device: str) -> Callable[[], Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else None
    session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    return lambda: session.run(None, feed)


def torch_onnx(model: nn.Module, x: torch.Tensor, path: Path) -> Path:
    """The legacy exporter with a dynamic batch (the peer's modules; the demo's MiniLM export is the same)."""
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}, opset_version=17
        )
    return path


# ------------------------------------------------------------------------------------------------ pruning


def spa_program(case: Case, batch: int, dynamic: bool) -> Any:
    """The model's Program captured at `batch` (static: what the channel analysis prunes best; with a dynamic batch
    nn.MultiheadAttention's heads merge with the batch dim in its view and stay frozen), or with a dynamic batch."""
    from spa_ir import api

    x = case.make_input(batch)
    if dynamic:
        return api.import_torch(case.model, [x], dynamic_shapes=({0: torch.export.Dim("batch")},))
    return api.import_torch(case.model, [x])


def spa_prune(case: Case, batch: int, round_to: int, dynamic: bool) -> tuple[Any, str]:
    """(the pruned program, the plan's one-line summary) at keep-flops 0.5, L1."""
    from spa_ir import api

    pruned = spa_program(case, batch, dynamic)
    plan = api.prune_program(pruned, keep_flops=KEEP_FLOPS, criterion="l1", round_to=round_to)
    achieved = (plan.selection or {}).get("achieved", {})
    return pruned, f"spa_ir/cost.py kept {achieved.get('flops', float('nan')):.3f} of the FLOPs"


def peer_prune(case: Case, round_to: int, target: float, steps: int) -> tuple[nn.Module, float, str]:
    """Torch-Pruning (magnitude L1, uniform per layer) with its ratio bisected to `target` FLOPs (of the original's,
    counted by flop_counter at batch 1)."""
    import torch_pruning as tp  # type: ignore[import-untyped]  # the peer ships no type information

    x = case.make_input(1)
    full = flops(case.model, x)
    lo, hi = 0.0, 0.9
    best: tuple[nn.Module, float, float] | None = None
    for _ in range(steps):
        ratio = (lo + hi) / 2
        model = copy.deepcopy(case.model)
        pruner = tp.pruner.MagnitudePruner(
            model,
            x,
            importance=tp.importance.MagnitudeImportance(p=1),
            pruning_ratio=ratio,
            round_to=round_to if round_to > 1 else None,
            **case.peer_kwargs(model),
        )
        pruner.step()
        case.peer_fix(model, pruner)
        kept = flops(model, x) / full
        if best is None or abs(kept - target) < abs(best[1] - target):
            best = (model, kept, ratio)
        lo, hi = (ratio, hi) if kept > target else (lo, ratio)
    assert best is not None
    return best[0], best[1], f"pruning_ratio {best[2]:.3f}"


# ------------------------------------------------------------------------------------------------ profiling


def profile(before: nn.Module, after: nn.Module, x: torch.Tensor, runs: int) -> dict[str, Any]:
    """Self CPU time per op (ms per forward) and FLOPs per op, before and after, for the ops that matter."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    out: dict[str, Any] = {}
    for label, model in (("before", before), ("after", after)):
        with torch.no_grad():
            model(x)
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(runs):
                    model(x)
        times = {e.key: e.self_cpu_time_total / 1e3 / runs for e in prof.key_averages()}
        counter = flop_counter()
        with torch.no_grad(), counter:
            model(x)
        by_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
        out[label] = {"ms": times, "flops": by_op, "total_ms": sum(times.values())}
    return out


def print_profile(name: str, prof: dict[str, Any], top: int = 14) -> None:
    b, a = prof["before"]["ms"], prof["after"]["ms"]
    keys = sorted(set(b) | set(a), key=lambda k: -b.get(k, 0.0))[:top]
    tb, ta = prof["before"]["total_ms"], prof["after"]["total_ms"]
    print(f"\n{name}: self CPU time per op, ms per forward (profiler; total {tb:.1f} -> {ta:.1f})")
    print(f"  {'op':<46}{'before':>9}{'after':>9}{'after/before':>14}{'share of after':>16}")
    for k in keys:
        ratio = a.get(k, 0.0) / b[k] if b.get(k) else float("nan")
        print(f"  {k[:45]:<46}{b.get(k, 0.0):>9.2f}{a.get(k, 0.0):>9.2f}{ratio:>14.2f}{a.get(k, 0.0) / ta:>16.1%}")
    fb, fa = prof["before"]["flops"], prof["after"]["flops"]
    print(f"  FLOPs by op (flop_counter), GFLOP: {'':<10}before    after    ratio")
    for k in sorted(fb, key=lambda k: -fb[k]):
        print(f"  {k[:45]:<46}{fb[k] / 1e9:>9.3f}{fa.get(k, 0) / 1e9:>9.3f}{fa.get(k, 0) / fb[k]:>9.3f}")


def widths(program: Any) -> dict[str, tuple[int, ...]]:
    """Weight shapes of the program (what pruning left), for the explanation."""
    return {n: tuple(program.weights[n].shape) for n in program.external_weight_names()}


# ------------------------------------------------------------------------------------------------ the run


Timed = tuple[str, str, float, Callable[[], Any], Callable[[], Any]]
"""(tool, backend, FLOPs ratio, the run before, the run after)."""


@dataclass
class Base:
    """The unpruned model as spa emits it at one batch size (the torch baseline), and its .onnx."""

    program: Any
    gm: nn.Module
    flops: int
    onnx: Path | None


def spa_base(case: Case, batch: int, args: argparse.Namespace, tmp: Path, results: Results) -> Base:
    from spa_ir import api
    from spa_ir.backends.export import save_onnx
    from spa_ir.calibration.device import on_device

    program = spa_program(case, batch, args.dynamic_batch)
    gm = api.to_torch(program)
    count = flops(gm, case.make_input(batch))
    path: Path | None = None
    if "ort" in args.backends:
        path = tmp / f"{case.name}.b{batch}.onnx"
        try:
            save_onnx(program, path)
        except Exception as e:  # a model the exporter refuses: the torch rows still come
            results.failures.append(f"{case.name} b{batch} spa onnx export: {str(e).splitlines()[0][:200]}")
            path = None
    return Base(program, on_device(gm, torch.device(args.device)), count, path)


def spa_timed(
    case: Case, base: Base, batch: int, round_to: int, args: argparse.Namespace, tmp: Path, results: Results
) -> tuple[list[Timed], float]:
    """spa's pruned model at this batch and round-to, on each backend, and its FLOPs ratio."""
    from spa_ir import api
    from spa_ir.backends.export import save_onnx
    from spa_ir.calibration.device import on_device

    t0 = time.perf_counter()
    pruned, note = spa_prune(case, batch, round_to, args.dynamic_batch)
    x = case.make_input(batch)
    gm = api.to_torch(pruned)
    ratio = flops(gm, x) / base.flops
    on_device(gm, torch.device(args.device))  # the emitted graph's ops that name a device (arange, full) too
    print(f"# {case.name} b{batch} round-to {round_to}: spa pruned in {time.perf_counter() - t0:.0f} s; {note}")
    timed: list[Timed] = []
    if "torch" in args.backends:
        xd = x.to(args.device)
        timed.append(("spa", "torch", ratio, torch_runner(base.gm, xd), torch_runner(gm, xd)))
    if "ort" in args.backends and base.onnx is not None:
        path = tmp / f"{case.name}.b{batch}.rt{round_to}.onnx"
        try:
            save_onnx(pruned, path)
            before, after = (ort_runner(p, x, args.threads, args.device) for p in (base.onnx, path))
            timed.append(("spa", "ort", ratio, before, after))
        except Exception as e:  # a model the exporter refuses: the torch rows still come
            results.failures.append(f"{case.name} b{batch} rt{round_to} spa onnx: {str(e).splitlines()[0][:200]}")
    if args.profile and batch == 1 and round_to == args.round_to[-1]:
        prof = profile(base.gm, gm, x.to(args.device), args.runs)
        prof["weights_after"] = {k: list(v) for k, v in widths(pruned).items()}
        results.profiles[f"{case.name}.rt{round_to}"] = prof
        print_profile(f"{case.name} round-to {round_to} batch 1 (spa)", prof)
    return timed, ratio


@dataclass
class Peer:
    """Torch-Pruning's model at one round-to (batch-independent: an eager module), and both .onnx exports."""

    model: nn.Module
    ratio: float
    onnx: tuple[Path, Path] | None


def peer_model(case: Case, round_to: int, target: float, args: argparse.Namespace, tmp: Path, results: Results) -> Peer:
    t0 = time.perf_counter()
    model, ratio, note = peer_prune(case, round_to, target, args.peer_steps)
    print(f"# {case.name} round-to {round_to}: peer pruned in {time.perf_counter() - t0:.0f} s ({note})", flush=True)
    paths = None
    if "ort" in args.backends:
        x1 = case.make_input(1)
        base = tmp / f"{case.name}.peer.base.onnx"
        try:
            if not base.exists():
                torch_onnx(case.model, x1, base)
            paths = (base, torch_onnx(model, x1, tmp / f"{case.name}.peer.rt{round_to}.onnx"))
        except Exception as e:  # the exporter's failure on the peer's module: its torch rows still come
            results.failures.append(f"{case.name} rt{round_to} peer onnx export: {str(e).splitlines()[0][:200]}")
    return Peer(model.to(args.device), ratio, paths)


def peer_timed(case: Case, peer: Peer, batch: int, args: argparse.Namespace) -> list[Timed]:
    x = case.make_input(batch)
    timed: list[Timed] = []
    if "torch" in args.backends:
        xd = x.to(args.device)
        timed.append(
            ("peer", "torch", peer.ratio, torch_runner(case.model.to(args.device), xd), torch_runner(peer.model, xd))
        )
    if "ort" in args.backends and peer.onnx is not None:
        before, after = (ort_runner(p, x, args.threads, args.device) for p in peer.onnx)
        timed.append(("peer", "ort", peer.ratio, before, after))
    return timed


def bench_model(case: Case, args: argparse.Namespace, results: Results, tmp: Path) -> None:
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    bases: dict[int, Base] = {}
    for round_to in args.round_to:
        peer: Peer | None = None
        for batch in args.batches:
            if batch not in bases:
                bases[batch] = spa_base(case, batch, args, tmp, results)
            timed, ratio = spa_timed(case, bases[batch], batch, round_to, args, tmp, results)
            if peer is None and not args.no_peer:
                try:
                    peer = peer_model(case, round_to, ratio, args, tmp, results)
                except Exception as e:  # the peer's own failure on this architecture, reported as such
                    results.failures.append(f"{case.name} rt{round_to} Torch-Pruning: {str(e).splitlines()[0][:200]}")
            if peer is not None:
                timed += peer_timed(case, peer, batch, args)
            for tool, backend, r, before, after in timed:
                try:
                    b, a = interleaved_ms(before, after, args.warmup, args.runs, sync)
                except Exception as e:  # e.g. a peer-pruned module whose forward no longer runs
                    results.failures.append(f"{case.name} rt{round_to} b{batch} {tool} {backend}: {str(e)[:200]}")
                    continue
                row = Row(case.name, tool, round_to, batch, backend, r, b, a)
                results.rows.append(row)
                print_row(row, flush=True)
    case.model.to("cpu")


HEADER = (
    f"{'model':<10}{'tool':<6}{'round-to':>9}{'batch':>6}{'backend':>8}{'FLOPs':>7}{'before ms':>11}"
    f"{'after ms':>10}{'speed-up':>10}{'limit':>7}{'efficiency':>11}"
)


def print_row(row: Row, flush: bool = False) -> None:
    print(
        f"{row.model:<10}{row.tool:<6}{row.round_to:>9}{row.batch:>6}{row.backend:>8}{row.flops_ratio:>7.3f}"
        f"{row.before_ms:>11.2f}{row.after_ms:>10.2f}{row.speedup:>10.2f}{row.limit:>7.2f}{row.efficiency:>11.2f}",
        flush=flush,
    )


def print_summary(results: Results) -> None:
    print("\n" + HEADER)
    for row in results.rows:
        print_row(row)
    spa = {(r.model, r.round_to, r.batch, r.backend): r for r in results.rows if r.tool == "spa"}
    peer = {(r.model, r.round_to, r.batch, r.backend): r for r in results.rows if r.tool == "peer"}
    both = sorted(set(spa) & set(peer))
    if both:
        print(
            f"\n{'model':<10}{'round-to':>9}{'batch':>6}{'backend':>8}{'spa speed-up':>14}{'peer':>7}{'spa/peer':>10}"
        )
        for k in both:
            s, p = spa[k], peer[k]
            line = f"{k[0]:<10}{k[1]:>9}{k[2]:>6}{k[3]:>8}{s.speedup:>14.2f}{p.speedup:>7.2f}"
            print(f"{line}{s.speedup / p.speedup:>10.2f}")
    for f in results.failures:
        print(f"failed: {f}")
    print(f"load average at start {results.load_start}, at end {results.load_end}; {results.seconds:.0f} s")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda s: [int(v) for v in s.split(",")]  # noqa: E731  # argparse's type
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    p.add_argument("--round-to", type=ints, default=[1, 8])
    p.add_argument("--batches", type=ints, default=[1, 8])
    p.add_argument("--backends", default="torch,ort")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (the timed runs; onnxruntime's CUDA provider)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--peer-steps", type=int, default=5, help="bisection steps of the peer's ratio")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--dynamic-batch", action="store_true", help="capture once with a dynamic batch (see spa_program)")
    p.add_argument("--profile", action="store_true", help="torch.profiler per op before/after (the last round-to)")
    p.add_argument("--quick", action="store_true", help="1 warm-up and 3 timed runs, 4 peer steps")
    p.add_argument("--out", default=str(OUT / "latency.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.runs, args.peer_steps = 1, 3, 4
    args.backends = args.backends.split(",")
    return args


def main(argv: list[str]) -> None:
    from spa_ir.calibration.device import resolve_device

    args = parse(argv)
    args.device = str(resolve_device(args.device))
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    settings = {k: v for k, v in vars(args).items()} | {"keep_flops": KEEP_FLOPS, "torch": torch.__version__}
    results = Results(settings, os.getloadavg())
    print(f"# load average {results.load_start}; {args.threads} threads; device {args.device}", flush=True)
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="spa-latency-") as tmp:
        for name in args.models.split(","):
            try:
                bench_model(load_case(name), args, results, Path(tmp))
            except Exception as e:  # one model's failure leaves the others' rows
                results.failures.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
    results.load_end, results.seconds = os.getloadavg(), time.perf_counter() - start
    print_summary(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = asdict(results)
    out.write_text(json.dumps(payload, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
