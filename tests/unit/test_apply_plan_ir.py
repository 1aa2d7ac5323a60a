"""`spa-opt --apply-plan` / spa-apply-plan: a saved plan re-applied to an IR.

The references are independent of the pass: the pruning run's own output files (byte for byte), and the masked
original of another checkpoint (spa_ir.verify.masked with the plan's params and tensors, run on the nn.Module).
spa-opt runs in this process (spa.tools.spa_opt.main), as the lit tests run it as a program.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from models_extra import CompensatedNet
from safetensors.torch import load_file, save_file

from spa.tools.spa_opt import main as spa_opt
from spa_ir import api
from spa_ir.core.plan import Plan
from spa_ir.verify import masked

X = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def _seeded(make: type[torch.nn.Module] | object, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = make()  # type: ignore[operator]  # a model class or factory
    for m in model.modules():  # non-trivial running statistics, so the batch norms' slices matter
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _other_checkpoint(model: torch.nn.Module, mlir: Path, out: Path) -> Path:
    """`out` holds `model`'s values of the tensors mlir's weights file holds: the same IR, another checkpoint."""
    names = load_file(str(mlir.with_suffix(".safetensors")))
    state = model.state_dict()
    save_file({n: state[n].contiguous() for n in names}, str(out))
    return out


def _run_ok(*args: str | Path) -> None:
    assert spa_opt([str(a) for a in args]) == 0


def _same_files(a: Path, b: Path) -> None:
    assert a.read_bytes() == b.read_bytes(), (a, b)
    assert a.with_suffix(".safetensors").read_bytes() == b.with_suffix(".safetensors").read_bytes(), (a, b)


@pytest.fixture(scope="module")
def resnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """resnet18 at 32x32 as m.mlir + m.safetensors, and its l1 plan of spa-opt --prune-groups."""
    d = tmp_path_factory.mktemp("resnet")
    api.import_torch(_seeded(torchvision.models.resnet18, 0), [X]).save(d / "m.mlir")
    _run_ok(d / "m.mlir", "--prune-groups=ratio=0.5 criterion=l1", f"--plan={d / 'plan.json'}", "-o", d / "p.mlir")
    return d / "m.mlir", d / "plan.json"


@pytest.fixture(scope="module")
def compensated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The compensation tests' small net and its OBSPA plan (refits, re-estimated statistics, created biases)."""
    d = tmp_path_factory.mktemp("obspa")
    x = torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    api.import_torch(_seeded(CompensatedNet, 0), [x]).save(d / "m.mlir")
    options = "--prune-groups=ratio=0.5 criterion=l1 compensate=obspa source=stats"
    _run_ok(d / "m.mlir", options, f"--plan={d / 'plan.json'}", "-o", d / "p.mlir")
    return d / "m.mlir", d / "plan.json"


def test_same_ir_gives_the_pruning_run_byte_for_byte(resnet: tuple[Path, Path]) -> None:
    mlir, plan = resnet
    d = mlir.parent
    _run_ok(mlir, "--apply-plan", plan, f"--plan={d / 'again_plan.json'}", "-o", d / "again.mlir")
    _same_files(d / "p.mlir", d / "again.mlir")
    assert plan.read_bytes() == (d / "again_plan.json").read_bytes()
    assert Plan.load(plan).architecture is not None


def test_compensated_plan_with_its_tensors_gives_the_pruning_run_byte_for_byte(compensated: tuple[Path, Path]) -> None:
    mlir, plan = compensated
    d = mlir.parent
    tensors = Plan.load(plan).tensors
    assert {"c3.bias", "fc.bias"} <= set(tensors) and plan.with_suffix(".safetensors").exists()  # created biases
    _run_ok(mlir, "--apply-plan", plan, f"--plan={d / 'again_plan.json'}", "-o", d / "again.mlir")
    _same_files(d / "p.mlir", d / "again.mlir")
    assert plan.read_bytes() == (d / "again_plan.json").read_bytes()
    assert plan.with_suffix(".safetensors").read_bytes() == (d / "again_plan.safetensors").read_bytes()


