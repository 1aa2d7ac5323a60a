"""OBSPA: the OBS algebra against closed forms, and compensated models against the masked original with the
plan's tensors written in (PyTorch and ONNX, new biases included), batch norms re-estimated to the statistics they
target, sequential selection, iterative steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from models_extra import CompensatedNet as Net
from oracle import trained_on
from torch import nn

from spa_ir import api
from spa_ir.compensation import obs
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.verify import masked, masked_onnx

# ----------------------------------------------------------------------------------------------- the algebra


def _data(n: int = 400, f: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(f, f, generator=g, dtype=torch.float64)
    x = torch.randn(n, f, generator=g, dtype=torch.float64) @ mix + torch.linspace(-1, 2, f, dtype=torch.float64)
    w = torch.randn(3, f + 1, generator=g, dtype=torch.float64)
    return x, w


def _augment(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)


@pytest.mark.parametrize("removed", [[0], [2, 4], [1, 3, 5]])
def test_update_is_the_least_squares_optimum_and_never_worse_than_removal(removed: list[int]) -> None:
    x, w = _data()
    xa = _augment(x)
    h = obs.augmented(x.T @ x, x.sum(0), float(x.shape[0]))
    assert torch.allclose(h, xa.T @ xa / x.shape[0])
    refit = obs.update(w, h, torch.tensor(removed), damp=1e-12)
    kept = [i for i in range(xa.shape[1]) if i not in removed]
    optimum = torch.linalg.lstsq(xa[:, kept], xa @ w.T).solution.T  # the closed form, independently
    target = xa @ w.T
    err_refit = (xa @ refit.T - target).pow(2).mean()
    err_optimum = (xa[:, kept] @ optimum.T - target).pow(2).mean()
    plain = w.clone()
    plain[:, removed] = 0
    err_plain = (xa @ plain.T - target).pow(2).mean()
    assert float(err_refit) == pytest.approx(float(err_optimum), rel=1e-8)
    assert err_refit <= err_plain
    assert torch.all(refit[:, removed] == 0)
    # the saliency of a single channel is the loss its refit leaves
    if len(removed) == 1:
        sal = obs.saliencies(w, obs.damped(h, 1e-12), torch.tensor([removed]))
        assert float(sal[0]) == pytest.approx(obs.loss(w, refit, h), rel=1e-6)


def test_a_copied_feature_is_absorbed_and_a_constant_one_goes_into_the_bias() -> None:
    x, w = _data(f=4)
    x = torch.cat([x, 3 * x[:, :1], torch.full((x.shape[0], 1), 2.5, dtype=x.dtype)], dim=1)  # 4 = 3·x0, 5 = 2.5
    w = torch.cat([w[:, :4], torch.tensor([[1.0], [-2.0], [0.5]], dtype=x.dtype), w[:, 4:5] * 0 + 0.7, w[:, 4:]], 1)
    h = obs.augmented(x.T @ x, x.sum(0), float(x.shape[0]))
    refit = obs.update(w, h, torch.tensor([4, 5]), damp=1e-12)
    xa = _augment(x)
    assert torch.allclose(xa @ refit.T, xa @ w.T, atol=1e-8)
    assert torch.allclose(refit[:, 0], w[:, 0] + 3 * w[:, 4], atol=1e-8)
    assert torch.allclose(refit[:, -1], w[:, -1] + 2.5 * w[:, 5], atol=1e-8)


def test_greedy_takes_the_free_channels_first() -> None:
    x, w = _data(f=5)
    x = torch.cat([x, 2 * x[:, 1:2]], dim=1)  # channel 5 = 2·channel 1: one of the two is free
    w = torch.cat([w[:, :5], w[:, 1:2], w[:, 5:]], dim=1)
    h = obs.damped(obs.augmented(x.T @ x, x.sum(0), float(x.shape[0])), 1e-10)
    order = obs.greedy([w], [h], [[torch.tensor([i]) for i in range(6)]], 2)
    assert order[0] in (1, 5)
    assert order[1] not in (1, 5)  # once one is gone, its double is not free any more


# ----------------------------------------------------------------------------------------- end to end, torch


class Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c2(torch.relu(self.c1(x)))


def test_a_refitted_conv_reaches_the_least_squares_optimum_on_the_calibration_data() -> None:
    torch.manual_seed(0)
    model = Pair().eval()
    calib = torch.randn(32, 3, 5, 5)
    prog = api.import_torch(model, [calib[:1]])
    plan = api.prune_program(prog, ratio=0.5, criterion="l1", compensate="obspa", damp=1e-10, calib=calib)
    gone = plan.params["c1.weight"][0]
    kept = [c for c in range(8) if c not in gone]
    with torch.no_grad():
        x = torch.relu(model.c1(calib))
        target = model.c2(x)  # the original consumer's output
        patches = nn.functional.unfold(x[:, kept].double(), 3, padding=1).transpose(1, 2).reshape(-1, len(kept) * 9)
        design = torch.cat([patches, torch.ones(patches.shape[0], 1, dtype=torch.float64)], dim=1)
        rows = target.double().permute(0, 2, 3, 1).reshape(-1, 4)
        optimum = torch.linalg.lstsq(design, rows).solution  # [F+1, O]
        best = (design @ optimum - rows).pow(2).mean()
        got = (_run(api.to_torch(prog), calib).double().permute(0, 2, 3, 1).reshape(-1, 4) - rows).pow(2).mean()
        with masked(model, _plan_params(plan)) as plain:
            removed = (plain(calib).double().permute(0, 2, 3, 1).reshape(-1, 4) - rows).pow(2).mean()
    assert float(got) == pytest.approx(float(best), rel=1e-4)
    assert got < removed


def _model(seed: int = 0) -> tuple[Net, torch.Tensor]:
    torch.manual_seed(seed)
    data = torch.randn(320, 3, 6, 6) * 0.8 + 0.3
    return trained_on(Net(), data), data


def _plan_params(plan: Plan) -> dict[str, dict[str, list[int]]]:
    return {k: {str(d): v for d, v in dims.items()} for k, dims in plan.params.items()}


def _run(gm: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([gm(x[i : i + 1]) for i in range(len(x))])


def _pruned(model: nn.Module, data: torch.Tensor, **options: Any) -> tuple[Plan, torch.nn.Module]:
    prog = api.import_torch(model, [data[:1]])
    plan = api.prune_program(prog, **options)
    return plan, api.to_torch(prog)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def net() -> tuple[Net, torch.Tensor]:
    return _model()


def test_compensated_model_is_the_masked_original_with_the_plan_tensors(net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    plan, gm = _pruned(model, data, ratio=0.5, criterion="obspa", calib=data[:256])
    c = plan.compensation
    assert c is not None and c["source"] == "data" and c["refitted"] == 3 and c["norms"] == 1
    assert "c3.bias" in plan.tensors and "c3.bias" in plan.params  # created, then sliced with c3's outputs
    assert {"c2.weight", "c3.weight", "fc.weight", "b2.running_mean", "b2.running_var"} <= set(plan.tensors)
    test = data[256:]
    with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
        want = reference(test)
    assert model.c3.bias is None  # restored
    assert _relative(_run(gm, test), want) < 1e-5
    # and compensation is worth it: closer to the original than plain removal of the same channels
    with torch.no_grad():
        full = model(test)
        without_new = {k: v for k, v in _plan_params(plan).items() if k != "c3.bias"}
        with masked(model, without_new) as plain:
            removed_only = plain(test)
    assert _relative(want, full) < 0.9 * _relative(removed_only, full)  # random weights: little redundancy


def test_every_backend_emits_the_compensated_model(tmp_path: Path, net: tuple[Net, torch.Tensor]) -> None:
    """.pt2 (matches the masked original with the plan's tensors) and torch-mlir text (torch-mlir parses it, the
    created bias included)."""
    from spa_ir.backends.export import save_pt2
    from spa_ir.backends.torch_mlir import to_text

    model, data = net
    prog = api.import_torch(model, [data[:1]])
    plan = api.prune_program(prog, ratio=0.5, criterion="obspa", calib=data[:256])
    save_pt2(prog, tmp_path / "p.pt2")
    loaded = torch.export.load(str(tmp_path / "p.pt2")).module()
    x = data[300:301]
    with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
        assert _relative(loaded(x), reference(x)) < 1e-5
    text = to_text(prog)
    assert "dense_resource<c3.bias>" in text and "dense_resource<fc.bias>" in text  # the created biases


def test_batch_norms_are_reestimated_to_the_statistics_of_their_new_input(net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    calib = data[:256]
    plan, _ = _pruned(model, data, ratio=0.5, criterion="obspa", calib=calib)
    seen: list[torch.Tensor] = []
    with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
        hook = reference.b2.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
        reference(calib)
        hook.remove()
    x = seen[0].double()
    kept = [i for i in range(12) if i not in plan.params["b2.running_mean"][0]]
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
    assert torch.allclose(plan.tensors["b2.running_mean"].double()[kept], mean[kept], atol=1e-5)
    assert torch.allclose(plan.tensors["b2.running_var"].double()[kept], var[kept], rtol=1e-4)


def test_order_original_and_sequential(net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    calib, test = data[:256], data[256:]
    with torch.no_grad():
        full = model(test)
    errors = {}
    for name, options in {
        "prefix": {},
        "original": {"order": "original"},
        "sequential": {"sequential": True},
    }.items():
        plan, gm = _pruned(model, data, ratio=0.5, criterion="obspa", calib=calib, **options)
        with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
            want = reference(test)
        assert _relative(_run(gm, test), want) < 1e-5, name
        errors[name] = _relative(want, full)
        if name == "sequential":
            assert plan.compensation is not None and plan.compensation["sequential"] == 1
    assert errors["prefix"] <= errors["original"] * 1.05  # fitting on what a layer will see is not worse


def test_data_free_sources(net: tuple[Net, torch.Tensor]) -> None:
    """synthetic (the default without data) and stats: exact against the masked original with their tensors, and
    closer to the original than plain removal of the same channels."""
    model, data = net
    test = data[256:]
    with torch.no_grad():
        full = model(test)
    for source in ("auto", "stats"):
        plan, gm = _pruned(model, data, ratio=0.5, criterion="obspa", source=source)
        c = plan.compensation
        assert c is not None and c["source"] == ("synthetic" if source == "auto" else "stats"), c
        assert c["refitted"] >= 2 and c["norms"] >= 1
        with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
            want = reference(test)
        assert _relative(_run(gm, test), want) < 1e-5
        plain_params = {
            k: v
            for k, v in _plan_params(plan).items()
            if k in dict(model.named_parameters()) | dict(model.named_buffers())
        }
        with torch.no_grad(), masked(model, plain_params) as plain:
            removed_only = plain(test)
        assert _relative(want, full) < _relative(removed_only, full), source


def test_stats_correct_the_batch_norm_variance_analytically(net: tuple[Net, torch.Tensor]) -> None:
    """c2 loses inputs; b2 (right after it) keeps 1 - Σ_r W[o, r]² σ_r² / Σ_f W[o, f]² σ_f² of its running
    variance, σ² from the BN-ReLU before."""
    from spa_ir.compensation.moments import consumer_input_moments

    model, data = net
    plan, _ = _pruned(model, data, ratio=0.5, criterion="l1", compensate="obspa", source="stats")
    gone = plan.params["b1.weight"][0]
    # the variance of each c1 channel after b1 and the ReLU, from the moments module on the original model
    prog = api.import_torch(model, [data[:1]])
    from spa_ir.compensation.consumers import emit
    from spa_ir.compensation.moments import meta_inputs

    graph = emit(prog.module, prog.weights)
    moments = consumer_input_moments(graph.gm, graph.tensors, graph.sites, example_inputs=meta_inputs(prog.module))
    var = moments.derived["c2.weight"].var
    w = model.c2.weight.detach().double()
    share = (w[:, gone].pow(2).sum((2, 3)) * var[gone]).sum(1) / (w.pow(2).sum((2, 3)) * var).sum(1)
    want = (model.b2.running_var.double() * (1 - share)).clamp(min=model.b2.eps)
    kept = [o for o in range(12) if o not in plan.params["b2.weight"][0]]
    assert torch.allclose(plan.tensors["b2.running_var"].double()[kept], want[kept], rtol=1e-5)


def test_identity_changes_nothing_and_compensate_none_is_plain_removal(net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    plan, _ = _pruned(model, data, ratio=0.5, criterion="obspa", source="identity")
    assert plan.tensors == {} and plan.compensation is not None and plan.compensation["refitted"] == 0
    plan, _ = _pruned(model, data, ratio=0.5, criterion="obspa", source="identity", compensate="none")
    assert plan.compensation is None


def test_steps_lift_the_tensors_into_the_original_indexing(net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    plan, gm = _pruned(model, data, keep_flops=0.5, steps=2, criterion="obspa", calib=data[:256])
    assert plan.tensors["c2.weight"].shape == model.c2.weight.shape
    test = data[256:]
    with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
        want = reference(test)
    assert _relative(_run(gm, test), want) < 1e-5


def test_plan_tensors_travel_beside_the_plan(tmp_path: Path, net: tuple[Net, torch.Tensor]) -> None:
    model, data = net
    plan, _ = _pruned(model, data, ratio=0.5, criterion="obspa", calib=data[:256])
    plan.save(tmp_path / "plan.json")
    assert (tmp_path / "plan.safetensors").exists()
    back = Plan.load(tmp_path / "plan.json")
    assert set(back.tensors) == set(plan.tensors)
    assert all(torch.equal(back.tensors[n], t) for n, t in plan.tensors.items())
    assert json.loads((tmp_path / "plan.json").read_text())["compensation"]["source"] == "data"
    Plan(plan.params, plan.groups).save(tmp_path / "plan.json")  # a plan without tensors removes a stale file
    assert not (tmp_path / "plan.safetensors").exists()


def test_errors_name_the_option() -> None:
    model, data = _model()
    for options, message in [
        ({"source": "guess"}, "unknown source 'guess'"),
        ({"order": "backwards", "source": "identity"}, "unknown order 'backwards'"),
        ({"source": "data"}, "source=data needs calibration data"),
    ]:
        with pytest.raises(SpaError, match=message):
            _pruned(model, data, ratio=0.5, criterion="obspa", **options)


# ------------------------------------------------------------------------------------------ end to end, ONNX


class Mlp(nn.Module):
    """MatMul without bias (an ONNX MatMul: the refit adds `<node>.spa_bias` and an Add), Gemm, conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.l1 = nn.Linear(8, 16, bias=False)
        self.l2 = nn.Linear(16, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x)).mean((2, 3))
        return self.l2(torch.relu(self.l1(h)) + 0.5)


def test_onnx_compensation_adds_named_biases_and_matches_the_masked_original(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Mlp().eval()
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 8, 8),), str(path), dynamo=False, input_names=["x"])
    prog = api.import_onnx(path)
    calib = torch.randn(48, 3, 8, 8)
    plan = api.prune_program(prog, ratio=0.5, criterion="obspa", calib=calib)
    created = [n for n in plan.tensors if n.endswith(".spa_bias")]
    assert created, plan.tensors.keys()
    original = onnx.load(str(path))
    reference = ort.InferenceSession(
        masked_onnx(original, _plan_params(plan), plan.tensors).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    out = tmp_path / "p.onnx"
    prog.save(tmp_path / "p.mlir")
    from spa_ir.backends.export import save_onnx

    save_onnx(prog, out)
    pruned = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    want = reference.run(None, {"x": x})[0]
    got = pruned.run(None, {pruned.get_inputs()[0].name: x})[0]
    assert np.abs(got - want).max() / np.abs(want).max() < 1e-5
