"""apply_plan: the pruned model back in the user's own class, checked against the masked original.

Each model is captured once (`reused`) and pruned at ratio 0.5 (criterion random, only_exact); apply_plan slices a
copy of the user's model, which must compute the masked original, hold the pruned program's parameters and have
layers whose attributes build the tensors they hold (oracle.Session.check_applied). Then: the state dict of a
pruned model loads into a fresh model only after the plan is applied to it, a compensated plan writes its
tensors, a hard-coded size is named, bad plans are one-line errors that leave the model as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from models_extra import CompensatedNet as _Net
from models_extra import lstm_net
from oracle import TOLERANCE, Session, rebuilt_mismatches, reused, same_worker, trained_on
from torch import nn
from torchvision.models.convnext import CNBlockConfig
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends.module import AppliedPlan, SizeAttribute
from spa_ir.backends.module.layers import PrunedMultiheadAttention
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.verify import masked


def _image(size: int) -> list[torch.Tensor]:
    return [torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))]


def _seeded(build: Callable[[], nn.Module], seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build().eval()


class _Decoder(nn.Module):
    """Conv, PReLU, a transposed conv and a grouped transposed conv: the conv family's other members."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.act = nn.Conv2d(3, 16, 3, padding=1), nn.PReLU(16)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.out = nn.ConvTranspose2d(8, 4, 3, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.up(self.act(self.conv(x)))))


class _Tagger(nn.Module):
    """Embedding, a two-layer GRU, a Linear per step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 16, padding_idx=5)
        self.gru = nn.GRU(16, 24, num_layers=2, batch_first=True)
        self.fc = nn.Linear(24, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gru(self.embed(ids))[0])


# name -> (constructor, example inputs). Small inputs; ConvNeXt and ViT in small configurations of torchvision's
# own classes (LayerNorm2d, nn.MultiheadAttention), so the test fits its budget.
MODELS: dict[str, tuple[Callable[[], nn.Module], Callable[[], list[torch.Tensor]]]] = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), lambda: _image(32)),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(num_classes=10), lambda: _image(32)),
    "regnet_x_400mf": (lambda: torchvision.models.regnet_x_400mf(num_classes=10), lambda: _image(32)),
    "convnext": (
        lambda: torchvision.models.ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10),
        lambda: _image(32),
    ),
    "vit": (
        lambda: torchvision.models.VisionTransformer(32, 8, 2, 4, 64, 128, num_classes=10),
        lambda: _image(32),
    ),
    "lstm": (lstm_net, lambda: [torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(1))]),
    "conv_transpose": (_Decoder, lambda: _image(8)),
    "gru": (_Tagger, lambda: [torch.randint(0, 30, (2, 6), generator=torch.Generator().manual_seed(1))]),
}

Applied = tuple[nn.Module, Program, AppliedPlan, Any]


def _session(name: str) -> Session:
    build, inputs = MODELS[name]
    return Session(_seeded(build), inputs(), name)


session = reused(_session)
applied_model = reused(lambda name: session(name).check_applied(0.5))


@pytest.mark.parametrize("name", list(MODELS))
@same_worker("apply_plan")
def test_applied_model_is_the_masked_original(name: str) -> None:
    """check_applied: outputs, parameters (names, shapes) and layer attributes; here also what kind of tensor
    each stays and that the plan's every weight changed."""
    model, prog, applied, report = applied_model(name)
    original = session(name).model
    assert prog.plan is not None and set(applied.changed) == set(prog.plan.params)
    for (n, a), (_, b) in zip(original.named_parameters(), model.named_parameters(), strict=True):
        assert isinstance(b, nn.Parameter) and a.requires_grad == b.requires_grad, n
    assert [n for n, _ in original.named_buffers()] == [n for n, _ in model.named_buffers()]
    assert report.params_after < report.params_before
    assert sum(p.numel() for p in model.parameters()) == report.params_after


