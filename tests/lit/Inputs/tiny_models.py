"""Tiny PyTorch models for the lit tests. The spa-translate test imports `two_conv` (PYTHONPATH=%inputs); the
other modules are where the IR of the per-op-family tests came from (see below): nothing regenerates that IR
from them, and nothing checks that it still matches."""

import torch
import torch.nn.functional as F
from torch import nn


class TwoConv(nn.Module):
    """conv -> batch norm -> relu -> strided conv (no bias) -> global average pool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, stride=2, padding=1, bias=False)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.bn1(self.conv1(x))))
        return self.head(y.mean(dim=(2, 3)))


def two_conv() -> nn.Module:
    return TwoConv()


class AuxHead(TwoConv):
    """TwoConv with what runs only in training (spa-translate --train): dropout before the head and an aux
    head on conv1's features (GoogLeNet's pattern), returned beside the logits."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.aux = nn.Linear(8, 3)

    def forward(  # type: ignore[override]  # a tuple in training
        self, x: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.act(self.bn1(self.conv1(x)))
        out = self.head(self.drop(self.conv2(h).mean(dim=(2, 3))))
        return (out, self.aux(h.mean(dim=(2, 3)))) if self.training else out


def aux_head() -> nn.Module:
    return AuxHead()


# ---------------------------------------------------------------------------------------------
# One tiny module per op family. The IR in the lit tests under spa-propagate-channels/, spa-form-groups/ and
# spa-eliminate-dead-channels/ ("IR from tests/lit/Inputs/tiny_models.py: <name>") was written once from the
# output of, e.g.,
#   PYTHONPATH=tests/lit/Inputs spa-translate --import-torch tiny_models:conv1d --input-shape 1,2,8
# and then edited by hand: trimmed, weights written as literals, values renamed, several modules in one file. It is not
# generated and cannot be regenerated; the tests are the source of truth. A module here says which model a test
# means and gives fresh IR to start from when an op's import changes. Lit never imports them (no torch at lit
# time). Channel counts differ on purpose, so that each space is recognizable by its size.
# ---------------------------------------------------------------------------------------------


class _Seq(nn.Module):
    """Runs `body(self, x)`; the layers are set as attributes so their names are the weight names."""

    def __init__(self, body, **layers: nn.Module) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._body = body
        for name, layer in layers.items():
            setattr(self, name, layer)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self._body(self, *xs)


def conv1d() -> nn.Module:  # input 1,2,8
    return _Seq(lambda m, x: m.c2(F.relu(m.c1(x))), c1=nn.Conv1d(2, 4, 3, padding=1), c2=nn.Conv1d(4, 3, 1))


def conv3d() -> nn.Module:  # input 1,2,2,2,2
    return _Seq(lambda m, x: m.c2(F.relu(m.c1(x))), c1=nn.Conv3d(2, 4, 1), c2=nn.Conv3d(4, 3, 1))


def grouped_conv() -> nn.Module:  # input 1,2,4,4
    return _Seq(lambda m, x: m.c3(m.g(m.c1(x))),
                c1=nn.Conv2d(2, 8, 1), g=nn.Conv2d(8, 6, 1, groups=2), c3=nn.Conv2d(6, 3, 1))


def depthwise_conv() -> nn.Module:  # input 1,2,4,4
    return _Seq(lambda m, x: m.c3(m.dw(m.c1(x))),
                c1=nn.Conv2d(2, 4, 1), dw=nn.Conv2d(4, 4, 3, padding=1, groups=4), c3=nn.Conv2d(4, 3, 1))


def transposed_conv() -> nn.Module:  # input 1,2,2,2
    return _Seq(lambda m, x: m.c3(m.up(m.c1(x))),
                c1=nn.Conv2d(2, 4, 1), up=nn.ConvTranspose2d(4, 6, 2, stride=2), c3=nn.Conv2d(6, 3, 1))


def linear() -> nn.Module:  # input 1,3,4
    return _Seq(lambda m, x: m.fc2(F.relu(m.fc1(x))), fc1=nn.Linear(4, 6), fc2=nn.Linear(6, 3))


class _Matmul(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(4, 6)
        self.w = nn.Parameter(torch.randn(6, 5))
        self.b = nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if self.kind == "matmul":  # [1,3,6] @ [6,5]
            return h @ self.w
        if self.kind == "bmm":  # [1,3,6] x [1,6,3]: scores between fc1 and fc2 features
            return torch.bmm(h, self.fc2(x).transpose(1, 2))
        return torch.addmm(self.b, h[0], self.w)  # [5] + [3,6] @ [6,5]


def matmul() -> nn.Module:  # input 1,3,4
    return _Matmul("matmul")


def bmm() -> nn.Module:  # input 1,3,4
    return _Matmul("bmm")


def addmm() -> nn.Module:  # input 1,3,4
    return _Matmul("addmm")


def batch_norm() -> nn.Module:  # input 1,2,2,2
    layers = {"c1": nn.Conv2d(2, 4, 1), "bn": nn.BatchNorm2d(4), "c2": nn.Conv2d(4, 3, 1)}
    return _Seq(lambda m, x: m.c2(m.bn(m.c1(x))), **layers).eval()


def layer_norm() -> nn.Module:  # input 1,3,4
    return _Seq(lambda m, x: m.fc2(m.ln(m.fc1(x))), fc1=nn.Linear(4, 6), ln=nn.LayerNorm(6), fc2=nn.Linear(6, 3))


def group_norm() -> nn.Module:  # input 1,2,5
    return _Seq(lambda m, x: m.c2(m.gn(m.c1(x))), c1=nn.Conv1d(2, 8, 1), gn=nn.GroupNorm(2, 8), c2=nn.Conv1d(8, 3, 1))


def rms_norm() -> nn.Module:  # input 1,3,4
    return _Seq(lambda m, x: m.fc2(m.norm(m.fc1(x))), fc1=nn.Linear(4, 6), norm=nn.RMSNorm(6), fc2=nn.Linear(6, 3))


def residual_add() -> nn.Module:  # input 1,2,2,2
    return _Seq(lambda m, x: m.c3((y := m.c1(x)) + m.c2(F.relu(y))),
                c1=nn.Conv2d(2, 4, 1), c2=nn.Conv2d(4, 4, 1), c3=nn.Conv2d(4, 3, 1))


class _SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 1)
        self.fc1 = nn.Conv2d(4, 2, 1)
        self.fc2 = nn.Conv2d(2, 4, 1)
        self.scale = nn.Parameter(torch.randn(4, 1, 1))
        self.c3 = nn.Conv2d(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c1(x)
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))  # [1,4,1,1]
        return self.c3(y * gate * self.scale)


