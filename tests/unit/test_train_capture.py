"""Training-mode capture (`api.import_torch(..., train=True)`, `spa-translate --train`): what runs only in
training (GoogLeNet / Inception v3 aux heads) is in the IR and pruned consistently.

The oracle is tests/unit/oracle.py's, in training mode: the reference and the masked original run the model in
train mode with dropout p=0 (batch-statistic batch norms; every forward starts from the captured running
statistics). The emitted module of a training capture normalizes by batch statistics and updates its own running
statistics as nn.BatchNorm does: checked against torch's train-mode BatchNorm (resnet18), pruned and unpruned.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from oracle import TOLERANCE, PruneSession, perturb, same_worker
from zoo import flat_outputs, informative, max_relative_error

from spa_ir import api
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program
from spa_ir.verify import masked

LIT_INPUTS = Path(__file__).resolve().parents[1] / "lit" / "Inputs"


def _running_stats(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: b for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))}


@contextlib.contextmanager
def _stats_kept(model: torch.nn.Module) -> Iterator[None]:
    """Run a train-mode forward without moving the model's running statistics (every run starts alike)."""
    saved = {n: b.clone() for n, b in _running_stats(model).items()}
    try:
        yield
    finally:
        with torch.no_grad():
            for n, b in _running_stats(model).items():
                b.copy_(saved[n])


def _no_dropout(model: torch.nn.Module) -> torch.nn.Module:
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    return model


def _train_forward(model: torch.nn.Module, inputs: Sequence[Any]) -> list[torch.Tensor]:
    with torch.no_grad(), _stats_kept(model):
        return flat_outputs(model.train()(*inputs))


class TrainSession(PruneSession):
    """oracle.Session in training mode: the model captured with train=True, its reference outputs, the fidelity
    check and the masked original run in train mode. `fidelity=False` leaves out the unpruned emission's check
    (one forward of a big model; the pruned emission is checked against the masked original all the same)."""

    def __init__(self, model: torch.nn.Module, inputs: Sequence[Any], name: str, fidelity: bool = True):
        self.model = perturb(model).train()
        self.inputs = list(inputs)
        self.name = name
        self.want = _train_forward(self.model, self.inputs)
        self.import_seconds = 0.0
        program = api.import_torch(self.model, self.inputs, name, train=True)
        self.param_names = [n for n, _ in self.model.named_parameters()]
        self._start(program)
        self.last: tuple[Program, dict[str, Any]] | None = None
        if not fidelity:
            return
        got = _train_forward(api.to_torch(self.program), self.inputs)
        self.fidelity_error = max_relative_error(got, self.want)
        assert self.fidelity_error < TOLERANCE, f"{name}: import -> emit differs by {self.fidelity_error:.2e}"

    def prune(self, ratio: float, only_exact: bool, criterion: str = "random", seed: int = 1) -> Any:
        prog, plan, report = super().prune(ratio, only_exact, criterion, seed)
        self.last = (prog, plan)
        return prog, plan, report

    def run_pruned(self, prog: Program) -> list[torch.Tensor]:
        return _train_forward(api.to_torch(prog), self.inputs)

    def run_masked(self, plan_params: dict[str, dict[str, list[int]]]) -> list[torch.Tensor]:
        with masked(self.model, plan_params) as m:
            return _train_forward(m, self.inputs)


def _build(name: str) -> torch.nn.Module:
    """torchvision's model with its aux heads, random weights, dropout p=0 (deterministic outputs)."""
    torch.manual_seed(0)
    kwargs: dict[str, Any] = {"aux_logits": True, "init_weights": False, "dropout": 0.0}
    if name == "googlenet":
        kwargs["dropout_aux"] = 0.0
    return informative(torchvision.models.get_model(name, weights=None, **kwargs))


# Inception v3's aux head needs 17x17 features at Mixed_6e (a 5x5 conv after a 5x5/3 pool): 299 is its least
# input size. Batch 2: batch statistics of the heads' 1x1 features need two values per channel.
AUX = {"googlenet": (64, ("aux1.", "aux2.")), "inception_v3": (299, ("AuxLogits.",))}


