"""Calibration statistics against answers known by construction: hand computations in float64 on tiny nets
(the conv's input patches by explicit loops, per-sample gradients by a loop, H·g from an explicit Hessian),
the same statistics whatever the batching path, masks, ONNX inputs by name, the data checks, the store's IR
hash, a pipeline split across two spa-opt calls, and the label source each loss reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spa.passes import parse_pipeline
from spa.passes.collect_stats import CollectStats
from spa_ir.api import import_torch
from spa_ir.calibration import kinds as K
from spa_ir.calibration.data import Calibration, from_value, load_calibration
from spa_ir.calibration.store import StatsStore, ir_hash
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program
from spa_ir.frontends.torch import import_exported

D = torch.float64
ALL = ("grad", "fisher", "hg", "in_sum", "in_sq", "in_cov", "out_rank")


class ConvNet(nn.Module):
    """conv (3x3, padding 1, stride 1) -> relu -> flatten -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def _net() -> ConvNet:
    torch.manual_seed(0)
    return ConvNet().to(D).eval()


def _collect(program: Program, data: object, kinds: tuple[str, ...] = ALL, **kw: Any) -> StatsStore:
    calib = from_value(data, **kw)
    program.run([CollectStats(kinds=kinds)], calib=calib)
    assert program.stats is not None
    return program.stats


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 2, 4, 4, generator=g, dtype=D)
    x[3] = 0
    return x, torch.randint(0, 5, (10,), generator=g)


@pytest.fixture(scope="module")
def batch1(data: tuple[torch.Tensor, torch.Tensor]) -> StatsStore:
    """The conv net captured at batch 1 (static), calibrated in batches of 4 (vmap over samples)."""
    x, y = data
    prog = import_torch(_net(), [x[:1]])
    return _collect(prog, {"inputs": x, "targets": y}, batch=4)


