"""Frozen groups over the zoo, as data: which share of the channel groups (and of their channels) cannot be
pruned for a reason other than a model input or output, and why.

The share is computed from the group table alone (capture, spa-propagate-channels, spa-form-groups: no pruning
run). A group frozen only by "model input" / "model output" reaches a function argument or a returned value;
every other reason counts against the goal of at most 10% of groups and of channels. Groups held only by buffers
(an attention mask, position ids) are counted apart: they hold no parameter, and pruning them would remove none.
CI runs SAMPLE, a named list across the zoo's architecture classes (torchvision CNNs, timm's ViT, window and
relative-position and token-mixing models, a Hugging Face decoder) that fits the budget (under a minute);
SPA_FROZEN_SHARE=all runs the whole zoo of test_prune_oracle.py but its giants (torchvision classification +
segmentation, timm, transformers, plain torch; about an hour on 2 shared cores).

The fixes that brought the share down each have an oracle test here on a model of the class (pruned equals the
masked original at 0.5): selects and unbinds at constant indices (ViT's qkv, CaiT's q = qkv[0], h[:, 3]),
relative-position bias tables whose rows are positions and whose heads follow the attention heads (Swin).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import models_extra
import pytest
import torch
import zoo
from oracle import Session, reused
from torch import nn

from spa.passes import ALL_PASSES
from spa_ir import api
from spa_ir.channels.annotations import group_ops
from spa_ir.core.ir import params
from spa_ir.core.program import Program

IO = frozenset({"model input", "model output"})
GOAL = 0.10

SAMPLE = [
    "resnet18", "mobilenet_v3_small",
    "timm/vit_tiny_patch16_224", "timm/swin_tiny_patch4_window7_224", "timm/test_vit_relpos", "timm/levit_128s",
    "timm/mixer_s16_224", "hf/gpt2_tiny",
]  # fmt: skip
"""CI's list: a model of each class the frozen groups came from (fused qkv and class tokens, windows with
relative-position tables, attention biases gathered by index, token mixing) beside plain CNNs and a decoder."""


def zoo_names() -> list[str]:
    giants = {"vit_h_14", "vit_l_16", "vit_l_32", "regnet_y_128gf"}  # test_prune_oracle's GIANTS: memory, not shape
    return [n for n in zoo.zoo() if n not in giants] + list(models_extra.EXTRA)


@dataclass
class Share:
    """Groups and channels by class: all, frozen at inputs/outputs only, frozen for another reason (by kind)."""

    groups: int = 0
    channels: int = 0
    io_groups: int = 0
    io_channels: int = 0
    other_groups: int = 0
    other_channels: int = 0
    buffer_groups: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    reason_channels: Counter[str] = field(default_factory=Counter)
    models: dict[str, int] = field(default_factory=dict)

    def add(self, model: str, table: list[tuple[int, list[str], bool]]) -> None:
        self.models[model] = 0
        for size, kinds, has_param in table:
            if not has_param:
                self.buffer_groups += 1
                continue
            self.groups += 1
            self.channels += size
            if not kinds:
                continue
            other = [k for k in kinds if k not in IO]
            if not other:
                self.io_groups += 1
                self.io_channels += size
                continue
            self.other_groups += 1
            self.other_channels += size
            self.models[model] += 1
            self.reasons[other[0]] += 1
            self.reason_channels[other[0]] += size

    @property
    def group_share(self) -> float:
        return self.other_groups / max(self.groups, 1)

    @property
    def channel_share(self) -> float:
        return self.other_channels / max(self.channels, 1)

    def lines(self) -> list[str]:
        out = [
            f"{len(self.models)} models, {self.groups} groups ({self.channels} channels) holding parameters, "
            f"{self.buffer_groups} groups of buffers only",
            f"frozen at a model input/output: {self.io_groups} groups ({self.io_groups / max(self.groups, 1):.1%}), "
            f"{self.io_channels} channels ({self.io_channels / max(self.channels, 1):.1%})",
            f"frozen otherwise: {self.other_groups} groups ({self.group_share:.1%}), "
            f"{self.other_channels} channels ({self.channel_share:.1%})",
        ]
        out += [f"  {n:5d} groups {self.reason_channels[k]:8d} channels  {k}" for k, n in self.reasons.most_common()]
        return out


def group_table(program: Program) -> list[tuple[int, list[str], bool]]:
    """(size, frozen reason kinds, holds a parameter) of every group spa-form-groups forms (on `program`)."""
    program.run([ALL_PASSES["spa-propagate-channels"]()(), ALL_PASSES["spa-form-groups"]()()])
    buffers = {p.weight_name for p in params(program.module) if p.is_buffer}
    table = []
    for op in group_ops(program.module):
        kinds = [r.kind.data for r in op.frozen.data] if op.frozen is not None else []
        names = {m.param.data for m in op.members.data}
        table.append((op.size.value.data, kinds, bool(names - buffers)))
    return table


def capture(name: str) -> Program:
    if name in models_extra.EXTRA:
        return api.import_torch(models_extra.build(name), models_extra.example_inputs(name), name)
    return api.import_torch(zoo.build(name), [zoo.example_input(name)], name)


def test_frozen_share_over_the_zoo() -> None:
    """The share of groups and channels frozen for reasons other than model inputs/outputs is at most 10%."""
    names = zoo_names() if os.environ.get("SPA_FROZEN_SHARE") == "all" else SAMPLE
    share = Share()
    t0 = time.perf_counter()
    for name in names:
        share.add(name, group_table(capture(name)))
    for line in share.lines():
        print(line)
    print(f"({time.perf_counter() - t0:.0f} s) most frozen:", sorted(share.models.items(), key=lambda kv: -kv[1])[:8])
    assert share.groups > 0 and share.reasons.total() == share.other_groups
    assert share.group_share <= GOAL, share.lines()
    assert share.channel_share <= GOAL, share.lines()


# -- each fix, on a model of its class, through the oracle ------------------------------------------------


def _timm(name: str, **kwargs: Any) -> nn.Module:
    import timm

    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False, **kwargs).eval()


def _image(size: int = 32) -> list[torch.Tensor]:
    return [torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))]


class PickOne(nn.Module):
    """A select at a fixed index of a channel dim (h[:, 3]): the channels before and after it stay prunable, and the
    index moves when channels before it go."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.out = nn.Linear(8, 7), nn.Linear(7, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(x))
        return self.out(h) + h[:, 3, None]


