"""Group-sparsity regularizers (spa_ir/pruning/regularizers.py) against hand computations on tiny nets, and SGD on the
emitted module (now trainable) shrinking exactly the prunable groups."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from spa_ir import api
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program
from spa_ir.pruning.regularizers import (
    BNScaleL1,
    ChannelGroup,
    GroupLasso,
    GroupNorm,
    GrowingReg,
    Regularizer,
    Slice,
    channel_groups,
    channel_sums,
)


class Residual(nn.Module):
    """fc2 both reads and writes the hidden stream h: channel k of h is row k *and* column k of fc2.weight, whose
    entry [k, k] belongs to channel k twice and must be counted once."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(3, 6), nn.Linear(6, 6), nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x))
        return self.fc3(h + self.fc2(h))


class ConvBN(nn.Module):
    """Two BN blocks on one residual stream, and a BatchNorm on the model output (a frozen group)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.fc, self.out = nn.Linear(8 * 4, 10), nn.BatchNorm1d(10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.b1(self.c1(x)))
        y = y + torch.relu(self.b2(self.c2(y)))
        return self.out(self.fc(nn.functional.adaptive_avg_pool2d(y, 2).flatten(1)))


def _import(model: nn.Module, x: torch.Tensor) -> Program:
    torch.manual_seed(0)
    for p in model.parameters():  # BN scales and shifts away from 1 / 0, signed: |gamma| is not gamma
        nn.init.normal_(p)
    return api.import_torch(model.eval(), [x])


@pytest.fixture(scope="module")
def residual() -> tuple[Residual, Program]:
    model = Residual()
    return model, _import(model, torch.randn(1, 3))


@pytest.fixture(scope="module")
def convbn() -> tuple[ConvBN, Program]:
    model = ConvBN()
    return model, _import(model, torch.randn(2, 1, 8, 8))


def _hidden_sq(m: Residual) -> torch.Tensor:
    """Squared norm of each hidden channel, by hand: rows of fc1 (+bias), row and column of fc2 (+bias) less the
    diagonal entry they share, column of fc3."""
    w2 = m.fc2.weight
    return (
        m.fc1.weight.pow(2).sum(1)
        + m.fc1.bias.pow(2)
        + w2.pow(2).sum(1)
        + w2.pow(2).sum(0)
        - w2.diagonal().pow(2)
        + m.fc2.bias.pow(2)
        + m.fc3.weight.pow(2).sum(0)
    )


def test_groups_are_the_prunable_ones(residual: tuple[Residual, Program]) -> None:
    _, program = residual
    (group,) = channel_groups(program)  # input and output spaces are frozen
    assert group.size == 6
    assert sorted((s.param, s.dim) for s in group.slices) == [
        ("fc1.bias", 0),
        ("fc1.weight", 0),
        ("fc2.bias", 0),
        ("fc2.weight", 0),
        ("fc2.weight", 1),
        ("fc3.weight", 1),
    ]
    assert "spa.group" not in program.text()  # the analysis ran on a copy


def test_group_lasso_value_and_gradient_by_hand(residual: tuple[Residual, Program]) -> None:
    model, program = residual
    m = api.to_torch(program)
    assert all(p.requires_grad for p in m.parameters())  # the emitted module is trainable
    lasso = GroupLasso(program, strength=0.3)
    penalty = lasso.penalty(m)
    norms = _hidden_sq(model).detach().sqrt()
    torch.testing.assert_close(penalty, 0.3 * norms.sum())
    naive = (_hidden_sq(model) + model.fc2.weight.diagonal().pow(2)).detach().sqrt().sum()
    assert abs(penalty.item() - 0.3 * naive.item()) > 1e-3  # counting [k, k] twice would be seen
    penalty.backward()
    # d/dw of 0.3 * sum_k ||channel k||: 0.3 * w / ||channel k|| for each channel the entry is in
    w1, w2, w3 = (model.get_parameter(f"fc{i}.weight").detach() for i in (1, 2, 3))
    torch.testing.assert_close(m.get_parameter("fc1.weight").grad, 0.3 * w1 / norms[:, None])
    torch.testing.assert_close(m.get_parameter("fc3.weight").grad, 0.3 * w3 / norms[None, :])
    both = 0.3 * w2 * (1 / norms[:, None] + 1 / norms[None, :])  # row i is channel i, column j channel j
    both.diagonal().copy_(0.3 * w2.diagonal() / norms)  # [k, k] is in channel k once
    torch.testing.assert_close(m.get_parameter("fc2.weight").grad, both)


def test_penalty_reads_any_module_with_the_names(residual: tuple[Residual, Program]) -> None:
    """The original model has the Program's names: the same regularizer sparsifies it before any pruning."""
    model, program = residual
    lasso = GroupLasso(program)
    torch.testing.assert_close(lasso.penalty(model), lasso.penalty(api.to_torch(program)))
    from_module = GroupLasso(model, example_inputs=[torch.randn(1, 3)])
    torch.testing.assert_close(from_module.penalty(model), lasso.penalty(model))


def test_tied_weights_are_one_parameter() -> None:
    """Two names of one Parameter (tied weights) in one group channel: their shared entries count once."""
    tied = nn.Module()
    tied.a = nn.Linear(3, 3, bias=False)
    tied.b = tied.a
    k = torch.arange(3)[:, None]
    group = ChannelGroup("@g0", 3, (Slice("a.weight", 0, k), Slice("b.weight", 1, k)))
    w = tied.a.weight.detach()
    want = w.pow(2).sum(1) + w.pow(2).sum(0) - w.diagonal().pow(2)
    torch.testing.assert_close(channel_sums(group, tied), want)