def _patches(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 (padding 1) input patches of every output position, [rows, C*9], by explicit loops."""
    xp = F.pad(x, (1, 1, 1, 1))
    rows = [xp[b, :, i : i + 3, j : j + 3].reshape(-1) for b in range(x.shape[0]) for i in range(4) for j in range(4)]
    return torch.stack(rows)


def test_input_moments_and_ranks_equal_hand_computation(batch1: StatsStore, data: tuple[torch.Tensor, ...]) -> None:
    x, _ = data
    net = _net()
    h = torch.relu(net.conv(x)).flatten(1).detach()
    assert torch.allclose(batch1.get("conv.weight", K.IN_SUM), x.sum((0, 2, 3)))
    assert torch.allclose(batch1.get("conv.weight", K.IN_SQ), (x**2).sum((0, 2, 3)))
    assert batch1.get("conv.weight", K.IN_COUNT).item() == 10 * 16
    p = _patches(x)
    assert torch.allclose(batch1.get("conv.weight", K.IN_COV), p.T @ p)
    assert batch1.get("conv.weight", K.IN_COV_COUNT).item() == p.shape[0]
    assert torch.allclose(batch1.get("fc.weight", K.IN_SQ), (h**2).sum(0))
    assert torch.allclose(batch1.get("fc.weight", K.IN_COV), h.T @ h)
    fmap = net.conv(x).detach()
    ranks = torch.tensor([[float(torch.linalg.matrix_rank(fmap[b, c])) for c in range(3)] for b in range(10)], dtype=D)
    assert ranks[3].tolist() == [1.0, 1.0, 1.0]  # sample 3 is all zeros: each map is its bias, rank 1
    assert torch.allclose(batch1.get("conv.weight", K.OUT_RANK), ranks.mean(0))
    conv, fc = batch1.consumer("conv.weight"), batch1.consumer("fc.weight")
    assert conv is not None and conv.kernel == (3, 3)
    assert fc is not None and fc.in_dim == 1
    assert batch1.consumer("conv.bias") is None


def test_gradients_equal_autograd_and_per_sample_loop(batch1: StatsStore, data: tuple[torch.Tensor, ...]) -> None:
    x, y = data
    net = _net()
    params = dict(net.named_parameters())
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), list(params.values()))
    fisher = [torch.zeros_like(p) for p in params.values()]
    for i in range(10):
        gi = torch.autograd.grad(F.cross_entropy(net(x[i : i + 1]), y[i : i + 1]), list(params.values()))
        fisher = [f + g**2 / 10 for f, g in zip(fisher, gi)]
    for (name, _), g, f in zip(params.items(), grads, fisher):
        assert torch.allclose(batch1.get(name, K.GRAD), g), name
        assert torch.allclose(batch1.get(name, K.FISHER), f), name
        assert not torch.allclose(f, g**2), name  # per-sample squares, not the square of the mean
    assert batch1.meta["fisher"] == "vmap(grad) over samples"
    assert batch1.meta["batching"].startswith("vmap over samples of a batch-1 capture")
    assert batch1.meta["samples"] == "10" and int(batch1.meta["bytes"]) > 0


def test_hg_equals_explicit_hessian_times_gradient() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(D).eval()
    x, y = torch.randn(6, 3, dtype=D), torch.randint(0, 2, (6,))
    prog = import_torch(net, [x[:1]])
    stats = _collect(prog, {"inputs": x, "targets": y}, ("hg",), batch=4)  # 6 samples: batches of 4 and 2
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts, at = {}, 0
        for n, s in zip(names, shapes):
            parts[n] = theta[at : at + s.numel()].reshape(s)
            at += s.numel()
        return F.cross_entropy(torch.func.functional_call(net, parts, (x,)), y)

    hess = torch.autograd.functional.hessian(loss, flat)
    theta = flat.clone().requires_grad_()
    g = torch.autograd.grad(loss(theta), theta)[0]
    hg = hess @ g
    at = 0
    for n, s in zip(names, shapes):
        assert torch.allclose(stats.get(n, K.HG), hg[at : at + s.numel()].reshape(s)), n
        at += s.numel()


def test_batching_paths_agree(batch1: StatsStore, data: tuple[torch.Tensor, ...]) -> None:
    """Batch-1 capture in batches of 4 (vmap) = dynamic-batch capture in batches of 8 = static batch-5 chunks."""
    x, y = data
    ep = torch.export.export(
        _net(), (x[:2],), dynamic_shapes={"x": {0: torch.export.Dim("b")}}, strict=False
    ).run_decompositions({})
    dynamic = _collect(import_exported(ep), {"inputs": x, "targets": y}, batch=8)
    chunks = _collect(import_torch(_net(), [x[:5]]), {"inputs": x, "targets": y}, batch=8)
    assert dynamic.meta["batching"] == "dynamic batch, batches of 8"
    assert chunks.meta["batching"] == "chunks of the static batch 5"
    assert chunks.meta["fisher"] == "jacrev of the per-sample losses"
    assert batch1.keys() == dynamic.keys() == chunks.keys()
    for key in batch1.keys():
        w, kind = K.split_key(key)
        assert torch.allclose(batch1.get(w, kind), dynamic.get(w, kind)), key
        assert torch.allclose(batch1.get(w, kind), chunks.get(w, kind)), key


class TokenNet(nn.Module):
    """embedding -> linear -> relu -> linear head per position; the mask is an input it ignores."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(7, 4)
        self.proj = nn.Linear(4, 6)
        self.head = nn.Linear(6, 7)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.proj(self.emb(input_ids)))) + 0 * attention_mask.unsqueeze(-1)


def test_attention_mask_leaves_padded_positions_out() -> None:
    torch.manual_seed(5)
    net = TokenNet().to(D).eval()
    ids = torch.randint(0, 7, (4, 5))
    mask = torch.ones(4, 5, dtype=torch.int64)
    mask[0, 3:] = 0
    mask[2, 1:] = 0
    prog = import_torch(net, [ids[:1], mask[:1]])
    stats = _collect(prog, {"input_ids": ids, "attention_mask": mask}, ("grad", "in_sq"), batch=3)
    keep = mask.bool()
    h = net.emb(ids)[keep].detach()  # the proj's input rows of real tokens only
    assert stats.get("proj.weight", K.IN_COUNT).item() == int(keep.sum())
    assert torch.allclose(stats.get("proj.weight", K.IN_SQ), (h**2).sum(0))
    # the loss: each sample's mean over its real tokens (own prediction as the label), then over samples
    params = dict(net.named_parameters())
    logits = net(ids, mask)
    labels = logits.argmax(-1)
    per = torch.stack([F.cross_entropy(logits[i][keep[i]], labels[i][keep[i]]) for i in range(4)])
    grads = torch.autograd.grad(per.mean(), list(params.values()))
    for (name, _), g in zip(params.items(), grads):
        assert torch.allclose(stats.get(name, K.GRAD), g), name
    assert stats.meta["label_source"] == "own-prediction"


