"""Hugging Face encoders, vision, speech and encoder-decoder families through the exactness oracle.

Each family of tests/unit/hf_encoders.py is captured once (fidelity checked by the Session), then pruned with
criterion=random: only_exact at ratios 0.3 and 0.5 against the masked original (tests/unit/oracle.py), every
group at 0.5 (shapes, finite outputs), and only_exact at 0.5 with heads=True (whole heads: the removed rows of
each query projection are whole head blocks, and the result is still the masked original). A family not pruned
is listed in NOT_PRUNABLE with the regex of its reason, and the test asserts it fails that way.
"""

from __future__ import annotations

import re

import hf_encoders
import pytest
import torch
from oracle import TOLERANCE, NothingPruned, Session, clone_program, per_model, reused
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
    plan = api.prune(prog, ratio=ratio, criterion="random", seed=1, only_exact=True, heads=True).to_json()
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
