"""Hugging Face decoder families: the exactness oracle, whole heads and kv groups, and the pruned model back in
its own class (apply_plan, save_pretrained, from_pretrained, generate).

Each family of tests/unit/hf_decoders.py is captured once as its *ForCausalLM returning logits (fidelity checked
by the Session), then pruned with criterion=random: only_exact at ratios 0.3 and 0.5 against the masked original
(tests/unit/oracle.py), every group at 0.5 (shapes, finite outputs), and only_exact at 0.5 with heads=True
(gqa=kv): in every layer half the q heads go as whole heads, with grouped-query attention half the kv heads with
the q heads that share them, and half the MLP neurons; apply_plan's model (the user's own class, its attention
attributes updated by spa_ir/backends/module/transformers.py) computes the masked original too. With
uniform=True the config can say the pruned sizes for the families in SAVES: save_pretrained then
from_pretrained gives the same logits; the others' save_pretrained refuses with the reason in CANNOT_SAVE. For
Llama, Qwen2 and Gemma (tied embeddings, head_dim != hidden/heads) the reloaded model's greedy generate() with a
KV cache gives the masked original's tokens.
"""

from __future__ import annotations

import copy
import re
import tempfile
from typing import Any

import hf_decoders
import pytest
import torch
from hf_decoders import DECODERS, LogitsOnly
from oracle import TOLERANCE, Session, _forward, clone_program, per_model, reused
from torch import nn
from zoo import max_relative_error

from spa_ir import api
from spa_ir.backends.module.transformers import is_attention
from spa_ir.core.errors import SpaError

HEADS_FROZEN: dict[str, str] = {
    # BLOOM adds its alibi bias to the scores (torch.baddbmm): the bias's head dim is computed from constant
    # slopes (no channels), so the heads meeting it are frozen; head dims and MLP neurons prune.
    "bloom": r"meets a dim without channels",
    "mpt": r"meets a dim without channels",  # alibi as BLOOM's
}
"""family -> regex of the frozen reason that keeps its attention heads whole (its MLP neurons prune)."""

HEADS_INEXACT: dict[str, str] = {
    # OLMo-2 RMS-normalizes the whole query and key projections (all heads' dims at once, q_norm / k_norm) before
    # splitting heads: removing a head changes every other head's normalization, so heads are inexact.
    "olmo2": r"self_attn\.q_norm\.weight$",
}
"""family -> regex of the weight (a norm over all heads) that makes its head groups inexact (MLP neurons prune)."""

NOT_PRUNABLE: dict[str, str] = {}
"""family -> regex of the reason nothing is pruned: every family tried prunes (see HEADS_FROZEN)."""

_DERIVED_HEAD_DIM = r"its config cannot express the pruned sizes: .*attn.*\(config builds"
CANNOT_SAVE: dict[str, str] = {
    # The attention takes head_dim = hidden_size // num_attention_heads from the config (no head_dim key), so
    # fewer heads of the same width cannot be said.
    "gpt2": _DERIVED_HEAD_DIM,
    "gpt_neox": r"its config cannot express the pruned sizes: .*attention",
    "falcon": _DERIVED_HEAD_DIM.replace("attn", "attention"),
    "opt": _DERIVED_HEAD_DIM,
    "gptj": _DERIVED_HEAD_DIM,
    "stablelm": _DERIVED_HEAD_DIM,
    "gpt_bigcode": _DERIVED_HEAD_DIM,
    "codegen": _DERIVED_HEAD_DIM,
    "persimmon": r"its config cannot express the pruned sizes: .*self_attn",
    # MPT's MLP is expansion_ratio * d_model: a float the adapter does not write (the uniform width could be said).
    "mpt": r"its config cannot express the pruned sizes: .*ffn\.up_proj",
    # BLOOM's MLP is 4 * hidden_size, no config key: pruned neurons cannot be said.
    "bloom": r"its config cannot express the pruned sizes: .*mlp\.dense_h_to_4h",
}
"""family -> regex of the limit that makes save_pretrained refuse after a uniform heads=True plan."""
SAVES = [n for n in DECODERS if n not in CANNOT_SAVE]
GENERATE = ["llama", "qwen2", "gemma"]
UNIFORM = {"heads": True, "uniform": True, "scope": "global"}
PRUNED = [n for n in DECODERS if n not in NOT_PRUNABLE]


def _session(name: str) -> Session:
    return Session(LogitsOnly(hf_decoders.causal_lm(name)), [hf_decoders.tokens()], name)


session = reused(_session)
families = per_model(PRUNED, "hf_decoders")


def _attention(model: nn.Module) -> dict[str, nn.Module]:
    return {p: m for p, m in model.named_modules() if is_attention(m)}


