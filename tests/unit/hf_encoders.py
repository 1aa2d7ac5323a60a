"""Hugging Face encoder, vision, speech and encoder-decoder families, tiny, for the pruning oracle.

`FAMILIES`: family -> `Family(build, inputs, kind)`. Each builder makes the family's base model from a small
config (2 layers, hidden 64 where the family has one width, random weights seeded), attention through sdpa
where the family offers it (eager otherwise), wrapped in `HFCall` so the captured model takes positional
tensors and returns a tuple of tensors. `inputs()` gives those tensors (short sequences, small images, a
fraction of a second of audio).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

VOCAB = 100
SEQ = 12


class HFCall(nn.Module):
    """A transformers model called with keyword tensors (`names`, given positionally), its ModelOutput
    returned as the tuple of the fields `keys`: what torch.export and the oracle can compare."""

    def __init__(self, model: nn.Module, names: tuple[str, ...], keys: tuple[str, ...] = ("last_hidden_state",)):
        super().__init__()
        self.model = model
        self.names = names
        self.keys = keys

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(**dict(zip(self.names, args, strict=True)))
        return tuple(getattr(out, k) for k in self.keys)


@dataclass(frozen=True)
class Family:
    build: Callable[[], nn.Module]
    inputs: Callable[[], list[torch.Tensor]]
    kind: str
    """encoder | vision | speech | encoder-decoder"""


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ids(length: int = SEQ, low: int = 3) -> Callable[[], list[torch.Tensor]]:
    """Token ids above the special ids (pad 0/1), so no position or padding rule depends on their values."""
    return lambda: [torch.randint(low, VOCAB, (1, length), generator=_gen(), dtype=torch.int64)]


def _ids_and_decoder(length: int = SEQ, decoder: int = 6) -> Callable[[], list[torch.Tensor]]:
    def make() -> list[torch.Tensor]:
        g = _gen()
        return [torch.randint(3, VOCAB, (1, length), generator=g), torch.randint(3, VOCAB, (1, decoder), generator=g)]

    return make


def _image(size: int = 32) -> Callable[[], list[torch.Tensor]]:
    return lambda: [torch.randn(1, 3, size, size, generator=_gen())]


def _audio(samples: int = 400) -> Callable[[], list[torch.Tensor]]:
    return lambda: [torch.randn(1, samples, generator=_gen())]


def _model(cls_name: str, config_name: str, seed: int = 0, attn: str = "sdpa", **config: Any) -> nn.Module:
    import transformers

    torch.manual_seed(seed)
    cfg = getattr(transformers, config_name)(**config)
    cfg._attn_implementation = attn
    for key in INIT_SCALES:
        if hasattr(cfg, key):
            setattr(cfg, key, INIT_STD)
    return getattr(transformers, cls_name)(cfg).eval()


INIT_STD = 0.2
INIT_SCALES = ("initializer_range", "init_std")
"""Weights drawn with std 0.2 instead of the families' 0.02: at 0.02 the attention scores of a tiny model are near
zero and softmax near uniform, so an output would hardly change if heads were regrouped; at 0.2 they are not."""

TEXT: dict[str, Any] = {
    "vocab_size": VOCAB,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 32,
}
VISION: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "image_size": 32,
    "patch_size": 8,
}
SPEECH: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "conv_dim": (32, 32),
    "conv_stride": (5, 2),
    "conv_kernel": (10, 3),
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "vocab_size": VOCAB,
}
SEQ2SEQ: dict[str, Any] = {
    "vocab_size": VOCAB,
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
    "max_position_embeddings": 32,
    "use_cache": False,
    "pad_token_id": 1,
    "decoder_start_token_id": 2,
}


def _text(cls: str, keys: tuple[str, ...] = ("last_hidden_state",), attn: str = "sdpa", **config: Any) -> nn.Module:
    return HFCall(_model(f"{cls}Model", f"{cls}Config", attn=attn, **{**TEXT, **config}), ("input_ids",), keys).eval()


def _vision(cls: str, keys: tuple[str, ...] = ("last_hidden_state",), attn: str = "sdpa", **config: Any) -> nn.Module:
    return HFCall(_model(f"{cls}Model", f"{cls}Config", attn=attn, **config), ("pixel_values",), keys).eval()


def _speech(cls: str, **config: Any) -> nn.Module:
    return HFCall(_model(f"{cls}Model", f"{cls}Config", **{**SPEECH, **config}), ("input_values",)).eval()


def _seq2seq(cls: str, attn: str = "sdpa", **config: Any) -> nn.Module:
    names = ("input_ids", "decoder_input_ids")
    keys = ("last_hidden_state", "encoder_last_hidden_state")
    return HFCall(_model(f"{cls}Model", f"{cls}Config", attn=attn, **config), names, keys).eval()


def bert() -> nn.Module:
    return _text("Bert", ("last_hidden_state", "pooler_output"))


def roberta() -> nn.Module:
    return _text("Roberta", pad_token_id=1, max_position_embeddings=40)


def xlm_roberta() -> nn.Module:
    return _text("XLMRoberta", pad_token_id=1, max_position_embeddings=40)


def albert() -> nn.Module:
    """One layer's weights shared by both layers (num_hidden_groups=1), embeddings projected 32 -> 64."""
    return _text("Albert", embedding_size=32, num_hidden_groups=1, inner_group_num=1)


