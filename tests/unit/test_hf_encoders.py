"""Hugging Face encoders, vision, speech and encoder-decoder families through the exactness oracle.

Each family of tests/unit/hf_encoders.py is captured once (fidelity checked by the Session), then pruned with
criterion=random: only_exact at ratios 0.3 and 0.5 against the masked original (tests/unit/oracle.py), every
group at 0.5 (shapes, finite outputs), and only_exact at 0.5 with heads=True (whole heads: the removed rows of
each query projection are whole head blocks, and the result is still the masked original). A family not pruned
is listed in NOT_PRUNABLE with the regex of its reason, and the test asserts it fails that way. For ViT, BERT,
Wav2Vec2 and the Whisper encoder, apply_plan puts a plan back into the user's model, and save_pretrained /
from_pretrained gives it back: both equal the masked original.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import hf_encoders
import pytest
import torch
from oracle import TOLERANCE, NothingPruned, Session, _forward, clone_program, per_model, reused
from zoo import max_relative_error

from spa_ir import api
from spa_ir.core.errors import SpaError

NOT_PRUNABLE: dict[str, str] = {
    # `if is_global_attn:` reads whether any token is global from the mask's values: data-dependent control flow.
    "longformer": r"cannot capture model with torch\.export: GuardOnDataDependentSymNode",
    # The eval-mode attention-bias cache (`attention_biases[:, attention_bias_idxs]`, a plain tensor in a dict) is
    # lifted by torch.export as a constant; its head dim is in a group, so the plan slices a tensor the user's model
    # does not hold as a parameter or buffer, and the masked original (and apply_plan) cannot reach it.
    "levit": r"the plan prunes '.*lifted_tensor_0', which is no parameter, buffer or tensor attribute",
}
"""family -> regex of the reason it is not pruned (SpaError from capture, or NothingPruned)."""

DIFFERS = r"the applied model computes other outputs than the masked original on the example inputs"
APPLY_REFUSED: dict[str, str] = {
    # The attention scale is sqrt(head width x factor) of the query tensor at run time: pruned head dims change it
    # in the user's class (the emitted module keeps the captured scale). apply_plan's own check refuses.
    "deberta_v2": DIFFERS,
    # MPNetEncoder's relative-attention bias has n_heads rows computed in the encoder, not in the attention module.
    "mpnet": DIFFERS,
    # ModernBERT's attention computes its scale and rotary split from the pruned head width at run time.
    "modernbert": DIFFERS,
}
"""family -> regex of why apply_plan refuses the 0.5 plan (head dims pruned) for the user's own class: its forward
derives a size from the pruned tensors, found by apply_plan comparing with the masked original; heads=True plans
(whole heads) are not refused for this reason."""

QUERY = re.compile(r"\.(query|query_proj|q_proj|q_lin|q|Wqkv)\.weight$")
"""The query projections, whose output rows are heads x head_dim (ModernBERT's fused Wqkv: 3 x heads x head_dim)."""


def _session(name: str) -> Session:
    family = hf_encoders.FAMILIES[name]
    return Session(family.build(), family.inputs(), name)


session = reused(_session)


def _head_dims(model: torch.nn.Module) -> dict[str, int]:
    """Query weight name -> head width, read from its attention module (the projection's owner or the owner's
    parent): a head width attribute, else the rows over the head count."""
    out: dict[str, int] = {}
    modules = dict(model.named_modules())
    for name, p in model.named_parameters():
        if QUERY.search(name):
            owner = name.rsplit(".", 2)[0]
            width = _width_of(p.shape[0], modules.get(owner), modules.get(owner.rsplit(".", 1)[0]))
            if width:
                out[name] = width
    return out


def _width_of(rows: int, *modules: torch.nn.Module | None) -> int | None:
    for m in modules:
        for attr in ("head_dim", "attention_head_size", "key_value_proj_dim"):
            if isinstance(value := getattr(m, attr, None), int) and value > 0:
                return value
        for attr in ("num_attention_heads", "num_heads", "n_heads", "n_head"):
            if isinstance(value := getattr(m, attr, None), int) and value > 0:
                return rows // value
    return None


def check_heads(s: Session, ratio: float = 0.5) -> int:
    """heads=True, only_exact: the pruned model equals the masked original, every query projection lost whole
    heads only (an attention of one head has no head factor: its dims prune as channels); returns how many
    heads went (the family must lose some)."""
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=ratio, criterion="random", seed=1, only_exact=True, heads=True).to_json()
    got = s.run_pruned(prog)
    want = s.run_masked(plan["params"])
    error = max_relative_error(got, want)
    assert error < TOLERANCE, f"{s.name} heads=True: pruned != masked original ({error:.1e})"
    removed_heads = 0
    for name, width in _head_dims(s.model).items():
        if width == s.shapes[name][0]:
            continue  # one head (SegFormer's first stage): no head factor in the layout, its dims are channels
        rows = set(plan["params"].get(name, {}).get("0", []))
        blocks = {i // width for i in rows}
        assert rows == {b * width + j for b in blocks for j in range(width)}, (
            f"{name}: rows {sorted(rows)} not whole heads"
        )
        removed_heads += len(blocks)
    return removed_heads


ATTENTION_FREE = {"convnext", "resnet"}
"""Families without attention heads: heads=True must still be exact, and nothing has heads to lose."""


@pytest.mark.parametrize("name", per_model(list(hf_encoders.FAMILIES), "hf_encoders"))
def test_family(name: str) -> None:
    if name in NOT_PRUNABLE:
        with pytest.raises((SpaError, NothingPruned)) as info:
            session(name).check_exact(0.5)
        assert re.search(NOT_PRUNABLE[name], str(info.value)), f"{name} failed differently: {info.value}"
        return
    s = session(name)
    reports = [s.check_exact(0.3), s.check_exact(0.5), s.check_runs(0.5)]
    for r in reports:
        print(r.summary(), r.frozen_reasons)
    if name in APPLY_REFUSED:
        with pytest.raises(SpaError, match=APPLY_REFUSED[name]):
            s.check_applied(0.5)
    else:
        _, _, applied, report = s.check_applied(0.5)
        print(f"{name} apply_plan: err {report.error:.1e}, {len(applied.changed)} tensors sliced, {applied.limits}")
    heads = check_heads(s)
    print(f"{name} heads=True: {heads} heads removed")
    assert (heads == 0) == (name in ATTENTION_FREE), f"{name}: {heads} heads removed with heads=True"


def test_coverage() -> None:
    """The issue's minimum per kind, counting only families that prune."""
    kinds: dict[str, int] = {}
    for name, family in hf_encoders.FAMILIES.items():
        if name not in NOT_PRUNABLE:
            kinds[family.kind] = kinds.get(family.kind, 0) + 1
    want = {"encoder": 6, "vision": 5, "speech": 2, "encoder-decoder": 1}
    assert all(kinds.get(k, 0) >= n for k, n in want.items()), kinds
    assert set(NOT_PRUNABLE) <= set(hf_encoders.FAMILIES), set(NOT_PRUNABLE) - set(hf_encoders.FAMILIES)


APPLY: dict[str, dict[str, Any]] = {
    "vit": {"heads": True, "uniform": True},
    # BERT's, Wav2Vec2's and Whisper's configs derive the head width from hidden / heads, and Wav2Vec2's feature
    # convs and Whisper's conv1 -> conv2 widths are sizes they do not hold per layer: what their configs can say
    # after pruning is the MLP width, one for all layers (BERT's position_ids past the captured length stay:
    # slicing.UNREAD_WEIGHT_PART).
    "bert": {"uniform": True, "ignore": r"attention"},
    "wav2vec2": {"uniform": True, "ignore": r"attention|conv|feature"},
    "whisper_encoder": {"uniform": True, "ignore": r"self_attn|conv"},
}
"""family -> the pruning options whose result the family's config can express (uniform=True: one width per size)."""


def _applied(name: str, **options: Any) -> tuple[Session, Any, Any, Any, list[torch.Tensor]]:
    """(session, plan, applied, model, masked original's outputs): an only_exact plan at 0.5 applied to a copy."""
    s = session(name)
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True, **options)
    model: Any = copy.deepcopy(s.model)
    applied = api.apply_plan(model, plan, example_inputs=s.inputs)
    want = s.run_masked(plan.to_json()["params"])
    error = max_relative_error(_forward(model, s.inputs), want)
    assert error < TOLERANCE, f"{name} {options}: apply_plan's model != masked original ({error:.1e})"
    return s, plan, applied, model, want


