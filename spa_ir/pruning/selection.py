"""How many channels of each group go, and which: the counting rules of spa-select-channels, as data.

A `Candidate` is one prunable group (its channels weakest first, the floor it keeps, a removal ratio of its own
from `overrides`). Under local scope one ratio applies to every group (`local_counts`); under global and
protected scope channels leave in the order of their normalized scores across groups (`GlobalOrder`). Both
apply the min-keep floors and then round each kept count up to a multiple of round-to, so every count a
target search tries is one the pass could produce.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spa_ir.channels.groups import IndexMap
from spa_ir.core.errors import SpaError


@dataclass(frozen=True)
class Candidate:
    """One prunable group: `order` lists its channels weakest first (stable in the channel index)."""

    name: str
    space: int
    order: np.ndarray
    normalized: np.ndarray
    """Its scores over their mean (when positive): comparable across groups, in channel order."""
    floor: int
    """Channels it keeps at least (min-keep, min-keep-ratio)."""
    round_to: int = 1
    fixed: float | None = None
    """A removal ratio of its own (`overrides`), outside any target search; 0 keeps it whole."""
    slices: int = 1
    """Equal blocks of channels that each lose the same number (spa.group's `slices`: experts' neurons); floor
    and round-to count per block."""

    @property
    def size(self) -> int:
        return len(self.order)

    def rounded(self, removed: int) -> int:
        """`removed` capped by the floor, then fewer so that the kept count is a multiple of round-to (or all);
        with slices, per block, and a multiple of the blocks."""
        n, per = self.slices, self.size // self.slices
        kept = max(per - removed // n, math.ceil(self.floor / n))
        kept = min(per, math.ceil(kept / self.round_to) * self.round_to)
        return (per - kept) * n

    def at_ratio(self, ratio: float) -> int:
        return self.rounded(math.floor(ratio * self.size))

    def removed(self, count: int) -> np.ndarray:
        """The `count` weakest channels; with slices, the count / slices weakest of every block."""
        if self.slices == 1:
            return np.sort(self.order[:count])
        per = self.size // self.slices
        block = self.order // per
        return np.sort(np.concatenate([self.order[block == b][: count // self.slices] for b in range(self.slices)]))

    def mask(self, count: int) -> np.ndarray:
        """The removed channels as spa-eliminate-dead-channels' mask over the group's space: one entry per channel,
        plus a False one (with slices, the first block's channels, as elimination counts sizes)."""
        per = self.size // self.slices
        mask = np.zeros(per + 1, dtype=bool)
        gone = self.removed(count)
        mask[gone[gone < per]] = True
        return mask


def candidate(
    name: str,
    space: int,
    scores: Sequence[float],
    floor: int,
    round_to: int,
    fixed: float | None,
    comparable: bool = False,
    slices: int = 1,
) -> Candidate:
    """`comparable`: the scores were normalized across groups already (spa-annotate-importance's `norm`), so
    the global order takes them as they are; else each group's scores over their mean."""
    values = np.asarray(scores, dtype=np.float64)
    mean = values.mean() if len(values) else 0.0
    normalized = values if comparable or mean <= 0 else values / mean
    order = np.argsort(values, kind="stable")
    return Candidate(name, space, order, normalized, min(len(values), floor), round_to, fixed, slices)


def floor_of(size: int, min_keep: int, min_keep_ratio: float) -> int:
    return min(size, max(min_keep, math.ceil(min_keep_ratio * size), 1))


def local_counts(groups: Sequence[Candidate], ratio: float) -> list[int]:
    return [g.at_ratio(ratio) for g in groups]


class GlobalOrder:
    """The channels of several groups in one order (normalized score, then group, then rank in the group),
    each group's list cut at its floor: removing the first `n` is global pruning of `n` channels."""

    def __init__(self, groups: Sequence[Candidate]) -> None:
        self.groups = list(groups)
        entries = [
            (float(g.normalized[c]), gi, rank)
            for gi, g in enumerate(self.groups)
            for rank, c in enumerate(g.order[: g.size - g.floor])
        ]
        entries.sort()
        self._sequence = np.asarray([gi for _, gi, _ in entries], dtype=np.int64)
        self.total = sum(g.size for g in self.groups)
        """Channels of all the groups, floors included (a ratio is a fraction of these)."""

    @property
    def removable(self) -> int:
        return len(self._sequence)

    def counts(self, n: int) -> list[int]:
        raw = np.bincount(self._sequence[: max(n, 0)], minlength=len(self.groups))
        return [g.rounded(int(c)) for g, c in zip(self.groups, raw)]


@dataclass(frozen=True)
class NameRules:
    """`ignore` (a regex) and `overrides` (`pattern:ratio,...`) over the members' weight names. A pattern
    matches a group when `re.search` finds it in any member's weight name; the first matching override wins."""

    ignore: re.Pattern[str] | None
    overrides: tuple[tuple[re.Pattern[str], float], ...]

    @classmethod
    def parse(cls, ignore: str, overrides: str, where: str) -> NameRules:
        return cls(_regex(ignore, "ignore", where) if ignore else None, _overrides(overrides, where))

    def ignored(self, names: Sequence[str]) -> bool:
        return self.ignore is not None and any(self.ignore.search(n) for n in names)

    def fixed_ratio(self, names: Sequence[str]) -> float | None:
        for pattern, ratio in self.overrides:
            if any(pattern.search(n) for n in names):
                return ratio
        return None


def _regex(text: str, option: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as e:
        raise SpaError(f"{where}: {option}: '{text}' is not a regular expression ({e})") from None


def _overrides(text: str, where: str) -> tuple[tuple[re.Pattern[str], float], ...]:
    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        pattern, colon, value = item.rpartition(":")
        try:
            ratio = float(value)
        except ValueError:
            ratio = -1.0
        if not colon or not pattern or not 0.0 <= ratio < 1.0:
            raise SpaError(f"{where}: overrides: '{item}' is not pattern:ratio with a ratio in [0, 1)")
        out.append((_regex(pattern, "overrides", where), ratio))
    return tuple(out)


Member = tuple[str, int, IndexMap]
"""(weight name, dim, index map): a group member as spa_ir.channels.groups.from_member_attr reads it."""


def within_heads(members: Sequence[Member]) -> bool:
    """A group whose channel is one coordinate inside every head (a head dim: each channel's indices recur
    once per head, `count > 1` single indices), rather than whole heads or plain channels. heads=true keeps
    these whole. (The inner factor of a channel shuffle has the same shape and is kept whole too.) A channel that
    some matrix holds once at a dim past its first (a linear's input column) is a plain feature: a fused
    gate_up projection holds an MLP neuron once in each part, but its down projection reads it once."""
    plain = any(d >= 1 and m.count == 1 and m.block == 1 for _, d, m in members)
    return not plain and any(m.count > 1 and m.block == 1 for _, _, m in members)


def repeats_heads(members: Sequence[Member]) -> bool:
    """A group whose channel is one whole head repeated once per kv head: with grouped-query attention, the
    r-th q head of every kv group (repeat_kv's expanded dim), as opposed to the kv heads themselves. Every
    head-sized member repeats (the output projection's columns too): a fused qkv projection holds a plain head
    once in each of its q, k and v parts (GPT-2's c_attn), but its output projection holds it once."""
    heads = [m for _, _, m in members if m.block > 1]
    return bool(heads) and all(m.count > 1 for m in heads)


GQA_UNITS = ("kv", "q-per-kv")


def kept_whole_for_heads(groups: Sequence[Sequence[Member]], gqa: str) -> list[bool]:
    """heads=true: which groups stay whole. Head dims always; with grouped-query attention, under gqa=kv the
    groups of q heads per kv head (so a kv head goes with all the q heads that share it), under gqa=q-per-kv
    the kv-head groups that share a weight with such a group (so every kv group keeps the same q heads)."""
    repeated = [repeats_heads(ms) for ms in groups]
    shared = {(p, d) for ms, rep in zip(groups, repeated) if rep for p, d, _ in ms}
    out = []
    for ms, rep in zip(groups, repeated):
        kv_heads = not rep and any(m.block > 1 and (p, d) in shared for p, d, m in ms)
        out.append(within_heads(ms) or (rep if gqa == "kv" else kv_heads))
    return out


_LAYER_INDEX = re.compile(r"(?<=\.)\d+(?=\.)|^\d+(?=\.)")


def layer_signature(size: int, members: Sequence[Member]) -> tuple[object, ...]:
    """What a group is apart from its layer: its size and its members with the layer indices of their weight
    names (`encoder.layer.3.` -> `encoder.layer.#.`) taken out. Groups with one signature correspond across
    layers (uniform=true gives them one kept count, what Hugging Face configs can express)."""
    return (size, tuple(sorted((_LAYER_INDEX.sub("#", p), d, m) for p, d, m in members)))


def uniform_counts(groups: Sequence[Candidate], counts: Sequence[int], classes: Sequence[int]) -> list[int]:
    """Each class of corresponding groups removes the same number of channels: the mean of what its groups
    would remove (rounded), then each group's floor and round-to."""
    by_class: dict[int, list[int]] = {}
    for cls, n in zip(classes, counts):
        by_class.setdefault(cls, []).append(n)
    mean = {cls: round(sum(ns) / len(ns)) for cls, ns in by_class.items()}
    return [g.rounded(mean[cls]) for g, cls in zip(groups, classes)]