def distilbert() -> nn.Module:
    return HFCall(_model("DistilBertModel", "DistilBertConfig", vocab_size=VOCAB, dim=64, n_layers=2, n_heads=4,
                         hidden_dim=128, max_position_embeddings=32), ("input_ids",)).eval()  # fmt: skip


def electra() -> nn.Module:
    return _text("Electra", embedding_size=32)


def deberta_v2() -> nn.Module:
    """Disentangled attention over relative positions (c2p, p2c), log buckets; eager only."""
    return _text("DebertaV2", attn="eager", relative_attention=True, position_buckets=8, max_relative_positions=16,
                 pos_att_type=["p2c", "c2p"], position_biased_input=False)  # fmt: skip


def mpnet() -> nn.Module:
    return _text("MPNet", pad_token_id=1, max_position_embeddings=40, attn="eager")


def modernbert() -> nn.Module:
    return _text("ModernBert", global_attn_every_n_layers=2, local_attention=8, pad_token_id=0)


def vit() -> nn.Module:
    return _vision("ViT", ("last_hidden_state", "pooler_output"), **VISION)


def deit() -> nn.Module:
    return _vision("DeiT", **VISION)


def dinov2() -> nn.Module:
    return _vision("Dinov2", **VISION)


def clip_vision() -> nn.Module:
    return _vision("CLIPVision", ("last_hidden_state", "pooler_output"), **VISION)


def levit() -> nn.Module:
    """Attention biases gathered by an index into a per-head table, cached in eval mode as a plain tensor."""
    return _vision(
        "Levit", ("last_hidden_state", "pooler_output"), "eager", image_size=32, hidden_sizes=[32, 48],
        num_attention_heads=[2, 3], depths=[1, 1], key_dim=[8, 8], mlp_ratio=[2, 2], attention_ratio=[2, 2],
        down_ops=[["Subsample", 8, 2, 4, 2, 2]],
    )  # fmt: skip


def longformer() -> nn.Module:
    """Sliding-window attention with global tokens chosen at run time."""
    return _text("Longformer", attn="eager", attention_window=[4, 4], pad_token_id=1, max_position_embeddings=40)


def beit() -> nn.Module:
    """Relative position bias table per layer, gathered by a constant index and added to the scores."""
    return _vision("Beit", use_relative_position_bias=True, use_mean_pooling=True, **VISION)


def swin() -> nn.Module:
    """Windowed attention with a relative position bias table; patch merging between the two stages."""
    return _vision("Swin", image_size=32, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 4], window_size=4)


