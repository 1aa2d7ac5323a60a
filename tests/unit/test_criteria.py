"""Importance criteria where the answer is known by construction: each one's ranking is checked against a hand
computation, and each differs from l1's somewhere (so a criterion that silently fell back to l1 would fail)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from spa.dialects.spa import GroupOp
from spa.passes import parse_pipeline
from spa_ir import api
from spa_ir.calibration import kinds as K
from spa_ir.calibration.store import Consumer, StatsStore
from spa_ir.channels.annotations import group_ops
from spa_ir.channels.groups import from_member_attr
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import params
from spa_ir.core.program import Program
from spa_ir.pruning.criteria import CRITERIA, Group, Inputs
from spa_ir.pruning.criteria.reconstruction import group_gram, lasso_order, thinet_order
from spa_ir.pruning.importance import as_group, score_groups


def analysed(model: nn.Module, *shape: int) -> Program:
    torch.manual_seed(0)
    p = api.import_torch(model.eval(), [torch.randn(*shape)])
    p.run(parse_pipeline("spa-propagate-channels,spa-form-groups"))
    return p


def group_of(p: Program, param: str, dim: int = 0) -> str:
    for g in group_ops(p.module):
        if any(from_member_attr(m)[:2] == (param, dim) for m in g.members.data):
            return g.sym_name.data
    raise KeyError(param)


def scores(p: Program, criterion: str, group: str, stats: StatsStore | None = None, **kw: Any) -> np.ndarray:
    return np.array(score_groups(p.module, p.weights, criterion, stats=stats, **kw)[group])


def mean_normalized_sum(vectors: list[np.ndarray]) -> np.ndarray:
    return np.sum([v / np.abs(v).mean() if np.abs(v).mean() > 0 else v for v in vectors], axis=0)


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class ConvBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.bn1(self.conv1(x))))


def hidden(p: Program) -> str:
    return group_of(p, "fc1.weight") if "fc1.weight" in p.weights else group_of(p, "conv1.weight")


def test_l1_is_each_members_l1_over_its_mean_summed() -> None:
    """The default l1 is today's score (DepGraph's aggregation), bit for bit, on every group of a ResNet."""
    import torchvision

    p = analysed(torchvision.models.resnet18(), 1, 3, 32, 32)
    got = score_groups(p.module, p.weights, "l1")
    assert len(got) > 10
    for g in group_ops(p.module):
        if g.frozen:
            continue
        size = g.size.value.data
        total = np.zeros(size)
        for param, dim, imap in map(from_member_attr, g.members.data):
            w = np.abs(p.weights[param].detach().double().numpy())
            per = w.sum(axis=tuple(d for d in range(w.ndim) if d != dim)) if w.ndim > 1 else w
            s = per[imap.all_indices(size)].sum(axis=1)
            total += s / s.mean() if s.mean() > 0 else s  # BN biases start at zero
        assert np.array_equal(np.array(got[g.sym_name.data]), total)


def test_magnitudes_score_a_zero_channel_lowest() -> None:
    p = analysed(MLP(), 2, 4)
    with torch.no_grad():
        p.weights["fc1.weight"][2] = 0
        p.weights["fc1.bias"][2] = 0
        p.weights["fc2.weight"][:, 2] = 0
    for crit in ("l1", "l2", "lamp", "fpgm"):
        s = scores(p, crit, hidden(p))
        if crit != "fpgm":
            assert int(np.argmin(s)) == 2, crit
    assert scores(p, "lamp", hidden(p))[2] == 0


def test_fpgm_ranks_the_geometric_median_lowest_where_l1_does_not() -> None:
    """Filters v±10e1, v+10e2 and v: v is nearest to the others (the replaceable one), not the smallest."""
    p = analysed(MLP(), 2, 4)
    v = torch.full((4,), 100.0)
    e = torch.eye(4) * 10
    with torch.no_grad():
        p.weights["fc1.weight"][:4] = torch.stack([v + e[0], v - e[0], v + e[1], v])
        p.weights["fc1.weight"][4:] = torch.stack([v + 0.3 * e[2], v + 0.3 * e[3]])
        p.weights["fc2.weight"][:] = 1.0
        p.weights["fc1.bias"][:] = 1.0
    fpgm, l1 = scores(p, "fpgm", hidden(p)), scores(p, "l1", hidden(p))
    assert int(np.argmin(fpgm)) == 3
    assert int(np.argmin(l1)) == 1
    rows = p.weights["fc1.weight"].double().numpy()
    by_hand = np.abs(rows[:, None, :] - rows[None, :, :]).__pow__(2).sum(-1).__pow__(0.5).sum(1)
    cols = p.weights["fc2.weight"].double().numpy().T
    by_hand_2 = np.sqrt(((cols[:, None] - cols[None]) ** 2).sum(-1)).sum(1)
    assert np.allclose(fpgm, mean_normalized_sum([by_hand, by_hand_2]))  # the bias (1-D) says nothing


def test_lamp_is_l2_with_the_lamp_normalization() -> None:
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    lamp = scores(p, "lamp", g)
    assert np.array_equal(lamp, scores(p, "l2", g, norm="lamp"))
    v = scores(p, "l2", g)
    sq = v**2
    by_hand = np.array([sq[i] / sq[sq >= sq[i]].sum() for i in range(len(v))])
    assert np.allclose(lamp, by_hand)
    assert lamp.max() == pytest.approx(1.0)  # the largest channel of every group scores 1: comparable across groups


def test_bn_scale_follows_gamma_and_refuses_a_group_without_batchnorm() -> None:
    p = analysed(ConvBN(), 1, 3, 6, 6)
    gamma = torch.tensor([0.5, -2.0, 0.1, 1.0])
    with torch.no_grad():
        p.weights["bn1.weight"][:] = gamma
        p.weights["conv1.weight"][:] = torch.sign(p.weights["conv1.weight"]) / gamma.abs()[:, None, None, None]
        p.weights["conv2.weight"][:] = torch.sign(p.weights["conv2.weight"]) / gamma.abs()[None, :, None, None]
    s = scores(p, "bn-scale", hidden(p))
    assert list(np.argsort(s)) == list(np.argsort(gamma.abs().numpy()))
    assert not np.array_equal(np.argsort(s), np.argsort(scores(p, "l1", hidden(p))))
    mlp = analysed(MLP(), 2, 4)
    with pytest.raises(SpaError, match=r"group @\S+ \(torch.aten.linear at fc1\): bn-scale needs a BatchNorm weight"):
        scores(mlp, "bn-scale", hidden(mlp))


def _grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return {n: q.grad.detach().double().clone() for n, q in model.named_parameters() if q.grad is not None}


def test_taylor_is_theta_times_gradient_summed_by_hand() -> None:
    torch.manual_seed(1)
    model = MLP()
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    grads = _grads(model, x, y)
    p = analysed(model, 2, 4)
    store = StatsStore({f"{n}:{K.GRAD}": g for n, g in grads.items()})
    w = {n: q.detach().double() for n, q in model.named_parameters()}
    by_hand = mean_normalized_sum(
        [
            (w["fc1.weight"] * grads["fc1.weight"]).abs().sum(1).numpy(),
            (w["fc1.bias"] * grads["fc1.bias"]).abs().numpy(),
            (w["fc2.weight"] * grads["fc2.weight"]).abs().sum(0).numpy(),
        ]
    )
    taylor = scores(p, "taylor", hidden(p), store)
    assert np.allclose(taylor, by_hand)
    assert np.array_equal(taylor, scores(p, "snip", hidden(p), store))
    assert not np.array_equal(np.argsort(taylor), np.argsort(scores(p, "l1", hidden(p))))


def test_hessian_is_obd_with_the_fisher_and_obd_c_reads_output_channels_only() -> None:
    p = analysed(MLP(), 2, 4)
    torch.manual_seed(2)
    fisher = {n: torch.rand(p.weights[n].shape, dtype=torch.float64) for n in ("fc1.weight", "fc1.bias", "fc2.weight")}
    store = StatsStore({f"{n}:{K.FISHER}": f for n, f in fisher.items()})
    w = {n: p.weights[n].double() for n in fisher}
    obd = {n: 0.5 * w[n] ** 2 * fisher[n] for n in fisher}
    g = hidden(p)
    by_hand = mean_normalized_sum(
        [obd["fc1.weight"].sum(1).numpy(), obd["fc1.bias"].numpy(), obd["fc2.weight"].sum(0).numpy()]
    )
    assert np.allclose(scores(p, "hessian", g, store), by_hand)
    obd_c = scores(p, "obd-c", g, store)
    assert np.allclose(obd_c, mean_normalized_sum([obd["fc1.weight"].sum(1).numpy()]))


def test_grasp_keeps_the_sign_crop_does_not() -> None:
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    hg = {n: torch.zeros(p.weights[n].shape, dtype=torch.float64) for n in ("fc1.weight", "fc1.bias", "fc2.weight")}
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    hg["fc1.weight"] = sign[:, None] * torch.sign(p.weights["fc1.weight"].double())
    store = StatsStore({f"{n}:{K.HG}": t for n, t in hg.items()})
    grasp, crop = scores(p, "grasp", g, store), scores(p, "crop", g, store)
    assert np.all((grasp < 0) == (sign.numpy() < 0))  # θ·Hg = sign·|θ|: the negative ones go first under grasp
    assert np.allclose(crop, np.abs(grasp))  # one sign per row: |Σ θ·Hg| = Σ |θ·Hg|
    assert not np.array_equal(np.argsort(grasp), np.argsort(crop))


def _consumer_stats(x: torch.Tensor, weight: str = "fc2.weight") -> tuple[dict[str, torch.Tensor], dict[str, Consumer]]:
    xs = x.double()
    tensors = {
        f"{weight}:{K.IN_SUM}": xs.sum(0),
        f"{weight}:{K.IN_SQ}": (xs**2).sum(0),
        f"{weight}:{K.IN_COUNT}": torch.tensor(float(len(xs)), dtype=torch.float64),
        f"{weight}:{K.IN_COV}": xs.T @ xs,
        f"{weight}:{K.IN_COV_COUNT}": torch.tensor(float(len(xs)), dtype=torch.float64),
    }
    return tensors, {weight: Consumer("linear", 1)}


def test_wanda_sp_and_flap_score_the_consumers_input_channels() -> None:
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    with torch.no_grad():
        p.weights["fc1.weight"][1] += 10.0
        p.weights["fc2.weight"][:, 1] += 10.0
    torch.manual_seed(3)
    x = torch.relu(torch.randn(64, 6)) * torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 3.0])  # channel 1 never fires
    x[:, 3] = 0.7  # constant: no fluctuation
    tensors, consumers = _consumer_stats(x)
    store = StatsStore(tensors, consumers=consumers)
    w2 = p.weights["fc2.weight"].double()
    wanda = scores(p, "wanda-sp", g, store)
    assert np.allclose(wanda, mean_normalized_sum([(w2.abs().sum(0) * (x.double() ** 2).mean(0).sqrt()).numpy()]))
    assert int(np.argmin(wanda)) == 1
    flap = scores(p, "flap", g, store)
    var = x.double().var(0, unbiased=False)
    assert np.allclose(flap, mean_normalized_sum([(var * (w2**2).sum(0)).numpy()]), atol=1e-9)
    assert flap[1] == pytest.approx(0, abs=1e-9) and flap[3] == pytest.approx(0, abs=1e-9)
    assert int(np.argmin(scores(p, "l1", g))) != 1  # channel 1's weights are the largest: l1 keeps it


def test_hrank_follows_the_feature_map_rank() -> None:
    p = analysed(ConvBN(), 1, 3, 6, 6)
    rank = torch.tensor([3.0, 1.0, 6.0, 2.0], dtype=torch.float64)
    s = scores(p, "hrank", hidden(p), StatsStore({f"conv1.weight:{K.OUT_RANK}": rank}))
    assert list(np.argsort(s)) == [1, 3, 0, 2]


def test_contribution_gram_is_the_mean_product_of_the_channels_contributions() -> None:
    """G[c, d] = E[(W_c x_c)·(W_d x_d)] from the store's Σ x xᵀ, checked against the samples themselves, for a
    linear and a 3x3 conv consumer (unfolded inputs)."""
    torch.manual_seed(4)
    x = torch.randn(32, 6)
    p = analysed(MLP(), 2, 4)
    tensors, consumers = _consumer_stats(x)
    gram = group_gram(Inputs(p.weights, {}, StatsStore(tensors, consumers=consumers)), _group(p, hidden(p)), "thinet")
    w2 = p.weights["fc2.weight"].double()
    z = x.double()[:, None, :] * w2.T[None].transpose(1, 2)  # [n, out, c]: channel c's contribution
    assert np.allclose(gram, torch.einsum("noc,nod->cd", z, z).numpy() / len(x))

    conv = analysed(ConvBN(), 1, 3, 6, 6)
    act = torch.randn(8, 4, 6, 6)
    cols = nn.functional.unfold(act.double(), 3, padding=1).transpose(1, 2).reshape(-1, 4 * 9)  # c-major, then kernel
    store = StatsStore(
        {"conv2.weight:" + K.IN_COV: cols.T @ cols, "conv2.weight:" + K.IN_COV_COUNT: torch.tensor(float(len(cols)))},
        consumers={"conv2.weight": Consumer("conv", 1, 1, (3, 3))},
    )
    gram = group_gram(Inputs(conv.weights, {}, store), _group(conv, hidden(conv)), "thinet")
    w = conv.weights["conv2.weight"].double()
    per_channel = [nn.functional.conv2d(act.double()[:, c : c + 1], w[:, c : c + 1], padding=1) for c in range(4)]
    direct = np.array([[float((a * b).sum(1).mean()) for b in per_channel] for a in per_channel])
    assert np.allclose(gram, direct)


def _group(p: Program, name: str) -> Group:
    g = next(g for g in group_ops(p.module) if g.sym_name.data == name)
    assert isinstance(g, GroupOp)
    return as_group(g, {q.weight_name: q for q in params(p.module)})


def test_thinet_and_cp_remove_the_channels_the_next_layer_misses_least() -> None:
    """A channel that never fires costs nothing to remove however large its weights; two channels that cancel
    each other are removed together by the LASSO path before channels that matter."""
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    with torch.no_grad():
        p.weights["fc1.weight"][1] *= 100
        p.weights["fc2.weight"][:, 1] *= 100
    torch.manual_seed(5)
    x = torch.randn(256, 6).abs()
    x[:, 1] = 0
    tensors, consumers = _consumer_stats(x)
    store = StatsStore(tensors, consumers=consumers)
    for crit in ("thinet", "cp"):
        s = scores(p, crit, g, store)
        assert int(np.argmin(s)) == 1, crit
        assert int(np.argmax(scores(p, "l1", g))) == 1
    diag = np.diag([3.0, 1.0, 2.0, 5.0])
    assert thinet_order(diag) == [1, 2, 0, 3]
    assert lasso_order(diag) == [1, 2, 0, 3]
    # channels 0 and 1 cancel (z_0 = -z_1): removing both changes nothing, though each alone matters most
    pair = np.array([[4.0, -4.0, 0.0], [-4.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    assert set(lasso_order(pair)[:2]) == {0, 1}


@pytest.mark.parametrize("agg", ["sum", "mean", "max", "prod", "first"])
def test_agg_combines_the_members_normalized_vectors(agg: str) -> None:
    p = analysed(MLP(), 2, 4)
    w = {n: p.weights[n].double().abs() for n in ("fc1.weight", "fc1.bias", "fc2.weight")}
    vs = np.stack(
        [v / v.mean() for v in (w["fc1.weight"].sum(1).numpy(), w["fc1.bias"].numpy(), w["fc2.weight"].sum(0).numpy())]
    )
    expect = {"sum": vs.sum(0), "mean": vs.mean(0), "max": vs.max(0), "prod": vs.prod(0), "first": vs[0]}[agg]
    assert np.allclose(scores(p, "l1", hidden(p), agg=agg), expect)


def test_norm_options_and_unknown_names() -> None:
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    raw = scores(p, "l1", g)
    assert np.allclose(scores(p, "l1", g, norm="max"), raw / raw.max())
    assert np.allclose(scores(p, "l1", g, norm="sum"), raw / raw.sum())
    assert np.allclose(scores(p, "l1", g, norm="mean"), raw / raw.mean())
    assert scores(p, "l1", g, norm="standard").mean() == pytest.approx(0, abs=1e-12)
    with pytest.raises(SpaError, match="unknown agg 'median'"):
        scores(p, "l1", g, agg="median")
    with pytest.raises(SpaError, match="unknown norm 'z'"):
        scores(p, "l1", g, norm="z")
    with pytest.raises(SpaError, match="unknown criterion 'nope' .known: l1, l2, random"):
        scores(p, "nope", g)


def test_random_is_an_entry_of_the_table_seeded_per_group() -> None:
    assert "random" in CRITERIA
    p = analysed(MLP(), 2, 4)
    g = hidden(p)
    a, b = scores(p, "random", g, seed=1), scores(p, "random", g, seed=2)
    assert np.array_equal(a, scores(p, "random", g, seed=1)) and not np.array_equal(a, b)


def test_a_group_lacking_its_criterions_statistics_is_an_error_naming_it() -> None:
    p = analysed(MLP(), 2, 4)
    store = StatsStore({f"fc1.weight:{K.GRAD}": torch.zeros(6, 4, dtype=torch.float64)})
    with pytest.raises(
        SpaError, match=r"group @\S+ \(torch.aten.linear at fc1\): taylor needs the statistic 'fc1.bias:grad'"
    ):
        scores(p, "taylor", hidden(p), store)
    with pytest.raises(SpaError, match="wanda-sp needs a conv, linear or matmul that reads the group's channels"):
        scores(p, "wanda-sp", hidden(p), StatsStore())


def test_global_selection_ranks_normalized_scores_as_they_are() -> None:
    """Scores that spa-annotate-importance normalized (a `norm` recorded on the group) are compared across
    groups; without one, each group's scores are divided by their mean first. Group a scores 1, 2, 3, 4 and
    group b 10, 20, 60, 70: over their means (2.5, 40) the two weakest are b's 10 (0.25) and a's 1 (0.4); as
    they are (norm=max, say), a's 1 and 2."""
    from pathlib import Path

    from xdsl.dialects.builtin import DenseArrayBase, StringAttr, f64

    from spa.passes.select_channels import SelectChannels

    def removed(norm: str | None) -> dict[str, list[int]]:
        p = Program.load(Path(__file__).parents[1] / "lit/Inputs/two_groups.mlir")
        p.run(parse_pipeline("spa-propagate-channels,spa-form-groups"))
        prunable = [g for g in group_ops(p.module) if not g.frozen]
        assert len(prunable) == 2
        for g, s in zip(prunable, ([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 60.0, 70.0])):
            g.attributes["scores"] = DenseArrayBase.from_list(f64, s)
            if norm is not None:
                g.attributes["norm"] = StringAttr(norm)
        p.run([SelectChannels(ratio=0.25, scope="global")])
        return {g.sym_name.data: [int(i) for i in g.removed.get_values()] for g in prunable if g.removed is not None}

    by_mean, as_they_are = removed(None), removed("max")
    assert sorted(by_mean.values()) == [[0], [0]]
    assert sorted(as_they_are.values()) == [[], [0, 1]]