def test_the_layer_check_sees_a_stale_attribute() -> None:
    """check_applied's layer check is not vacuous: a layer whose attribute was not updated is reported."""
    model, _, _, _ = applied_model("gru")
    stale = copy.deepcopy(model)
    assert not rebuilt_mismatches(stale)
    stale.gru.hidden_size = 24
    stale.embed.embedding_dim = 16
    assert [m.split(" ")[0] for m in rebuilt_mismatches(stale)] == ["embed", "gru"]


def test_grouped_and_depthwise_convs_keep_their_structure() -> None:
    """Depthwise convs stay depthwise (groups = channels) and RegNet's grouped convs keep whole groups of the
    width they had or lose whole groups: groups x per-group width = in_channels."""
    for name in ("mobilenet_v3_small", "regnet_x_400mf"):
        model, _, applied, _ = applied_model(name)
        original = dict(session(name).model.named_modules())
        grouped = [(p, m) for p, m in model.named_modules() if isinstance(m, nn.Conv2d) and original[p].groups > 1]
        assert grouped and any(p in applied.attributes for p, _ in grouped)
        for path, conv in grouped:
            was = original[path]
            if was.groups == was.in_channels:
                assert conv.groups == conv.in_channels == conv.out_channels, path
            assert conv.weight.shape[1] * conv.groups == conv.in_channels, path


def test_multihead_attention_with_pruned_heads() -> None:
    model, _, applied, _ = applied_model("vit")
    attn = model.encoder.layers[0].self_attention
    assert isinstance(attn, PrunedMultiheadAttention) and attn.num_heads < 4
    assert attn.in_proj_weight.shape[0] == attn.num_heads * (2 * attn.head_dim + attn.v_head_dim)
    assert any("PrunedMultiheadAttention" in line for line in applied.limits)
    # need_weights and batch_first paths as torch's own on the unpruned widths: an unpruned module turned into
    # a PrunedMultiheadAttention computes what nn.MultiheadAttention computes
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    mine = copy.deepcopy(ref)
    mine.__class__ = PrunedMultiheadAttention
    mine.v_head_dim, mine.scale = 4, 0.5
    x, pad = torch.randn(2, 5, 16), torch.tensor([[False] * 4 + [True], [False] * 5])
    want, want_w = ref(x, x, x, key_padding_mask=pad, average_attn_weights=False)
    got, got_w = mine(x, x, x, key_padding_mask=pad, average_attn_weights=False)
    assert got_w is not None and want_w is not None
    assert max_relative_error([got, got_w], [want, want_w]) < TOLERANCE


def _attention_plan(qk: list[int], v: list[int]) -> Plan:
    """Rows `qk` of q and k, `v` of v (and their biases, and out_proj's columns `v`) of a 16-wide attention."""
    rows = {"q": qk, "k": qk, "v": v}
    return Plan(
        {
            **{f"{n}_proj_weight": {0: idx} for n, idx in rows.items()},
            "in_proj_bias": {0: [i + 16 * k for k, n in enumerate("qkv") for i in rows[n]]},
            "out_proj.weight": {1: v},
        }
    )


@pytest.mark.parametrize(
    "case, plan, heads, widths",
    [
        ("a whole head", _attention_plan([4, 5, 6, 7], [4, 5, 6, 7]), 3, (4, 4)),
        ("inside every head", _attention_plan([0, 4, 8, 12], [3, 7, 11, 15]), 4, (3, 3)),
        ("q/k and v apart", _attention_plan([1, 5, 9, 13, 2, 6, 10, 14], [0, 4, 8, 12]), 4, (2, 3)),
    ],
)
def test_multihead_attention_with_separate_projections(
    case: str, plan: Plan, heads: int, widths: tuple[int, int]
) -> None:
    """kdim / vdim != embed_dim (q, k, v projections apart), a float attention mask: the applied module, with the
    original scale, computes the masked original."""
    model = _seeded(lambda: nn.MultiheadAttention(16, 4, kdim=12, vdim=10))
    g = torch.Generator().manual_seed(1)
    q, k, v = torch.randn(5, 2, 16, generator=g), torch.randn(7, 2, 12, generator=g), torch.randn(7, 2, 10, generator=g)
    mask = torch.randn(5, 7, generator=g)
    pruned = copy.deepcopy(model)
    api.apply_plan(pruned, plan)
    assert isinstance(pruned, PrunedMultiheadAttention)
    assert (pruned.num_heads, pruned.kdim, pruned.vdim) == (heads, 12, 10)
    assert (pruned.head_dim, pruned.v_head_dim) == widths and pruned.scale == 0.5
    params = {n: {str(d): i for d, i in dims.items()} for n, dims in plan.params.items()}
    with torch.no_grad(), masked(model, params) as reference:
        want = reference(q, k, v, attn_mask=mask)
        got = pruned(q, k, v, attn_mask=mask)
    assert max_relative_error([got[0]], [want[0]]) < TOLERANCE  # the weights average over the heads there are