def _out_width(module: nn.Module) -> int:
    """The attention output projection's input columns (q heads x head_dim), read from its weight."""
    for n in ("o_proj", "out_proj", "dense", "c_proj"):
        w = getattr(getattr(module, n, None), "weight", None)
        if isinstance(w, torch.Tensor):
            return int(w.shape[0] if type(getattr(module, n)).__name__ == "Conv1D" else w.shape[1])
    raise AssertionError(f"{type(module).__name__}: no output projection")


def _prune(s: Session, **options: Any) -> tuple[api.Program, Any]:
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, only_exact=True, criterion="random", seed=1, **options)
    return prog, plan


def _applied(s: Session, plan: Any) -> tuple[nn.Module, Any, float]:
    """apply_plan on a copy of the user's model; its error against the masked original."""
    model = copy.deepcopy(s.model)
    applied = api.apply_plan(model, plan, example_inputs=s.inputs)
    with torch.no_grad():
        got = model(*s.inputs)
    return model, applied, max_relative_error([got], s.run_masked(plan.params))


@pytest.mark.parametrize("name", families)
def test_oracle(name: str) -> None:
    """Exact at 0.3 and 0.5, every group at 0.5."""
    s = session(name)
    reports = [s.check_exact(0.3), s.check_exact(0.5), s.check_runs(0.5)]
    for r in reports:
        print(r.summary(), r.frozen_reasons)


