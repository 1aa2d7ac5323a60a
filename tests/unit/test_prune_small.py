"""Small hand-written models, one per op family, each pruned and checked with the exactness oracle.

Every model is pruned at ratios 0.3 and 0.5 with only_exact=True (pruned == masked original), then with
every group (only_exact=False: shapes and finiteness). These pin down channel-rule bugs quickly.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from oracle import NothingPruned, Session, per_model, reused, same_worker
from torch import nn
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.verify import masked


def _img(c: int = 3, size: int = 16, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, c, size, size, generator=torch.Generator().manual_seed(1))


def _seq(length: int = 8, dim: int = 16, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, length, dim, generator=torch.Generator().manual_seed(1))


def cbr(cin: int, cout: int, k: int = 3, **kw) -> nn.Sequential:  # type: ignore[no-untyped-def]
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False, **kw), nn.BatchNorm2d(cout), nn.ReLU())


def _randomize_bn(model: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, so masking errors show."""
    g = torch.Generator().manual_seed(7)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


class Head(nn.Module):
    def __init__(self, c: int, classes: int = 10):
        super().__init__()
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


# -- models ------------------------------------------------------------------------------------------


class ConvBnRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(3, 16), cbr(16, 32), nn.MaxPool2d(2), cbr(32, 24))
        self.head = Head(24)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.a = nn.Sequential(cbr(16, 24), nn.Conv2d(24, 16, 3, padding=1), nn.BatchNorm2d(16))
        self.b = nn.Sequential(cbr(16, 8), nn.Conv2d(8, 16, 1))
        self.head = Head(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.relu(x + self.a(x))
        x = x + self.b(x)
        return self.head(x)


class DenseConcat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 8)
        self.l1 = cbr(8, 6)
        self.l2 = cbr(14, 6)
        self.trans = cbr(20, 12, k=1)
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.stem(x)
        x1 = self.l1(x0)
        x2 = self.l2(torch.cat([x0, x1], 1))
        return self.head(self.trans(torch.cat([x0, x1, x2], 1)))


class FlattenLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = cbr(3, 8)
        self.conv2 = cbr(8, 6)
        self.fc1 = nn.Linear(6 * 8 * 8, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv2(self.conv(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class GroupedConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.grouped = cbr(16, 32, groups=4)
        self.grouped2 = nn.Conv2d(32, 32, 3, padding=1, groups=8)
        self.out = cbr(32, 12, k=1)
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.out(F.relu(self.grouped2(self.grouped(self.stem(x))))))


class Depthwise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.dw = cbr(16, 16, groups=16)
        self.dw_mult = nn.Conv2d(16, 32, 3, padding=1, groups=16)   # channel multiplier 2
        self.pw = cbr(32, 24, k=1)
        self.head = Head(24)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pw(F.relu(self.dw_mult(self.dw(self.stem(x))))))


class Transposed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.up = nn.ConvTranspose2d(16, 12, 2, stride=2)
        self.bn = nn.BatchNorm2d(12)
        self.up_grouped = nn.ConvTranspose2d(12, 8, 3, stride=1, padding=1, groups=4)
        self.out = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.up(self.stem(x))))
        return self.out(F.relu(self.up_grouped(x)))


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.fc1 = nn.Conv2d(16, 8, 1)
        self.fc2 = nn.Conv2d(8, 16, 1)
        self.lin1 = nn.Linear(16, 6)
        self.lin2 = nn.Linear(6, 16)
        self.head = Head(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x * torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        s = x.mean((2, 3))
        x = x * torch.sigmoid(self.lin2(F.relu(self.lin1(s)))).view(x.shape[0], 16, 1, 1)
        return self.head(x)


class ChannelShuffle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.g1 = cbr(16, 16, k=1, groups=4)
        self.g2 = cbr(16, 16, k=1, groups=4)
        self.head = Head(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.g1(self.stem(x))
        n, c, h, w = x.shape
        x = x.reshape(n, 4, c // 4, h, w).transpose(1, 2).reshape(n, c, h, w)
        return self.head(self.g2(x))


class ChunkSplit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 16)
        self.left = cbr(8, 8)
        self.right = cbr(8, 8)
        self.mix = cbr(16, 20, k=1)
        self.a = cbr(6, 4)
        self.b = cbr(14, 4)
        self.head = Head(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        left, right = x.chunk(2, dim=1)
        x = self.mix(torch.cat([self.left(left), self.right(right)], 1))
        a, b = torch.split(x, [6, 14], dim=1)
        return self.head(torch.cat([self.a(a), self.b(b)], 1))


class MHA(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(16, 32)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
        self.out = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.inp(x))
        a, _ = self.attn(h, h, h, need_weights=False)
        return self.out(a)


class ManualAttention(nn.Module):
    """q/k/v projections, reshape to heads, SDPA, merge heads, output projection, residual MLP."""

    def __init__(self, dim: int = 32, heads: int = 4, kv_heads: int = 4, gqa: str = "none"):
        super().__init__()
        self.heads, self.kv_heads, self.hd, self.gqa = heads, kv_heads, dim // heads, gqa
        self.inp = nn.Linear(16, dim)
        self.q = nn.Linear(dim, heads * self.hd)
        self.k = nn.Linear(dim, kv_heads * self.hd)
        self.v = nn.Linear(dim, kv_heads * self.hd)
        self.o = nn.Linear(heads * self.hd, dim)
        self.fc1 = nn.Linear(dim, 48)
        self.fc2 = nn.Linear(48, dim)
        self.out = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        x = self.inp(x)
        q = self.q(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(x).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        if self.gqa == "repeat":   # as transformers' repeat_kv
            rep = self.heads // self.kv_heads
            k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.hd).reshape(b, self.heads, t, self.hd)
            v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.hd).reshape(b, self.heads, t, self.hd)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3,
                                           enable_gqa=self.gqa == "sdpa")
        x = x + self.o(a.transpose(1, 2).reshape(b, t, self.heads * self.hd))
        x = x + self.fc2(F.gelu(self.fc1(x)))
        return self.out(x)


class LayerNormMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(16, 32)
        self.norm = nn.LayerNorm(32)
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        x = x + self.fc2(F.gelu(self.fc1(self.norm(x))))
        return self.out(x)


class PReLUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.act1 = nn.PReLU(16)
        self.c2 = nn.Conv2d(16, 12, 3, padding=1)
        self.act2 = nn.PReLU()   # one shared slope
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act2(self.c2(self.act1(self.c1(x)))))


class EmbeddingLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 32)
        self.fc1 = nn.Linear(32, 48)
        self.fc2 = nn.Linear(48, 10)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(self.emb(ids))))


class PoolUpsamplePad(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = cbr(3, 16)
        self.c2 = cbr(16, 12)
        self.c3 = cbr(12, 8)
        self.c4 = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(F.max_pool2d(self.c1(x), 2), 2, stride=1, padding=1)
        x = F.interpolate(self.c2(x), scale_factor=2, mode="nearest")
        x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False)
        x = F.pad(x, (1, 1, 2, 2))
        x = F.pad(self.c3(x), (1, 1, 1, 1), mode="reflect")
        return F.adaptive_max_pool2d(self.c4(x), 4)


