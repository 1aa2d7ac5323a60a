"""The channel-space algebra: unification, refinement, freezing, and the index maps it implies."""

from __future__ import annotations

import numpy as np
import pytest

from spa_ir.channels.groups import IndexMap, member_maps
from spa_ir.channels.spaces import Anon, Atom, Cat, Prod, Reason, Spaces
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import Site


def test_atoms_merge_and_keep_reasons() -> None:
    s = Spaces()
    a, b = s.new(4, "a"), s.new(4, "b")
    s.freeze(b, Reason("model output"))
    s.unify(a, b, Site("add"))
    assert s.resolve(a) == s.resolve(b)
    assert s.info(a).frozen == [Reason("model output")]


def test_flatten_gives_each_channel_a_block() -> None:
    s = Spaces()
    conv, fc_in = s.new(3, "conv"), s.new(12, "fc.in")
    s.unify(fc_in, Prod((conv, Anon(4))), Site("flatten"))
    coords = s.coordinates(fc_in)[s.find(conv.space)]
    assert coords.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert member_maps(coords, 3) == [IndexMap(stride=4, block=4)]


def test_head_split_refines_everywhere() -> None:
    s = Spaces()
    proj = s.new(6, "q.out")
    other_use = s.new(6, "out_proj.in")
    s.unify(proj, other_use, Site("residual"))
    heads, dim = s.new(2, "heads"), s.new(3, "head_dim")
    s.unify(proj, Prod((heads, dim)), Site("view"))
    assert s.resolve(other_use) == Prod((Atom(s.find(heads.space)), Atom(s.find(dim.space))))
    c = s.coordinates(other_use)
    assert member_maps(c[s.find(dim.space)], 3) == [IndexMap(stride=1, block=1, count=2, period=3)]
    assert member_maps(c[s.find(heads.space)], 2) == [IndexMap(stride=3, block=3)]


def test_concat_offsets_and_split_alignment() -> None:
    s = Spaces()
    a, b = s.new(4, "a"), s.new(6, "b")
    x = s.new(10, "consumer.in")
    s.unify(x, Cat((a, b)), Site("cat"))
    # a split into 5 + 5 cuts b's range: b is refined, a is not
    p, q = s.new(5, "p"), s.new(5, "q")
    s.unify(x, Cat((p, q)), Site("split"))
    parts = s.resolve(x)
    assert isinstance(parts, Cat) and [s.size(t) for t in parts.parts] == [4, 1, 5]
    assert s.coordinates(x)[s.find(a.space)][:4].tolist() == [0, 1, 2, 3]


def test_channel_shuffle_index_map() -> None:
    s = Spaces()
    conv = s.new(6, "conv")
    g, c = s.new(2, "g"), s.new(3, "c")
    s.unify(conv, Prod((g, c)), Site("view [2,3]"))
    shuffled = Prod((c, g))  # transpose then flatten
    coords = s.coordinates(shuffled)
    assert coords[s.find(c.space)].tolist() == [0, 0, 1, 1, 2, 2]
    assert coords[s.find(g.space)].tolist() == [0, 1, 0, 1, 0, 1]


def test_meeting_a_non_channel_dim_freezes() -> None:
    s = Spaces()
    a = s.new(3, "a")
    s.unify(a, Anon(3), Site("torch.aten.add.Tensor", "block"))
    where = Site("torch.aten.add.Tensor", "block")
    assert s.info(a).frozen == [Reason("meets a dim without channels (a constant, or frozen upstream)", where)]


def test_concatenation_viewed_as_a_product_couples_the_parts() -> None:
    """Channel shuffle: cat(a, b) viewed as [2, h] makes a and b one space; chunking the shuffled [h, 2]
    in halves cuts h, and each half holds both copies of its channels (index map block 2)."""
    s = Spaces()
    a, b, two, h = s.new(4, "a"), s.new(4, "b"), s.new(2, "2"), s.new(4, "h")
    s.unify(Cat((a, b)), Prod((two, h)), Site("view"))
    assert s.find(s.atoms(a)[-1]) == s.find(s.atoms(b)[-1]) == s.atoms(h)[0]
    first, second = s.new(4, "first"), s.new(4, "second")
    s.unify(Prod((h, Anon(2))), Cat((first, second)), Site("chunk"))
    (h1,) = s.coordinates(first)
    assert list(s.coordinates(first)[h1]) == [0, 0, 1, 1]
    assert list(s.coordinates(a)[h1]) == [0, 1, -1, -1]
    assert not s.info(first).frozen and not s.info(a).frozen


