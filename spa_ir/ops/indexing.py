"""Ops that pick or move entries by index: embedding, select, index_select, advanced indexing, gather,
repeat, repeat_interleave, roll. A dim whose entries are picked by value is frozen; the result carries the
index's layout."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.channels.propagation import NOT_CHANNEL, Dims, Propagation
from spa_ir.channels.spaces import Anon, Prod, Reason
from spa_ir.core.ir import const, site
from spa_ir.ops.common import broadcast_dims, norm_dim
from spa_ir.ops.routing import routed_space
from spa_ir.ops.slicing import slice_dim
from spa_ir.ops.spec import OpSpec, arg, aten, each, renamed, table
from spa_ir.pruning.shapes import Shapes, pruned_dim, replace_int


def embedding(p: Propagation, op: Operation) -> None:
    """embedding(weight[V, D], indices, ...): the output's last dim is D; rows are token ids (frozen)."""
    w, idx = arg(op, "weight"), arg(op, "indices")
    wl = p.layout(w)
    p.spaces.freeze(wl[0], Reason("embedding rows are looked up by index", site(op)))
    p.set(op.results[0], [*p.layout(idx), wl[1]], zero=True)


def select(p: Propagation, op: Operation) -> None:
    """select.int(x, dim, index) is x[dim][index:index+1] without the dim: a channel dim is refined like a
    slice's into (before, picked, after), the picked index holding no channel (q = qkv[0], CaiT's class
    token), so the channels before and after it stay prunable and the index is rewritten to count the kept
    ones before it. A run-time index freezes the dim."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    dim, index = p.const_int(arg(op, "dim")), p.const_int(arg(op, "index"))
    if dim is None:
        return p.freeze_op(op, "select with a non-constant dim")
    dim = norm_dim(dim, len(xl))
    size = (p.shape(x) or ())[dim]
    if index is None or size < 0:
        p.spaces.freeze(xl[dim], Reason("selects a run-time index", site(op)))
    else:
        index = index + size if index < 0 else index
        slice_dim(p, x, dim, index, index + 1, site(op))
    p.set(r, [p.spaces.resolve(d) for k, d in enumerate(p.layout(x)) if k != dim], zero=p.is_zero(x))


def _select_index(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """select.int on a pruned dim: the index counts the kept indices before it."""
    x = arg(op, "self_")
    if (dim := pruned_dim(op, shapes, ("index",))) is None:
        return
    index = const(arg(op, "index"))
    index = index + shapes.old(x)[dim] if index < 0 else index
    replace_int(op, "index", shapes.kept_before(x, dim, index), rewriter)


def index_select(p: Propagation, op: Operation) -> None:
    """index_select(x, dim, index) (ONNX Gather: Swin's relative position bias, picking q/k/v): fixed
    indices freeze the channels of that dim, which becomes the index's length; other dims pass through.
    The index tensor (a buffer, or an ONNX initializer) is data: its entries are never pruned."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    dim = p.const_int(arg(op, "dim"))
    if dim is None:
        return p.freeze_op(op, "index_select with a non-constant dim")
    dim = norm_dim(dim, len(xl))
    where = site(op)
    p.spaces.freeze(xl[dim], Reason("selects fixed indices", where))
    for d in p.operand_dims(arg(op, "index")):
        p.spaces.freeze(d, Reason("index values are data", where))
    out = list(xl)
    out[dim] = Anon((p.shape(r) or ())[dim])
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def _is_integer_tensor(p: Propagation, v: SSAValue) -> bool:
    """An index tensor proper: integers (bool / uint8 tensors index as masks, with other semantics)."""
    dtype = getattr(v.type, "dtype", None)
    return isinstance(dtype, IntegerType) and dtype.width.data >= 16


def _optional_tensors(p: Propagation, lst: SSAValue) -> list[SSAValue | None] | None:
    """The items of a constant `list<optional<vtensor>>` (None for `torch.constant.none`), or None."""
    items = p.list_items.get(lst)
    if items is None:
        return None
    out: list[SSAValue | None] = []
    for v in items:
        if p.is_tensor(v):
            out.append(v)
        elif p.const(v) is None:
            out.append(None)
        else:
            return None
    return out


_VIEWS = ("torch.aten.view", "torch.aten.reshape", "torch.aten._unsafe_view", "torch.aten.flatten.using_ints")


def _constant(v: SSAValue) -> bool:
    """A tensor fixed at capture: a `spa.param` (through views: Swin's `index.view(-1)`) or a literal."""
    owner = v.owner
    while isinstance(owner, Operation) and owner.name in _VIEWS:
        owner = owner.operands[0].owner
    return isinstance(owner, Operation) and owner.name in ("spa.param", "torch.vtensor.literal")


def _position_table(x: SSAValue, indices: list[SSAValue]) -> bool:
    """A weight read only here and indexed by constants (a relative-position bias table [num_rel, heads] gathered
    by its index buffer): its indexed dims hold relative offsets fixed by the window's geometry, and the index's
    dims the (query, key) position pairs, as a kernel's window holds positions: no channel on either."""
    owner = x.owner
    return (
        isinstance(owner, Operation) and owner.name == "spa.param" and x.has_one_use() and all(map(_constant, indices))
    )


def index_tensor(p: Propagation, op: Operation) -> None:
    """index.Tensor(x, [i0, i1, ...]): advanced indexing x[i0, i1, ...], None taking a whole dim.

    An indexed dim's entries are picked by value, so its channels are frozen, except where a router's top-k ids
    pick experts (spa_ir/ops/routing.py): that dim is the experts' space. The index tensors broadcast
    together to B; result[.., b, ..] = x[.., i(b), ..] depends on the indices only at b, so B carries the
    indices' own layouts (as embedding's rows carry the ids'). By PyTorch's rule B replaces the indexed
    dims in place when they are adjacent, and goes first otherwise; the other dims of x pass through.
    Relative-position bias (`table[rel_index]`, table [num_rel, heads]) keeps the heads dim this way, and its
    rows and the index's dims are positions, no channel (`_position_table`)."""
    x, r = arg(op, "self_"), op.results[0]
    indices = _optional_tensors(p, arg(op, "indices"))
    xl = p.layout(x)
    rshape = p.shape(r) or ()
    if indices is None or len(indices) > len(xl):
        return p.freeze_op(op, "indexing with an unknown index list")
    tensors = [(k, t) for k, t in enumerate(indices) if t is not None]
    if not tensors or not all(_is_integer_tensor(p, t) for _, t in tensors):
        return p.freeze_op(op, "indexing with masks")
    where = site(op)
    positions = [k for k, _ in tensors]
    table = _position_table(x, [t for _, t in tensors])
    picked = NOT_CHANNEL if table else Reason("indexed by a tensor", where)
    for k, t in tensors:
        experts = routed_space(p, t)  # a router's top-k ids pick the experts (spa_ir/ops/routing.py)
        if experts is not None and p.spaces.size(experts) == (p.shape(x) or ())[k]:
            p.spaces.unify(xl[k], experts, where)
        else:
            p.spaces.freeze(xl[k], picked)
    brank = max(len(p.shape(t) or ()) for _, t in tensors)
    rest = [d for k, d in enumerate(xl) if k not in positions]
    if len(rshape) != brank + len(rest):
        return p.freeze_op(op, "indexing result of unexpected rank")
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    at = positions[0] if adjacent else 0
    if table:
        for _, t in tensors:
            for d in p.layout(t):
                p.spaces.freeze(d, NOT_CHANNEL)
        b: Dims = [Anon(n) for n in rshape[at : at + brank]]
    else:
        b = broadcast_dims(p, [t for _, t in tensors], rshape[at : at + brank], where)
    out = [*rest[:at], *b, *rest[at:]]
    index_channels = any(p.has_channels(d) for d in b)
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x) and not index_channels)