@pytest.mark.parametrize("name", per_model(list(APPLY), "hf_encoders"))
def test_apply_plan_save_and_reload(name: str, tmp_path: Path) -> None:
    """apply_plan on a copy of the user's model, then save_pretrained / from_pretrained: both equal the masked
    original, with fewer parameters, and nothing is left for the user to fix (no limits)."""
    s, _, applied, model, want = _applied(name, **APPLY[name])
    assert not applied.limits, applied.limits
    inner = model.model
    inner.save_pretrained(tmp_path)
    back = type(inner).from_pretrained(tmp_path, attn_implementation=inner.config._attn_implementation).eval()
    reloaded = hf_encoders.HFCall(back, model.names, model.keys).eval()
    error = max_relative_error(_forward(reloaded, s.inputs), want)
    assert error < TOLERANCE, f"{name}: reloaded model != masked original ({error:.1e})"
    kept = sum(p.numel() for p in back.parameters())
    assert kept < sum(p.numel() for p in s.model.parameters()), f"{name}: reloaded model is not smaller"


@pytest.mark.parametrize("name", per_model(["bert"], "hf_encoders"))
def test_apply_plan_head_dims_are_a_limit(name: str, tmp_path: Path) -> None:
    """Head dims pruned (heads=False): the applied BERT's attention takes the new head width (it computes the
    masked original), but BertConfig derives the width from hidden / heads, so save_pretrained refuses."""
    _, plan, applied, model, _ = _applied(name, uniform=True)
    attention = model.model.encoder.layer[0].attention.self
    rows = plan.params["model.encoder.layer.0.attention.self.query.weight"][0]
    assert attention.attention_head_size * attention.num_attention_heads == 64 - len(rows)
    assert any("config cannot express" in line for line in applied.limits), applied.limits
    with pytest.raises(SpaError, match="save_pretrained would write a config that does not rebuild"):
        model.model.save_pretrained(tmp_path)


@pytest.mark.parametrize("name", per_model(["bert"], "hf_encoders"))
def test_apply_plan_longer_input(name: str) -> None:
    """A plan made on a 16-token capture, applied, runs on a longer input as the masked original does: the
    position table and position_ids past the captured length stay (nothing there is a channel)."""
    from spa_ir.verify import masked

    s, plan, _, model, _ = _applied(name, **APPLY[name])
    longer = [torch.cat([x, x], dim=1) for x in s.inputs]
    with masked(s.model, plan.to_json()["params"]) as original:
        want = _forward(original, longer)
    error = max_relative_error(_forward(model, longer), want)
    assert error < TOLERANCE, f"{name}: applied model on {longer[0].shape[1]} tokens != masked original ({error:.1e})"
