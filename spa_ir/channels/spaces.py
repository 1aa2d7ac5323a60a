"""Channel spaces and dimension layouts: the algebra under dependency propagation.

Every dimension of every tensor in the IR has a *layout* that says which channels its indices hold:

- `Atom(s)`   the dim is channel space `s` (index i = channel i);
- `Anon(n)`   n indices that are no channel anyone may prune (batch, spatial, model inputs);
- `Prod(a, b, ...)` a row-major product: index = ((i_a * |b|) + i_b) ...; a flatten of [C, 7, 7] is
  `Prod(Atom(c), Anon(49))`, a head split of 768 is `Prod(Atom(heads), Atom(head_dim))`;
- `Cat(a, b, ...)`  concatenation: the indices of `a`, then those of `b` (concat, split, chunk).

Ops make layouts equal (`unify`): two atoms merge into one space (union-find); an atom unified with a
structured layout is *refined* into the same structure over fresh atoms, everywhere it occurs; an atom
unified with `Anon` is *frozen* (its channels cannot be removed consistently). Layouts that cannot be
made equal freeze every atom they touch: conservative, never wrong. After propagation each remaining
root atom is one group: removing its channel k removes, in every tensor dimension whose layout holds it,
exactly the indices `positions()` gives.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

import numpy as np

from spa.dialects.layout import Anon, Atom, Cat, Layout, Prod
from spa_ir.core.ir import Site


@dataclass(frozen=True)
class Reason:
    """Why a space is frozen or inexact, as data (`#spa.reason` in the IR); a sentence only when printed."""

    kind: str
    site: Site | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.site}" if self.site else self.kind


@dataclass
class SpaceInfo:
    """What is known of one root space."""

    size: int
    origin: str
    refined: Layout | None = None  # Prod/Cat over fresh atoms once a reshape/split demanded it
    frozen: list[Reason] = field(default_factory=list)
    inexact: list[Reason] = field(default_factory=list)


class Spaces:
    """Union-find over channel spaces, with refinement, freezing and exactness notes."""

    def __init__(self) -> None:
        self._parent: list[int] = []
        self._info: list[SpaceInfo] = []

    # -- creation and lookup -------------------------------------------------------------------
    def new(self, size: int, origin: str | Site) -> Atom:
        self._parent.append(len(self._parent))
        self._info.append(SpaceInfo(size, str(origin)))
        return Atom(len(self._parent) - 1)

    def find(self, s: int) -> int:
        root = s
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[s] != root:
            self._parent[s], s = root, self._parent[s]
        return root

    def info(self, atom: Atom | int) -> SpaceInfo:
        return self._info[self.find(atom.space if isinstance(atom, Atom) else atom)]

    def size(self, layout: Layout) -> int:
        match layout:
            case Atom(s):
                return self.info(s).size
            case Anon(n):
                return n
            case Prod(parts):
                return prod(self.size(p) for p in parts)
            case Cat(parts):
                return sum(self.size(p) for p in parts)
        raise TypeError(layout)

    # -- normal form ---------------------------------------------------------------------------
    def resolve(self, layout: Layout) -> Layout:
        """Follow unions and refinements; flatten nested Prod/Cat; merge anonymous extents."""
        match layout:
            case Atom(s):
                root = self.find(s)
                refined = self._info[root].refined
                return Atom(root) if refined is None else self.resolve(refined)
            case Anon():
                return layout
            case Prod(parts) | Cat(parts):
                kind = type(layout)
                flat: list[Layout] = []
                for p in parts:
                    r = self.resolve(p)
                    flat.extend(r.parts if isinstance(r, kind) else (r,))
                if kind is Prod:
                    flat = [p for p in flat if not (isinstance(p, Anon) and p.size == 1)]
                    flat = _merge_adjacent_anon(flat, lambda a, b: Anon(a.size * b.size))
                else:
                    flat = [p for p in flat if not (isinstance(p, Anon) and p.size == 0)]
                    flat = _merge_adjacent_anon(flat, lambda a, b: Anon(a.size + b.size))
                if len(flat) == 1:
                    return flat[0]
                if not flat:
                    return Anon(1 if kind is Prod else 0)
                return kind(tuple(flat))
        raise TypeError(layout)

    def atoms(self, layout: Layout) -> list[int]:
        """Root atoms in a layout, in order of appearance."""
        r = self.resolve(layout)
        match r:
            case Atom(s):
                return [s]
            case Anon():
                return []
            case Prod(parts) | Cat(parts):
                return [a for p in parts for a in self.atoms(p)]
        raise TypeError(r)

    # -- constraints ---------------------------------------------------------------------------
    def freeze(self, layout: Layout, reason: Reason) -> None:
        for s in self.atoms(layout):
            if reason not in self._info[s].frozen:
                self._info[s].frozen.append(reason)

    def mark_inexact(self, layout: Layout, reason: Reason) -> None:
        for s in self.atoms(layout):
            if reason not in self._info[s].inexact:
                self._info[s].inexact.append(reason)

    def refine(self, atom: Atom, shape: Layout, origin: str | Site) -> Layout:
        """Replace root space `atom` by `shape`'s structure: fresh atoms where `shape` has atoms, and no
        channel where it has `Anon` (e.g. the spatial positions inside each channel's block of a flatten)."""
        root = self.find(atom.space)
        info = self._info[root]
        fresh = self._fresh_like(shape, f"{info.origin}/{origin}")
        assert self.size(fresh) == info.size, (self.size(fresh), info.size)
        info.refined = fresh
        for s in self.atoms(fresh):
            self._info[s].frozen.extend(info.frozen)
            self._info[s].inexact.extend(info.inexact)
        return fresh

    def _fresh_like(self, shape: Layout, origin: str | Site) -> Layout:
        match shape:
            case Atom():
                return self.new(self.size(shape), origin)
            case Anon():
                return shape
            case Prod(parts):
                return Prod(tuple(self._fresh_like(p, origin) for p in parts))
            case Cat(parts):
                return Cat(tuple(self._fresh_like(p, origin) for p in parts))
        raise TypeError(shape)

    def unify(self, a: Layout, b: Layout, where: Site) -> None:
        """Make two layouts of the same dimension equal (see module docstring)."""
        a, b = self.resolve(a), self.resolve(b)
        if a == b:
            return
        sa, sb = self.size(a), self.size(b)
        if sa != sb:
            self._freeze_all(a, b, Reason(f"sizes {sa} and {sb} disagree", where))
            return
        match a, b:
            case Atom(x), Atom(y):
                self._union(x, y)
            case (Atom(), Anon()) | (Anon(), Atom()):
                self.freeze(
                    a if isinstance(a, Atom) else b,
                    Reason("meets a dim without channels (a constant, or frozen upstream)", where),
                )
            case Anon(), Anon():
                pass
            case Atom(), _:
                self.unify(self.refine(a, b, where), b, where)
            case _, Atom():
                self.unify(a, self.refine(b, a, where), where)
            case (Prod(pa), Prod(pb)) | (Cat(pa), Cat(pb)) if len(pa) == len(pb) and all(
                self.size(u) == self.size(v) for u, v in zip(pa, pb)
            ):
                for u, v in zip(pa, pb):
                    self.unify(u, v, where)
            case Cat(pa), Cat(pb):
                self._unify_cats(pa, pb, where)
            case Prod(pa), Prod(pb):
                self._unify_prods(pa, pb, where)
            case Prod(pa), Cat(pb):
                self._unify_prod_cat(pa, pb, where)
            case Cat(pa), Prod(pb):
                self._unify_prod_cat(pb, pa, where)
            case _:
                self._freeze_all(a, b, Reason("incompatible channel layouts", where))

    def _union(self, x: int, y: int) -> None:
        x, y = sorted((self.find(x), self.find(y)))  # the older space names the union
        if x == y:
            return
        ix, iy = self._info[x], self._info[y]
        self._parent[y] = x
        ix.frozen.extend(r for r in iy.frozen if r not in ix.frozen)
        ix.inexact.extend(r for r in iy.inexact if r not in ix.inexact)

    def _split_at(self, parts: tuple[Layout, ...], cuts: set[int], where: Site) -> tuple[Layout, ...] | None:
        """Split Cat parts so that every offset in `cuts` is a part boundary; atoms are refined to do so."""
        out: list[Layout] = []
        offset = 0
        for p in parts:
            n = self.size(p)
            inner = sorted(c - offset for c in cuts if offset < c < offset + n)
            if inner:
                if not isinstance(p, (Atom, Anon)):
                    return None
                bounds = [0, *inner, n]
                if isinstance(p, Atom):
                    pieces: tuple[Layout, ...] = tuple(
                        self.new(hi - lo, where) if hi - lo > 1 else Anon(hi - lo)
                        for lo, hi in itertools.pairwise(bounds)
                    )
                    refined = self.refine(p, Cat(pieces), where)
                    out.extend(refined.parts)  # type: ignore[union-attr]  # refine of a Cat returns a Cat
                else:
                    out.extend(Anon(hi - lo) for lo, hi in itertools.pairwise(bounds))
            else:
                out.append(p)
            offset += n
        return tuple(out)

    def _unify_cats(self, pa: tuple[Layout, ...], pb: tuple[Layout, ...], where: Site) -> None:
        cuts = set(itertools.accumulate(self.size(p) for p in pa)) | set(itertools.accumulate(self.size(p) for p in pb))
        na, nb = self._split_at(pa, cuts, where), self._split_at(pb, cuts, where)
        if na is None or nb is None or len(na) != len(nb):
            self._freeze_all(Cat(pa), Cat(pb), Reason("incompatible concatenations", where))
            return
        for x, y in zip(na, nb):
            self.unify(x, y, where)

    def _unify_prods(self, pa: tuple[Layout, ...], pb: tuple[Layout, ...], where: Site) -> None:
        """Prods of different factorings: refine both to their common factoring, then unify factor by factor.
        [a, b, c] ~ [ab, c] splits `ab`; LiteMLA's [heads, 3 * head_dim] ~ [3 * heads, head_dim] (a view of
        a grouped conv's output) becomes [heads, 3, head_dim] on both sides. A common factoring exists when
        the running products of both sides, merged, each divide the next; otherwise the reshape mixes
        channels and everything is frozen."""
        bounds = sorted(
            set(itertools.accumulate((self.size(p) for p in pa), operator.mul))
            | set(itertools.accumulate((self.size(p) for p in pb), operator.mul))
        )
        if bounds[0] == 0 or any(hi % lo for lo, hi in itertools.pairwise([1, *bounds])):
            self._freeze_all(Prod(pa), Prod(pb), Reason("incompatible reshapes", where))
            return
        for x, y in zip(self._refine_factors(pa, bounds, where), self._refine_factors(pb, bounds, where), strict=True):
            self.unify(x, y, where)

    def _refine_factors(self, parts: tuple[Layout, ...], bounds: list[int], where: Site) -> list[Layout]:
        """`parts` with each factor that spans several of the running-product `bounds` split into a Prod of
        one factor per bound (fresh atoms, unified with the factor); a size-1 factor spans none and holds
        no channel (unified with Anon(1))."""
        out: list[Layout] = []
        lo = 1
        for p in parts:
            hi = lo * self.size(p)
            cuts = [b for b in bounds if lo < b <= hi]
            if not cuts:
                self.unify(p, Anon(1), where)
            elif len(cuts) == 1:
                out.append(p)
            else:
                sizes = [b // a for a, b in itertools.pairwise([lo, *cuts])]
                anon = isinstance(p, Anon)
                fresh = tuple(Anon(n) if anon or n == 1 else self.new(n, where) for n in sizes)
                self.unify(p, Prod(fresh), where)
                out.extend(fresh)
            lo = hi
        return out

    def _unify_prod_cat(self, factors: tuple[Layout, ...], parts: tuple[Layout, ...], where: Site) -> None:
        """A product whose outer factor is cut where the concatenation's parts end: part i is
        `Prod(piece_i, *inner)` for consecutive pieces of the outer factor. Channel shuffle needs it both ways:
        `cat(a, b)` viewed as [2, h] makes a and b one space (piece sizes 1), and chunking the shuffled
        [h, 2] back into halves cuts h."""
        outer, inner = factors[0], factors[1:]
        m = self.size(Prod(inner))
        counts = [self.size(p) // m if m else -1 for p in parts]
        if m == 0 or any(c * m != self.size(p) for c, p in zip(counts, parts)):
            self._freeze_all(Prod(factors), Cat(parts), Reason("incompatible concatenation and reshape", where))
            return
        bounds = list(itertools.accumulate(counts))
        pieces = self._split_at(outer.parts if isinstance(outer, Cat) else (outer,), set(bounds[:-1]), where)
        if pieces is None:
            self._freeze_all(Prod(factors), Cat(parts), Reason("incompatible concatenation and reshape", where))
            return
        grouped: list[list[Layout]] = [[] for _ in parts]
        offset, i = 0, 0
        for piece in pieces:
            while offset >= bounds[i]:
                i += 1
            grouped[i].append(piece)
            offset += self.size(piece)
        for group, part in zip(grouped, parts):
            self.unify(Prod((Cat(tuple(group)) if group else Anon(0), *inner)), part, where)

    def _freeze_all(self, a: Layout, b: Layout, reason: Reason) -> None:
        self.freeze(a, reason)
        self.freeze(b, reason)

    # -- index maps ----------------------------------------------------------------------------
    def coordinates(self, layout: Layout) -> dict[int, np.ndarray]:
        """For each root atom in `layout`: an int array over the dim's indices giving the channel each
        index holds (-1 where the index is outside that atom)."""
        layout = self.resolve(layout)
        n = self.size(layout)
        match layout:
            case Atom(s):
                return {s: np.arange(n)}
            case Anon():
                return {}
            case Cat(parts):
                out: dict[int, np.ndarray] = {}
                offset = 0
                for p in parts:
                    m = self.size(p)
                    for s, c in self.coordinates(p).items():
                        arr = out.setdefault(s, np.full(n, -1, dtype=np.int64))
                        arr[offset : offset + m] = np.where(c >= 0, c, arr[offset : offset + m])
                    offset += m
                return out
            case Prod(parts):
                sizes = [self.size(p) for p in parts]
                out = {}
                for i, p in enumerate(parts):
                    inner = prod(sizes[i + 1 :])
                    outer = prod(sizes[:i])
                    for s, c in self.coordinates(p).items():
                        out[s] = np.tile(np.repeat(c, inner), outer)
                return out
        raise TypeError(layout)


def _merge_adjacent_anon(parts: list[Layout], merge: Callable[[Anon, Anon], Anon]) -> list[Layout]:
    out: list[Layout] = []
    for p in parts:
        if out and isinstance(p, Anon) and isinstance(out[-1], Anon):
            out[-1] = merge(out[-1], p)
        else:
            out.append(p)
    return out