SMALL: dict[str, tuple[Callable[[], nn.Module], Callable[[], list[torch.Tensor]], tuple[str, ...]]] = {
    "select": (PickOne, lambda: [torch.randn(2, 8, generator=torch.Generator().manual_seed(1))], ("fc.weight",)),
    # ViT: fused qkv viewed [B, N, 3, heads, hd] and unbound into q, k, v
    "vit": (lambda: _timm("vit_tiny_patch16_224", img_size=32, depth=2), _image, ("blocks.0.attn.qkv.weight",)),
    # CaiT: class attention picks q = qkv[0], k = qkv[1], v = qkv[2] by select; the class token x[:, 0:1]
    "cait": (lambda: _timm("cait_xxs24_224", img_size=32, depth=1, depth_token_only=1), _image,
             ("blocks.0.attn.qkv.weight", "blocks_token_only.0.attn.q.weight")),
    # Swin: a relative-position bias table[index] added to the scores: the table's heads are the attention heads
    "swin": (lambda: _timm("swin_tiny_patch4_window7_224", img_size=32, window_size=4, depths=(2,), num_heads=(4,),
                           embed_dim=32), _image,
             ("layers.0.blocks.0.attn.qkv.weight", "layers.0.blocks.0.attn.relative_position_bias_table")),
}  # fmt: skip
"""Each model, its inputs, and the weights whose channel dims (qkv rows: heads and head dims; a bias table's heads
column) must be members of groups that are not frozen."""

session = reused(lambda name: Session(SMALL[name][0](), SMALL[name][1](), f"small/{name}"))


def _free_members(program: Program) -> set[str]:
    """The weights that are members of some group not frozen."""
    from oracle import clone_program

    copy = clone_program(program)
    group_table(copy)
    out: set[str] = set()
    for op in group_ops(copy.module):
        if op.frozen is None:
            out |= {m.param.data for m in op.members.data}
    return out


@pytest.mark.parametrize("name", list(SMALL))
def test_fixed_class_prunes_exactly(name: str) -> None:
    """No group is frozen by a select or an unbind, the named weights are in groups free to prune, and pruning
    at 0.5 equals the masked original (check_exact asserts it)."""
    s = session(name)
    free = _free_members(s.program)
    for weight in SMALL[name][2]:
        assert weight in free, f"{weight} is in no group free to prune"
    report = s.check_exact(0.5)
    print(report.summary(), dict(report.frozen_reasons))
    frozen = set(report.frozen_reasons) - IO
    assert not any(re.search("select|unbind", k) for k in frozen), frozen
