"""The view family: reshape/view/flatten/unflatten/squeeze/unsqueeze/collapse, permute/transpose,
expand. Reshapes group dims into runs of equal size (a merge is a product, a split a refinement); their
target size lists are rewritten after pruning; views are emitted as reshapes (the IR has value semantics)."""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spa_ir.channels.propagation import Dims, Propagation
from spa_ir.channels.spaces import Anon, Layout, Prod, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import NOT_CONST, Site, const, location, site
from spa_ir.ops.common import fresh, norm_dim
from spa_ir.ops.spec import (
    TRANSPOSED,
    Adapter,
    Emitter,
    OpSpec,
    Resize,
    arg,
    aten,
    aten_overload,
    each,
    has_arg,
    operand_names,
    subject,
    table,
)
from spa_ir.pruning.shapes import Shapes, make_int, replace_int_list


def permute(p: Propagation, op: Operation) -> None:
    x = arg(op, "self_")
    xl = p.layout(x)
    perm = p.const_ints(arg(op, "dims"))
    if perm is None:
        return p.freeze_op(op, "permute with non-constant dims")
    p.set(op.results[0], [xl[norm_dim(d, len(xl))] for d in perm], zero=p.is_zero(x))


def transpose(p: Propagation, op: Operation) -> None:
    x = arg(op, "self_")
    xl = p.layout(x)
    d0, d1 = p.const_int(arg(op, "dim0")), p.const_int(arg(op, "dim1"))
    if d0 is None or d1 is None:
        return p.freeze_op(op, "transpose with non-constant dims")
    d0, d1 = norm_dim(d0, len(xl)), norm_dim(d1, len(xl))
    out = list(xl)
    out[d0], out[d1] = out[d1], out[d0]
    p.set(op.results[0], out, zero=p.is_zero(x))


def t(p: Propagation, op: Operation) -> None:
    x = arg(op, "self_")
    p.set(op.results[0], list(reversed(p.layout(x))), zero=p.is_zero(x))


Run = tuple[list[int], list[int]]
"""Input dims and output dims of a reshape that hold the same elements (the same product of sizes)."""


def reshape(p: Propagation, op: Operation) -> None:
    """view / reshape / flatten / unflatten / squeeze / unsqueeze / collapse: group input and output dims
    into runs of equal size; a run merged into one dim is a product, a dim split into several is refined.
    With dynamic dims (`?`), runs are matched from both ends and the dims in between are one run: a
    dynamic dim alone on each side (batch, sequence) keeps its layout; a run whose only dynamic dims are
    first on each side (a batch merged with heads, `[?, 32] -> [? * 4, 8]`; Swin's windows,
    `[B, nH, nW] -> [B * nH * nW]`) is matched below the dynamic unit, which the merged dim's layout keeps
    first (`_ x s3`); any other run with a dynamic dim freezes its channels."""
    x, r = subject(op), op.results[0]
    xs, rs = list(p.shape(x) or ()), list(p.shape(r) or ())
    sizes = _target_sizes(op)
    copied = _copied_dims(p, x, sizes, len(xs)) if sizes is not None else {}
    runs = _reshape_runs(xs, rs, lambda i, j: copied.get(j) == i)
    if runs is None:
        return p.freeze_op(op, "reshape with mismatched sizes")
    xl = p.layout(x)
    where = site(op)
    out: Dims = []
    for gi, gj in runs:
        out.extend(_run_layouts(p, [xl[k] for k in gi], [xs[k] for k in gi], [rs[k] for k in gj], where))
    if sizes is not None:
        _freeze_run_time_sizes(p, sizes, out, rs, where, set(copied))
    p.set(r, out, zero=p.is_zero(x))


def _target_sizes(op: Operation) -> SSAValue | None:
    """The target size list of view / reshape (`size` / `shape`: a list the pruner rewrites where a dim
    shrinks); None for the reshapes whose sizes follow from other operands (flatten, squeeze, ...)."""
    if op.name not in ("torch.aten.view", "torch.aten.reshape", "torch.aten._unsafe_view", "torch.aten.view_copy"):
        return None
    return arg(op, "shape" if has_arg(op, "shape") else "size")