@pytest.mark.parametrize("which", ["resnet", "compensated"])
def test_another_checkpoint_gives_its_masked_original(which: str, request: pytest.FixtureRequest) -> None:
    """The plan on other weights (seed 1) = that model with the plan's tensors written in and its slices zeroed."""
    mlir, plan_path = request.getfixturevalue(which)
    d = mlir.parent
    model = _seeded(torchvision.models.resnet18 if which == "resnet" else CompensatedNet, 1)
    x = X if which == "resnet" else X[:, :, :6, :6]
    weights = _other_checkpoint(model, mlir, d / "other.safetensors")
    _run_ok(mlir, "--weights", weights, "--apply-plan", plan_path, "-o", d / "other_p.mlir")
    plan = Plan.load(plan_path)
    with torch.no_grad(), masked(model, plan.to_json()["params"], plan.tensors) as reference:
        want = reference(x)
    got = api.to_torch(api.load(d / "other_p.mlir"))(x)
    assert not torch.allclose(got, api.to_torch(api.load(d / "p.mlir"))(x), atol=1e-3)  # other weights indeed
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_another_architecture_is_refused_in_one_line(
    resnet: tuple[Path, Path], compensated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (mlir, _), (_, plan) = resnet, compensated
    out = mlir.parent / "refused.mlir"
    capsys.readouterr()
    assert spa_opt([str(mlir), "--apply-plan", str(plan), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    theirs, ours = Plan.load(plan).architecture, Plan.load(resnet[1]).architecture
    assert len(err) == 1 and f"made on architecture {theirs}, this IR is {ours}" in err[0], err
    assert "no weight 'b1.bias' here" in err[0]
    assert not out.exists() and not out.with_suffix(".safetensors").exists()


def test_a_plan_without_architecture_is_applied_with_a_warning(
    compensated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mlir, plan = compensated
    d = mlir.parent
    old = json.loads(plan.read_text())
    del old["architecture"]
    (d / "old.json").write_text(json.dumps(old))
    (d / "old.safetensors").write_bytes(plan.with_suffix(".safetensors").read_bytes())
    capsys.readouterr()
    _run_ok(mlir, "--apply-plan", d / "old.json", "-o", d / "old_p.mlir")
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [f"spa-apply-plan: warning: {d / 'old.json'} records no architecture "
                        "(a plan written before plans did): applied with the slice check only"]  # fmt: skip
    _same_files(d / "p.mlir", d / "old_p.mlir")


def test_slices_no_group_removes_are_refused(
    compensated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan edited by hand (one index of c2's output channels dropped from b2.weight only): the pass names the
    first weight whose slices the IR's groups do not remove, and nothing is written."""
    mlir, plan = compensated
    d = mlir.parent
    bad = json.loads(plan.read_text())
    kept = bad["params"]["b2.weight"]["0"].pop()
    (d / "bad.json").write_text(json.dumps(bad))
    (d / "bad.safetensors").write_bytes(plan.with_suffix(".safetensors").read_bytes())
    capsys.readouterr()
    assert spa_opt([str(mlir), "--apply-plan", str(d / "bad.json"), "-o", str(d / "bad_p.mlir")]) == 1
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "spa-apply-plan:" in err and "of 'b2.bias' dim 0" in err and str(kept) in err, err
    assert not (d / "bad_p.mlir").exists()


def test_without_groups_the_pass_says_what_to_run(
    compensated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mlir, plan = compensated
    capsys.readouterr()
    assert spa_opt([str(mlir), "-p", f'spa-apply-plan{{plan="{plan}"}}', "-o", str(mlir.parent / "x.mlir")]) == 1
    err = capsys.readouterr().err
    assert "run spa-propagate-channels,spa-form-groups first" in err, err


def test_a_plan_named_like_the_model_is_refused_before_it_deletes_the_weights(
    compensated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--plan p.json -o p.mlir`: the plan's p.safetensors is the model's weights file (a plan without tensors would
    remove it after the model was written)."""
    mlir, plan = compensated
    d = mlir.parent
    capsys.readouterr()
    assert spa_opt([str(mlir), "--apply-plan", str(plan), f"--plan={d / 'same.json'}", "-o", str(d / "same.mlir")]) == 1
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "same.safetensors is a model's weights file" in err, err
    assert not (d / "same.mlir").exists() and not (d / "same.safetensors").exists()


def test_experts_and_their_neurons_per_expert_reapply_byte_for_byte(tmp_path: Path) -> None:
    """A Mixture-of-Experts plan (lit's moe.mlir, literal weights): removed experts (the router's rows) and each
    expert's own neurons (`Plan.sliced`, per dim-0 slice) come back exactly."""
    moe = Path(__file__).resolve().parents[1] / "lit" / "Inputs" / "moe.mlir"
    _run_ok(moe, "--prune-groups=ratio=0.5 criterion=l1", f"--plan={tmp_path / 'plan.json'}", "-o", tmp_path / "p.mlir")
    assert Plan.load(tmp_path / "plan.json").sliced, "the plan has per-expert neurons"
    _run_ok(moe, "--apply-plan", tmp_path / "plan.json", f"--plan={tmp_path / 'again.json'}", "-o", tmp_path / "a.mlir")
    assert (tmp_path / "p.mlir").read_bytes() == (tmp_path / "a.mlir").read_bytes()
    assert (tmp_path / "plan.json").read_bytes() == (tmp_path / "again.json").read_bytes()