class Conv1dGroupNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(4, 16, 3, padding=1)
        self.gn = nn.GroupNorm(4, 16)
        self.c2 = nn.Conv1d(16, 24, 3, padding=1)
        self.c3 = nn.Conv1d(24, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c3(F.relu(self.c2(F.relu(self.gn(self.c1(x))))))


class GroupNormAsInstanceNorm(nn.Module):
    """GroupNorm(1, C) written as ONNX exports it: instance_norm of the input reshaped to [N, 1, C*H*W],
    then a per-channel affine. The statistics mix c1's channels (inexact); c2's are exact."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.weight = nn.Parameter(torch.randn(8, 1, 1))
        self.bias = nn.Parameter(torch.randn(8, 1, 1))
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.c3 = nn.Conv2d(16, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c1(x)
        n = F.instance_norm(x.reshape(x.shape[0], 1, -1)).reshape(x.shape)
        return self.c3(F.relu(self.c2(F.relu(n * self.weight + self.bias))))


class IndexSelectRows(nn.Module):
    """index_select over a spatial dim (ONNX Gather) passes c1's channels through."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 4, 1)
        self.register_buffer("rows", torch.tensor([5, 0, 3, 3, 9, 15]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c2(F.relu(self.c1(x)).index_select(2, self.rows))


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(16, 16)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.out = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(F.relu(self.inp(x)))
        return self.out(h)


class RecurrentNet(nn.Module):
    """A 2-layer bidirectional LSTM or GRU between two Linears."""

    def __init__(self, kind: str = "lstm") -> None:
        super().__init__()
        self.inp = nn.Linear(16, 16)
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(16, 12, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(F.relu(self.inp(x)))
        return self.out(h)


class EinsumAttention(nn.Module):
    """Attention written with einsum (as torchvision's MaxViT), q/k/v from separate projections: only the
    einsums couple q's and k's head dims (contracted) and v's to the output."""

    def __init__(self, dim: int = 24, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        attn = torch.einsum("bhid,bhjd->bhij", q, k).softmax(dim=-1)
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class ZeroedKeyBias(nn.Module):
    """Swin V2's attention: the key third of the qkv bias is zeroed in place (slice_scatter after export)."""

    def __init__(self, dim: int = 24, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        bias = self.qkv.bias.clone()
        length = bias.numel() // 3
        bias[length:2 * length].zero_()
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


def _relative_position_index(window: int) -> torch.Tensor:
    """Swin's index of the (2w-1)^2 relative offsets for every pair of the w*w tokens of a window."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


class RelPosAttention(nn.Module):
    """Window attention with a learned relative-position bias per head, looked up by an int index buffer:
    Swin / MaxViT / CoAtNet (`table[index.view(-1)]`, table [num_rel, heads]) or LeViT
    (`biases[:, index]`, biases [heads, num_rel]). The table's heads dim couples to the attention heads."""

    def __init__(self, levit: bool = False, dim: int = 32, heads: int = 4, window: int = 4):
        super().__init__()
        self.levit, self.heads, self.hd = levit, heads, dim // heads
        self.inp = nn.Linear(16, dim)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, 10)
        num_rel = (2 * window - 1) ** 2
        self.table = nn.Parameter(torch.randn(heads, num_rel) if levit else torch.randn(num_rel, heads))
        self.register_buffer("rel_index", _relative_position_index(window), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        h = self.inp(x)
        q, k, v = (f(h).view(b, n, self.heads, self.hd).transpose(1, 2) for f in (self.q, self.k, self.v))
        if self.levit:
            bias = self.table[:, self.rel_index]
        else:
            bias = self.table[self.rel_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = ((q * 0.3) @ k.transpose(-2, -1) + bias.unsqueeze(0)).softmax(-1)
        h = h + self.proj((attn @ v).transpose(1, 2).reshape(b, n, -1))
        return self.out(h)


class RepeatChannels(nn.Module):
    """conv -> x.repeat(1, 2, 1, 1) (the channels tiled twice) -> conv: channel k of the first conv owns
    columns k and k + 16 of the second conv's input."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = cbr(3, 16)
        self.c2 = cbr(32, 12)
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.c2(self.c1(x).repeat(1, 2, 1, 1)))


class GatherTokens(nn.Module):
    """Per-channel token selection: gather along the tokens with an index buffer [1, K, C]; its channel
    dim is coupled to the hidden channels (pruned with them)."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(16, 32)
        self.out = nn.Linear(32, 10)
        self.register_buffer("pick", torch.randint(0, 8, (1, 5, 32), generator=torch.Generator().manual_seed(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.gather(F.relu(self.inp(x)), 1, self.pick))


class StdConv2d(nn.Conv2d):
    """timm's ScaledStdConv2d: the weight standardized per output channel over in_channels x k x k with a
    training-mode batch norm of the weight viewed as [1, out, in*k*k], times a learned gain."""

    def __init__(self, cin: int, cout: int, k: int = 3) -> None:
        super().__init__(cin, cout, k, padding=k // 2)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, weight=self.gain.view(-1),
                         training=True, momentum=0.0, eps=1e-6).reshape_as(self.weight)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class WeightStandardized(nn.Module):
    """conv -> standardized conv -> conv -> batch statistics of the activations (training-mode batch norm
    over N, H, W: per channel) -> head."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.ws = StdConv2d(16, 24)
        self.c3 = nn.Conv2d(24, 12, 3, padding=1)
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c3(F.relu(self.ws(F.relu(self.c1(x)))))
        return self.head(F.batch_norm(x, None, None, training=True))


class WeightNormConvs(nn.Module):
    """conv -> weight-normed conv (norm per output channel, dim 0) -> weight-normed conv (per kernel position,
    dim 2: Wav2Vec2's positional conv) -> head: the normed weights' channels prune exactly (a removed channel is
    zero in the masked v and adds nothing to the norms)."""

    def __init__(self) -> None:
        super().__init__()
        weight_norm = nn.utils.parametrizations.weight_norm
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = weight_norm(nn.Conv2d(16, 24, 3, padding=1), dim=0)
        self.c3 = weight_norm(nn.Conv2d(24, 12, 3, padding=1), dim=2)
        self.head = Head(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.c3(F.relu(self.c2(F.relu(self.c1(x)))))))


class InstanceNormOverChannels(nn.Module):
    """instance_norm of [B, T, C] normalizes each token over the hidden channels (dim 2): those mix."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(16, 24)
        self.fc1 = nn.Linear(24, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(F.instance_norm(self.inp(x)))))


class Rotary(nn.Module):
    """Rotary position embedding as timm's EVA: pairs (2j, 2j+1) rotated by x[..., ::2] / x[..., 1::2]."""

    def __init__(self, dim: int = 16, length: int = 8) -> None:
        super().__init__()
        self.q, self.out = nn.Linear(dim, dim), nn.Linear(dim, 10)
        angles = torch.arange(length)[:, None] * torch.rand(dim // 2, generator=torch.Generator().manual_seed(3))
        self.register_buffer("cos", angles.cos().repeat_interleave(2, -1))
        self.register_buffer("sin", angles.sin().repeat_interleave(2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.q(x)
        rotated = torch.stack([-q[..., 1::2], q[..., ::2]], -1).reshape(q.shape)
        return self.out(q * self.cos + rotated * self.sin)


class MultiScaleHeads(nn.Module):
    """timm EfficientViT's LiteMLA layout, with exact (zero-preserving) mixing: qkv and its grouped-conv
    aggregate (groups = 3 x heads) concatenated and viewed as [2 x heads, 3 x head_dim], i.e. one view
    factors the channels as [heads, 3, head_dim] on one side and [3 x heads, head_dim] on the other."""

    def __init__(self, heads: int = 2, head_dim: int = 4) -> None:
        super().__init__()
        total = 3 * heads * head_dim
        self.head_dim = head_dim
        self.stem = cbr(3, 8)
        self.qkv = nn.Conv2d(8, total, 1)
        self.aggreg = nn.Sequential(nn.Conv2d(total, total, 3, padding=1, groups=total),
                                    nn.Conv2d(total, total, 1, groups=3 * heads))
        self.proj = nn.Conv2d(2 * heads * head_dim, 8, 1)
        self.head = Head(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        B, _, H, W = x.shape
        qkv = self.qkv(x)
        scales = torch.cat([qkv, self.aggreg(qkv)], 1).reshape(B, -1, 3 * self.head_dim, H * W)
        q, k, v = scales.chunk(3, dim=2)
        return self.head(self.proj((F.relu(q) * k + v).reshape(B, -1, H, W)))


class FusedProjection(nn.Module):
    """Phi-3's fused qkv and gate_up projections split by slicing, and rotary's pass-through part taken as a
    slice that is empty when the rotary dims cover the whole head (`x[..., rot:]` with rot = head_dim)."""

    def __init__(self, dim: int = 16, hidden: int = 24) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.gate_up = nn.Linear(dim, 2 * hidden)
        self.down = nn.Linear(hidden, dim)
        self.out = nn.Linear(dim, dim)
        self.dim, self.hidden = dim, hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x)
        q, k, v = qkv[..., : self.dim], qkv[..., self.dim : 2 * self.dim], qkv[..., 2 * self.dim :]
        rot, passed = v[..., : self.dim], v[..., self.dim :]  # the pass-through part is empty
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ torch.cat([rot, passed], dim=-1)
        gate, up = self.gate_up(x)[..., : self.hidden], self.gate_up(x)[..., self.hidden :]
        return self.out(attn) + self.down(F.silu(gate) * up)


# name -> (module factory, example inputs)
SMALL = {
    "conv_bn_relu": (ConvBnRelu, lambda: [_img()]),
    "residual_add": (Residual, lambda: [_img()]),
    "dense_concat": (DenseConcat, lambda: [_img()]),
    "flatten_linear": (FlattenLinear, lambda: [_img()]),
    "grouped_conv": (GroupedConv, lambda: [_img()]),
    "depthwise_conv": (Depthwise, lambda: [_img()]),
    "transposed_conv": (Transposed, lambda: [_img(size=8)]),
    "squeeze_excite": (SqueezeExcite, lambda: [_img()]),
    "channel_shuffle": (ChannelShuffle, lambda: [_img()]),
    "chunk_split": (ChunkSplit, lambda: [_img()]),
    "mha": (MHA, lambda: [_seq()]),
    "einsum_attention": (EinsumAttention, lambda: [_seq(dim=24)]),
    "zeroed_key_bias": (ZeroedKeyBias, lambda: [_seq(dim=24)]),
    "rotary_pairs": (Rotary, lambda: [_seq()]),
    "multiscale_heads": (MultiScaleHeads, lambda: [_img(size=8)]),
    "manual_attention_sdpa": (ManualAttention, lambda: [_seq()]),
    "gqa_sdpa": (lambda: ManualAttention(heads=4, kv_heads=2, gqa="sdpa"), lambda: [_seq()]),
    "gqa_repeat_kv": (lambda: ManualAttention(heads=4, kv_heads=2, gqa="repeat"), lambda: [_seq()]),
    "layernorm_mlp": (LayerNormMLP, lambda: [_seq()]),
    "prelu": (PReLUNet, lambda: [_img()]),
    "embedding_linear": (
        EmbeddingLinear,
        lambda: [torch.randint(0, 50, (2, 7), generator=torch.Generator().manual_seed(1))],
    ),
    "pool_upsample_pad": (PoolUpsamplePad, lambda: [_img()]),
    "conv1d_groupnorm": (
        Conv1dGroupNorm,
        lambda: [torch.randn(2, 4, 12, generator=torch.Generator().manual_seed(1))],
    ),
    "groupnorm_as_instance_norm": (GroupNormAsInstanceNorm, lambda: [_img()]),
    "index_select_rows": (IndexSelectRows, lambda: [_img()]),
    "lstm": (LSTMNet, lambda: [_seq(5, 16, batch=2)]),
    "lstm_2layer_bidirectional": (lambda: RecurrentNet("lstm"), lambda: [_seq(5, 16, batch=2)]),
    "gru_2layer_bidirectional": (lambda: RecurrentNet("gru"), lambda: [_seq(5, 16, batch=2)]),
    "relpos_bias_swin": (RelPosAttention, lambda: [_seq(16, 16)]),
    "relpos_bias_levit": (lambda: RelPosAttention(levit=True), lambda: [_seq(16, 16)]),
    "repeat_channels": (RepeatChannels, lambda: [_img()]),
    "gather_tokens": (GatherTokens, lambda: [_seq()]),
    "weight_standardization": (WeightStandardized, lambda: [_img(batch=2)]),
    "instance_norm_over_channels": (InstanceNormOverChannels, lambda: [_seq(batch=2)]),
    "weight_norm_convs": (WeightNormConvs, lambda: [_img()]),
    "fused_projection_slices": (FusedProjection, lambda: [_seq()]),
}

# name -> the reason nothing can be pruned (the test asserts exactly that behaviour).
NOT_PRUNABLE: dict[str, str] = {}


def _build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return _randomize_bn(SMALL[name][0]()).eval()


SessionOf = Callable[[str], Session]


@pytest.fixture(scope="module")
def session() -> SessionOf:
    """The model of SMALL captured once for all the tests that look at it (each prune works on a clone of the
    program, the masked original is restored after each use)."""
    return reused(lambda name: Session(_build(name), SMALL[name][1](), name))


@pytest.mark.parametrize("name", per_model(list(SMALL), "small"))
def test_small_model_prunes_exactly(name: str, session: SessionOf) -> None:
    s = session(name)
    if name in NOT_PRUNABLE:
        with pytest.raises(NothingPruned, match=NOT_PRUNABLE[name]):
            s.check_exact(0.5)
        s.check_runs()
        return
    reports = s.check_model()
    assert all(r.pruned > 0 for r in reports[:2])


def _groups_by_param(plan: dict, param: str, dim: int) -> list[dict]:  # type: ignore[type-arg]
    return [g for g in plan["groups"] if any(m["param"] == param and m["dim"] == dim for m in g["members"])]


@same_worker("small/layernorm_mlp")
def test_layernorm_group_is_inexact_and_left_alone(session: SessionOf) -> None:
    s = session("layernorm_mlp")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (norm,) = _groups_by_param(plan, "norm.weight", 0)
    assert not norm["exact"] and not norm["removed"]
    (hidden,) = _groups_by_param(plan, "fc1.weight", 0)
    assert hidden["exact"] and len(hidden["removed"]) == 32
    _, plan, _ = s.prune(0.5, only_exact=False)
    (norm,) = _groups_by_param(plan, "norm.weight", 0)
    assert len(norm["removed"]) == 16


@same_worker("small/depthwise_conv")
def test_depthwise_conv_couples_in_and_out(session: SessionOf) -> None:
    s = session("depthwise_conv")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (g,) = _groups_by_param(plan, "dw.0.weight", 0)
    params = {(m["param"], m["dim"]) for m in g["members"]}
    assert ("stem.0.weight", 0) in params and ("dw.1.weight", 0) in params
    assert plan["params"]["dw.0.weight"]["0"] == plan["params"]["stem.0.weight"]["0"]


@same_worker("small/residual_add")
def test_residual_add_couples_both_branches(session: SessionOf) -> None:
    s = session("residual_add")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (g,) = _groups_by_param(plan, "stem.0.weight", 0)
    params = {(m["param"], m["dim"]) for m in g["members"]}
    assert {("a.1.weight", 0), ("b.1.weight", 0), ("head.fc.weight", 1)} <= params


@same_worker("small/mha")
def test_mha_prunes_whole_heads(session: SessionOf) -> None:
    """nn.MultiheadAttention (32 wide, 4 heads of 8): heads are one exact group, the head dim is inexact
    (the default scale 1/sqrt(head_dim) changes); halving the heads drops 2 x 8 rows of each of q, k, v."""
    s = session("mha")
    _, plan, _ = s.prune(0.5, only_exact=True)
    heads = [g for g in _groups_by_param(plan, "attn.in_proj_weight", 0) if g["size"] == 4]
    dims = [g for g in _groups_by_param(plan, "attn.in_proj_weight", 0) if g["size"] == 8]
    assert len(heads) == 1 and heads[0]["exact"] and len(heads[0]["removed"]) == 2
    assert len(dims) == 1 and not dims[0]["exact"] and not dims[0]["removed"]
    assert len(plan["params"]["attn.in_proj_weight"]["0"]) == 3 * 2 * 8
    assert len(plan["params"]["attn.out_proj.weight"]["1"]) == 2 * 8


@same_worker("small/gqa_sdpa")
def test_gqa_prunes_kv_heads_with_their_query_heads(session: SessionOf) -> None:
    """4 query heads over 2 kv heads (SDPA enable_gqa): removing a kv head removes its 2 query heads."""
    s = session("gqa_sdpa")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (kv,) = [g for g in _groups_by_param(plan, "v.weight", 0) if g["size"] == 2]
    params = {(m["param"], m["dim"]) for m in kv["members"]}
    assert {("q.weight", 0), ("k.weight", 0), ("v.weight", 0)} <= params
    assert kv["exact"] and len(kv["removed"]) == 1


@same_worker("small/einsum_attention")
def test_einsum_couples_heads_and_head_dims(session: SessionOf) -> None:
    """24 wide, 4 heads of 6. The einsums couple the heads of q, k, v; q's and k's head dims (contracted;
    no softmax scale here, so exact); v's head dim with proj's columns."""
    s = session("einsum_attention")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (heads,) = [g for g in _groups_by_param(plan, "q.weight", 0) if g["size"] == 4]
    assert {("k.weight", 0), ("v.weight", 0), ("proj.weight", 1)} <= {(m["param"], m["dim"]) for m in heads["members"]}
    (qk_dim,) = [g for g in _groups_by_param(plan, "q.weight", 0) if g["size"] == 6]
    assert ("k.weight", 0) in {(m["param"], m["dim"]) for m in qk_dim["members"]}
    (v_dim,) = [g for g in _groups_by_param(plan, "v.weight", 0) if g["size"] == 6]
    assert ("proj.weight", 1) in {(m["param"], m["dim"]) for m in v_dim["members"]}
    assert all(g["exact"] and len(g["removed"]) == g["size"] // 2 for g in (heads, qk_dim, v_dim))


@same_worker("small/rotary_pairs")
def test_rotary_pairs_are_channels(session: SessionOf) -> None:
    """Each rotated pair (2j, 2j+1) is one channel: q's rows, cos/sin columns and out's columns by twos."""
    s = session("rotary_pairs")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (pairs,) = [g for g in _groups_by_param(plan, "q.weight", 0) if g["size"] == 8]
    assert pairs["exact"] and len(pairs["removed"]) == 4
    assert {("cos", 1), ("sin", 1), ("out.weight", 1)} <= {(m["param"], m["dim"]) for m in pairs["members"]}
    assert all(i // 2 in pairs["removed"] for i in plan["params"]["q.weight"]["0"])


@same_worker("small/multiscale_heads")
def test_multiscale_heads_factor_both_views(session: SessionOf) -> None:
    """[heads, 3 * head_dim] ~ [3 * heads, head_dim] refines to [heads, 3, head_dim] (2 heads of 4): a head owns 12
    consecutive qkv channels and the aggregate's 3 conv groups of it; q, k, v share the head-dim group
    (the grouped conv's input channels); the 3 (q/k/v) is no channel."""
    s = session("multiscale_heads")
    _, plan, _ = s.prune(0.5, only_exact=True)
    (heads,) = [g for g in _groups_by_param(plan, "qkv.weight", 0) if g["size"] == 2]
    assert {("aggreg.1.weight", 0), ("proj.weight", 1)} <= {(m["param"], m["dim"]) for m in heads["members"]}
    (head_dim,) = [g for g in _groups_by_param(plan, "aggreg.1.weight", 1) if g["size"] == 4]
    assert {("qkv.weight", 0), ("aggreg.0.weight", 0)} <= {(m["param"], m["dim"]) for m in head_dim["members"]}
    assert heads["exact"] and head_dim["exact"] and len(heads["removed"]) == 1 and len(head_dim["removed"]) == 2
    gone_rows = set(plan["params"]["qkv.weight"]["0"])
    (h,) = heads["removed"]
    assert set(range(12 * h, 12 * h + 12)) <= gone_rows
    assert len(gone_rows) == 12 + 3 * 2  # the head, and 2 of 4 head dims in each of q, k, v of the other
    assert not _groups_by_param(plan, "qkv.weight", 0)[0]["frozen"]


@pytest.mark.parametrize("name", per_model(["relpos_bias_swin", "relpos_bias_levit"], "small"))
def test_relative_position_bias_prunes_heads(name: str, session: SessionOf) -> None:
    """index.Tensor: the bias table's heads dim is in the heads group, which is exact and loses 2 of 4 heads
    (table columns / rows with them); the relative-offset dim, indexed by a constant index, holds positions (as a
    kernel's window): no group."""
    s = session(name)
    s.check_exact(0.5)
    _, plan, _ = s.prune(0.5, only_exact=True)
    heads_dim, rel_dim = (0, 1) if "levit" in name else (1, 0)
    (heads,) = _groups_by_param(plan, "table", heads_dim)
    params = {(m["param"], m["dim"]) for m in heads["members"]}
    assert {("q.weight", 0), ("k.weight", 0), ("v.weight", 0), ("proj.weight", 1)} <= params
    assert heads["size"] == 4 and heads["exact"] and len(heads["removed"]) == 2
    assert len(plan["params"]["table"][str(heads_dim)]) == 2
    assert not _groups_by_param(plan, "table", rel_dim)


@same_worker("small/repeat_channels")
def test_repeat_tiles_channel_groups(session: SessionOf) -> None:
    """repeat: channel k of c1 owns columns k and k + 16 of c2's weight; both go when k is removed."""
    s = session("repeat_channels")
    s.check_exact(0.5)
    _, plan, _ = s.prune(0.5, only_exact=True)
    (g,) = _groups_by_param(plan, "c1.0.weight", 0)
    assert g["exact"] and len(g["removed"]) == 8
    removed = sorted(g["removed"])
    assert plan["params"]["c2.0.weight"]["1"] == sorted(removed + [k + 16 for k in removed])


@same_worker("small/gather_tokens")
def test_gather_couples_index_channels(session: SessionOf) -> None:
    """gather along the tokens: the index buffer's channel dim (same size as the hidden dim) is pruned
    with the hidden channels; the token dim of the gathered input is frozen."""
    s = session("gather_tokens")
    s.check_exact(0.5)
    _, plan, _ = s.prune(0.5, only_exact=True)
    (g,) = _groups_by_param(plan, "inp.weight", 0)
    assert ("pick", 2) in {(m["param"], m["dim"]) for m in g["members"]}
    assert g["exact"] and len(g["removed"]) == 16
    assert plan["params"]["pick"]["2"] == plan["params"]["inp.weight"]["0"]


@same_worker("small/weight_standardization")
def test_weight_standardization_prunes_outputs_not_inputs(session: SessionOf) -> None:
    """Training-mode batch norm of a conv weight: its output channels are exact to prune (per-channel
    statistics), its input channels are inexact (they are in every output channel's mean and variance)."""
    s = session("weight_standardization")
    s.check_exact(0.5)
    _, plan, _ = s.prune(0.5, only_exact=True)
    (into,) = _groups_by_param(plan, "c1.weight", 0)
    assert ("ws.weight", 1) in {(m["param"], m["dim"]) for m in into["members"]}
    assert not into["exact"] and not into["removed"]
    (out,) = _groups_by_param(plan, "ws.weight", 0)
    assert ("ws.gain", 0) in {(m["param"], m["dim"]) for m in out["members"]}
    assert out["exact"] and len(out["removed"]) == 12
    (last,) = _groups_by_param(plan, "c3.weight", 0)   # training-mode batch norm of activations: per channel
    assert last["exact"] and len(last["removed"]) == 6


@same_worker("small/instance_norm_over_channels")
def test_instance_norm_statistics_over_channels_are_inexact(session: SessionOf) -> None:
    """instance_norm mixes the channels of dims 2.. into its statistics: that group is left alone."""
    s = session("instance_norm_over_channels")
    s.check_exact(0.5)
    _, plan, _ = s.prune(0.5, only_exact=True)
    (mixed,) = _groups_by_param(plan, "inp.weight", 0)
    assert not mixed["exact"] and not mixed["removed"]
    (hidden,) = _groups_by_param(plan, "fc1.weight", 0)
    assert hidden["exact"] and len(hidden["removed"]) == 16


@pytest.mark.parametrize("name", per_model(["conv_bn_relu", "manual_attention_sdpa", "lstm"], "small"))
def test_oracle_sees_a_wrong_plan(name: str, session: SessionOf) -> None:
    """Negative control of the harness: masking other channels than those removed must be caught."""
    s = session(name)
    prog, plan, _ = s.prune(0.5, only_exact=True)
    with torch.no_grad():
        got = flat_outputs(api.to_torch(prog)(*s.inputs))
        with masked(s.model, plan["params"]) as m:
            right = flat_outputs(m(*s.inputs))
        shifted = {p: {d: sorted({(i + 1) % s.shapes[p][int(d)] for i in idx}) for d, idx in dims.items()}
                   for p, dims in plan["params"].items()}
        with masked(s.model, shifted) as m:
            wrong = flat_outputs(m(*s.inputs))
        restored = flat_outputs(s.model(*s.inputs))
    assert max_relative_error(got, right) < 1e-4
    assert max_relative_error(got, wrong) > 1e-3
    assert max_relative_error(restored, s.want) == 0.0   # masking is undone