def _freeze_run_time_sizes(
    p: Propagation, sizes: SSAValue, out: Dims, rs: list[int], where: Site, copied: set[int]
) -> None:
    """A target size computed at run time (not a constant: an ONNX Reshape whose shape tensor also holds
    the batch size) cannot be rewritten when its dim shrinks: that dim's channels are frozen. A dynamic dim
    holding channels below its unit (`_ x s3`) shrinks too: its size must be -1, a copy of the input's
    (`size.int`), or `mul.int(n, c)` with c a multiple of the channels' factor (c is rewritten)."""
    entries = p.const(sizes)
    known = isinstance(entries, list) and len(entries) == len(rs)
    items = _size_items(sizes)
    for k, (layout, n) in enumerate(zip(out, rs)):
        if n >= 0 and (not known or entries[k] is NOT_CONST):
            p.spaces.freeze(layout, Reason("size computed at run time", where))
        elif n < 0 and p.has_channels(layout):
            unit = _unit_factors(p.spaces.resolve(layout))
            factor = prod(p.spaces.size(f) for f in unit) if unit is not None else 0
            scaled = factor > 0 and k < len(items) and _scaled_size(items[k], factor) is not None
            scalable = known and (entries[k] == -1 or k in copied or scaled)
            if not scalable:
                p.spaces.freeze(layout, Reason("size computed at run time", where))


def _size_items(sizes: SSAValue) -> list[SSAValue]:
    """The entries of a size list built by `prim.ListConstruct` ([] for any other list)."""
    owner = sizes.owner
    if not isinstance(owner, Operation) or owner.name != "torch.prim.ListConstruct":
        return []
    return list(owner.operands)


def _scaled_size(entry: SSAValue, factor: int) -> tuple[Operation, int] | None:
    """A size `mul.int(n, c)` (or `c * n`) with the constant c a multiple of `factor`: the op and c's operand
    index; None for any other entry."""
    mul = entry.owner
    if not isinstance(mul, Operation) or mul.name != "torch.aten.mul.int":
        return None
    for i, v in enumerate(mul.operands):
        c = const(v)
        if isinstance(c, int) and not isinstance(c, bool) and c > 0 and c % factor == 0:
            return mul, i
    return None


def _run_layouts(p: Propagation, layouts: list[Layout], xs: list[int], rs: list[int], where: Site) -> Dims:
    """The output layouts of one run of a reshape."""
    if not rs:  # input dims of size 1 that disappear
        return []
    if not xs:  # new size-1 dims
        return [Anon(n) for n in rs]
    if any(n < 0 for n in xs + rs):
        if len(xs) == len(rs) == 1:
            return layouts
        factors = _dynamic_factors(p, layouts, xs, rs)
        if factors is None:
            for layout in layouts:
                p.spaces.freeze(layout, Reason("merged with a dynamic dim", where))
            return [Anon(n) for n in rs]
        inner, inner_sizes, k = factors
        out = _static_run(p, inner, inner_sizes, [k, *rs[1:]] if k > 1 else rs[1:], where)
        return [_dynamic_layout(p, out[0] if k > 1 else Anon(1)), *out[k > 1 :]]
    return _static_run(p, layouts, xs, rs, where)


def _static_run(p: Propagation, layouts: list[Layout], xs: list[int], rs: list[int], where: Site) -> Dims:
    """A run of static dims: the input dims' product refined into the output dims."""
    if not rs:
        return []
    merged = Prod(tuple(layouts)) if len(layouts) > 1 else layouts[0] if layouts else Anon(1)
    if not p.has_channels(merged):
        return [Anon(n) for n in rs]
    if len(rs) == 1:
        return [p.spaces.resolve(merged)]
    pieces = tuple(fresh(p, n, where) for n in rs)
    p.spaces.unify(merged, Prod(pieces), where)
    return [p.spaces.resolve(piece) for piece in pieces]