def gather(p: Propagation, op: Operation) -> None:
    """gather(x, dim, index, sparse_grad): out[.., i, ..] = x[.., index[.., i, ..], ..] along `dim`.

    x's entries along `dim` are picked by value (frozen); the result's dims are index's. On every other
    dim out, index and x share positions: coupled when x and index have the same size there, frozen
    when the index covers only a prefix of x's dim (removing a channel would shift the prefix)."""
    x, idx, r = arg(op, "self_"), arg(op, "index"), op.results[0]
    dim = p.const_int(arg(op, "dim"))
    xl, il = p.layout(x), p.layout(idx)
    xs, ishape = p.shape(x) or (), p.shape(idx) or ()
    if dim is None:
        return p.freeze_op(op, "gather with a non-constant dim")
    if len(xl) != len(il):
        return p.freeze_op(op, "gather with an index of another rank")
    dim = norm_dim(dim, len(xl))
    where = site(op)
    p.spaces.freeze(xl[dim], Reason("gathered by index", where))
    for k in range(len(xl)):
        if k == dim:
            continue
        if xs[k] == ishape[k] and xs[k] >= 0:
            p.spaces.unify(xl[k], il[k], where)
        else:
            p.spaces.freeze(xl[k], Reason("gather index covers part of the dim", where))
            p.spaces.freeze(il[k], Reason("gather index covers part of the dim", where))
    out = [p.spaces.resolve(d) for d in il]
    p.set(r, out, zero=p.is_zero(x) and not p.has_channels(out[dim]))