def squeeze_excite() -> nn.Module:  # input 1,2,3,3
    return _SqueezeExcite()


def prelu() -> nn.Module:  # input 1,2,2,2
    return _Seq(lambda m, x: m.a2(m.c2(m.a1(m.c1(x)))),
                c1=nn.Conv2d(2, 4, 1), a1=nn.PReLU(4), c2=nn.Conv2d(4, 3, 1), a2=nn.PReLU())


class _CatSplit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 1)
        self.c2 = nn.Conv2d(2, 6, 1)
        self.c3 = nn.Conv2d(10, 8, 1)
        self.ca = nn.Conv2d(3, 4, 1)
        self.cb = nn.Conv2d(5, 4, 1)
        self.cl = nn.Conv2d(2, 3, 1)
        self.cr = nn.Conv2d(2, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c3(torch.cat([self.c1(x), self.c2(x)], 1))
        a, b = torch.split(y, [3, 5], 1)
        left, right = (self.ca(a) + self.cb(b)).chunk(2, 1)
        return self.cl(left) + self.cr(right)


def cat_split() -> nn.Module:  # input 1,2,2,2
    return _CatSplit()


def flatten() -> nn.Module:  # input 1,2,7,7
    return _Seq(lambda m, x: m.fc(torch.flatten(m.c1(x), 1)), c1=nn.Conv2d(2, 4, 1), fc=nn.Linear(4 * 49, 3))


def unflatten() -> nn.Module:  # input 1,5,4: 12 features seen as 3 x 4, and back
    return _Seq(lambda m, x: m.fc2(torch.flatten(F.relu(m.fc1(x).unflatten(-1, (3, 4))), 2)),
                fc1=nn.Linear(4, 12), fc2=nn.Linear(12, 2))


def refactor() -> nn.Module:  # input 1,3,4: 24 features seen as 2 x 12, then as 6 x 4 (common factoring 2 x 3 x 4)
    return _Seq(lambda m, x: m.fc2(F.relu(F.relu(m.fc1(x).view(1, 3, 2, 12)).view(1, 3, 6, 4)).flatten(2)),
                fc1=nn.Linear(4, 24), fc2=nn.Linear(24, 2))


def permute() -> nn.Module:  # input 1,2,2,2: channels-last linear, then back to channels-first
    return _Seq(lambda m, x: m.c2(m.fc(m.c1(x).permute(0, 2, 3, 1)).transpose(1, 3)),
                c1=nn.Conv2d(2, 4, 1), fc=nn.Linear(4, 6), c2=nn.Conv2d(6, 3, 1))


def channel_shuffle() -> nn.Module:  # input 1,2,2,2: 8 channels as 2 groups x 4, shuffled to 4 x 2
    return _Seq(lambda m, x: m.c2(m.c1(x).reshape(1, 2, 4, 2, 2).transpose(1, 2).reshape(1, 8, 2, 2)),
                c1=nn.Conv2d(2, 8, 1), c2=nn.Conv2d(8, 3, 1))


def pool_upsample_pad() -> nn.Module:  # input 1,2,8,8
    def body(m, x):  # type: ignore[no-untyped-def]
        y = F.avg_pool2d(F.max_pool2d(m.c1(x), 2), 2)
        y = F.pad(F.interpolate(y, scale_factor=2, mode="nearest"), (1, 1, 1, 1))
        return m.c2(F.adaptive_avg_pool2d(y, 1))
    return _Seq(body, c1=nn.Conv2d(2, 4, 1), c2=nn.Conv2d(4, 3, 1))


def reductions() -> nn.Module:  # input 1,2,3,3
    def body(m, x):  # type: ignore[no-untyped-def]
        y = m.c1(x)
        s = y.sum(1, keepdim=True)                  # sum of channels that are zero when removed: exact
        t = torch.sigmoid(m.c2(x)).sum(1, keepdim=True)  # sigmoid(0) != 0: inexact
        u = m.c3(x)
        v = u.mean(1, keepdim=True) + u.amax(1, keepdim=True)  # mean / max over channels: inexact
        return m.head(y.mean((2, 3))) + (s + t + v).mean((2, 3))  # mean over spatial dims: exact
    return _Seq(body, c1=nn.Conv2d(2, 4, 1), c2=nn.Conv2d(2, 5, 1), c3=nn.Conv2d(2, 6, 1), head=nn.Linear(4, 3))


def softmax() -> nn.Module:  # input 1,3,4
    return _Seq(lambda m, x: m.fc2(torch.softmax(m.fc1(x), -1)) + m.fc3(torch.softmax(m.fc4(x), 1)),
                fc1=nn.Linear(4, 6), fc2=nn.Linear(6, 3), fc3=nn.Linear(5, 3), fc4=nn.Linear(4, 5))


class _Attention(nn.Module):
    """q/k/v projections, 2 heads of 4, SDPA, heads merged, output projection."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(8, 8)
        self.k = nn.Linear(8, 8)
        self.v = nn.Linear(8, 8)
        self.o = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q(x).view(b, t, 2, 4).transpose(1, 2)
        k = self.k(x).view(b, t, 2, 4).transpose(1, 2)
        v = self.v(x).view(b, t, 2, 4).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v)
        return self.o(a.transpose(1, 2).reshape(b, t, 8))


def attention() -> nn.Module:  # input 1,3,8
    return _Attention()


def embedding() -> nn.Module:  # input 1,5 (int64)
    return _Seq(lambda m, ids: m.fc(m.emb(ids)), emb=nn.Embedding(10, 6), fc=nn.Linear(6, 3))


def lstm() -> nn.Module:  # input 1,3,4
    return _Seq(lambda m, x: m.out(m.lstm(F.relu(m.inp(x)))[0]),
                inp=nn.Linear(4, 4), lstm=nn.LSTM(4, 6, batch_first=True), out=nn.Linear(6, 3))


class _Cumsum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, 2)


def no_rule() -> nn.Module:  # input 1,2,3,3: cumsum has no channel rule
    return _Seq(lambda m, x: m.c2(m.acc(m.c1(x))), c1=nn.Conv2d(2, 4, 1), acc=_Cumsum(), c2=nn.Conv2d(4, 3, 1))


class Attention(nn.Module):
    """Multi-head self-attention (2 heads of 4 dims over a width of 8) and an MLP, with residuals."""

    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(8, 8) for _ in range(4))
        self.up, self.down = nn.Linear(8, 6), nn.Linear(6, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(1, 4, 2, 4).transpose(1, 2)

        a = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        x = x + self.o(a.transpose(1, 2).reshape(1, 4, 8))
        return x + self.down(torch.relu(self.up(x)))


class TwoAttentionLayers(nn.Module):
    """Two Attention blocks (lit tests of heads=true and uniform=true: input 1,4,8)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([Attention(), Attention()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def two_attention_layers() -> nn.Module:
    return TwoAttentionLayers()


class GroupedQueryAttention(nn.Module):
    """4 q heads over 2 kv heads of 2 dims (width 8), kv heads repeated as Hugging Face's repeat_kv does
    (lit test of gqa=: input 1,4,8)."""

    def __init__(self) -> None:
        super().__init__()
        self.q, self.o = nn.Linear(8, 8), nn.Linear(8, 8)
        self.k, self.v = nn.Linear(8, 4), nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def repeat_kv(t: torch.Tensor) -> torch.Tensor:
            t = t.view(1, 4, 2, 2).transpose(1, 2)
            return t[:, :, None].expand(1, 2, 2, 4, 2).reshape(1, 4, 4, 2)

        q = self.q(x).view(1, 4, 4, 2).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, repeat_kv(self.k(x)), repeat_kv(self.v(x)))
        return x + self.o(a.transpose(1, 2).reshape(1, 4, 8))


def grouped_query_attention() -> nn.Module:
    return GroupedQueryAttention()