@pytest.mark.parametrize("name", families)
def test_whole_heads_and_kv_groups(name: str) -> None:
    """heads=True, gqa=kv at 0.5: whole q heads, kv heads with their q heads, MLP neurons; the pruned program and
    apply_plan's model are the masked original, and the attention modules say their new heads."""
    s = session(name)
    prog, plan = _prune(s, heads=True)
    got = s.run_pruned(prog)
    assert max_relative_error(got, s.run_masked(plan.params)) < TOLERANCE
    model, applied, error = _applied(s, plan)
    assert error < TOLERANCE, f"apply_plan's model != masked original ({error:.1e})"
    old, new = _attention(s.model), _attention(model)
    assert old.keys() == new.keys() and old
    mlp = [n for n in plan.params if re.search(r"(down_proj|dense_4h_to_h|fc2|fc_out|mlp\.c_proj)\.weight$", n)]
    assert mlp, f"{name}: no MLP neuron pruned"
    if name in HEADS_INEXACT:
        norms = [
            g for g in plan.to_json()["groups"] if any(re.search(HEADS_INEXACT[name], m["param"]) for m in g["members"])
        ]
        assert norms and not any(g["exact"] or g["removed"] for g in norms), norms
        assert all(_out_width(new[p]) == _out_width(old[p]) for p in old)
        return
    if name in HEADS_FROZEN:
        reasons = {r["kind"] + ": " + r["op"] for g in plan.to_json()["groups"] for r in g["frozen"] if "op" in r}
        assert any(re.search(HEADS_FROZEN[name], r) for r in reasons), reasons
        assert all(_out_width(new[p]) == _out_width(old[p]) for p in old)
        return
    for path, before in old.items():
        after = new[path]
        width = vars(before).get("head_dim", vars(before).get("head_size"))
        assert vars(after).get("head_dim", vars(after).get("head_size")) == width, f"{path}: head width changed"
        heads = _out_width(before) // width
        assert _out_width(after) == (heads // 2) * width, f"{path}: {_out_width(after)} columns, not half the heads"
        for attr in ("num_heads", "num_attention_heads"):
            if attr in vars(before):
                assert vars(after)[attr] == heads // 2, (path, attr)
        kv = next(
            (vars(before)[a] for a in ("num_key_value_heads", "num_kv_heads", "kv_heads") if a in vars(before)), None
        )
        key = getattr(before, "k_proj", None)
        kv = kv if kv is not None else (key.weight.shape[0] // width if key is not None else heads)
        if kv < heads:  # grouped-query: half the kv heads, each with all the q heads that share it (one kv head
            kept = max(kv // 2, 1)  # of multi-query attention stays, its q heads halve)
            after_key = getattr(after, "k_proj", None)
            if after_key is not None:
                assert after_key.weight.shape[0] == kept * width, path
            for attr in ("num_key_value_heads", "num_kv_heads", "kv_heads"):
                if attr in vars(after):
                    assert vars(after)[attr] == kept, (path, attr)
            if "num_key_value_groups" in vars(after):
                assert vars(after)["num_key_value_groups"] == (heads // 2) // kept, path
    print(
        f"{name} heads=True: params {sum(p.numel() for p in model.parameters())}/"
        f"{sum(p.numel() for p in s.model.parameters())}, limits {applied.limits}"
    )


@pytest.mark.parametrize("name", families)
def test_uniform_plan_saves_and_reloads(name: str) -> None:
    """heads=True, uniform=True: the config says the pruned sizes (from_pretrained gives the same logits), or
    save_pretrained refuses with the family's reason."""
    import transformers

    s = session(name)
    _, plan = _prune(s, **UNIFORM)
    model, applied, error = _applied(s, plan)
    assert error < TOLERANCE
    lm = model.lm
    with tempfile.TemporaryDirectory() as tmp:
        if name in CANNOT_SAVE:
            assert any(re.search(CANNOT_SAVE[name], line) for line in applied.limits), applied.limits
            with pytest.raises(SpaError, match="save_pretrained would write a config that does not rebuild"):
                lm.save_pretrained(tmp)
            return
        assert not applied.limits, applied.limits
        lm.save_pretrained(tmp)
        back = transformers.AutoModelForCausalLM.from_pretrained(tmp).eval()
    with torch.no_grad():
        logits = back(input_ids=s.inputs[0], use_cache=False).logits
    assert max_relative_error([logits], s.run_masked(plan.params)) < TOLERANCE
    tied = s.model.lm.get_output_embeddings().weight is s.model.lm.get_input_embeddings().weight
    if tied:
        assert back.get_output_embeddings().weight is back.get_input_embeddings().weight, "embeddings untied"


@pytest.mark.parametrize("name", per_model(["llama"], "hf_decoders"))
def test_per_layer_widths_are_a_limit(name: str) -> None:
    """Without uniform=True the layers keep different counts: one line names the layers and their widths, and
    save_pretrained refuses; head dims pruned (heads=False) change the attention scale and the rotary table,
    which the config cannot say either."""
    s = session(name)
    _, plan = _prune(s, heads=True, scope="global")
    model, applied, error = _applied(s, plan)
    assert error < TOLERANCE
    layered = [line for line in applied.limits if "is one value for all layers" in line]
    assert layered and "model.layers.0.mlp: " in layered[0] and "uniform=True" in layered[0], applied.limits
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(SpaError, match="one value for all layers"):
        model.lm.save_pretrained(tmp)
    _, plan = _prune(s)
    model, applied, error = _applied(s, plan)
    assert error < TOLERANCE
    assert any(re.search(r"scaling = 0\.25 \(config builds", line) for line in applied.limits), applied.limits


@pytest.mark.parametrize("name", per_model(GENERATE, "hf_decoders"))
def test_generate_after_reload(name: str) -> None:
    """Prune the *ForCausalLM (heads, uniform), apply_plan, save_pretrained, from_pretrained: greedy generate()
    with the KV cache gives the masked original's tokens, and the logits match."""
    import transformers

    from spa_ir.verify import masked

    s = session(name)
    _, plan = _prune(s, **UNIFORM)
    model, applied, error = _applied(s, plan)
    assert error < TOLERANCE and not applied.limits
    with tempfile.TemporaryDirectory() as tmp:
        model.lm.save_pretrained(tmp)
        back = transformers.AutoModelForCausalLM.from_pretrained(tmp).eval()
    prompt = hf_decoders.tokens(5, seed=3)
    options = {"max_new_tokens": 8, "do_sample": False, "use_cache": True, "pad_token_id": 0}
    with torch.no_grad(), masked(s.model, plan.params) as reference:
        want = reference.lm.generate(prompt, **options)
        want_logits = reference.lm(input_ids=want, use_cache=False).logits
    with torch.no_grad():
        got = back.generate(prompt, **options)
        got_logits = back(input_ids=got, use_cache=False).logits
    assert got.shape[1] == prompt.shape[1] + 8
    assert torch.equal(got, want), f"{name}: {got.tolist()} != {want.tolist()}"
    assert max_relative_error([got_logits], [want_logits]) < TOLERANCE


@pytest.mark.parametrize("name", per_model(["qwen3"], "hf_decoders"))
def test_head_widths_apart_are_an_error(name: str) -> None:
    """Qwen3 RMS-normalizes each q and k head (q_norm, k_norm), so only_exact without heads=True keeps the q/k
    head dims whole but prunes the v head dims: the attention module has one head_dim, so apply_plan says so in one
    line (naming the module) instead of leaving a model whose forward splits heads wrongly. The adapter refuses
    after the tensors were sliced: the model is restored as it was (same tensors, attributes and outputs)."""
    s = session(name)
    _, plan = _prune(s)
    model = copy.deepcopy(s.model)
    before = {n: t.clone() for n, t in model.state_dict().items()}
    with pytest.raises(SpaError, match=r"self_attn: the plan keeps 16 query/key dims but 8 value dims per head"):
        api.apply_plan(model, plan)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[n], after[n]) for n in before)
    attention = model.lm.model.layers[0].self_attn
    assert (attention.head_dim, model.lm.config.intermediate_size) == (16, s.model.lm.config.intermediate_size)
    assert max_relative_error(_forward(model, s.inputs), s.want) < TOLERANCE
