"""Groups: each prunable channel space with its members (weight, dim, index map).

A member's index map comes from the layout of the weight's dim: `Spaces.coordinates` gives, for each
index, which channel of the space it holds; `member_maps` compresses that into (offset, stride, block,
count, period) maps and checks the compression is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spa.dialects.spa import MemberAttr
from spa_ir.core.errors import SpaError


@dataclass(frozen=True, order=True)  # ordered: a weight can hold one group as several members
class IndexMap:
    offset: int = 0
    stride: int = 1
    block: int = 1
    count: int = 1
    period: int = 0

    def _inner(self) -> np.ndarray:
        return (np.arange(self.block)[None, :] + self.period * np.arange(self.count)[:, None]).ravel()

    def all_indices(self, size: int) -> np.ndarray:
        """[size, block*count] array: row k = the indices of channel k."""
        return self.offset + self.stride * np.arange(size)[:, None] + self._inner()[None, :]


def member_maps(coords: np.ndarray, size: int) -> list[IndexMap]:
    """Compress a coordinate array (channel per index, -1 outside) into one IndexMap, or else into the
    fewest interleaved IndexMaps that together hold each channel's indices exactly (LeViT packs q and k
    key dims of every head in one projection: the coupled key space sits at two offsets of each head, so
    that weight is two members of the group), or else into consecutive parts of such maps (`_part_maps`).
    Raises when no such split reproduces `coords`."""
    if not (coords >= 0).any():
        raise SpaError("channel index map is empty")
    maps = _regular_maps(coords, size)
    if maps is None:
        maps = _part_maps(coords, size)
    if maps is None:
        raise SpaError("channel index map is not regular")
    return maps


def _regular_maps(coords: np.ndarray, size: int) -> list[IndexMap] | None:
    first = np.flatnonzero(coords == 0)
    n = len(first)
    second = np.flatnonzero(coords == 1) if size > 1 else first
    if n == 0 or len(second) == 0:
        return None
    stride = int(second[0] - first[0]) if size > 1 else max(n, 1)
    breaks = np.flatnonzero(np.diff(first) != 1)
    block = int(breaks[0] + 1) if len(breaks) else n
    if n % block:
        return None
    starts = first[::block]
    for ways in (w for w in range(1, len(starts) + 1) if len(starts) % w == 0):
        maps = [_progression(starts[i::ways], stride, block) for i in range(ways)]
        if all(m is not None for m in maps) and _reproduces(maps, coords, size):  # type: ignore[arg-type]  # checked not None on the same line
            return maps  # type: ignore[return-value]  # checked not None above
    return None


def _part_maps(coords: np.ndarray, size: int) -> list[IndexMap] | None:
    """A fused projection's rows are parts of different layouts one after another (Phi-3's qkv rows for one kv
    head: its q heads' rows in the q part, its k rows, its v rows): cut the map where every channel has been seen
    equally often, each part its own regular members (forward strides only), or None."""
    maps: list[IndexMap] = []
    held = np.flatnonzero(coords >= 0)
    start = int(held[0])
    while start < len(coords):
        part = _first_part(coords, start, size)
        if part is None:
            return None
        end, found = part
        maps.extend(found)
        rest = held[held >= end]
        start = int(rest[0]) if len(rest) else len(coords)
    return maps if len(maps) > 1 else None


def _first_part(coords: np.ndarray, start: int, size: int) -> tuple[int, list[IndexMap]] | None:
    counts = np.zeros(size, dtype=np.int64)
    seen = 0
    for i in range(start, len(coords)):
        if coords[i] < 0:
            continue
        counts[coords[i]] += 1
        seen += 1
        if seen % size or counts.min() != counts.max():
            continue
        maps = _regular_maps(coords[start : i + 1], size)
        if maps is not None and all(m.stride > 0 for m in maps):
            return i + 1, [IndexMap(m.offset + start, m.stride, m.block, m.count, m.period) for m in maps]
    return None


def _progression(starts: np.ndarray, stride: int, block: int) -> IndexMap | None:
    period = int(starts[1] - starts[0]) if len(starts) > 1 else 0
    if len(starts) > 1 and not np.all(np.diff(starts) == period):
        return None
    return IndexMap(int(starts[0]), stride, block, len(starts), period)


def _reproduces(maps: list[IndexMap], coords: np.ndarray, size: int) -> bool:
    expected = np.full(len(coords), -1, dtype=np.int64)
    for m in maps:
        idx = m.all_indices(size)
        if idx.min() < 0 or idx.max() >= len(coords) or (expected[idx] != -1).any():
            return False
        expected[idx] = np.arange(size)[:, None]
    return bool(np.array_equal(expected, coords))


def to_member_attr(param: str, dim: int, m: IndexMap) -> MemberAttr:
    return MemberAttr.get(param, dim, offset=m.offset, stride=m.stride, block=m.block, count=m.count, period=m.period)


def from_member_attr(attr: MemberAttr) -> tuple[str, int, IndexMap]:
    return attr.param.data, attr.dim.data, IndexMap(*(attr.field(f) for f in MemberAttr._FIELDS))
