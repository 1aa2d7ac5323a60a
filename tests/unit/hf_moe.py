"""Mixture-of-Experts families of transformers, for the pruning oracle (tests/unit/test_hf_moe.py).

`MOE`: name -> builder(experts_implementation) of a tiny model (2 layers, hidden 64, 4 experts, top-2, random
weights, seeded), called on `TOKENS` as `HFOutputs` (last_hidden_state). transformers 5 stores each MoE layer's
experts fused into 3-D parameters (`experts.gate_up_proj` [E, 2I, H], `experts.down_proj` [E, H, I]) and picks
the dispatch by `config._experts_implementation`:

- `batched_mm` gathers every (token, expert) pair's weights by the router's top-k ids (`gate_up_proj[ids]`,
  a static shape) and runs two bmm: torch.export captures it, so it is the implementation spa prunes;
- `eager` loops over the experts hit (`nonzero`, `torch.where`): data-dependent, torch.export refuses it
  (a located SpaError naming the loop);
- `grouped_mm` is a custom op (`transformers::grouped_mm_fallback`) spa has no rule for: it captures, every
  channel of the experts is frozen with that reason.

What prunes (tests/unit/test_hf_moe.py): whole experts (the router's rows with the experts' dim-0 slices, a removed
expert being a -inf logit: spa_ir/ops/routing.py), and the experts' FFN neurons per expert: one group per layer of
(expert, neuron) pairs (`spa.group {slices = 4}`), each expert losing as many of its own neurons (gate_up_proj
dim 1, both halves, down_proj dim 2 of its slice), so the fused weights stay rectangular and the config's one
width (`intermediate_size` / `moe_intermediate_size`) says it; the plan lists the removed neurons per expert
(`params[w]["1"]` keyed by the expert's index: spa_ir/core/plan.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from models_extra import HFOutputs
from torch import nn

CAPTURED = "batched_mm"
"""The experts implementation torch.export captures statically (see the module docstring)."""

TOKENS = 8
VOCAB = 100

COMMON: dict[str, Any] = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=VOCAB,
    max_position_embeddings=64,
    num_experts_per_tok=2,
    use_cache=False,
    attn_implementation="sdpa",
)


def _configs() -> dict[str, Callable[[], object]]:
    import transformers as tf

    return {
        "mixtral": lambda: tf.MixtralConfig(**COMMON, intermediate_size=32, num_local_experts=4),
        "qwen2_moe": lambda: tf.Qwen2MoeConfig(
            **COMMON, moe_intermediate_size=32, shared_expert_intermediate_size=48, num_experts=4, norm_topk_prob=True
        ),
        "qwen3_moe": lambda: tf.Qwen3MoeConfig(**COMMON, moe_intermediate_size=32, num_experts=4, norm_topk_prob=True),
        "olmoe": lambda: tf.OlmoeConfig(
            **COMMON, intermediate_size=32, num_experts=4, bos_token_id=0, eos_token_id=0, pad_token_id=1
        ),
    }


MOE = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe")


def build(name: str, experts_implementation: str = CAPTURED, seed: int = 0) -> nn.Module:
    """The tiny `name` model (its base model, no LM head), eval mode, experts dispatched by the given implementation."""
    import transformers as tf

    config = _configs()[name]()
    config._experts_implementation = experts_implementation  # type: ignore[attr-defined]  # transformers' config slot
    torch.manual_seed(seed)
    model = tf.AutoModel.from_config(config)
    return HFOutputs(model.eval()).eval()


def tokens(seed: int = 1) -> list[torch.Tensor]:
    return [torch.randint(0, VOCAB, (1, TOKENS), generator=torch.Generator().manual_seed(seed), dtype=torch.int64)]
