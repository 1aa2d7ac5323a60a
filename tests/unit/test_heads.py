"""Attention heads as units: heads=true prunes whole heads (head dims stay whole), with grouped-query
attention a kv head together with the q heads that share it; uniform=true gives corresponding groups of
every layer one kept count. Each pruned model equals its masked original."""

from __future__ import annotations

import pytest
import torch
from models_extra import HFOutputs, tiny_llama
from torch import nn

from spa_ir import api
from spa_ir.verify import masked


def tiny_bert() -> nn.Module:
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=100,
        max_position_embeddings=32, attn_implementation="sdpa",
    )  # fmt: skip
    return HFOutputs(transformers.BertModel(config).eval()).eval()


def _prune(model: nn.Module, **options: object) -> tuple[api.Program, dict[str, tuple[int, ...]]]:
    ids = torch.randint(0, 100, (1, 16), generator=torch.Generator().manual_seed(1))
    program = api.import_torch(model, [ids])
    plan = api.prune_program(program, only_exact=True, **options)
    pruned = api.to_torch(program)
    with torch.no_grad(), masked(model, plan.params) as reference:
        want = reference(ids)
        got = pruned(ids)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-4), "pruned != masked original"
    return program, {n: tuple(t.shape) for n, t in program.weights.items()}


@pytest.mark.xdist_group("hf_heads")
def test_heads_prunes_whole_heads_and_uniform_keeps_layers_alike() -> None:
    model = tiny_bert()
    _, shapes = _prune(model, ratio=0.5, heads=True)
    for layer in (0, 1):
        att = f"model.encoder.layer.{layer}.attention"
        rows = [shapes[f"{att}.self.{p}.weight"][0] for p in ("query", "key", "value")]
        assert rows[0] == rows[1] == rows[2] == 32, rows  # 2 of 4 heads, each head's 16 dims whole
        assert shapes[f"{att}.output.dense.weight"][1] == 32
    _, free = _prune(model, ratio=0.5)  # without heads=true the head dims are pruned too: 2 heads of 8 dims
    assert free["model.encoder.layer.0.attention.self.query.weight"][0] == 16

    _, uniform = _prune(model, ratio=0.5, heads=True, scope="global", uniform=True)
    layers = [
        (uniform[f"model.encoder.layer.{i}.attention.self.query.weight"][0],
         uniform[f"model.encoder.layer.{i}.intermediate.dense.weight"][0])
        for i in (0, 1)
    ]  # fmt: skip
    assert layers[0] == layers[1], layers
    assert layers[0][0] % 16 == 0 and layers[0][0] < 64


@pytest.mark.xdist_group("hf_heads")
def test_grouped_query_attention_prunes_a_kv_head_with_its_q_heads() -> None:
    """Llama with 4 q heads over 2 kv heads (head dim 16). gqa=kv (the default): the unit is one kv head and
    its 2 q heads; gqa=q-per-kv: the same q head of every kv group, the kv heads all kept."""
    model = tiny_llama()
    for gqa, want in (("kv", (32, 16, 16)), ("q-per-kv", (32, 32, 32))):
        _, shapes = _prune(model, ratio=0.5, heads=True, gqa=gqa)
        for layer in (0, 1):
            att = f"model.layers.{layer}.self_attn"
            q, k, v = (shapes[f"{att}.{p}_proj.weight"][0] for p in ("q", "k", "v"))
            assert (q, k, v) == want, (gqa, q, k, v)
            assert shapes[f"{att}.o_proj.weight"][1] == q
    _, free = _prune(model, ratio=0.5)  # both units and the head dims: 1 kv head, 1 q head of it, 8 dims
    assert free["model.layers.0.self_attn.q_proj.weight"][0] == 8
