"""The exactness oracle for structural pruning.

For a model and the pruning plan spa made for it, the *masked original* is the original model with every
slice the plan lists set to zero (a BatchNorm `running_var` to 1 instead, so the normalized channel is
exactly 0 and not 0/sqrt(eps)). For plans made with only_exact=True, the pruned model must compute what
the masked original computes: max|pruned(x) - masked(x)| / max|masked(x)| < 1e-4 for every output.

    result = check_exact(model, [x], "resnet18", ratio=0.5)      # raises AssertionError on a mismatch
    check_runs_all_groups(model, [x], "resnet18")                 # only_exact=False: shapes + finite

The original model is masked in place and restored afterwards (no second copy of big models); the
imported program is cloned for each run, so one import serves several ratios (`Session`).
Set SPA_ORACLE_LOG=path to append one JSON line per run (timings, group counts, parameter ratio).
"""

from __future__ import annotations

import copy
import gc
import json
import math
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import pytest
import torch
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends.module import AppliedPlan
from spa_ir.core.program import Program
from spa_ir.core.weights import WeightStore
from spa_ir.verify import masked

TOLERANCE = 1e-4


class NothingPruned(AssertionError):
    """The plan removes no channel at all (every group frozen, inexact or of size 1)."""


@dataclass
class RunReport:
    model: str
    ratio: float
    only_exact: bool
    groups: int = 0
    frozen: int = 0
    inexact: int = 0
    eligible: int = 0
    pruned: int = 0
    params_before: int = 0
    params_after: int = 0
    error: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    frozen_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def param_ratio(self) -> float:
        return self.params_after / max(self.params_before, 1)

    def summary(self) -> str:
        err = "-" if self.error is None else f"{self.error:.1e}"
        return (
            f"{self.model} r={self.ratio} exact={self.only_exact}: groups {self.groups} (frozen {self.frozen}, "
            f"inexact {self.inexact}, eligible {self.eligible}, pruned {self.pruned}), "
            f"params {self.params_after}/{self.params_before} = {self.param_ratio:.2f}, err {err}"
        )