@pytest.mark.parametrize("name", [pytest.param(n, marks=same_worker(f"train/{n}")) for n in AUX])
def test_aux_heads_captured_and_pruned(name: str) -> None:
    size, prefixes = AUX[name]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    session = TrainSession(_build(name), [x], name, fidelity=name == "googlenet")
    assert len(session.want) == 1 + len(prefixes), "train mode returns the logits and every aux head's"
    assert any(n.startswith(prefixes) for n in session.program.weights.keys()), "the aux heads are in the IR"

    report = session.check_exact(0.5)
    assert session.last is not None
    prog, plan = session.last
    pruned_aux = sorted(n for n in plan["params"] if n.startswith(prefixes))
    assert any(n.endswith("fc1.weight") or n.endswith("conv.weight") for n in pruned_aux), pruned_aux
    assert report.pruned > 0.8 * report.groups, report.summary()
    print(report.summary(), "frozen:", report.frozen_reasons)
    if name != "googlenet":
        return
    # The plan back in the user's own GoogLeNet: in train mode it returns the aux logits, equal to the pruned
    # emitted module's, and its batch norms' running statistics move as the emitted module's do.
    user = copy.deepcopy(session.model)
    assert prog.plan is not None
    api.apply_plan(user, prog.plan)
    emitted = api.to_torch(prog)
    before = {n: b.clone() for n, b in _running_stats(user).items()}
    with torch.no_grad():
        got, want = flat_outputs(user.train()(x)), flat_outputs(emitted(x))
    assert [tuple(t.shape) for t in got] == [(2, 1000)] * 3
    assert max_relative_error(got, want) < TOLERANCE
    moved = _running_stats(emitted)
    for n, b in _running_stats(user).items():
        assert b.shape == moved[n].shape and not torch.equal(b, before[n]), n
        torch.testing.assert_close(b, moved[n], rtol=1e-4, atol=1e-5)


def _resnet18() -> torch.nn.Module:
    torch.manual_seed(0)
    return perturb(informative(torchvision.models.resnet18(weights=None, num_classes=10)))


def test_batch_statistics_resnet18() -> None:
    """A training capture normalizes by batch statistics and updates its running statistics (momentum,
    unbiased variance) as torch's train-mode BatchNorm: unpruned, and pruned against the masked original."""
    model = _resnet18()
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    program = api.import_torch(model, [x], "resnet18", train=True)
    initial = {n: b.clone() for n, b in _running_stats(model).items()}
    emitted = api.to_torch(program)
    with torch.no_grad():
        eval_out = model.eval()(x)
        want, got = model.train()(x), emitted(x)
    assert max_relative_error([got], [want]) < TOLERANCE
    assert max_relative_error([eval_out], [want]) > 1e-2, "batch statistics, not running ones"
    moved = _running_stats(emitted)
    for n, b in _running_stats(model).items():
        assert not torch.equal(b, initial[n]), n
        torch.testing.assert_close(moved[n], b, rtol=1e-5, atol=1e-6)
        assert torch.equal(program.weights[n], initial[n]), f"{n}: the Program's statistics moved"
    assert torch.equal(_running_stats(api.to_torch(program))["bn1.running_mean"], initial["bn1.running_mean"])

    with torch.no_grad():
        for n, b in _running_stats(model).items():
            b.copy_(initial[n])
    params = api.prune_program(program, ratio=0.5, criterion="random", seed=1, only_exact=True).to_json()["params"]
    pruned = api.to_torch(program)
    with masked(model, params) as m, torch.no_grad():
        want = m.train()(x)
        removed = {n: params.get(n, {}).get("0", []) for n in _running_stats(m)}
        stepped = {n: b.clone() for n, b in _running_stats(m).items()}
    with torch.no_grad():
        got = pruned(x)
    assert max_relative_error([got], [want]) < TOLERANCE
    assert any(removed.values())
    for n, b in _running_stats(pruned).items():
        keep = [i for i in range(stepped[n].shape[0]) if i not in set(removed[n])]
        torch.testing.assert_close(b, stepped[n][keep], rtol=1e-5, atol=1e-6)


class _Dropped(torch.nn.Module):
    def __init__(self, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.bn = torch.nn.BatchNorm2d(8, momentum=momentum)
        self.drop = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.bn(self.conv(x)).mean(dim=(2, 3))))


def test_dropout_is_captured_and_follows_the_rng() -> None:
    """Dropout of a training capture draws as torch's does: the same seed gives the model's output."""
    torch.manual_seed(0)
    model = _Dropped()
    x = torch.randn(4, 3, 8, 8)
    program = api.import_torch(model, [x], "dropped", train=True)
    assert "torch.aten.native_dropout" in program.text()
    emitted = api.to_torch(program)
    outs = []
    for seed in (5, 5, 6):
        torch.manual_seed(seed)
        with torch.no_grad(), _stats_kept(model):
            want = model(x)
        torch.manual_seed(seed)
        with torch.no_grad():
            outs.append(emitted(x))
        assert max_relative_error([outs[-1]], [want]) < TOLERANCE
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    # Fine-tuning the emitted module: its gradients (through batch statistics and dropout) are the model's.
    for m in (model, emitted):
        torch.manual_seed(9)
        with _stats_kept(m):
            m(x).square().sum().backward()
    grads = {n: q.grad for n, q in emitted.named_parameters()}
    for n, q in model.named_parameters():
        assert q.grad is not None and grads[n] is not None
        torch.testing.assert_close(grads[n], q.grad, rtol=1e-4, atol=1e-6)


