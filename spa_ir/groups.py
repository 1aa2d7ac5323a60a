"""Groups: each prunable channel space with its members (weight, dim, index map).

A member's index map comes from the layout of the weight's dim: `Spaces.coordinates` gives, for each
index, which channel of the space it holds; `member_map` compresses that into (offset, stride, block,
count, period) and checks the compression is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dialects.spa import MemberAttr
from spa_ir.errors import SpaError


@dataclass(frozen=True)
class IndexMap:
    offset: int = 0
    stride: int = 1
    block: int = 1
    count: int = 1
    period: int = 0

    def _inner(self) -> np.ndarray:
        return (np.arange(self.block)[None, :] + self.period * np.arange(self.count)[:, None]).ravel()

    def indices(self, channel: int) -> np.ndarray:
        return self.offset + channel * self.stride + self._inner()

    def all_indices(self, size: int) -> np.ndarray:
        """[size, block*count] array: row k = the indices of channel k."""
        return self.offset + self.stride * np.arange(size)[:, None] + self._inner()[None, :]


def member_map(coords: np.ndarray, size: int) -> IndexMap:
    """Compress a coordinate array (channel per index, -1 outside) into an IndexMap, or raise."""
    first = np.flatnonzero(coords == 0)
    n = len(first)
    if n == 0:
        raise SpaError("channel index map is empty")
    second = np.flatnonzero(coords == 1) if size > 1 else first
    if len(second) == 0:
        raise SpaError("channel index map is not regular")
    stride = int(second[0] - first[0]) if size > 1 else max(n, 1)
    breaks = np.flatnonzero(np.diff(first) != 1)
    block = int(breaks[0] + 1) if len(breaks) else n
    count = n // block
    period = int(first[block] - first[0]) if count > 1 else 0
    m = IndexMap(int(first[0]), stride, block, count, period)
    expected = np.full(len(coords), -1, dtype=np.int64)
    idx = m.all_indices(size)
    if n != block * count or idx.min() < 0 or idx.max() >= len(coords):
        raise SpaError("channel index map is not regular")
    expected[idx] = np.arange(size)[:, None]
    if not np.array_equal(expected, coords):
        raise SpaError("channel index map is not regular")
    return m


def to_member_attr(param: str, dim: int, m: IndexMap) -> MemberAttr:
    return MemberAttr.get(param, dim, offset=m.offset, stride=m.stride, block=m.block, count=m.count, period=m.period)


def from_member_attr(attr: MemberAttr) -> tuple[str, int, IndexMap]:
    return attr.param.data, attr.dim.data, IndexMap(*(attr.field(f) for f in MemberAttr._FIELDS))