def test_a_second_step_on_a_pruned_attention() -> None:
    """Step 2 (in step 1's indexing) on a PrunedMultiheadAttention: its heads are read with their pruned widths
    (q/k 2, v 3 per head; in_proj rows q, k, v at 0, 8, 16) and the original scale stays; the model computes the
    masked original of both steps (Plan.then)."""
    model = _seeded(lambda: nn.MultiheadAttention(16, 4))
    rows = {"q": [1, 5, 9, 13, 2, 6, 10, 14], "k": [1, 5, 9, 13, 2, 6, 10, 14], "v": [0, 4, 8, 12]}
    first = Plan({"in_proj_weight": {0: [i + 16 * k for k, n in enumerate("qkv") for i in rows[n]]}})
    first.params["in_proj_bias"] = first.params["in_proj_weight"]
    first.params["out_proj.weight"] = {1: rows["v"]}
    head = [2, 3]  # the second of four heads of width 2 (q, k), then of width 3 (v): rows 2-3, 10-11, 19-21
    second = Plan({"in_proj_weight": {0: [2, 3, 10, 11, 19, 20, 21]}, "in_proj_bias": {0: [2, 3, 10, 11, 19, 20, 21]}})
    second.params["out_proj.weight"] = {1: [3, 4, 5]}
    pruned = copy.deepcopy(model)
    api.apply_plan(pruned, first)
    api.apply_plan(pruned, second)
    assert isinstance(pruned, PrunedMultiheadAttention) and (pruned.num_heads, pruned.head_dim) == (3, len(head))
    assert (pruned.v_head_dim, pruned.scale) == (3, 0.5)
    both = first.then(second)
    x = torch.randn(5, 2, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), masked(model, {n: {str(d): i for d, i in ds.items()} for n, ds in both.params.items()}) as m:
        assert max_relative_error([pruned(x, x, x)[0]], [m(x, x, x)[0]]) < TOLERANCE


def test_lstm_sizes() -> None:
    model, _, applied, _ = applied_model("lstm")
    lstm = model.lstm
    assert applied.attributes["lstm"]["hidden_size"] == (32, lstm.hidden_size) and lstm.hidden_size < 32
    assert lstm.weight_hh_l0.shape == (4 * lstm.hidden_size, lstm.hidden_size)
    assert lstm._flat_weights[0] is lstm.weight_ih_l0  # torch's recurrent kernel reads the new tensors


def test_transposed_convs_and_gru() -> None:
    model, _, applied, _ = applied_model("conv_transpose")
    assert model.act.num_parameters < 16 and model.up.in_channels == model.act.num_parameters
    assert model.out.in_channels < 8 and model.out.groups == 2 and "out" in applied.attributes
    model, _, applied, _ = applied_model("gru")
    assert model.gru.hidden_size == 12 and model.embed.embedding_dim == model.gru.input_size < 16


def test_embedding_rows_and_padding_idx() -> None:
    """Removing vocabulary rows moves padding_idx down to the row it was; removing it is an error."""
    model = _seeded(_Tagger)
    api.apply_plan(model, Plan({"embed.weight": {0: [0, 1, 7]}}))
    assert model.embed.num_embeddings == 27 and model.embed.padding_idx == 3
    assert torch.equal(model.embed.weight[3], torch.zeros(16))
    with pytest.raises(SpaError, match="removes row 3 of Embedding, its padding_idx"):
        api.apply_plan(model, Plan({"embed.weight": {0: [3]}}))