def _dynamic_factors(
    p: Propagation, layouts: list[Layout], xs: list[int], rs: list[int]
) -> tuple[list[Layout], list[int], int] | None:
    """A run whose only dynamic dims are one per side and first (a batch merged with heads, `[?, 32] -> [?', 8]`,
    and back, `[?'] -> [?, 4]`): row-major, ?' = D * k with D the dynamic unit, the major factor on both sides.
    Returns the input's static factors below D (those the dynamic dim's own layout `D x s3` holds, then the static
    dims), their sizes, and k (their product over the output's static dims); None outside that case."""
    if xs[0] >= 0 or rs[0] >= 0 or any(n < 0 for n in xs[1:] + rs[1:]):
        return None
    unit = _unit_factors(p.spaces.resolve(layouts[0]))
    if unit is None:
        return None
    inner = [*unit, *layouts[1:]]
    sizes = [p.spaces.size(f) for f in unit] + xs[1:]
    k, rest = divmod(prod(sizes), prod(rs[1:]))
    return (inner, sizes, k) if k >= 1 and rest == 0 else None


def _unit_factors(layout: Layout) -> list[Layout] | None:
    """The static factors of a dynamic dim's layout below its dynamic unit: none for `_`, [s3] for `_ x s3` (an
    earlier merge of a batch with heads); None for any other layout of a dynamic dim."""
    if isinstance(layout, Anon) and layout.size < 0:
        return []
    if isinstance(layout, Prod) and isinstance(layout.parts[0], Anon) and layout.parts[0].size < 0:
        return list(layout.parts[1:])
    return None


def _dynamic_layout(p: Propagation, factor: Layout) -> Layout:
    """A dynamic dim holding the static `factor` below its dynamic unit: `_ x s3` (the unit absorbs leading factors
    without channels that can go, frozen ones included, so it stays `_`: the unit's size is unknown anyway), or `_`
    when no factor's channels can go (a model input's sequence merged with its batch, `[?, 5, 16] -> [?, 16]`)."""
    parts = list(factor.parts) if isinstance(factor, Prod) else [factor]
    while parts and all(p.spaces.info(s).frozen for s in p.spaces.atoms(parts[0])):
        parts.pop(0)
    return Prod((Anon(-1), *parts)) if parts else Anon(-1)


def _copied_dims(p: Propagation, x: SSAValue, sizes: SSAValue, rank: int) -> dict[int, int]:
    """Target entries that are `size.int(x, i)`: output dim -> the input dim it copies (what an ONNX
    Reshape's 0 entries become), so dynamic dims known to be the same pair up."""
    owner = sizes.owner
    if not isinstance(owner, Operation) or owner.name != "torch.prim.ListConstruct":
        return {}
    copied: dict[int, int] = {}
    for j, entry in enumerate(owner.operands):
        read = entry.owner
        if isinstance(read, Operation) and read.name == "torch.aten.size.int" and arg(read, "self_") == x:
            i = p.const_int(arg(read, "dim"))
            if i is not None and -rank <= i < rank:
                copied[j] = i % rank
    return copied


def _reshape_runs(xs: list[int], rs: list[int], same: Callable[[int, int], bool]) -> list[Run] | None:
    """The runs of a reshape, in order; None when the sizes cannot match. Static runs, and dynamic dims
    known to be the `same`, are matched from the left up to the first other dynamic dim and from the
    right up to the last; what is left in between is one run, of equal size since the rest match (one
    dynamic dim on each side: the same dim)."""
    runs, i, j = _greedy_runs(xs, rs, same)
    if (i, j) == (len(xs), len(rs)):
        return runs
    if not any(n < 0 for n in xs[i:] + rs[j:]):
        return None
    nx, nr = len(xs), len(rs)
    back, bi, bj = _greedy_runs(xs[i:][::-1], rs[j:][::-1], lambda a, b: same(nx - 1 - a, nr - 1 - b))
    mi, mj = len(xs) - bi, len(rs) - bj  # the middle, xs[i:mi] ~ rs[j:mj], holds the dynamic dims left
    if not (i < mi and j < mj):
        return None
    tail = [([mi + bi - 1 - k for k in gi][::-1], [mj + bj - 1 - k for k in gj][::-1]) for gi, gj in back[::-1]]
    return [*runs, (list(range(i, mi)), list(range(j, mj))), *tail]