def test_pt2_exported_in_training_mode(tmp_path: Path) -> None:
    """A .pt2 the user exported in training mode imports as a training capture does (spa-translate --import-pt2)."""
    torch.manual_seed(0)
    model = _no_dropout(_Dropped()).train()
    x = torch.randn(4, 3, 8, 8)
    with _stats_kept(model):
        torch.export.save(torch.export.export(model, (x,), strict=False), tmp_path / "m.pt2")
    emitted = api.to_torch(api.import_pt2(tmp_path / "m.pt2"))
    with torch.no_grad():
        got, want = emitted(x), model(x)
    assert max_relative_error([got], [want]) < TOLERANCE
    moved = _running_stats(emitted)
    for n, b in _running_stats(model).items():
        torch.testing.assert_close(moved[n], b, rtol=1e-5, atol=1e-6)


def test_refusals_are_located() -> None:
    """momentum=None (an average over num_batches_tracked) and buffers other than running statistics written
    by the forward are one-line errors naming the module."""
    with pytest.raises(SpaError, match=r"^m: bn: cannot capture a BatchNorm with momentum=None"):
        api.import_torch(_Dropped(momentum=None), [torch.randn(2, 3, 8, 8)], "m", train=True)

    class Counter(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seen: torch.Tensor
            self.register_buffer("seen", torch.zeros(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.seen.add_(x.sum(0))
            return x * 2

    with pytest.raises(SpaError, match=r"^c: .*the forward writes buffer 'seen'"):
        api.import_torch(Counter(), [torch.randn(2, 3)], "c", train=True)


def test_cli_train_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """spa-translate --train, spa-opt --prune-groups, then the pruned IR emitted: the aux head is returned and
    equals the masked original in train mode."""
    from spa.tools.spa_opt import main as spa_opt
    from spa.tools.spa_translate import main as spa_translate

    monkeypatch.syspath_prepend(str(LIT_INPUTS))
    src, out, plan_path = tmp_path / "m.mlir", tmp_path / "p.mlir", tmp_path / "plan.json"
    spec = ["--import-torch", "tiny_models:aux_head", "--input-shape", "2,3,8,8", "--seed", "3"]
    assert spa_translate([*spec, "--train", "-o", str(src)]) == 0
    prune = "--prune-groups=ratio=0.5 criterion=random only-exact=true"
    assert spa_opt([str(src), prune, "--plan", str(plan_path), "-o", str(out)]) == 0
    params = json.loads(plan_path.read_text())["params"]
    assert params["aux.weight"].keys() == {"1"} and "conv1.weight" in params, "the aux head lost conv1's channels"
    # The model's dropout (p=0.2) draws masks of the pruned width in one and the full width in the other: the
    # oracle fixes p=0 in both.
    model = _no_dropout(api.build_model("tiny_models:aux_head", 3))
    emitted = api.to_torch(api.load(str(out)))
    drops = [n for n in emitted.graph.nodes if n.target is torch.ops.aten.native_dropout.default]
    assert len(drops) == 1 and drops[0].args[1] == pytest.approx(0.2)
    drops[0].args = (drops[0].args[0], 0.0, *drops[0].args[2:])
    emitted.recompile()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = flat_outputs(emitted(x))
    with masked(model, params) as m:
        want = _train_forward(m, [x])
    assert [tuple(t.shape) for t in got] == [(2, 2), (2, 3)]
    assert max_relative_error(got, want) < TOLERANCE


def test_calibrated_obspa_on_a_training_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calibration runs a training capture's batch norms on batch statistics without touching the running ones,
    per sample under vmap (a batch-1 capture): OBSPA's refit then equals the masked original with its tensors."""
    monkeypatch.syspath_prepend(str(LIT_INPUTS))
    model = api.build_model("tiny_models:aux_head", 0)
    _no_dropout(model)
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    program = api.import_torch(model, [x], "aux_head", train=True)
    calib = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    plan = api.prune_program(
        program, calib, calib_batch=4, loss="output-norm", criterion="obspa", ratio=0.5, only_exact=True
    )
    assert plan.tensors and plan.params, "something refitted and pruned"
    with torch.no_grad():
        got = flat_outputs(api.to_torch(program)(x))
    with masked(model, plan.to_json()["params"], plan.tensors) as m:
        want = _train_forward(m, [x])
    assert max_relative_error(got, want) < TOLERANCE
