"""Hugging Face decoder families for the pruning oracle: each a tiny config (2 layers, hidden 64, vocab 100) of
the pinned transformers, built with random weights fixed by a seed.

`DECODERS`: family -> `Decoder` (its config builder and the attention implementation it captures with: sdpa,
or eager where the family has no sdpa path). `base(name)` is the decoder stack returning its last hidden state
(the oracle's model), `causal_lm(name)` the *ForCausalLM model, `LogitsOnly(causal_lm(name))` what a user
captures of it (logits only, no cache). The families cover the layouts that matter for pruning: grouped-query
attention (Llama, Mistral, Qwen2/3, Gemma, Cohere, OLMo, Granite, StableLM, Falcon), fused qkv and gate_up
(Phi-3), a head_dim that is not hidden/heads (Gemma*, Qwen3), Conv1D projections with a fused qkv (GPT-2),
per-head interleaved qkv (GPT-NeoX, Falcon, Persimmon), multi-query attention (GPT-BigCode), alibi position bias
instead of rotary (BLOOM, MPT), interleaved rotary (GPT-J, CodeGen, Cohere), learned positions (OPT, GPT-2),
parallel attention and MLP (GPT-J, CodeGen, Phi, Falcon, Cohere)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from models_extra import HFOutputs
from torch import nn

VOCAB = 100
LENGTH = 12


@dataclass(frozen=True)
class Decoder:
    """A family's tiny config (the kwargs of its config class) and how it is captured."""

    config_class: str
    kwargs: dict[str, Any]
    attn: str = "sdpa"

    def config(self, **extra: Any) -> Any:
        import transformers

        cls = getattr(transformers, self.config_class)
        return cls(**{**self.kwargs, "attn_implementation": self.attn, "use_cache": False, **extra})


_LAYERS = {"num_hidden_layers": 2, "vocab_size": VOCAB, "max_position_embeddings": 64}
_GQA = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, **_LAYERS}
_MHA = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, **_LAYERS}
_TOKENS = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}
"""Special tokens inside the tiny vocabulary (the families' defaults are ids of their real tokenizers)."""

DECODERS: dict[str, Decoder] = {
    "llama": Decoder("LlamaConfig", {**_GQA, **_TOKENS}),
    "mistral": Decoder("MistralConfig", {**_GQA, **_TOKENS}),
    "qwen2": Decoder("Qwen2Config", {**_GQA, **_TOKENS}),
    "qwen3": Decoder("Qwen3Config", {**_GQA, "head_dim": 16, **_TOKENS}),
    "phi3": Decoder("Phi3Config", {**_GQA, **_TOKENS}),
    "gemma": Decoder("GemmaConfig", {**_GQA, "head_dim": 32, **_TOKENS}),
    "gemma2": Decoder("Gemma2Config", {**_GQA, "head_dim": 32, **_TOKENS}, attn="eager"),
    "gemma3": Decoder("Gemma3TextConfig", {**_GQA, "head_dim": 32, **_TOKENS}),
    "gpt2": Decoder("GPT2Config", {"n_layer": 2, "n_embd": 64, "n_head": 4, "n_positions": 64, "vocab_size": VOCAB,
                                   "bos_token_id": 1, "eos_token_id": 2}),
    "gpt_neox": Decoder("GPTNeoXConfig", {**_MHA, **_TOKENS}),
    "falcon": Decoder("FalconConfig", {"hidden_size": 64, "num_attention_heads": 4, "num_kv_heads": 2,
                                       "new_decoder_architecture": True, **_LAYERS, **_TOKENS}),
    "bloom": Decoder("BloomConfig", {"hidden_size": 64, "n_layer": 2, "n_head": 4, "vocab_size": VOCAB, **_TOKENS},
                     attn="eager"),
    "opt": Decoder("OPTConfig", {"hidden_size": 64, "ffn_dim": 128, "num_attention_heads": 4,
                                 "word_embed_proj_dim": 64, **_LAYERS, **_TOKENS}),
    "gptj": Decoder("GPTJConfig", {"n_embd": 64, "n_layer": 2, "n_head": 4, "rotary_dim": 8, "n_positions": 64,
                                   "vocab_size": VOCAB, "bos_token_id": 1, "eos_token_id": 2}),
    "stablelm": Decoder("StableLmConfig", {**_GQA, **_TOKENS}),
    "phi": Decoder("PhiConfig", {**_MHA, **_TOKENS}),
    "cohere": Decoder("CohereConfig", {**_GQA, **_TOKENS}),
    "olmo": Decoder("OlmoConfig", {**_GQA, **_TOKENS}),
    "olmo2": Decoder("Olmo2Config", {**_GQA, **_TOKENS}),
    "granite": Decoder("GraniteConfig", {**_GQA, **_TOKENS}),
    "starcoder2": Decoder("Starcoder2Config", {**_GQA, **_TOKENS}),
    "gpt_bigcode": Decoder("GPTBigCodeConfig", {"n_layer": 2, "n_embd": 64, "n_head": 4, "n_positions": 64,
                                                "vocab_size": VOCAB, "multi_query": True, "bos_token_id": 1,
                                                "eos_token_id": 2}),
    "codegen": Decoder("CodeGenConfig", {"n_layer": 2, "n_embd": 64, "n_head": 4, "rotary_dim": 8, "n_positions": 64,
                                         "n_ctx": 64, "vocab_size": VOCAB, "bos_token_id": 1, "eos_token_id": 2}),
    "persimmon": Decoder("PersimmonConfig", {**_MHA, **_TOKENS}),
    "mpt": Decoder("MptConfig", {"d_model": 64, "n_heads": 4, "n_layers": 2, "vocab_size": VOCAB, "max_seq_len": 64},
                   attn="eager"),
}  # fmt: skip


def base(name: str, seed: int = 0) -> nn.Module:
    """The family's decoder stack (AutoModel), returning its last hidden state."""
    import transformers

    torch.manual_seed(seed)
    return HFOutputs(transformers.AutoModel.from_config(DECODERS[name].config()).eval()).eval()


def causal_lm(name: str, seed: int = 0, **extra: Any) -> nn.Module:
    """The family's *ForCausalLM model (what users load and generate with)."""
    import transformers

    torch.manual_seed(seed)
    return transformers.AutoModelForCausalLM.from_config(DECODERS[name].config(**extra)).eval()


class LogitsOnly(nn.Module):
    """A causal LM called on input_ids without a cache, returning its logits: the capturable forward. Its
    parameters are the LM's under the prefix `lm.`."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm(input_ids=input_ids, use_cache=False).logits


def tokens(length: int = LENGTH, seed: int = 1) -> torch.Tensor:
    return torch.randint(3, VOCAB, (1, length), generator=torch.Generator().manual_seed(seed), dtype=torch.int64)


Builder = Callable[[str], nn.Module]