def test_group_norm_scales_the_weakest_channel_by_two_to_alpha(residual: tuple[Residual, Program]) -> None:
    model, program = residual
    m = api.to_torch(program)
    reg = GroupNorm(program, strength=1.0, alpha=3.0)
    reg.penalty(m).backward()
    norms = _hidden_sq(model).detach().sqrt()
    # d/dW1[k] = gamma_k * W1[k]: the ratio is the channel's scale, 2^3 for the weakest, 1 for the strongest
    grad = m.get_parameter("fc1.bias").grad
    assert grad is not None
    ratio = grad / m.get_parameter("fc1.bias").detach()
    assert ratio[norms.argmin()].item() == pytest.approx(8.0)
    assert ratio[norms.argmax()].item() == pytest.approx(1.0)
    want = 2.0 ** (3.0 * (norms.max() - norms) / (norms.max() - norms.min()))
    torch.testing.assert_close(ratio, want)


def test_growing_reg_grows_the_weakest_channels(residual: tuple[Residual, Program]) -> None:
    model, program = residual
    reg = GrowingReg(program, strength=0.5, delta=0.1, limit=0.65)
    (name,) = reg.factors
    torch.testing.assert_close(reg.penalty(model), 0.25 * _hidden_sq(model).sum())
    s = _hidden_sq(model).detach().double()
    reg.update(model)
    torch.testing.assert_close(reg.factors[name], 0.5 + 0.1 * (s.max() - s) / (s.max() - s.min()), rtol=1e-6, atol=1e-7)
    assert reg.factors[name][s.argmin()].item() == pytest.approx(0.6)
    assert reg.factors[name][s.argmax()].item() == pytest.approx(0.5)
    reg.update(model)
    assert reg.factors[name][s.argmin()].item() == pytest.approx(0.65)  # capped at limit
    torch.testing.assert_close(reg.penalty(model), 0.5 * (reg.factors[name].float() * _hidden_sq(model)).sum())


def test_bn_scale_l1_sums_the_batch_norm_scales_of_prunable_groups(convbn: tuple[ConvBN, Program]) -> None:
    model, program = convbn
    reg = BNScaleL1(program, strength=2.0)
    want = 2.0 * (model.b1.weight.abs().sum() + model.b2.weight.abs().sum())
    torch.testing.assert_close(reg.penalty(api.to_torch(program)), want)  # `out` sits on the frozen output group
    with pytest.raises(SpaError, match="no prunable group has a BatchNorm weight"):
        BNScaleL1(_import(Residual(), torch.randn(1, 3)))


@pytest.mark.parametrize("kind", ["group-lasso", "group-norm", "growing-reg", "bn-scale"])
def test_sgd_on_the_penalty_shrinks_the_group_only(kind: str, convbn: tuple[ConvBN, Program]) -> None:
    """20 SGD steps on the emitted module with the penalty alone: the prunable group's norm shrinks, every parameter
    outside it (the output group's fc rows and BN) stays exactly as it was."""
    _, program = convbn
    m = api.to_torch(program)
    (group,) = channel_groups(program)
    makers: dict[str, Callable[[], Regularizer]] = {
        "group-lasso": lambda: GroupLasso(program, strength=0.5),
        "group-norm": lambda: GroupNorm(program, strength=0.05),
        "growing-reg": lambda: GrowingReg(program, strength=0.0, delta=0.02),
        "bn-scale": lambda: BNScaleL1(program, strength=0.05),
    }
    reg = makers[kind]()
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    outside = ["fc.bias", "out.weight", "out.bias"]
    measure = (
        (lambda mod: reg.penalty(mod) / 0.05)
        if kind == "bn-scale"
        else (lambda mod: GroupLasso([group], 1.0).penalty(mod))
    )
    start = measure(m).item()
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    for _ in range(20):
        opt.zero_grad()
        reg.penalty(m).backward()
        opt.step()
        if isinstance(reg, GrowingReg):
            reg.update(m)
    end = measure(m).item()
    assert end < 0.5 * start, (start, end)
    for n in outside:
        assert torch.equal(m.get_parameter(n), before[n]), n


def test_training_the_emitted_module_leaves_program_and_model_alone(convbn: tuple[ConvBN, Program]) -> None:
    """Emitted parameters are trainable copies: a step on one module changes neither the Program's weights, nor the
    model they were imported from, nor a second module emitted from the same Program."""
    model, program = convbn
    first, second = api.to_torch(program), api.to_torch(program)
    x = torch.randn(2, 1, 8, 8)  # the batch it was captured at
    with torch.no_grad():
        want = model(x)
    opt = torch.optim.SGD(first.parameters(), lr=0.1)
    first(x).square().sum().backward()
    assert all(p.grad is not None for p in first.parameters())
    opt.step()
    with torch.no_grad():
        assert not torch.allclose(first(x), want)
        torch.testing.assert_close(second(x), want)
        torch.testing.assert_close(model(x), want)
        torch.testing.assert_close(program.weight("c1.weight"), model.c1.weight)


def test_a_module_without_the_weight_is_a_located_error(residual: tuple[Residual, Program]) -> None:
    _, program = residual
    with pytest.raises(SpaError, match=r"group @g\d+: the module has no parameter or buffer 'fc1.weight'"):
        GroupLasso(program).penalty(nn.Sequential(nn.Linear(3, 6)))
    narrow = Residual()
    narrow.fc1 = nn.Linear(3, 4)  # 4 hidden channels where the Program has 6
    with pytest.raises(SpaError, match=r"group @g\d+: 'fc1.weight' is \(4, 3\) in the module"):
        GroupLasso(program).penalty(narrow)