def test_onnx_program_calibrates_from_npz_by_input_names(tmp_path: Path) -> None:
    from spa_ir.frontends.onnx import import_onnx

    torch.manual_seed(6)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    torch.onnx.export(
        net, (torch.randn(1, 3),), tmp_path / "m.onnx", input_names=["feats"], dynamo=False, do_constant_folding=False
    )
    prog = import_onnx(tmp_path / "m.onnx")
    x = torch.randn(6, 3)
    np.savez(tmp_path / "c.npz", feats=x.numpy())
    prog.run(parse_pipeline("spa-collect-stats{kinds=grad,in_sq}"), calib=_load(tmp_path / "c.npz"))
    stats = prog.stats
    assert stats is not None
    names = {n for n, _ in net.named_parameters()}
    weights = sorted(stats.weights(K.IN_SQ))
    assert len(weights) == 2 and set(stats.weights(K.GRAD)) <= names | set(prog.weights)
    first = next(w for w in weights if prog.weight(w).shape == (4, 3) or prog.weight(w).shape == (3, 4))
    assert torch.allclose(stats.get(first, K.IN_SQ), (x.double() ** 2).sum(0), rtol=1e-5)
    consumer = stats.consumer(first)
    assert consumer is not None and prog.weight(first).shape[consumer.in_dim] == 3
    np.savez(tmp_path / "bad.npz", other=x.numpy())
    with pytest.raises(SpaError, match=r"bad\.npz: no model input named 'other' \(the model's inputs: feats\)"):
        _load(tmp_path / "bad.npz").bind(prog.module)


def _load(path: Path) -> Calibration:
    return load_calibration(path)


@pytest.fixture(scope="module")
def two_inputs() -> Program:
    class Two(nn.Module):
        def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            return x * ids.unsqueeze(-1)

    return import_torch(Two(), [torch.randn(1, 3, 4), torch.ones(1, 3, dtype=torch.int64)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((torch.randn(2, 3, 4),), r"1 inputs given but the model takes 2 \('x', 'ids'\)"),
        ({"x": torch.randn(2, 3, 4), "idz": torch.ones(2, 3, dtype=torch.int64)}, r"no model input named 'idz'"),
        ({"x": torch.randn(2, 3, 4)}, r"model input 'ids' is missing"),
        ((torch.randn(2, 3, 4), torch.ones(2, 3)), r"input 'ids' is f32 but the model takes si64"),
        ((torch.randn(2, 3), torch.ones(2, 3, dtype=torch.int64)), r"input 'x' has rank 2 \[2, 3\] but the model's"),
        (
            (torch.randn(2, 3, 5), torch.ones(2, 3, dtype=torch.int64)),
            r"input 'x' dim 2 is 5 but the model's is static 4",
        ),
        ((torch.randn(2, 3, 4), torch.ones(3, 3, dtype=torch.int64)), r"input 'ids' has 3 samples but input 'x' has 2"),
    ],
)
def test_mismatching_data_is_a_located_error(two_inputs: Program, data: object, message: str) -> None:
    with pytest.raises(SpaError, match=f"^calib.pt: {message}"):
        from_value(data, source="calib.pt").bind(two_inputs.module)


def test_ir_without_names_refuses_named_data(two_inputs: Program) -> None:
    module = two_inputs.module.clone()
    next(iter(module.ops)).attributes.pop("spa.input_names")
    named = from_value({"x": torch.randn(2, 3, 4), "ids": torch.ones(2, 3, dtype=torch.int64)}, source="c.npz")
    with pytest.raises(SpaError, match="^c.npz: the data names its inputs .* records no input names"):
        named.bind(module)
    from_value((torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.int64))).bind(module)  # positional is fine


def test_store_is_refused_on_another_ir(tmp_path: Path, data: tuple[torch.Tensor, ...]) -> None:
    x, y = data
    prog = import_torch(_net(), [x[:1]])
    prog.run(parse_pipeline("spa-propagate-channels,spa-form-groups"))
    stats = _collect(prog, {"inputs": x, "targets": y}, ("grad",))
    before = ir_hash(prog.module)
    prog.run(parse_pipeline("spa-annotate-importance{criterion=taylor}"))
    assert ir_hash(prog.module) == before  # the analyses' annotations do not count
    stats.save(tmp_path / "s.stats.safetensors")
    loaded = StatsStore.load(tmp_path / "s.stats.safetensors")
    loaded.check_matches(prog.module, "test")
    assert torch.equal(loaded.get("fc.weight", K.GRAD), stats.get("fc.weight", K.GRAD))
    prog.run(parse_pipeline("spa-select-channels{ratio=0.5},spa-eliminate-dead-channels"))
    with pytest.raises(SpaError, match=r"s\.stats\.safetensors: test: these statistics were collected on another IR"):
        loaded.check_matches(prog.module, "test")


