"""`device=` (spa-opt's --device): calibration and OBSPA compensation run the model on that device. Here on the CPU
(the same plan and tensors as a run without the option, and the masked original with them), a CUDA device asked for
where there is none (a one-line error before any pass, the program untouched), unknown names; on a machine with CUDA
the same test file checks that a CUDA run gives the CPU run's plan."""

from __future__ import annotations

import pytest
import torch
from oracle import trained_on
from torch import nn

import spa_ir
from spa_ir import api
from spa_ir.calibration.device import resolve_device
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.verify import masked

CUDA = torch.cuda.is_available()


class PositionNet(nn.Module):
    """conv-BN-ReLU twice, a position ramp made where the input is (the captured graph names a device), linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 6 * 6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.b1(self.c1(x)))
        x = x + 0.1 * torch.arange(x.shape[-1], dtype=x.dtype, device=x.device)
        return self.fc(torch.relu(self.b2(self.c2(x))).flatten(1))


@pytest.fixture(scope="module")
def net() -> tuple[PositionNet, torch.Tensor]:
    torch.manual_seed(0)
    data = torch.randn(96, 3, 6, 6) * 0.8 + 0.3
    return trained_on(PositionNet(), data), data


def _pruned(model: nn.Module, data: torch.Tensor, device: str | None) -> tuple[Plan, Program]:
    prog = api.import_torch(model, [data[:1]])
    plan = api.prune_program(prog, data[:64], ratio=0.5, criterion="obspa", device=device)
    return plan, prog


def _plan_params(plan: Plan) -> dict[str, dict[str, list[int]]]:
    return {k: {str(d): v for d, v in dims.items()} for k, dims in plan.params.items()}


def _matches_masked_original(model: nn.Module, plan: Plan, prog: Program, test: torch.Tensor) -> float:
    gm = api.to_torch(prog)
    with torch.no_grad(), masked(model, _plan_params(plan), plan.tensors) as reference:
        want = reference(test)
        got = torch.cat([gm(test[i : i + 1]) for i in range(len(test))])
    return float((got - want).norm() / want.norm())


@pytest.fixture(scope="module")
def on_cpu(net: tuple[PositionNet, torch.Tensor]) -> tuple[Plan, Program]:
    return _pruned(*net, None)


def test_cpu_device_gives_the_default_run(net: tuple[PositionNet, torch.Tensor], on_cpu: tuple[Plan, Program]) -> None:
    model, data = net
    plan, prog = _pruned(model, data, "cpu")
    default, _ = on_cpu
    c = plan.compensation
    assert c is not None and c["source"] == "data" and int(c["refitted"]) >= 2
    assert plan.params == default.params and set(plan.tensors) == set(default.tensors)
    assert all(torch.equal(plan.tensors[n], default.tensors[n]) for n in plan.tensors)
    assert all(t.device.type == "cpu" for t in plan.tensors.values())
    assert all(prog.weights[n].device.type == "cpu" for n in prog.external_weight_names())
    assert _matches_masked_original(model, plan, prog, data[64:]) < 1e-5


@pytest.mark.skipif(CUDA, reason="this machine has CUDA: test_cuda_gives_the_cpu_plan runs instead")
def test_cuda_without_cuda_is_a_one_line_error(net: tuple[PositionNet, torch.Tensor]) -> None:
    model, data = net
    prog = api.import_torch(model, [data[:1]])
    before = prog.text()
    with pytest.raises(SpaError, match=r"^device=: 'cuda' asked, but CUDA is not available here") as e:
        api.prune_program(prog, data[:64], ratio=0.5, criterion="obspa", device="cuda")
    assert "\n" not in str(e.value)
    assert prog.plan is None and prog.text() == before  # no pass ran


@pytest.mark.skipif(not CUDA, reason="no CUDA here")
def test_cuda_gives_the_cpu_plan(net: tuple[PositionNet, torch.Tensor], on_cpu: tuple[Plan, Program]) -> None:
    model, data = net
    plan, prog = _pruned(model, data, "cuda")
    default, _ = on_cpu
    assert plan.params == default.params and set(plan.tensors) == set(default.tensors)
    for n, t in plan.tensors.items():
        assert t.device.type == "cpu" and torch.allclose(t, default.tensors[n], rtol=1e-4, atol=1e-6), n
    assert _matches_masked_original(model, plan, prog, data[64:]) < 1e-5


def test_unknown_devices_are_errors(net: tuple[PositionNet, torch.Tensor]) -> None:
    assert resolve_device(None) == resolve_device("cpu") == torch.device("cpu")
    for name in ("tpu", "cuda:x", "cpu:0:1", "gpu"):
        with pytest.raises(SpaError, match=rf"^--device: unknown device '{name}' \(known: cpu, cuda, cuda:N\)$"):
            resolve_device(name)
    model, data = net
    with pytest.raises(SpaError, match=r"^device=: unknown device 'tpu'"):
        spa_ir.prune(model, data[:1], ratio=0.5, device="tpu")  # the one call hands it through