def _log(report: RunReport) -> None:
    path = os.environ.get("SPA_ORACLE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**asdict(report), "param_ratio": report.param_ratio}) + "\n")


# -- the model's tensors by state-dict name --------------------------------------------------------------


M = TypeVar("M", bound=torch.nn.Module)


def trained_on(model: M, data: torch.Tensor) -> M:
    """`model` in eval mode with its batch norms' running statistics those of `data` (one training-mode forward,
    cumulative averages): a model "trained" on the data, for the calibrated criteria and compensation."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
    with torch.no_grad():
        model(data)
    return model.eval()


def perturb(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Make the oracle see every channel. Random-init models often hold constant tensors that hide
    errors: zero-initialized heads (torchvision ViT) or last BatchNorm of each residual block (timm),
    layer scales of 1e-6 (ConvNeXt, CaiT), BatchNorm at identity statistics. Every floating parameter
    whose values are all equal becomes that value (0 if it is below 0.1 in magnitude) plus N(0, 0.1^2)
    noise; BatchNorm running statistics become random (variance in [0.5, 1.5])."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.is_floating_point() and p.numel() > 1 and bool((p == p.reshape(-1)[0]).all()):
                c = float(p.reshape(-1)[0])
                base = c if abs(c) >= 0.1 else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model


# -- one capture per model and test session ---------------------------------------------------------------

T = TypeVar("T")


def reused(make: Callable[[str], T], keep: Collection[str] | None = None) -> Callable[[str], T]:
    """`make(name)`, kept for later calls with the same name (every name, or only those of `keep`): the body
    of a module fixture that captures each model once for all the tests that look at it."""
    kept: dict[str, T] = {}

    def get(name: str) -> T:
        if name not in kept:
            made = make(name)
            if keep is not None and name not in keep:
                return made
            kept[name] = made
        return kept[name]

    return get


def same_worker(group: str) -> pytest.MarkDecorator:
    """Under pytest-xdist (--dist loadgroup) the tests of one group run in one worker, one after another: a
    model `reused` by them is captured once."""
    return pytest.mark.xdist_group(group)


def per_model(names: Sequence[str], prefix: str, only: Collection[str] | None = None) -> list[Any]:
    """`names` as test parameters, each (or each of `only`) in its own group `prefix/name` (`same_worker`)."""
    return [pytest.param(n, marks=same_worker(f"{prefix}/{n}")) if only is None or n in only else n for n in names]


# -- running ------------------------------------------------------------------------------------------


def clone_program(prog: Program) -> Program:
    """An independent copy of an (unpruned) program: pruning replaces store entries, never mutates them."""
    return Program(prog.module.clone(), WeightStore(dict(prog.weights.items())), prog.source)


BIG_PROGRAM_BYTES = 256 * 2**20
"""Pruned programs of more weights than this are collected as soon as they are checked (`_release`)."""


def _release(prog: Program) -> None:
    """Drop a pruned program (and its weights) now, before the next prune of a big model. Nothing else holds
    it: passes get the weights from the context of one Program.run (spa_ir/core/context.py). Only big ones:
    a full collection costs 0.05-0.2 s, three per model, and smaller garbage can wait for the collector."""
    if sum(t.numel() * t.element_size() for t in prog.weights.values()) > BIG_PROGRAM_BYTES:
        gc.collect()


def _forward(model: Any, inputs: Sequence[Any]) -> list[torch.Tensor]:
    with torch.no_grad():
        return flat_outputs(model(*inputs))


def _count(store: Any, names: Sequence[str]) -> int:
    return sum(store[n].numel() for n in names if n in store)


class PruneSession:
    """One imported program and its reference outputs; each `prune` works on a fresh clone.

    The frontend-specific parts are hooks: `run_pruned` (the pruned program, emitted and run) and
    `run_masked` (the original model with the plan's slices masked, run). The plan checks, the
    exactness check and the all-groups check are shared by the PyTorch and the ONNX oracle.
    """

    name: str
    program: Program
    want: list[torch.Tensor]
    import_seconds: float
    param_names: list[str]
    """The weights counted as parameters (before/after) in the reports."""
    shapes: dict[str, tuple[int, ...]]

    def _start(self, program: Program) -> None:
        """Record the program and its weight shapes; the reference outputs (`want`) must be set."""
        for i, w in enumerate(self.want):
            if w.is_floating_point() and w.numel() > 1:
                assert float(w.max() - w.min()) > 0, (
                    f"{self.name}: output {i} is constant, the oracle would see nothing"
                )
        self.program = program
        self.shapes = {n: tuple(t.shape) for n, t in program.weights.items()}

    def run_pruned(self, prog: Program) -> list[torch.Tensor]:
        raise NotImplementedError

    def run_masked(self, plan_params: dict[str, dict[str, list[int]]]) -> list[torch.Tensor]:
        raise NotImplementedError

    def prune(
        self, ratio: float, only_exact: bool, criterion: str = "random", seed: int = 1
    ) -> tuple[Program, dict[str, Any], RunReport]:
        prog = clone_program(self.program)
        report = RunReport(self.name, ratio, only_exact, seconds={"import": round(self.import_seconds, 3)})
        t0 = time.perf_counter()
        plan = api.prune_program(prog, ratio=ratio, criterion=criterion, seed=seed, only_exact=only_exact).to_json()
        report.seconds["prune"] = round(time.perf_counter() - t0, 3)
        groups = plan["groups"]
        report.groups = len(groups)
        report.frozen = sum(1 for g in groups if g["frozen"])
        report.inexact = sum(1 for g in groups if not g["exact"])
        for g in groups:
            for r in g["frozen"]:
                key = f"{r['kind']}: {r['op']}" if r["kind"] == "no channel rule for op" else r["kind"]
                report.frozen_reasons[key] = report.frozen_reasons.get(key, 0) + 1
        eligible = [g for g in groups if not g["frozen"] and (g["exact"] or not only_exact)]
        report.eligible = len(eligible)
        report.pruned = sum(1 for g in groups if g["removed"])
        try:
            check_plan(self.shapes, prog, plan, eligible, ratio, only_exact)
        except BaseException:
            _release(prog)
            raise
        report.params_before = _count(self.program.weights, self.param_names)
        report.params_after = _count(prog.weights, self.param_names)
        return prog, plan, report

    def _run_timed(self, prog: Program, report: RunReport) -> list[torch.Tensor]:
        try:
            t0 = time.perf_counter()
            got = self.run_pruned(prog)
            report.seconds["pruned_forward"] = round(time.perf_counter() - t0, 3)
        finally:
            _release(prog)
        return got

    def check_exact(self, ratio: float, criterion: str = "random", seed: int = 1, tol: float = TOLERANCE) -> RunReport:
        """only_exact=True: the pruned model computes the masked original, with fewer parameters."""
        prog, plan, report = self.prune(ratio, only_exact=True, criterion=criterion, seed=seed)
        if not any(g["removed"] for g in plan["groups"]):
            _release(prog)
            reasons = ", ".join(
                f"{k} x{v}" for k, v in sorted(report.frozen_reasons.items(), key=lambda kv: -kv[1])[:4]
            )
            raise NothingPruned(
                f"{self.name}: nothing pruned ({report.groups} groups, {report.frozen} frozen, "
                f"{report.inexact} inexact; frozen by: {reasons})"
            )
        got = self._run_timed(prog, report)
        assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in self.want], "pruned output shapes differ"
        logits = plan.get("masked_logits")  # removed experts: -inf router logits (spa_ir/ops/routing.py)
        want = self.run_masked(plan["params"], **({"masked_logits": logits} if logits else {}))
        report.error = max_relative_error(got, want)
        _log(report)
        assert report.params_after < report.params_before, f"parameters did not shrink: {report.summary()}"
        assert report.error < tol, f"pruned != masked original: {report.summary()}"
        return report

    def check_runs(self, ratio: float = 0.5, criterion: str = "random", seed: int = 1) -> RunReport:
        """only_exact=False (every group pruned): output shapes as the original's, finite outputs."""
        prog, _, report = self.prune(ratio, only_exact=False, criterion=criterion, seed=seed)
        got = self._run_timed(prog, report)
        _log(report)
        assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in self.want], "pruned output shapes differ"
        for g in got:
            if g.is_floating_point():
                assert torch.isfinite(g).all(), "pruned model output is not finite"
        return report

    def check_model(self, ratios: Sequence[float] = (0.3, 0.5)) -> list[RunReport]:
        """The full check the zoo tests run: exactness at each ratio, then every group pruned."""
        reports = [self.check_exact(r) for r in ratios]
        reports.append(self.check_runs(max(ratios)))
        return reports


def check_plan(
    shapes: dict[str, tuple[int, ...]],
    prog: Program,
    plan: dict[str, Any],
    eligible: list[dict[str, Any]],
    ratio: float,
    only_exact: bool,
) -> None:
    """The plan removes the right number of channels from exactly the eligible groups, and every weight
    shrank by exactly the indices the plan lists for it (`shapes`: the weights before pruning)."""
    ids = {g["id"] for g in eligible}
    for g in plan["groups"]:
        size, removed = g["size"], g["removed"]
        if g["id"] in ids:
            n = g.get("slices", 1)  # experts' neurons: as many from each expert's slice (spa_ir/ops/routing.py)
            want = size - n * max(size // n - math.floor(ratio * size) // n, 1)
            assert len(removed) == want, f"group {g['id']} (size {size}) lost {len(removed)} channels, expected {want}"
            assert len(set(removed)) == len(removed) and all(0 <= i < size for i in removed), (
                f"group {g['id']}: bad indices"
            )
        else:
            assert not removed, f"group {g['id']} is frozen or inexact (only_exact={only_exact}) but lost channels"
    for name, dims in plan["params"].items():
        assert name in shapes, f"plan names '{name}', not a weight of the imported program"
        new = tuple(prog.weights[name].shape)
        old = shapes[name]
        for d, removed in dims.items():
            d = int(d)
            for idx in removed.values() if isinstance(removed, dict) else [removed]:  # per dim-0 slice, or one set
                assert idx and all(0 <= i < old[d] for i in idx), f"{name}[{d}]: indices out of range"
                assert new[d] == old[d] - len(idx), f"{name}[{d}]: {old[d]} -> {new[d]}, plan removes {len(idx)}"
    for name, old in shapes.items():
        if name in prog.weights and name not in plan["params"]:
            assert tuple(prog.weights[name].shape) == old, (
                f"{name} changed shape {old} -> {tuple(prog.weights[name].shape)} without a plan entry"
            )


class Session(PruneSession):
    """A PyTorch model: imported once (fidelity checked first), its original outputs computed once."""

    def __init__(self, model: torch.nn.Module, inputs: Sequence[Any], name: str, randomize: bool = True):
        self.model = perturb(model.eval()) if randomize else model.eval()
        self.inputs = list(inputs)
        self.name = name
        t0 = time.perf_counter()
        self.want = _forward(self.model, self.inputs)
        t1 = time.perf_counter()
        self.forward_seconds = t1 - t0
        program = api.import_torch(self.model, self.inputs, name)
        self.import_seconds = time.perf_counter() - t1
        self.param_names = [n for n, _ in self.model.named_parameters()]
        self._start(program)
        # Fidelity first: the unpruned program, emitted again, computes what the model computes.
        self.fidelity_error = max_relative_error(_forward(api.to_torch(self.program), self.inputs), self.want)
        assert self.fidelity_error < TOLERANCE, (
            f"{name}: import -> emit differs from the model by {self.fidelity_error:.2e}"
        )

    def run_pruned(self, prog: Program) -> list[torch.Tensor]:
        return _forward(api.to_torch(prog), self.inputs)

    def run_masked(
        self, plan_params: dict[str, dict[str, list[int]]], masked_logits: dict[str, list[int]] | None = None
    ) -> list[torch.Tensor]:
        with masked(self.model, plan_params, masked_logits=masked_logits) as m:
            return _forward(m, self.inputs)

    def check_applied(
        self, ratio: float = 0.5, criterion: str = "random", seed: int = 1, tol: float = TOLERANCE
    ) -> tuple[torch.nn.Module, Program, AppliedPlan, RunReport]:
        """apply_plan's result: a copy of the user's model, sliced by an only_exact plan, computes the masked
        original, holds the pruned program's parameters (names and shapes) and layers whose attributes build
        the tensors they hold (`rebuilt_mismatches`). Returns the applied model, the pruned program, what
        apply_plan did and the report."""
        prog, plan, report = self.prune(ratio, only_exact=True, criterion=criterion, seed=seed)
        assert prog.plan is not None
        model = copy.deepcopy(self.model)
        applied = api.apply_plan(model, prog.plan, example_inputs=self.inputs)
        assert applied.verified is not None, "apply_plan did not compare an exact plan with the masked original"
        got = _forward(model, self.inputs)
        report.error = max_relative_error(got, self.run_masked(plan["params"]))
        assert report.error < tol, f"apply_plan's model != masked original: {report.summary()}"
        assert_same_parameters(model, prog)
        assert not rebuilt_mismatches(model), f"{self.name}: layers whose attributes do not fit their tensors"
        return model, prog, applied, report


def assert_same_parameters(model: torch.nn.Module, prog: Program) -> None:
    """Every parameter of the applied model has the pruned program's shape under the same name."""
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters() if n in prog.weights}  # unread ones: not in it
    want = {n: tuple(prog.weights[n].shape) for n in shapes if n in prog.weights}
    assert want == shapes, f"applied != pruned program: {set(shapes.items()) ^ set(want.items())}"


def _rebuild(m: torch.nn.Module) -> torch.nn.Module | None:
    """A fresh layer of `m`'s class built from `m`'s attributes only (None: not a layer this check knows)."""
    nn = torch.nn
    if isinstance(m, nn.modules.conv._ConvNd):
        return type(m)(m.in_channels, m.out_channels, m.kernel_size, groups=m.groups, bias=m.bias is not None)
    if isinstance(m, nn.Linear):
        return nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
    if isinstance(m, nn.modules.batchnorm._NormBase):
        return type(m)(m.num_features, affine=m.affine, track_running_stats=m.track_running_stats)
    if isinstance(m, nn.LayerNorm):
        return nn.LayerNorm(m.normalized_shape, elementwise_affine=m.elementwise_affine, bias=m.bias is not None)
    if isinstance(m, nn.GroupNorm):
        return nn.GroupNorm(m.num_groups, m.num_channels, affine=m.affine)
    if isinstance(m, nn.Embedding):
        return nn.Embedding(m.num_embeddings, m.embedding_dim)
    if isinstance(m, nn.LSTM | nn.GRU):
        extra = {"proj_size": m.proj_size} if isinstance(m, nn.LSTM) else {}
        return type(m)(m.input_size, m.hidden_size, m.num_layers, bias=m.bias, bidirectional=m.bidirectional, **extra)
    if isinstance(m, nn.PReLU):
        return nn.PReLU(m.num_parameters)
    if isinstance(m, nn.MultiheadAttention) and m._qkv_same_embed_dim:
        return nn.MultiheadAttention(m.embed_dim, m.num_heads, bias=m.in_proj_bias is not None)
    return None


def _expected_shapes(m: torch.nn.Module) -> dict[str, tuple[int, ...]] | None:
    """The shapes of `m`'s own tensors as its attributes say them: a layer built from them, or for a pruned
    multi-head attention (heads narrower than embed_dim / num_heads) its projections' widths."""
    v_width = getattr(m, "v_head_dim", None)
    if isinstance(m, torch.nn.MultiheadAttention) and v_width is not None:
        rows = m.num_heads * (2 * m.head_dim + v_width)
        assert m.out_proj.in_features == m.num_heads * v_width, f"out_proj reads {m.out_proj.in_features} columns"
        return {"in_proj_weight": (rows, m.embed_dim), "in_proj_bias": (rows,)}
    fresh = _rebuild(m)
    if fresh is None:
        return None
    return {n: tuple(t.shape) for n, t in [*fresh.named_parameters(recurse=False), *fresh.named_buffers(recurse=False)]}


def rebuilt_mismatches(model: torch.nn.Module) -> list[str]:
    """The layers whose own tensors have other shapes than their attributes say (`_expected_shapes`)."""
    bad = []
    for path, m in model.named_modules():
        theirs = _expected_shapes(m)
        if theirs is None:
            continue
        mine = {n: tuple(t.shape) for n, t in [*m.named_parameters(recurse=False), *m.named_buffers(recurse=False)]}
        if any(theirs[n] != shape for n, shape in mine.items() if n in theirs):
            bad.append(f"{path} ({type(m).__name__}): {mine} vs {theirs}")
    return bad


def check_exact(
    model: torch.nn.Module, inputs: Sequence[Any], name: str = "model", ratio: float = 0.5, **kw: Any
) -> RunReport:
    return Session(model, inputs, name).check_exact(ratio, **kw)


def check_runs_all_groups(
    model: torch.nn.Module, inputs: Sequence[Any], name: str = "model", ratio: float = 0.5
) -> RunReport:
    return Session(model, inputs, name).check_runs(ratio)


def check_model(
    model: torch.nn.Module, inputs: Sequence[Any], name: str, ratios: Sequence[float] = (0.3, 0.5)
) -> list[RunReport]:
    """The full check the zoo tests run: exactness at each ratio, then every group pruned."""
    return Session(model, inputs, name).check_model(ratios)