def test_lstm_with_a_projection() -> None:
    """Two hidden units of a projected two-layer bidirectional LSTM removed in every layer and direction (their
    gate rows, their w_hr columns): hidden_size shrinks, proj_size stays, the masked original is computed."""
    model = _seeded(lambda: nn.LSTM(6, 8, num_layers=2, proj_size=4, bidirectional=True))
    units = [2, 5]
    rows = [g * 8 + j for g in range(4) for j in units]
    params: dict[str, dict[int, list[int]]] = {}
    for suffix in ("l0", "l0_reverse", "l1", "l1_reverse"):
        params |= {f"{w}_{suffix}": {0: rows} for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        params[f"weight_hr_{suffix}"] = {1: units}
    pruned = copy.deepcopy(model)
    applied = api.apply_plan(pruned, Plan(params))
    assert (pruned.hidden_size, pruned.proj_size, pruned.input_size) == (6, 4, 6)
    assert applied.attributes[""] == {"hidden_size": (8, 6)}
    x = torch.randn(5, 2, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), masked(model, {n: {str(d): i for d, i in ds.items()} for n, ds in params.items()}) as m:
        (out, (h, c)), (want_out, (want_h, want_c)) = pruned(x), m(x)
    kept = [0, 1, 3, 4, 6, 7]
    assert max_relative_error([out, h, c], [want_out, want_h, want_c[..., kept]]) < TOLERANCE
    assert torch.equal(want_c[..., units], torch.zeros(4, 2, 2))  # the removed units' cells are zero there
    uneven = {**params, "weight_hh_l1": {0: rows[:4]}}
    with pytest.raises(SpaError, match="LSTM layers keep hidden sizes"):
        api.apply_plan(copy.deepcopy(model), Plan(uneven))


def test_checkpoint_loads_into_a_fresh_model_after_the_plan(tmp_path: Path) -> None:
    """A pruned state dict does not fit the constructor's model; it fits once the plan (from plan.json) is applied
    to a fresh model (another checkpoint of the same architecture), which then computes what the pruned one does."""
    model, prog, _, _ = applied_model("resnet18")
    assert prog.plan is not None
    prog.plan.save(tmp_path / "plan.json")
    state = model.state_dict()
    fresh = _seeded(MODELS["resnet18"][0], seed=7)
    with pytest.raises(RuntimeError, match="size mismatch"):
        fresh.load_state_dict(state)
    api.apply_plan(fresh, tmp_path / "plan.json")
    fresh.load_state_dict(state)
    x = session("resnet18").inputs
    with torch.no_grad():
        assert max_relative_error(flat_outputs(fresh(*x)), flat_outputs(model(*x))) == 0.0


def test_a_compensated_plan_writes_its_tensors(tmp_path: Path) -> None:
    """criterion=obspa refits the kept weights and creates c3.bias; applied (through plan.json +
    plan.safetensors) the model is the masked original with those tensors written, and the emitted module."""
    torch.manual_seed(0)
    data = torch.randn(96, 3, 6, 6) * 0.8 + 0.3
    model = trained_on(_Net(), data)
    prog = api.import_torch(model, [data[:1]])
    plan = api.prune_program(prog, ratio=0.5, criterion="obspa", calib=data[:64])
    assert "c3.bias" in plan.tensors and "c3.bias" in plan.params and "c2.weight" in plan.tensors
    plan.save(tmp_path / "plan.json")
    pruned = copy.deepcopy(model)
    applied = api.apply_plan(pruned, tmp_path / "plan.json", example_inputs=[data[:1]])
    assert set(applied.created) == {"c3.bias", "fc.bias"} and isinstance(pruned.c3.bias, nn.Parameter)
    test = data[64:]
    params = {k: {str(d): v for d, v in dims.items()} for k, dims in plan.params.items()}
    with torch.no_grad(), masked(model, params, plan.tensors) as reference:
        want = reference(test)
    with torch.no_grad():
        gm = api.to_torch(prog)  # captured at batch 1
        got, emitted = pruned(test), torch.cat([gm(t[None]) for t in test])
        plain = copy.deepcopy(model)
        api.apply_plan(plain, Plan({k: v for k, v in plan.params.items() if k not in applied.created}))
        removed_only = plain(test)
    assert model.c3.bias is None
    assert max_relative_error([got], [want]) < TOLERANCE and max_relative_error([got], [emitted]) < TOLERANCE
    assert max_relative_error([removed_only], [want]) > 1e-3  # the tensors were written, not only sliced


def test_tensors_land_on_the_model_device() -> None:
    """plan.safetensors is read on the CPU: a created bias goes to its module's device, slices stay there (the
    meta device stands in for an accelerator)."""
    model = _Net().to("meta")
    plan = Plan({"c3.weight": {0: [1]}, "c3.bias": {0: [1]}}, tensors={"c3.bias": torch.zeros(8)})
    api.apply_plan(model, plan)
    assert model.c3.bias is not None and model.c3.bias.device.type == "meta" and model.c3.bias.shape == (7,)
    assert model.c3.weight.device.type == "meta" and model.c3.out_channels == 7


class _ScaledByWidth(nn.Module):
    """Attention-like: the scale comes from the width of its input at run time (DeBERTa, ModernBERT do so with
    the head width), so a pruned width changes what it computes without failing."""

    def __init__(self) -> None:
        super().__init__()
        self.q, self.k = nn.Linear(8, 16), nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = self.q(x), self.k(x)
        return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)