def _greedy_runs(xs: list[int], rs: list[int], same: Callable[[int, int], bool]) -> tuple[list[Run], int, int]:
    """Runs from the left up to the first dynamic dim not known to be the `same` on both sides; returns
    the runs and where matching stopped in `xs` and `rs`."""
    runs: list[Run] = []
    i = j = 0
    while i < len(xs) or j < len(rs):
        x1 = i < len(xs) and xs[i] == 1
        r1 = j < len(rs) and rs[j] == 1
        if x1 or r1:  # size-1 dims carry nothing: dropped, new, or paired
            runs.append(([i] if x1 else [], [j] if r1 else []))
            i, j = i + x1, j + r1
            continue
        if i >= len(xs) or j >= len(rs):
            break
        if xs[i] < 0 or rs[j] < 0:
            if not same(i, j):
                break
            runs.append(([i], [j]))
            i, j = i + 1, j + 1
            continue
        gi, gj = [i], [j]
        a, b = i + 1, j + 1
        while prod(xs[k] for k in gi) != prod(rs[k] for k in gj):
            if prod(xs[k] for k in gi) < prod(rs[k] for k in gj) and a < len(xs) and xs[a] >= 0:
                gi.append(a)
                a += 1
            elif prod(xs[k] for k in gi) > prod(rs[k] for k in gj) and b < len(rs) and rs[b] >= 0:
                gj.append(b)
                b += 1
            else:
                return runs, i, j
        runs.append((gi, gj))
        i, j = a, b
    return runs, i, j


def expand(p: Propagation, op: Operation) -> None:
    """expand(x, sizes): new leading dims carry no channel; a size-1 dim broadcast to n > 1 is a fresh space
    of n copies (removing some is shrinking the expand: grouped-query attention's q heads per kv head, which
    repeat_kv makes by expanding the kv heads); other dims keep their layout."""
    x, r = arg(op, "self_"), op.results[0]
    xl, xs, rs = p.layout(x), p.shape(x) or (), p.shape(r) or ()
    lead = len(rs) - len(xs)
    out: Dims = []
    for k in range(len(rs)):
        if k < lead:
            out.append(Anon(rs[k]))
        elif xs[k - lead] == 1:
            out.append(fresh(p, rs[k], site(op)))
        else:
            out.append(xl[k - lead])
    broadcast = any(k >= lead and xs[k - lead] == 1 and rs[k] > 1 for k in range(len(rs)))
    p.set(r, out, zero=p.is_zero(x) and not broadcast)


