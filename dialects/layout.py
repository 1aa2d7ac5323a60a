"""The terms of a channel layout: which channels the indices of one tensor dimension hold.

The payload of the `#spa.dims` attribute (dialects/spa.py); the algebra over them (unification,
refinement, freezing) is spa_ir/channels/spaces.py.

- `Atom(s)`   the dim is channel space `s` (index i = channel i);
- `Anon(n)`   n indices that are no channel anyone may prune (batch, spatial, model inputs);
- `Prod(a, b, ...)` a row-major product: index = ((i_a * |b|) + i_b) ...;
- `Cat(a, b, ...)`  concatenation: the indices of `a`, then those of `b`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Atom:
    space: int


@dataclass(frozen=True)
class Anon:
    size: int


@dataclass(frozen=True)
class Prod:
    parts: tuple[Layout, ...]


@dataclass(frozen=True)
class Cat:
    parts: tuple[Layout, ...]


Layout = Atom | Anon | Prod | Cat