def test_a_forward_deriving_a_size_is_refused_and_restored() -> None:
    """With example inputs, an exact plan's applied model must equal the masked original: a scale derived from the
    pruned width differs, so apply_plan refuses in one line and leaves the model as it was; verify=False skips it."""
    model = _seeded(_ScaledByWidth).eval()
    x = torch.randn(1, 5, 8, generator=torch.Generator().manual_seed(0))
    gone = {0: [1, 3, 5, 7]}
    plan = Plan(
        {n: gone for n in ("q.weight", "q.bias", "k.weight", "k.bias")},
        groups=[{"id": 0, "size": 16, "removed": gone[0], "exact": True, "members": []}],
    )
    before = _state(model)
    with pytest.raises(SpaError, match=r"computes other outputs than the masked original .* \(relative error") as e:
        api.apply_plan(model, plan, example_inputs=[x])
    assert "\n" not in str(e.value) and _unchanged(model, before)
    applied = api.apply_plan(model, plan, example_inputs=[x], verify=False)
    assert applied.verified is None and model.q.out_features == 12


class _Pool64(nn.Module):
    """Averages [B, C, H, W] over space through a view that hard-codes C."""

    def __init__(self) -> None:
        super().__init__()
        self.channels = 64

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], self.channels, -1).mean(-1)


def _hard_coded() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), _Pool64(), nn.Linear(64, 10)).eval()


def test_a_hard_coded_size_is_named() -> None:
    """The view's 64 no longer fits the pruned conv: with example inputs, one line names the module, its class
    and the error, and points to the emitted module, which computes the masked original."""
    model = _seeded(_hard_coded)
    x = torch.randn(1, 3, 5, 5)
    prog = api.import_torch(model, [x])
    plan = api.prune_program(prog, ratio=0.5, criterion="random", only_exact=True)
    assert plan.params["0.weight"][0]
    with pytest.raises(SpaError) as e:
        api.apply_plan(copy.deepcopy(model), plan, example_inputs=[x])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("2: _Pool64 fails after pruning (RuntimeError: shape '[1, 64, -1]'")
    assert "it holds channels = 64, a size the plan changed (0.weight dim 0: 64 -> 32)" in msg
    assert "spa_ir.api.to_torch" in msg
    applied = api.apply_plan(copy.deepcopy(model), plan)
    assert applied.size_attributes == [SizeAttribute("2", "_Pool64", "channels", 64)]
    assert any(line.startswith("2 (_Pool64).channels = 64") for line in applied.limits)
    params = {k: {str(d): v for d, v in dims.items()} for k, dims in plan.params.items()}
    with torch.no_grad(), masked(model, params) as reference:
        assert max_relative_error([api.to_torch(prog)(x)], [reference(x)]) < TOLERANCE