def test_split_pipeline_equals_one_call(tmp_path: Path, data: tuple[torch.Tensor, ...]) -> None:
    from spa.tools.spa_opt import main

    x, y = data
    import_torch(_net(), [x[:1]]).save(tmp_path / "m.mlir")
    torch.save({"inputs": x, "targets": y}, tmp_path / "c.pt")
    analyse = "spa-propagate-channels,spa-form-groups"
    common = ["--calib-batch", "4"]
    one = [
        str(tmp_path / "m.mlir"),
        "-p",
        f"{analyse},spa-collect-stats{{criterion=taylor}},spa-annotate-importance{{criterion=taylor}}",
        "--calib",
        str(tmp_path / "c.pt"),
        *common,
        "-o",
        str(tmp_path / "one.mlir"),
    ]
    assert main(one) == 0
    first = [
        str(tmp_path / "m.mlir"),
        "-p",
        f"{analyse},spa-collect-stats{{criterion=taylor}}",
        "--calib",
        str(tmp_path / "c.pt"),
        *common,
        "-o",
        str(tmp_path / "a.mlir"),
    ]
    assert main(first) == 0 and (tmp_path / "a.stats.safetensors").exists()
    second = [
        str(tmp_path / "a.mlir"),
        "-p",
        "spa-annotate-importance{criterion=taylor}",
        "-o",
        str(tmp_path / "two.mlir"),
    ]
    assert main(second) == 0
    scores = [line for line in (tmp_path / "one.mlir").read_text().splitlines() if "scores" in line]
    assert scores and scores == [line for line in (tmp_path / "two.mlir").read_text().splitlines() if "scores" in line]


@pytest.mark.parametrize(
    ("loss", "with_targets", "source"),
    [
        (None, True, "targets"),
        (None, False, "own-prediction"),
        ("output-norm", False, "output-norm"),
        ("mse", True, "targets"),
    ],
)
def test_loss_options_set_the_label_source(loss: str | None, with_targets: bool, source: str) -> None:
    torch.manual_seed(7)
    net = nn.Linear(3, 2).to(D).eval()
    x = torch.randn(4, 3, dtype=D)
    targets = (torch.randn(4, 2, dtype=D) if loss == "mse" else torch.randint(0, 2, (4,))) if with_targets else None
    prog = import_torch(net, [x[:1]])
    data = {"inputs": x, "targets": targets} if targets is not None else x
    stats = _collect(prog, data, ("grad",), loss=loss)
    assert stats.meta["label_source"] == source and stats.meta["loss"] == (loss or "cross-entropy")
    out = net(x)
    if loss == "output-norm":
        ref = 0.5 * (out**2).sum(1).mean()
    elif loss == "mse":
        ref = ((out - targets) ** 2).mean()
    else:
        ref = F.cross_entropy(out, targets if targets is not None else out.argmax(-1))
    assert torch.allclose(stats.get("weight", K.GRAD), torch.autograd.grad(ref, net.weight)[0])


def test_mse_without_targets_and_missing_data_are_errors(two_inputs: Program) -> None:
    with pytest.raises(SpaError, match="needs targets"):
        from_value(torch.randn(2, 3, 4), loss="mse").bind(two_inputs.module)
    prog = import_torch(nn.Linear(3, 2), [torch.randn(1, 3)])
    with pytest.raises(SpaError, match=r"spa-collect-stats needs calibration data: give --calib FILE"):
        prog.run([CollectStats(kinds=("grad",))])
    prog.run([CollectStats(criterion="l1")])  # nothing needed: no data required
    assert prog.stats is None


class BNNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3)
        self.fc = nn.Linear(3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def test_batch_norm_calibrates_under_vmap_as_in_batches(data: tuple[torch.Tensor, ...]) -> None:
    """aten's eval-mode batch norm has no vmap batching rule (vmap would loop over samples inside it, warning
    per call): it runs as its composition, giving the statistics a dynamic-batch capture gives."""
    x, y = data
    torch.manual_seed(0)
    net = BNNet().to(D).eval()
    mean, var = net.bn.running_mean, net.bn.running_var
    assert mean is not None and var is not None
    mean.normal_()
    var.uniform_(0.5, 2.0)
    ep = torch.export.export(net, (x[:2],), dynamic_shapes={"x": {0: torch.export.Dim("b")}}, strict=False)
    dynamic = _collect(import_exported(ep.run_decompositions({})), {"inputs": x, "targets": y}, batch=8)
    batch1 = _collect(import_torch(net, [x[:1]]), {"inputs": x, "targets": y}, batch=4)
    assert batch1.meta["batching"].startswith("vmap over samples")
    assert batch1.meta["fisher"] == "vmap(grad) over samples"
    for key in batch1.keys():
        w, kind = K.split_key(key)
        assert torch.allclose(batch1.get(w, kind), dynamic.get(w, kind)), key