def convnext() -> nn.Module:
    return _vision("ConvNext", ("last_hidden_state", "pooler_output"), "eager", hidden_sizes=[16, 32], depths=[1, 1],
                   num_stages=2)  # fmt: skip


def resnet() -> nn.Module:
    return _vision("ResNet", ("last_hidden_state", "pooler_output"), "eager", embedding_size=16, hidden_sizes=[16, 32],
                   depths=[1, 1], layer_type="basic")  # fmt: skip


def segformer() -> nn.Module:
    return _vision("Segformer", num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32],
                   patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2])  # fmt: skip


def wav2vec2() -> nn.Module:
    return _speech("Wav2Vec2")


def hubert() -> nn.Module:
    return _speech("Hubert")


def whisper_encoder() -> nn.Module:
    model = _model("WhisperModel", "WhisperConfig", **_whisper_config())
    encoder = model.get_submodule("encoder")
    return HFCall(encoder, ("input_features",)).eval()


def _whisper_config() -> dict[str, Any]:
    return {**SEQ2SEQ, "num_mel_bins": 16, "max_source_positions": 16, "max_target_positions": 16}


def _mel() -> list[torch.Tensor]:
    return [torch.randn(1, 16, 32, generator=_gen())]


def whisper() -> nn.Module:
    model = _model("WhisperModel", "WhisperConfig", **_whisper_config())
    keys = ("last_hidden_state", "encoder_last_hidden_state")
    return HFCall(model, ("input_features", "decoder_input_ids"), keys).eval()


def _mel_and_decoder() -> list[torch.Tensor]:
    return [*_mel(), torch.randint(3, VOCAB, (1, 6), generator=_gen(2))]


def t5() -> nn.Module:
    """Relative position bias (buckets) computed in the first layer of each stack, shared by the others."""
    return _seq2seq("T5", vocab_size=VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                    relative_attention_num_buckets=8, relative_attention_max_distance=16, use_cache=False,
                    decoder_start_token_id=0)  # fmt: skip


def bart() -> nn.Module:
    return _seq2seq("Bart", **SEQ2SEQ)


def marian() -> nn.Module:
    return _seq2seq("Marian", **SEQ2SEQ)


FAMILIES: dict[str, Family] = {
    "bert": Family(bert, _ids(), "encoder"),
    "roberta": Family(roberta, _ids(), "encoder"),
    "xlm_roberta": Family(xlm_roberta, _ids(), "encoder"),
    "albert": Family(albert, _ids(), "encoder"),
    "distilbert": Family(distilbert, _ids(), "encoder"),
    "electra": Family(electra, _ids(), "encoder"),
    "deberta_v2": Family(deberta_v2, _ids(), "encoder"),
    "mpnet": Family(mpnet, _ids(), "encoder"),
    "longformer": Family(longformer, _ids(16), "encoder"),
    "modernbert": Family(modernbert, _ids(), "encoder"),
    "vit": Family(vit, _image(), "vision"),
    "deit": Family(deit, _image(), "vision"),
    "dinov2": Family(dinov2, _image(), "vision"),
    "clip_vision": Family(clip_vision, _image(), "vision"),
    "levit": Family(levit, _image(), "vision"),
    "beit": Family(beit, _image(), "vision"),
    "swin": Family(swin, _image(), "vision"),
    "convnext": Family(convnext, _image(), "vision"),
    "resnet": Family(resnet, _image(), "vision"),
    "segformer": Family(segformer, _image(), "vision"),
    "wav2vec2": Family(wav2vec2, _audio(), "speech"),
    "hubert": Family(hubert, _audio(), "speech"),
    "whisper_encoder": Family(whisper_encoder, _mel, "speech"),
    "t5": Family(t5, _ids_and_decoder(), "encoder-decoder"),
    "bart": Family(bart, _ids_and_decoder(), "encoder-decoder"),
    "marian": Family(marian, _ids_and_decoder(), "encoder-decoder"),
    "whisper": Family(whisper, _mel_and_decoder, "encoder-decoder"),
}