def _shape_list(name: str) -> Resize:
    """view/reshape(x, shape) / expand(x, size): the list `name` becomes the new result shape (-1 and
    dynamic entries kept)."""

    def rule(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
        r = op.results[0]
        _scale_dynamic_sizes(op, name, shapes, rewriter)
        if not shapes.changed(r):
            return
        current = const(arg(op, name))
        new = shapes.new(r)
        if not isinstance(current, list) or len(current) != len(new):
            raise SpaError(f"cannot rewrite the shape of {location(op)}")
        if any(c is NOT_CONST and o != n for c, o, n in zip(current, shapes.old(r), new)):
            raise SpaError(f"a size computed at run time would shrink: {location(op)}")
        values = [c if c is NOT_CONST or c == -1 else n for c, n in zip(current, new)]
        replace_int_list(op, name, values, rewriter)

    return rule


def _scale_dynamic_sizes(op: Operation, name: str, shapes: Shapes, rewriter: PatternRewriter) -> None:
    """The computed sizes of dynamic dims holding channels below their unit (`mul.int(batch, 4)` for `_ x s3`): a
    new `mul.int` whose constant is scaled by the factor's new size over its old (the heads kept). -1 and copies of
    the input's size (`size.int`) need nothing; propagation froze the channels of any other computed size."""
    r = op.results[0]
    units = [shapes.unit(r, k) for k in range(len(shapes.old(r)))]
    changed = {k: u for k, u in enumerate(units) if u is not None and u[0] != u[1]}
    if not changed:
        return
    index = operand_names(op).index(name)
    items = _size_items(op.operands[index])
    if len(items) != len(units):
        raise SpaError(f"cannot rewrite the shape of {location(op)}")
    new_items = list(items)
    for k, (old, new) in changed.items():
        scaled = _scaled_size(items[k], old)
        if scaled is None:
            if const(items[k]) == -1 or _reads_size_of(items[k], subject(op)):
                continue
            raise SpaError(f"a size computed at run time would shrink: {location(op)}")
        mul, i = scaled
        factor = make_int(const(mul.operands[i]) // old * new, op, rewriter)
        clone = mul.clone()
        clone.operands[i] = factor
        rewriter.insert(clone, InsertPoint.before(op))
        new_items[k] = clone.results[0]
    owner = op.operands[index].owner
    assert isinstance(owner, Operation)  # _size_items found a list construct
    lst = type(owner).create(operands=new_items, result_types=[owner.results[0].type])
    rewriter.insert(lst, InsertPoint.before(op))
    op.operands[index] = lst.results[0]
    rewriter.notify_op_modified(op)


def _reads_size_of(entry: SSAValue, x: SSAValue) -> bool:
    """`size.int(x, i)`: a size read from the reshape's own input, which shrinks with it."""
    read = entry.owner
    return isinstance(read, Operation) and read.name == "torch.aten.size.int" and arg(read, "self_") == x


def _unflatten(op: Operation, shapes: Shapes, rewriter: PatternRewriter) -> None:
    r = op.results[0]
    if not shapes.changed(r):
        return
    dim = const(arg(op, "dim"))
    sizes = const(arg(op, "sizes"))
    dim = dim + len(shapes.old(arg(op, "self_"))) if dim < 0 else dim
    new = shapes.new(r)[dim : dim + len(sizes)]
    replace_int_list(op, "sizes", [s if s == -1 else n for s, n in zip(sizes, new)], rewriter)


def _same_as(name: str) -> Adapter:
    """An op emitted as an aten overload computing the same thing: torch-mlir's ONNX conversion emits
    `prims` ops whose aliasing outputs torch.onnx's functionalization rejects."""

    def adapt(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return e.graph.call_function(aten_overload(name), tuple(args), kwargs)

    return adapt


_AS_RESHAPE = OpSpec(rule=reshape, resize=_shape_list("size"), emit_as="torch.aten.reshape")
"""Stride-dependent views become reshapes (a no-copy view whenever the strides allow one)."""

OPS = table(
    {
        "torch.aten.reshape": OpSpec(rule=reshape, resize=_shape_list("shape")),
        **each(aten("view _unsafe_view view_copy"), _AS_RESHAPE),
        "torch.aten.unflatten.int": OpSpec(rule=reshape, resize=_unflatten),
        # same arguments, same result; the aten op also exports to ONNX (prims.collapse has no ONNX function)
        "torch.prims.collapse": OpSpec(rule=reshape, emit_as="torch.aten.flatten.using_ints"),
        # ONNX Squeeze: prims.squeeze(x, dims) requires the dims to be 1, aten.squeeze.dims skips others
        "torch.prims.squeeze": OpSpec(rule=reshape, emit_adapter=_same_as("squeeze.dims")),
        **each(
            aten("flatten.using_ints squeeze.dim squeeze squeeze.dims unsqueeze reshape_as view_as"),
            OpSpec(rule=reshape),
        ),
        "torch.aten.permute": OpSpec(rule=permute, roles=(("self_", TRANSPOSED),)),
        "torch.aten.transpose.int": OpSpec(rule=transpose, roles=(("self_", TRANSPOSED),)),
        **each(aten("t numpy_T"), OpSpec(rule=t, roles=(("self_", TRANSPOSED),))),
        "torch.aten.expand": OpSpec(rule=expand, resize=_shape_list("size")),
        **each(aten("expand_as broadcast_to"), OpSpec(rule=expand)),
    },
    operators={"torch.aten.squeeze.dims": "self_ dim", "torch.aten.view_as": "self_ other"},
)