def test_product_and_concatenation_that_do_not_align_freeze() -> None:
    s = Spaces()
    a, b, h = s.new(3, "a"), s.new(3, "b"), s.new(2, "h")
    s.unify(Cat((a, b)), Prod((Anon(3), h)), Site("view"))
    assert s.info(a).frozen and s.info(b).frozen and s.info(h).frozen


def test_incompatible_layouts_freeze_both_sides() -> None:
    s = Spaces()
    x, y = s.new(2, "x"), s.new(6, "y")
    u, v = s.new(3, "u"), s.new(4, "v")
    s.unify(Prod((x, y)), Prod((u, v)), Site("reshape [2,6] -> [3,4]"))
    assert all(s.info(t).frozen for t in (x, y, u, v))


def test_two_factorings_meet_at_their_common_factoring() -> None:
    """[4, 24] ~ [12, 8] (LiteMLA's heads x 3 head_dims ~ 3 heads x head_dim) is [4, 3, 8] on both sides:
    the heads and the head dim stay channels, the 3 in between is split off both."""
    s = Spaces()
    heads, qkv = s.new(4, "heads"), s.new(24, "3 x head_dim")
    groups, head_dim = s.new(12, "conv groups"), s.new(8, "head_dim")
    s.unify(Prod((heads, qkv)), Prod((groups, head_dim)), Site("view"))
    assert not any(s.info(t).frozen for t in (heads, qkv, groups, head_dim))
    by_heads, by_head_dims = s.resolve(groups), s.resolve(qkv)
    assert isinstance(by_heads, Prod) and by_heads.parts[0] == Atom(s.find(heads.space))
    assert isinstance(by_head_dims, Prod) and by_head_dims.parts[1] == Atom(s.find(head_dim.space))
    whole = s.coordinates(Prod((heads, qkv)))
    assert whole[s.find(heads.space)].tolist() == [i // 24 for i in range(96)]
    assert whole[s.find(head_dim.space)].tolist() == [i % 8 for i in range(96)]


def test_irregular_map_is_rejected() -> None:
    with pytest.raises(SpaError):
        member_maps(np.array([0, 1, 1, 0]), 2)


def test_space_at_two_offsets_of_each_head_is_two_members() -> None:
    """LeViT's qkv rows: per head [q key dims | k key dims | v dims], q and k key dims one coupled space."""
    s = Spaces()
    heads, key, val = s.new(2, "heads"), s.new(2, "key"), s.new(3, "val")
    c = s.coordinates(Prod((heads, Cat((key, key, val)))))
    assert list(c[s.find(key.space)]) == [0, 1, 0, 1, -1, -1, -1] * 2
    assert member_maps(c[s.find(key.space)], 2) == [
        IndexMap(offset=0, count=2, period=7), IndexMap(offset=2, count=2, period=7)
    ]
    assert member_maps(c[s.find(val.space)], 3) == [IndexMap(offset=4, count=2, period=7)]


def test_fused_projection_parts_are_members_each() -> None:
    """Phi-3's qkv rows for a kv head (2 kv heads of 2 q heads, head dim 2): its q heads' 4 rows in the q part,
    its 2 k rows, its 2 v rows, one member per part; a map whose parts need backward strides is refused."""
    coords = np.array([0] * 4 + [1] * 4 + [0, 0, 1, 1] + [0, 0, 1, 1])
    assert member_maps(coords, 2) == [IndexMap(stride=4, block=4), IndexMap(offset=8, stride=2, block=2),
                                      IndexMap(offset=12, stride=2, block=2)]
    with pytest.raises(SpaError):
        member_maps(np.array([0, 1, 1, 0]), 2)