class _Attention(nn.Module):
    """timm-style attention: its forward splits heads by its own num_heads and head_dim."""

    def __init__(self, dim: int = 32, heads: int = 4, head_dim: int = 6) -> None:
        super().__init__()
        self.num_heads, self.head_dim = heads, head_dim
        self.qkv, self.proj = nn.Linear(dim, 3 * heads * head_dim), nn.Linear(heads * head_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) * self.head_dim**-0.5, -1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, -1))


def test_head_attributes_of_a_custom_attention_are_named() -> None:
    """Whole heads pruned: num_heads * head_dim no longer is the projections' width; both the scan and the
    forward check say so, naming the module and the attributes."""
    model = _seeded(lambda: nn.Sequential(nn.Linear(8, 32), _Attention(), nn.Linear(32, 5)))
    x = torch.randn(1, 6, 8)
    plan = api.prune_program(api.import_torch(model, [x]), ratio=0.5, criterion="random", only_exact=True, heads=True)
    assert len(plan.params["1.qkv.weight"][0]) == 36  # two of four heads, q, k and v
    applied = api.apply_plan(copy.deepcopy(model), plan)
    assert applied.size_attributes == [SizeAttribute("1", "_Attention", "head_dim * num_heads", 24)]
    with pytest.raises(
        SpaError,
        match=r"^1: _Attention fails after pruning \(RuntimeError: shape '\[1, 6, 3, 4, 6\]'.*"
        r"it holds head_dim \* num_heads = 24, a size the plan changed \(1.proj.weight dim 1: 24 -> 12\)",
    ):
        api.apply_plan(copy.deepcopy(model), plan, example_inputs=[x])


def _state(model: nn.Module) -> dict[str, Any]:
    """Everything apply_plan could change: tensors (by value and identity) and every module's attributes."""
    tensors = {n: (t, t.detach().clone()) for n, t in model.state_dict(keep_vars=True).items()}
    attrs = {p: {a: v for a, v in vars(m).items() if isinstance(v, int | tuple)} for p, m in model.named_modules()}
    return {"tensors": tensors, "attrs": attrs, "classes": [type(m) for m in model.modules()]}


def _unchanged(model: nn.Module, before: dict[str, Any]) -> bool:
    now = _state(model)
    same = now["tensors"].keys() == before["tensors"].keys() and all(
        t is before["tensors"][n][0] and torch.equal(t, before["tensors"][n][1]) for n, (t, _) in now["tensors"].items()
    )
    return same and now["attrs"] == before["attrs"] and now["classes"] == before["classes"]


class _Grouped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(4, 8, 1)
        self.b = nn.Conv2d(8, 8, 3, groups=2)


class _GroupNormed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.norm = nn.GroupNorm(4, 8)


BAD_PLANS: dict[str, tuple[Callable[[], nn.Module], Plan, str]] = {
    "unknown name": (_Grouped, Plan({"a.weight": {0: [1]}, "nope.weight": {0: [1]}}), "'nope.weight'"),
    "index out of range": (_Grouped, Plan({"a.weight": {0: [1, 8]}}), "index 8 of 'a.weight' dim 0, which has size 8"),
    "dim out of range": (_Grouped, Plan({"a.bias": {1: [0]}}), "dim 1 of 'a.bias', which has 1 dims"),
    "uneven groups": (
        _Grouped,
        Plan({"a.weight": {0: [0]}, "a.bias": {0: [0]}, "b.weight": {0: [0], 1: [0]}, "b.bias": {0: [0]}}),
        "b: Conv2d with groups=2 keeps [3, 4] channels",
    ),
    "uneven group norm": (
        _GroupNormed,
        Plan({"conv.weight": {0: [0]}, "conv.bias": {0: [0]}, "norm.weight": {0: [0]}, "norm.bias": {0: [0]}}),
        "norm: GroupNorm keeps [1, 2, 2, 2] channels of its 4 groups",
    ),
    "written shape": (_Grouped, Plan(tensors={"a.weight": torch.zeros(3, 4, 1, 1)}), "writes 'a.weight' of shape"),
    "written shape of a bias": (_Grouped, Plan(tensors={"a.bias": torch.zeros(3)}), "writes 'a.bias' of shape"),
    "created slot taken": (_Grouped, Plan(tensors={"a.stride": torch.zeros(8)}), "no empty slot"),
    "created module missing": (_Grouped, Plan(tensors={"c.bias": torch.zeros(8)}), "no module 'c'"),
}


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_bad_plans_are_one_line_errors_and_change_nothing(case: str) -> None:
    build, plan, message = BAD_PLANS[case]
    model = _seeded(build)
    before = _state(model)
    with pytest.raises(SpaError) as e:
        api.apply_plan(model, plan)
    assert "\n" not in str(e.value) and message in str(e.value)
    assert _unchanged(model, before)


