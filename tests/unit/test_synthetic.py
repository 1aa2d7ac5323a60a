"""The synthetic calibration source (spa_ir/compensation/synthetic.py) against answers known by construction: a small
BN CNN whose running statistics come from smooth structured images, checked by forward hooks on the eager model
(not the module's own taps); the batching paths; determinism; None where the network carries nothing; token ids
that avoid the rows the sampler must avoid (the padding row and an untrained cluster planted in the table)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spa_ir.api import import_torch
from spa_ir.backends.torch_fx import to_graph_module
from spa_ir.calibration.data import model_inputs
from spa_ir.compensation.synthetic import Synthetic, synthesize
from spa_ir.core.program import Program
from spa_ir.frontends.torch import import_exported

STEPS = 200
SAMPLES = 32


class BNNet(nn.Module):
    """conv -> BN -> relu -> conv (stride 2) -> BN -> relu -> conv (stride 2) -> BN -> relu -> pool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8, momentum=None)
        self.conv2 = nn.Conv2d(8, 12, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(12, momentum=None)
        self.conv3 = nn.Conv2d(12, 16, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(16, momentum=None)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        y = F.relu(self.bn3(self.conv3(y)))
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


def _images(n: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth, bright-on-dark images (blurred sparse strokes on a -0.4 background, as normalized digits look)."""
    strokes = (torch.rand(n, 1, 16, 16, generator=gen) < 0.12).float()
    blur = torch.ones(1, 1, 3, 3) / 3.0
    return F.conv2d(strokes, blur, padding=1).clamp(max=1.0) * 2.5 - 0.4


@pytest.fixture(scope="module")
def bn_net() -> BNNet:
    """Random weights; running statistics the cumulative average over 8 batches of structured images."""
    torch.manual_seed(0)
    net = BNNet()
    gen = torch.Generator().manual_seed(1)
    net.train()
    with torch.no_grad():
        for _ in range(8):
            net(_images(64, gen))
    return net.eval()


def _specs(program: Program) -> list[tuple[tuple[int, ...], torch.dtype]]:
    return [(s.shape, s.dtype) for s in model_inputs(program.module)]


def _synthesize(program: Program, **kw: int) -> Synthetic | None:
    gm = to_graph_module(program)
    params = {n: p.detach() for n, p in gm.named_parameters()}
    return synthesize(gm, params, _specs(program), **kw)


def _bn_errors(net: BNNet, x: torch.Tensor) -> tuple[float, float, float]:
    """By forward hooks on the eager model: each BN's input per-channel mean and std on `x` against its running
    statistics: (mean |μ - running_mean| / running_std, mean |σ / running_std - 1|, the module's mismatch figure)."""
    seen: list[tuple[nn.Module, torch.Tensor]] = []
    hooks = [
        bn.register_forward_hook(lambda m, args, out: seen.append((m, args[0].detach())))
        for bn in (net.bn1, net.bn2, net.bn3)
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    mean_err, std_err, figure = [], [], []
    for bn, inp in seen:
        assert isinstance(bn, nn.BatchNorm2d) and bn.running_mean is not None and bn.running_var is not None
        mu, sd = inp.mean((0, 2, 3)), inp.var((0, 2, 3), unbiased=False).sqrt()
        rm, rs = bn.running_mean, bn.running_var.sqrt()
        mean_err.append(float(((mu - rm).abs() / rs).mean()))
        std_err.append(float((sd / rs - 1).abs().mean()))
        figure.append(float(((mu - rm).norm() + (sd - rs).norm()) / rs.norm()))
    return sum(mean_err) / len(seen), sum(std_err) / len(seen), sum(figure) / len(seen)


def _mismatches(method: str) -> tuple[float, float]:
    """The 'mismatch A -> B' figures the report line gives."""
    start, final = method.split("mismatch ")[1].split(" -> ")
    return float(start), float(final.split(";")[0])


def test_bn_statistics_reproduced(bn_net: BNNet) -> None:
    """Batch-1 capture (vmap over samples): after the optimization the BNs see their running statistics within
    0.005 running stds (means) and 0.5% (stds), closer than a fresh batch of the images themselves (about 0.015);
    N(0, 1), the starting point, is off by about 0.5 in both."""
    program = import_torch(bn_net, [torch.zeros(1, 1, 16, 16)])
    syn = _synthesize(program, samples=SAMPLES, steps=STEPS)
    assert syn is not None
    (x,) = syn.inputs
    assert x.shape == (SAMPLES, 1, 16, 16) and x.dtype == torch.float32
    mean_err, std_err, figure = _bn_errors(bn_net, x)
    assert mean_err < 0.005 and std_err < 0.005, (mean_err, std_err)
    start_mean, start_std, start_figure = _bn_errors(bn_net, torch.randn(SAMPLES, 1, 16, 16))
    assert start_mean > 0.3 and start_std > 0.3, (start_mean, start_std)
    reported_start, reported_final = _mismatches(syn.method)
    assert "(vmap)" in syn.method and "3 batch norms" in syn.method
    assert reported_final == pytest.approx(figure, rel=0.01, abs=1e-6)
    assert reported_start == pytest.approx(start_figure, rel=0.1)  # another N(0, 1) draw than the module's
    assert start_figure > 50 * figure


def test_batching_paths_agree(bn_net: BNNet) -> None:
    """A dynamic batch (all samples at once) and a batch-1 capture (vmap) give the same inputs; a static batch of 4
    runs in chunks, its 10 samples rounded up to 12."""
    x0 = torch.zeros(2, 1, 16, 16)
    ep = torch.export.export(bn_net, (x0,), dynamic_shapes={"x": {0: torch.export.Dim("b")}}, strict=False)
    dynamic = _synthesize(import_exported(ep), samples=10, steps=20)
    batch1 = _synthesize(import_torch(bn_net, [x0[:1]]), samples=10, steps=20)
    static = _synthesize(import_torch(bn_net, [torch.zeros(4, 1, 16, 16)]), samples=10, steps=20)
    assert dynamic is not None and batch1 is not None and static is not None
    assert "(dynamic)" in dynamic.method and "(vmap)" in batch1.method and "(chunks)" in static.method
    assert all("3 batch norms" in s.method for s in (dynamic, batch1, static))  # undecomposed: aten.batch_norm
    torch.testing.assert_close(dynamic.inputs[0], batch1.inputs[0], rtol=1e-4, atol=1e-4)
    assert static.inputs[0].shape == (12, 1, 16, 16)
    start, final = _mismatches(static.method)
    assert final < 0.5 * start
    assert _bn_errors(bn_net, static.inputs[0])[2] == pytest.approx(final, rel=0.01, abs=1e-6)


def test_deterministic(bn_net: BNNet) -> None:
    program = import_torch(bn_net, [torch.zeros(1, 1, 16, 16)])
    a, b, c = (_synthesize(program, samples=8, steps=10, seed=s) for s in (3, 3, 4))
    assert a is not None and b is not None and c is not None
    assert torch.equal(a.inputs[0], b.inputs[0]) and a.method == b.method
    assert not torch.allclose(a.inputs[0], c.inputs[0])


def test_graph_left_as_it_was(bn_net: BNNet) -> None:
    """The caller's GraphModule keeps its batch norms and outputs (the taps are on a copy)."""
    program = import_torch(bn_net, [torch.zeros(1, 1, 16, 16)])
    gm = to_graph_module(program)
    code = gm.code
    synthesize(gm, {n: p.detach() for n, p in gm.named_parameters()}, _specs(program), samples=4, steps=2)
    assert gm.code == code
    x = torch.randn(1, 1, 16, 16)
    torch.testing.assert_close(gm(x), bn_net(x))


def test_nothing_to_synthesize_from() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    assert _synthesize(import_torch(net, [torch.zeros(1, 1, 8, 8)])) is None


VOCAB, PAD, UNTRAINED = 300, 3, range(200, 240)


class TokenNet(nn.Module):
    """ids -> embedding (+ a segment embedding of 2 rows) -> linear -> layer norm, masked by an int mask."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCAB, 16, padding_idx=PAD)
        self.seg = nn.Embedding(2, 16)
        self.fc = nn.Linear(16, 16)
        self.norm = nn.LayerNorm(16)
        with torch.no_grad():  # trained rows ~ N(0, 1); an untrained cluster near the table's mean
            g = torch.Generator().manual_seed(0)
            self.tok.weight.copy_(torch.randn(VOCAB, 16, generator=g))
            mean = self.tok.weight.mean(0)
            self.tok.weight[UNTRAINED.start : UNTRAINED.stop] = mean + 0.02 * torch.randn(
                len(UNTRAINED), 16, generator=g
            )

    def forward(self, ids: torch.Tensor, segments: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.fc(self.tok(ids) + self.seg(segments)))
        return h * mask.unsqueeze(-1).to(h.dtype)


def test_token_ids() -> None:
    """Ids in range, int64, the spec's shape; never an untrained row; the padding id only as a tail whose start is
    in [L/2, L]; segments (a 2-row table) all 0; the int mask all 1; the trained rows drawn 1/rank in id order."""
    torch.manual_seed(0)
    length = 24
    example = (torch.zeros(1, length, dtype=torch.int64),) * 3
    program = import_torch(TokenNet().eval(), list(example))
    syn = _synthesize(program, samples=256)
    assert syn is not None
    ids, segments, mask = syn.inputs
    assert ids.shape == segments.shape == mask.shape == (256, length)
    assert ids.dtype == segments.dtype == mask.dtype == torch.int64
    assert int(ids.min()) >= 0 and int(ids.max()) < VOCAB
    assert not torch.isin(ids, torch.tensor(list(UNTRAINED))).any()
    padded = ids == PAD
    first_pad = torch.where(padded.any(1), padded.int().argmax(1), torch.full((256,), length))
    assert bool((padded == (torch.arange(length) >= first_pad[:, None])).all())  # pads only after the first pad
    assert int(first_pad.min()) >= length // 2 and bool((first_pad == length).any())
    assert bool((segments == 0).all()) and bool((mask == 1).all())
    trained = [i for i in range(VOCAB) if i != PAD and i not in UNTRAINED]
    counts = torch.bincount(ids[~padded], minlength=VOCAB).double()
    harmonic = sum(1.0 / r for r in range(1, len(trained) + 1))
    expected = float((~padded).sum()) / harmonic  # draws of the rank-1 row under p(r) = 1/(r H_n)
    assert counts[trained[0]] == pytest.approx(expected, rel=4 / math.sqrt(expected))
    assert "padded tails" in syn.method


class GatherNet(nn.Module):
    """Ids through index_select on a stored table (as ONNX's Gather lowers): no padding id declared."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(VOCAB, 8, generator=torch.Generator().manual_seed(0)))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table.index_select(0, ids.flatten()).unflatten(0, ids.shape).sum(-1)


def test_token_ids_index_select() -> None:
    program = import_torch(GatherNet().eval(), [torch.zeros(1, 10, dtype=torch.int64)])
    syn = _synthesize(program, samples=64)
    assert syn is not None
    (ids,) = syn.inputs
    assert ids.shape == (64, 10) and ids.dtype == torch.int64
    assert int(ids.min()) >= 0 and int(ids.max()) < VOCAB
    assert "padded tails" not in syn.method
    assert len(ids.unique()) > 20 and int(ids.eq(0).sum()) > int(ids.eq(VOCAB - 1).sum())