def repeat(p: Propagation, op: Operation) -> None:
    """repeat(x, repeats): tiles x. A dim repeated f times holds f copies of its layout one after the
    other, `Prod(Anon(f), layout)`: channel k owns one index in each copy; new leading dims hold no
    channel. The factors stay valid when channels go, so there is no size constant to rewrite."""
    x, r = arg(op, "self_"), op.results[0]
    xl, xs, rs = p.layout(x), p.shape(x) or (), p.shape(r) or ()
    factors = p.const_ints(arg(op, "repeats"))
    if factors is None or len(factors) < len(xl) or len(rs) != len(factors):
        return p.freeze_op(op, "repeat with non-constant factors")
    lead = len(factors) - len(xl)
    out: Dims = [Anon(n) for n in rs[:lead]]
    for k, (d, n, f) in enumerate(zip(xl, xs, factors[lead:])):
        if f == 1:
            out.append(d)
        elif f > 1 and n >= 0:
            out.append(p.spaces.resolve(Prod((Anon(f), d))))
        else:
            p.spaces.freeze(d, Reason("repeat of a dynamic or empty dim", site(op)))
            out.append(Anon(rs[lead + k]))
    p.set(r, out, zero=p.is_zero(x))


def repeat_interleave(p: Propagation, op: Operation) -> None:
    """repeat_interleave.self_int(x, r, dim): each index of `dim` repeated r times in place (index i*r + j holds
    x's index i), `Prod(layout, Anon(r))`: channel k owns r consecutive indices (MoE dispatch repeats each token
    top_k times). Without a dim (x flattened first) or with an output_size (a size constant) it freezes."""
    x, r = arg(op, "self_"), op.results[0]
    xl = p.layout(x)
    times, dim = p.const_int(arg(op, "repeats")), p.const_int(arg(op, "dim"))
    if times is None or dim is None or times < 1 or p.const(arg(op, "output_size")) is not None:
        return p.freeze_op(op, "repeat_interleave without a constant dim and count")
    d = norm_dim(dim, len(xl))
    out = list(xl)
    out[d] = p.spaces.resolve(Prod((xl[d], Anon(times)))) if times > 1 else xl[d]
    p.set(r, out, zero=p.is_zero(x))


def roll(p: Propagation, op: Operation) -> None:
    """roll(x, shifts, dims): values move along the rolled dims (their channels are frozen)."""
    x = arg(op, "self_")
    xl = p.layout(x)
    dims = p.const(arg(op, "dims"))
    dims = [dims] if isinstance(dims, int) else dims
    if not isinstance(dims, list) or not all(isinstance(d, int) for d in dims):
        return p.freeze_op(op, "roll over non-constant dims")
    for d in dims:
        p.spaces.freeze(xl[norm_dim(d, len(xl))], Reason("rolled dim", site(op)))
    p.set(op.results[0], xl, zero=p.is_zero(x))


OPS = table(
    {
        "torch.aten.embedding": OpSpec(rule=embedding),
        "torch.aten.select.int": OpSpec(rule=select, resize=_select_index),
        "torch.aten.index_select": OpSpec(rule=index_select),
        **each(aten("index.Tensor index.Tensor_hacked_twin"), OpSpec(rule=index_tensor)),
        "torch.aten._unsafe_index.Tensor": OpSpec(rule=index_tensor, legalize=renamed("torch.aten.index.Tensor")),
        "torch.aten.gather": OpSpec(rule=gather),
        "torch.aten.repeat": OpSpec(rule=repeat),
        "torch.aten.repeat_interleave.self_int": OpSpec(rule=repeat_interleave),
        "torch.aten.roll": OpSpec(rule=roll),
    },
    operators={  # no op classes: these arrive as `torch.operator`
        "torch.aten._unsafe_index.Tensor": "self_ indices",
    },
)