def test_group_norm_loses_whole_groups() -> None:
    """Whole groups removed (an only-exact plan's groups) and the same channels inside every kept group: the
    group count counts the groups kept, the layer computes the masked original's kept channels."""
    model = _seeded(_GroupNormed)
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    gone = [2, 3, 6, 7]  # groups 1 and 3 whole
    plan = Plan({n: {0: gone} for n in ("conv.weight", "conv.bias", "norm.weight", "norm.bias")})
    with torch.no_grad(), masked(model, plan.to_json()["params"]) as original:
        want = original.norm(original.conv(x))[:, [0, 1, 4, 5]]
    api.apply_plan(model, plan)
    assert (model.norm.num_groups, model.norm.num_channels) == (2, 4)
    with torch.no_grad():
        assert torch.allclose(model.norm(model.conv(x)), want, atol=1e-6)


def test_a_plan_is_applied_once() -> None:
    """Its indices are the original model's: a second application (which could fit the pruned shapes) is refused."""
    model = _seeded(_Grouped)
    plan = Plan({"b.weight": {0: [0, 4]}, "b.bias": {0: [0, 4]}})  # a channel of each group
    api.apply_plan(model, plan)
    before = _state(model)
    with pytest.raises(SpaError, match="this plan was applied to the model already"):
        api.apply_plan(model, plan)
    assert _unchanged(model, before) and (model.b.out_channels, model.b.groups) == (6, 2)
    api.apply_plan(copy.deepcopy(_seeded(_Grouped)), plan)  # a fresh model takes it


class _Tied(nn.Module):
    """A language model whose output head is its embedding (one Parameter under two names)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.mid = nn.Linear(16, 16)
        self.head = nn.Linear(16, 50, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.mid(self.embed(ids))))


def test_tied_tensors_are_sliced_once_and_stay_tied() -> None:
    model = _seeded(_Tied)
    model.mid.bias.requires_grad_(False)
    ids = torch.randint(0, 50, (1, 7), generator=torch.Generator().manual_seed(1))
    removed = [0, 3, 9]
    params = {"embed.weight": {1: removed}, "mid.weight": {0: removed, 1: removed}, "mid.bias": {0: removed}}
    for names in (params, {**params, "head.weight": {1: removed}}):  # the tied name listed or not
        pruned = copy.deepcopy(model)
        applied = api.apply_plan(pruned, Plan(names), example_inputs=[ids])
        assert pruned.head.weight is pruned.embed.weight and isinstance(pruned.embed.weight, nn.Parameter)
        assert tuple(pruned.embed.weight.shape) == (50, 13) and applied.changed["head.weight"][1] == (50, 13)
        assert pruned.embed.embedding_dim == pruned.head.in_features == 13
        assert not pruned.mid.bias.requires_grad
        with torch.no_grad(), masked(model, {k: {str(d): v for d, v in ds.items()} for k, ds in params.items()}) as m:
            assert max_relative_error([pruned(ids)], [m(ids)]) < TOLERANCE
    with pytest.raises(SpaError, match="same tensor as 'embed.weight'"):
        api.apply_plan(copy.deepcopy(model), Plan({**params, "head.weight": {1: [0]}}))
