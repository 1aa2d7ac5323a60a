"""Per-op channel rules: how each op relates the channel layouts of its operands and results.

One table, `RULES`, maps an op name (torch-mlir's, e.g. `torch.aten.conv2d`) to a rule; most entries
come from a few rule *families* (unary, broadcasting element-wise, pooling, reshapes, reductions), so
adding an op is adding one name to a list or one entry to the table. Operand positions follow the
aten schema, which is what torch-mlir's ops use. A rule also says whether the result is still zero on
removed channels when its groups are masked (`zero`), and marks spaces *inexact* where channels mix
(normalization, softmax, mean over the channel dim), where removing is not the same as zeroing.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType
from xdsl.ir import Operation, SSAValue

from spa_ir.channels.spaces import Anon, Cat, Layout, Prod
from spa_ir.channels.propagation import NOT_CHANNEL, NOT_CONST, Dims, Propagation, Rule, location

# -- helpers ---------------------------------------------------------------------------------------


def _norm_dim(d: int, rank: int) -> int:
    return d + rank if d < 0 else d


def _fresh(p: Propagation, size: int, origin: str) -> Layout:
    return p.spaces.new(size, origin) if size > 1 else Anon(size)


def _tensor_result(op: Operation, i: int = 0) -> SSAValue:
    return op.results[i]


def _unify_all(p: Propagation, layouts: list[Layout], where: str) -> Layout:
    first = layouts[0]
    for other in layouts[1:]:
        p.spaces.unify(first, other, where)
    return p.spaces.resolve(first)


def _broadcast_dims(p: Propagation, tensors: list[SSAValue], shape: tuple[int, ...], where: str) -> Dims:
    """The layout of `tensors` broadcast together to `shape`: dims aligned from the right are unified
    unless of size 1 (a broadcast size-1 dim repeats one value: no channel)."""
    rank = len(shape)
    out: Dims = []
    for k in range(rank):
        layouts = []
        for t in tensors:
            tshape = p.shape(t) or ()
            j = k - (rank - len(tshape))
            if j >= 0 and tshape[j] != 1:
                layouts.append(p.layout(t)[j])
        out.append(_unify_all(p, layouts, where) if layouts else Anon(shape[k]))
    return out


# -- families ----------------------------------------------------------------------------------------


def param(p: Propagation, op: Operation) -> None:
    """`spa.param`: every dim of a weight is a channel space of its own until ops couple them."""
    r = op.results[0]
    name = op.weight_name  # type: ignore[attr-defined]
    p.param_values[name] = r
    p.set(r, [_fresh(p, n, f"{name}[{d}]") for d, n in enumerate(p.shape(r) or ())], zero=True)


def factory(zero: bool) -> Rule:
    """zeros / ones / full / empty: a constant tensor takes whatever channel layout its users give it
    (fresh spaces, sized by its shape list, which resize.py rewrites)."""

    def rule(p: Propagation, op: Operation) -> None:
        r = op.results[0]
        p.set(r, [_fresh(p, n, location(op)) if n > 1 else Anon(n) for n in p.shape(r) or ()], zero=zero)

    return rule


def no_channels(p: Propagation, op: Operation) -> None:
    """Constants, shape queries, factories: results hold no channels, operands are only read for shapes."""
    for r in op.results:
        if p.is_tensor(r):
            p.set(r, [Anon(d) for d in p.shape(r) or ()], zero=True)


def shape_as_tensor(p: Propagation, op: Operation) -> None:
    """_shape_as_tensor(x) (an ONNX Shape the frontend could not fold: x has dynamic dims): no channel
    flows. Where the shape's uses pick only dynamic dims (the batch size for a Reshape), channels are
    untouched; a channel dim whose size is read otherwise is frozen, since the number may be used as
    data that pruning would change."""
    x, r = op.operands[0], _tensor_result(op)
    xs, xl = p.shape(x) or (), p.layout(x)
    where = location(op)
    for d in _dims_read(p, r, len(xs)):
        if xs[d] >= 0:
            p.spaces.freeze(xl[d], f"its size is read at run time: {where}")
    p.set(r, [Anon(len(xs))], zero=True)


def _dims_read(p: Propagation, shape: SSAValue, rank: int) -> set[int]:
    """Which entries of a shape tensor its uses read: those picked by `select.int` or an `index_select`
    of a literal index along dim 0; every entry when any use is something else."""
    read: set[int] = set()
    for use in shape.uses:
        user = use.operation
        picked: list[int] | None = None
        if use.index == 0 and len(user.operands) == 3 and p.const_int(user.operands[1]) == 0:
            if user.name == "torch.aten.select.int":
                k = p.const_int(user.operands[2])
                picked = None if k is None else [k]
            elif user.name == "torch.aten.index_select":
                picked = _literal_ints(user.operands[2])
        if picked is None or any(not -rank <= k < rank for k in picked):
            return set(range(rank))
        read.update(k % rank for k in picked)
    return read


def _literal_ints(v: SSAValue) -> list[int] | None:
    """The entries of an integer `torch.vtensor.literal`, else None."""
    owner = v.owner
    if not isinstance(owner, Operation) or owner.name != "torch.vtensor.literal":
        return None
    value = owner.properties.get("value") or owner.attributes.get("value")
    if not isinstance(value, DenseIntOrFPElementsAttr) or not isinstance(value.get_element_type(), IntegerType):
        return None
    return [int(x) for x in value.get_values()]


def unary(zero_preserving: bool) -> Rule:
    """Element-wise on one tensor (activations, casts, scalar arithmetic): same layout out as in."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        r = _tensor_result(op)
        if p.shape(x) != p.shape(r) and len(p.shape(x) or ()) != len(p.shape(r) or ()):
            return p.freeze_op(op, "unary op changes rank")
        p.set(r, p.layout(x), zero=zero_preserving and p.is_zero(x))

    return rule


def scalar_arith(zero_if_scalar_zero: bool) -> Rule:
    """`x op scalar` (add.Scalar, mul.Scalar, ...): zero-preserving for mul/div, and for add/sub of 0."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        scalar = p.const(op.operands[1])
        keeps_zero = (not zero_if_scalar_zero) or scalar == 0
        p.set(_tensor_result(op), p.layout(x), zero=keeps_zero and p.is_zero(x))

    return rule


def broadcast(operands: tuple[int, ...], zero: str) -> Rule:
    """Broadcasting element-wise ops: dims aligned from the right are unified unless of size 1.

    zero: "all" (add, sub, where: zero if every operand is), "any" (mul: zero if one is),
    "first" (masked_fill: zero if the input is), "divide" (like "first"; and a channel in the divisor is
    inexact, as the masked model would divide by 0), "none" (comparisons), "addcmul" (a + b*c: zero if a is
    and b or c is).
    """

    def rule(p: Propagation, op: Operation) -> None:
        r = _tensor_result(op)
        tensors = [op.operands[i] for i in operands if i < len(op.operands) and p.is_tensor(op.operands[i])]
        where = location(op)
        out = _broadcast_dims(p, tensors, p.shape(r) or (), where)
        zeros = [p.is_zero(t) for t in tensors]
        if zero == "divide" and len(tensors) > 1:
            for d in p.layout(tensors[1]):
                p.spaces.mark_inexact(d, f"divides by a pruned channel: {where}")
        is_zero = {"all": all(zeros), "any": any(zeros), "none": False,
                   "addcmul": bool(zeros) and zeros[0] and any(zeros[1:])}.get(zero, bool(zeros and zeros[0]))
        p.set(r, out, zero=is_zero)

    return rule


def keep_leading(n: int, zero_preserving: bool = True) -> Rule:
    """Pooling, upsampling, padding of the trailing (spatial) dims: the first n dims (N, C) pass through."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl = p.layout(x)
        for i, r in enumerate(op.results):
            if not p.is_tensor(r):
                continue
            rshape = p.shape(r) or ()
            out = [xl[k] if k < n and k < len(xl) and rshape[k] == (p.shape(x) or ())[k] else Anon(rshape[k]) for k in range(len(rshape))]
            if len(rshape) != len(xl):
                return p.freeze_op(op, "pooling changes rank")
            for k in range(n, len(xl)):
                if p.has_channels(xl[k]):
                    p.spaces.freeze(xl[k], f"spatial op over a channel dim: {location(op)}")
            p.set(r, out, zero=zero_preserving and p.is_zero(x))

    return rule


def reduce(dims_arg: int | None, keepdim_arg: int | None, kind: str) -> Rule:
    """Reductions: reduced dims disappear (or become size 1). Summing channels is exact only if they are
    zero; averaging/normalizing over them never is (the count changes); max is never exact."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl = p.layout(x)
        rank = len(xl)
        if dims_arg is None:
            reduced = list(range(rank))
        else:
            c = p.const(op.operands[dims_arg])
            c = [c] if isinstance(c, int) else c
            if c is None:
                reduced = list(range(rank))
            elif not isinstance(c, list) or not all(isinstance(d, int) for d in c):
                return p.freeze_op(op, "reduction over non-constant dims")
            else:
                reduced = [_norm_dim(d, rank) for d in c]
        keep = bool(p.const(op.operands[keepdim_arg])) if keepdim_arg is not None and keepdim_arg < len(op.operands) else False
        where = location(op)
        for d in reduced:
            if p.has_channels(xl[d]) and not (kind == "sum" and p.is_zero(x)):
                p.spaces.mark_inexact(xl[d], f"{kind} over channels: {where}")
        out = [Anon(1) if k in reduced else xl[k] for k in range(rank) if keep or k not in reduced]
        for r in op.results:
            if p.is_tensor(r):
                if len(p.shape(r) or ()) != len(out):
                    return p.freeze_op(op, "reduction result rank")
                p.set(r, out, zero=p.is_zero(x) and kind in ("sum", "mean", "max"))

    return rule


def softmax(p: Propagation, op: Operation) -> None:
    x = op.operands[0]
    xl = p.layout(x)
    d = p.const_int(op.operands[1])
    if d is None:
        return p.freeze_op(op, "softmax over a non-constant dim")
    d = _norm_dim(d, len(xl))
    if p.has_channels(xl[d]):
        p.spaces.mark_inexact(xl[d], f"softmax over channels: {location(op)}")
    p.set(_tensor_result(op), xl, zero=False)


# -- layers ---------------------------------------------------------------------------------------


def _couple(p: Propagation, a: Layout, b: Layout, where: str) -> None:
    p.spaces.unify(a, b, where)


def _conv(p: Propagation, op: Operation, x: SSAValue, w: SSAValue, b: SSAValue | None, groups: int | None, transposed: bool) -> None:
    where = location(op)
    xl, wl = p.layout(x), p.layout(w)
    wshape = p.shape(w) or ()
    if groups is None or len(xl) < 2:
        return p.freeze_op(op, "convolution with non-constant groups")
    for k in wl[2:]:
        p.spaces.freeze(k, NOT_CHANNEL)
    # Weight [Cout, Cin/g, k...] (transposed: [Cin, Cout/g, k...]).
    w_in, w_out = (wl[0], wl[1]) if transposed else (wl[1], wl[0])
    in_size = (p.shape(x) or ())[1]
    out_size = wshape[1] * groups if transposed else wshape[0]
    if groups == 1:
        _couple(p, xl[1], wl[0] if transposed else wl[1], where)
        out_ch = w_out
    else:
        g = p.spaces.new(groups, f"{where} groups")
        per_in = in_size // groups
        if transposed:
            _couple(p, wl[0], Prod((g, _fresh(p, per_in, where))), where)
            _couple(p, xl[1], wl[0], where)
            out_ch = Prod((g, wl[1]))
        else:
            _couple(p, xl[1], Prod((g, wl[1])), where)
            _couple(p, wl[0], Prod((g, _fresh(p, out_size // groups, where))), where)
            out_ch = wl[0]
    if b is not None and p.is_tensor(b):
        _couple(p, p.layout(b)[0], out_ch, where)
    r = _tensor_result(op)
    rshape = p.shape(r) or ()
    out = [xl[0], out_ch, *(Anon(n) for n in rshape[2:])]
    for k in xl[2:]:
        if p.has_channels(k):
            p.spaces.freeze(k, f"convolution window over a channel dim: {where}")
    p.set(r, out, zero=True)


def conv(p: Propagation, op: Operation) -> None:
    """aten.conv{1,2,3}d(input, weight, bias, stride, padding, dilation, groups)."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    _conv(p, op, x, w, b, p.const_int(op.operands[6]), transposed=False)


def conv_transpose(p: Propagation, op: Operation) -> None:
    """aten.conv_transpose{1,2,3}d.input(input, weight, bias, stride, padding, output_padding, groups, dilation)."""
    _conv(p, op, op.operands[0], op.operands[1], op.operands[2], p.const_int(op.operands[6]), transposed=True)


def convolution(p: Propagation, op: Operation) -> None:
    """aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)."""
    transposed = p.const(op.operands[6])
    if not isinstance(transposed, bool):
        return p.freeze_op(op, "convolution with non-constant 'transposed'")
    _conv(p, op, op.operands[0], op.operands[1], op.operands[2], p.const_int(op.operands[8]), transposed=transposed)


def linear(p: Propagation, op: Operation) -> None:
    """aten.linear(input, weight[out, in], bias[out])."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    where = location(op)
    xl, wl = p.layout(x), p.layout(w)
    if len(wl) != 2:
        return p.freeze_op(op, "linear with a weight of rank != 2")
    _couple(p, xl[-1], wl[1], where)
    if p.is_tensor(b):
        _couple(p, p.layout(b)[0], wl[0], where)
    p.set(_tensor_result(op), [*xl[:-1], wl[0]], zero=True)


def _matmul_dims(p: Propagation, op: Operation, a: SSAValue, b: SSAValue) -> Dims | None:
    al, bl = p.layout(a), p.layout(b)
    if len(al) < 2 or len(bl) < 2:
        return None
    where = location(op)
    p.spaces.unify(al[-1], bl[-2], where)
    contracted = p.spaces.resolve(al[-1])
    if p.has_channels(contracted) and not (p.is_zero(a) or p.is_zero(b)):
        p.spaces.mark_inexact(contracted, f"contraction over channels that are not zero: {where}")
    ab, bb = al[:-2], bl[:-2]
    rank = max(len(ab), len(bb))
    ashape, bshape = (p.shape(a) or ())[:-2], (p.shape(b) or ())[:-2]
    batch: Dims = []
    for k in range(rank):
        ls = []
        for lay, shp in ((ab, ashape), (bb, bshape)):
            j = k - (rank - len(lay))
            if j >= 0 and shp[j] != 1:
                ls.append(lay[j])
        batch.append(_unify_all(p, ls, where) if ls else Anon(1))
    return [*batch, al[-2], bl[-1]]


def matmul(p: Propagation, op: Operation) -> None:
    """matmul / mm / bmm: the contracted dims are coupled; batch dims broadcast."""
    a, b = op.operands[0], op.operands[1]
    out = _matmul_dims(p, op, a, b)
    if out is None:
        return p.freeze_op(op, "matmul of a vector")
    p.set(_tensor_result(op), out, zero=p.is_zero(a) and p.is_zero(b))


def addmm(p: Propagation, op: Operation) -> None:
    """aten.addmm(bias, a, b, beta, alpha) = beta*bias + alpha*(a @ b) (ONNX Gemm)."""
    bias, a, b = op.operands[0], op.operands[1], op.operands[2]
    out = _matmul_dims(p, op, a, b)
    if out is None:
        return p.freeze_op(op, "addmm of a vector")
    bl = p.layout(bias)
    where = location(op)
    for k in range(1, len(bl) + 1):
        if (p.shape(bias) or ())[-k] != 1:
            p.spaces.unify(bl[-k], out[-k], where)
    p.set(_tensor_result(op), [p.spaces.resolve(d) for d in out], zero=p.is_zero(a) and p.is_zero(b) and p.is_zero(bias))


def batch_norm(training: int | None, running_stats: bool) -> Rule:
    """batch_norm(input, weight, bias, running_mean, running_var, training, ...) and its aten variants
    (`training`: the operand index of the flag, None for `_native_batch_norm_legit_no_training`;
    `.no_stats` has no running statistics): per-channel on dim 1, which is exact to prune.

    In training mode the statistics are over every dim but 1 (batch and spatial, or in_channels x k x k
    when timm's weight standardization normalizes a conv weight viewed as [1, out, in*k*k]): channels on
    those dims are mixed into the mean and variance, so removing them is not zeroing them (inexact).
    Results 1.. (saved mean / inverse std, updated running statistics) are per channel of dim 1."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl, xs = p.layout(x), p.shape(x) or ()
        if len(xl) < 2:
            return p.freeze_op(op, "batch norm of a tensor of rank < 2")
        train = False if training is None else p.const(op.operands[training])
        if not isinstance(train, bool):
            return p.freeze_op(op, "batch norm with a non-constant 'training' flag")
        where = location(op)
        for v in op.operands[1:5 if running_stats else 3]:
            if p.is_tensor(v):
                p.spaces.unify(p.layout(v)[0], xl[1], where)
        mixed = train and any(p.has_channels(d) for k, d in enumerate(xl) if k != 1)
        if mixed:
            for k, d in enumerate(xl):
                if k != 1:
                    p.spaces.mark_inexact(d, f"batch statistics over channels: {where}")
        has_bias = p.is_tensor(op.operands[2])
        p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=(has_bias or p.is_zero(x)) and not mixed)
        for r in op.results[1:]:
            if p.shape(r) == (xs[1],) and xs[1] > 1:
                p.set(r, [p.spaces.resolve(xl[1])], zero=False)
            else:
                no_channels_value(p, r)

    return rule


def no_channels_value(p: Propagation, r: SSAValue) -> None:
    if p.is_tensor(r):
        p.set(r, [Anon(d) for d in p.shape(r) or ()], zero=True)


def instance_norm(p: Propagation, op: Operation) -> None:
    """instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn):
    per channel of dim 1. With input statistics (use_input_stats, the usual case) the mean and variance of
    each (sample, channel) run over dims 2..: channels there are mixed (inexact), as in batch_norm. ONNX
    exports GroupNorm as an InstanceNormalization of the input reshaped to [N, groups, C/groups * H * W]."""
    x = op.operands[0]
    xl = p.layout(x)
    where = location(op)
    for v in op.operands[1:5]:
        if p.is_tensor(v):
            p.spaces.unify(p.layout(v)[0], xl[1], where)
    mixed = p.const(op.operands[5]) is not False and any(p.has_channels(d) for d in xl[2:])
    if mixed:
        for d in xl[2:]:
            p.spaces.mark_inexact(d, f"instance statistics over channels: {where}")
    zero = (p.is_tensor(op.operands[2]) or p.is_zero(x)) and not mixed
    p.set(_tensor_result(op), [p.spaces.resolve(d) for d in xl], zero=zero)


def norm_over_last(weight_args: tuple[int, ...]) -> Rule:
    """layer_norm(input, normalized_shape, weight, bias, ...) / rms_norm(input, normalized_shape, weight, eps):
    the normalized trailing dims mix their channels (inexact); weight/bias are coupled to them."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        xl = p.layout(x)
        ns = p.const_ints(op.operands[1])
        if ns is None:
            return p.freeze_op(op, "normalization over a non-constant shape")
        where = location(op)
        normalized = xl[len(xl) - len(ns):]
        for i in weight_args:
            if i < len(op.operands) and p.is_tensor(op.operands[i]):
                for wd, xd in zip(p.layout(op.operands[i]), normalized):
                    p.spaces.unify(wd, xd, where)
        for d in normalized:
            p.spaces.mark_inexact(d, f"normalization over channels: {where}")
        has_affine = len(weight_args) > 0 and p.is_tensor(op.operands[weight_args[-1]])
        p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=has_affine)
        for r in op.results[1:]:
            no_channels_value(p, r)

    return rule


def group_norm(p: Propagation, op: Operation) -> None:
    """group_norm(input, num_groups, weight, bias, eps, cudnn): channels = groups x per-group; the group
    count stays fixed (frozen), the per-group channels can be pruned consistently in every group."""
    x = op.operands[0]
    xl = p.layout(x)
    g = p.const_int(op.operands[1])
    if g is None:
        return p.freeze_op(op, "group_norm with non-constant groups")
    where = location(op)
    c = (p.shape(x) or ())[1]
    gs = _fresh(p, g, f"{where} groups")
    p.spaces.freeze(gs, f"group count of group_norm: {where}")
    p.spaces.unify(xl[1], Prod((gs, _fresh(p, c // g, where))), where)
    for v in op.operands[2:4]:
        if p.is_tensor(v):
            p.spaces.unify(p.layout(v)[0], xl[1], where)
    p.spaces.mark_inexact(xl[1], f"normalization over channels: {where}")
    p.set(op.results[0], [p.spaces.resolve(d) for d in xl], zero=p.is_tensor(op.operands[3]))


def prelu(p: Propagation, op: Operation) -> None:
    """prelu(input, weight): a per-channel slope on dim 1 (or one shared slope)."""
    x, w = op.operands[0], op.operands[1]
    xl = p.layout(x)
    if (p.shape(w) or (1,))[0] > 1:
        p.spaces.unify(p.layout(w)[0], xl[1], location(op))
    p.set(_tensor_result(op), [p.spaces.resolve(d) for d in xl], zero=p.is_zero(x))


def embedding(p: Propagation, op: Operation) -> None:
    """embedding(weight[V, D], indices, ...): the output's last dim is D; rows are token ids (frozen)."""
    w, idx = op.operands[0], op.operands[1]
    wl = p.layout(w)
    p.spaces.freeze(wl[0], f"embedding rows are looked up by index: {location(op)}")
    p.set(_tensor_result(op), [*p.layout(idx), wl[1]], zero=True)


def sdpa(p: Propagation, op: Operation) -> None:
    """scaled_dot_product_attention(q[B,H,L,E], k[B,Hk,S,E], v[B,Hk,S,Ev], mask, dropout, causal, scale, gqa).

    Heads are coupled across q/k/v (with grouped-query attention, q heads = kv heads x repeat); q/k head
    dims are coupled (the default scale 1/sqrt(E) makes pruning them inexact); v's head dim is the output's."""
    q, k, v = op.operands[0], op.operands[1], op.operands[2]
    ql, kl, vl = p.layout(q), p.layout(k), p.layout(v)
    if not (len(ql) == len(kl) == len(vl) == 4):
        return p.freeze_op(op, "attention on tensors of rank != 4")
    where = location(op)
    hq, hk = (p.shape(q) or ())[1], (p.shape(k) or ())[1]
    p.spaces.unify(kl[1], vl[1], where)
    if hq == hk:
        p.spaces.unify(ql[1], kl[1], where)
    else:
        p.spaces.unify(ql[1], Prod((kl[1], _fresh(p, hq // hk, f"{where} kv repeat"))), where)
    p.spaces.unify(ql[3], kl[3], where)
    scale = p.const(op.operands[6]) if len(op.operands) > 6 else None
    if p.has_channels(p.spaces.resolve(ql[3])) and (scale is None or scale is NOT_CONST or not (p.is_zero(q) or p.is_zero(k))):
        p.spaces.mark_inexact(ql[3], f"attention head dim sets the softmax scale: {where}")
    mask = op.operands[3]
    if p.is_tensor(mask):  # broadcast against the scores [B, Hq, L, S]: a per-head bias couples to the heads
        scores = [ql[0], p.spaces.resolve(ql[1]), ql[2], kl[2]]
        mshape = p.shape(mask) or ()
        for k, d in enumerate(p.layout(mask)):
            j = k + 4 - len(mshape)
            if j >= 0 and mshape[k] != 1:
                p.spaces.unify(d, scores[j], where)
    for d in (ql[2], kl[2]):
        if p.has_channels(d):
            p.spaces.mark_inexact(d, f"softmax over channels: {where}")
    p.set(_tensor_result(op), [ql[0], p.spaces.resolve(ql[1]), ql[2], vl[3]], zero=p.is_zero(v))


def einsum(p: Propagation, op: Operation) -> None:
    """einsum(equation, tensors, path): dims named by the same letter are coupled across operands and
    the result (a contracted letter is a matmul's inner dim: removing a channel from every operand that
    sums over it is zeroing its terms); size-1 dims broadcast. An ellipsis freezes (not worth the rank
    arithmetic until a model needs it)."""
    equation, items, values = p.const(op.operands[0]), p.lists.get(op.operands[1]), p.list_items.get(op.operands[1], [])
    if not isinstance(equation, str) or "->" not in equation or "." in equation or items is None or any(i is None for i in items):
        return p.freeze_op(op, "einsum with an ellipsis, implicit output or unknown operands")
    lhs, out_letters = equation.replace(" ", "").split("->")
    in_letters = lhs.split(",")
    if len(in_letters) != len(items) or any(len(ls) != len(it) for ls, it in zip(in_letters, items)):  # type: ignore[arg-type]
        return p.freeze_op(op, "einsum equation does not match its operands")
    where = location(op)
    by_letter: dict[str, list[Layout]] = {}
    for letters, layout, value in zip(in_letters, items, values):
        shape = p.shape(value) or ()
        for k, letter in enumerate(letters):
            if shape[k] != 1:
                by_letter.setdefault(letter, []).append(layout[k])  # type: ignore[index]
    coupled = {letter: _unify_all(p, layouts, where) for letter, layouts in by_letter.items()}
    result = _tensor_result(op)
    rshape = p.shape(result) or ()
    out = [coupled[c] if c in coupled else Anon(rshape[k]) for k, c in enumerate(out_letters)]
    p.set(result, [p.spaces.resolve(d) for d in out], zero=all(p.is_zero(v) for v in values))


def recurrent(gates: int, hidden_list: bool) -> Rule:
    """lstm.input / gru.input(input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
    batch_first). Per layer and direction the weights are w_ih [G*H, I], w_hh [G*H, H] (+ b_ih, b_hh):
    rows are gate-major (G gates of H units), so rows = gates x hidden with the gate count frozen; the
    hidden units of a layer are its w_hh columns. A layer's input is the previous layer's output (both
    directions concatenated). The stacked states h0/c0/h_n/c_n put every layer in one tensor, so all
    layers' hidden spaces are coupled. Exact when the initial state is zero on removed units: their
    gates see 0, so their cell and hidden states stay 0."""

    def rule(p: Propagation, op: Operation) -> None:
        x = op.operands[0]
        items = p.list_items.get(op.operands[2])
        has_biases, layers = p.const(op.operands[3]), p.const_int(op.operands[4])
        bidirectional = p.const(op.operands[7])  # batch_first (operand 8) moves only non-channel dims
        if items is None or layers is None or not isinstance(bidirectional, bool) or not isinstance(has_biases, bool):
            return p.freeze_op(op, "recurrent layer with non-constant configuration")
        dirs, per = (2 if bidirectional else 1), (4 if has_biases else 2)
        if len(items) != layers * dirs * per:
            return p.freeze_op(op, "recurrent layer with projections or unexpected weights")
        where = location(op)
        prev = p.layout(x)[-1]
        hidden: list[Layout] = []
        for layer in range(layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, *biases = items[(layer * dirs + d) * per:(layer * dirs + d + 1) * per]
                h = p.layout(w_hh)[1]
                gate = _fresh(p, gates, f"{where} gates")
                p.spaces.freeze(gate, f"gate blocks of a recurrent layer: {where}")
                rows = Prod((gate, h))
                for v in (w_ih, w_hh, *biases):
                    p.spaces.unify(p.layout(v)[0], rows, where)
                p.spaces.unify(p.layout(w_ih)[1], prev, where)
                outs.append(p.spaces.resolve(h))
            prev = p.spaces.resolve(Cat(tuple(outs)) if dirs == 2 else outs[0])
            hidden.extend(outs)
        state = _unify_all(p, hidden, where) if hidden else Anon(1)
        states = p.list_items.get(op.operands[1], []) if hidden_list else [op.operands[1]]
        for v in states:
            if p.is_tensor(v):
                p.spaces.unify(p.layout(v)[-1], state, where)
        zero = all(p.is_zero(v) for v in states)
        xl = p.layout(x)
        p.set(op.results[0], [*xl[:-1], p.spaces.resolve(prev)], zero=zero)
        for r in op.results[1:]:
            rs = p.shape(r) or ()
            p.set(r, [Anon(n) for n in rs[:-1]] + [p.spaces.resolve(state)], zero=zero)

    return rule


# -- shape ops --------------------------------------------------------------------------------------


def constant_pad(p: Propagation, op: Operation) -> None:
    """constant_pad_nd(x, pad, value) / pad(x, pad, mode="constant", value): `pad` holds (before, after)
    pairs from the last dim backwards. A padded dim is `cat(_, layout, _)`: the new indices are constants,
    no channel, so padding a channel dim (Swin pads [B, H, W, C] by zero on C) stays prunable. Other
    modes copy channels into the border: they freeze like pooling."""
    x, r = op.operands[0], _tensor_result(op)
    pads = p.const_ints(op.operands[1])
    mode = p.const(op.operands[2]) if len(op.operands) == 4 else "constant"  # aten.pad(x, pad, mode, value)
    xl = list(p.layout(x))
    if pads is None or len(pads) % 2 or len(pads) // 2 > len(xl) or any(v < 0 for v in pads) or mode != "constant":
        return keep_leading(2)(p, op)
    for i in range(len(pads) // 2):
        before, after = pads[2 * i], pads[2 * i + 1]
        if before or after:
            k = len(xl) - 1 - i
            xl[k] = p.spaces.resolve(Cat((Anon(before), xl[k], Anon(after))))
    p.set(r, xl, zero=p.is_zero(x))


def permute(p: Propagation, op: Operation) -> None:
    x = op.operands[0]
    xl = p.layout(x)
    perm = p.const_ints(op.operands[1])
    if perm is None:
        return p.freeze_op(op, "permute with non-constant dims")
    p.set(_tensor_result(op), [xl[_norm_dim(d, len(xl))] for d in perm], zero=p.is_zero(x))


def transpose(p: Propagation, op: Operation) -> None:
    x = op.operands[0]
    xl = p.layout(x)
    d0, d1 = p.const_int(op.operands[1]), p.const_int(op.operands[2])
    if d0 is None or d1 is None:
        return p.freeze_op(op, "transpose with non-constant dims")
    d0, d1 = _norm_dim(d0, len(xl)), _norm_dim(d1, len(xl))
    out = list(xl)
    out[d0], out[d1] = out[d1], out[d0]
    p.set(_tensor_result(op), out, zero=p.is_zero(x))


def t(p: Propagation, op: Operation) -> None:
    x = op.operands[0]
    p.set(_tensor_result(op), list(reversed(p.layout(x))), zero=p.is_zero(x))


Run = tuple[list[int], list[int]]
"""Input dims and output dims of a reshape that hold the same elements (the same product of sizes)."""


def reshape(p: Propagation, op: Operation) -> None:
    """view / reshape / flatten / unflatten / squeeze / unsqueeze / collapse: group input and output dims
    into runs of equal size; a run merged into one dim is a product, a dim split into several is refined.
    With dynamic dims (`?`), runs are matched from both ends and the dims in between are one run: a
    dynamic dim alone on each side (batch, sequence) keeps its layout; several dims merged with a dynamic
    one (Swin's windows, `[B, nH, nW] -> [B * nH * nW]`) freeze their channels."""
    x, r = op.operands[0], _tensor_result(op)
    xs, rs = list(p.shape(x) or ()), list(p.shape(r) or ())
    index = _SIZE_LIST_ARG.get(op.name)
    copied = _copied_dims(p, x, op.operands[index], len(xs)) if index is not None else {}
    runs = _reshape_runs(xs, rs, lambda i, j: copied.get(j) == i)
    if runs is None:
        return p.freeze_op(op, "reshape with mismatched sizes")
    xl = p.layout(x)
    where = location(op)
    out: Dims = []
    for gi, gj in runs:
        out.extend(_run_layouts(p, [xl[k] for k in gi], [xs[k] for k in gi], [rs[k] for k in gj], where))
    if index is not None:
        _freeze_run_time_sizes(p, op.operands[index], out, rs, where)
    p.set(r, out, zero=p.is_zero(x))


_SIZE_LIST_ARG = {"torch.aten.view": 1, "torch.aten.reshape": 1, "torch.aten._unsafe_view": 1, "torch.aten.view_copy": 1}
"""Reshapes whose target sizes are an operand (a list the pruner rewrites where a dim shrinks)."""


def _freeze_run_time_sizes(p: Propagation, sizes: SSAValue, out: Dims, rs: list[int], where: str) -> None:
    """A target size computed at run time (not a constant: an ONNX Reshape whose shape tensor also holds
    the batch size) cannot be rewritten when its dim shrinks: that dim's channels are frozen."""
    entries = p.const(sizes)
    known = isinstance(entries, list) and len(entries) == len(rs)
    for k, (layout, n) in enumerate(zip(out, rs)):
        if n >= 0 and (not known or entries[k] is NOT_CONST):
            p.spaces.freeze(layout, f"size computed at run time: {where}")


def _run_layouts(p: Propagation, layouts: list[Layout], xs: list[int], rs: list[int], where: str) -> Dims:
    """The output layouts of one run of a reshape."""
    if not rs:  # input dims of size 1 that disappear
        return []
    if not xs:  # new size-1 dims
        return [Anon(n) for n in rs]
    if any(n < 0 for n in xs + rs):
        if len(xs) == len(rs) == 1:
            return layouts
        for layout in layouts:
            p.spaces.freeze(layout, f"merged with a dynamic dim: {where}")
        return [Anon(n) for n in rs]
    merged = Prod(tuple(layouts)) if len(layouts) > 1 else layouts[0]
    if not p.has_channels(merged):
        return [Anon(n) for n in rs]
    if len(rs) == 1:
        return [p.spaces.resolve(merged)]
    pieces = tuple(_fresh(p, n, where) for n in rs)
    p.spaces.unify(merged, Prod(pieces), where)
    return [p.spaces.resolve(piece) for piece in pieces]


def _copied_dims(p: Propagation, x: SSAValue, sizes: SSAValue, rank: int) -> dict[int, int]:
    """Target entries that are `size.int(x, i)`: output dim -> the input dim it copies (what an ONNX
    Reshape's 0 entries become), so dynamic dims known to be the same pair up."""
    owner = sizes.owner
    if not isinstance(owner, Operation) or owner.name != "torch.prim.ListConstruct":
        return {}
    copied: dict[int, int] = {}
    for j, entry in enumerate(owner.operands):
        read = entry.owner
        if isinstance(read, Operation) and read.name == "torch.aten.size.int" and read.operands[0] == x:
            i = p.const_int(read.operands[1])
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
    """expand(x, sizes): broadcast size-1 dims (and new leading dims); other dims keep their layout."""
    x, r = op.operands[0], _tensor_result(op)
    xl, xs, rs = p.layout(x), p.shape(x) or (), p.shape(r) or ()
    lead = len(rs) - len(xs)
    out = [Anon(rs[k]) if k < lead or xs[k - lead] == 1 else xl[k - lead] for k in range(len(rs))]
    p.set(r, out, zero=p.is_zero(x))


def _joined_items(p: Propagation, op: Operation) -> tuple[list[Dims], int, int] | None:
    """cat / stack: the layouts of the list's tensors, the (normalized) dim and the result's rank."""
    items, d = p.lists.get(op.operands[0]), p.const_int(op.operands[1])
    if items is None or any(i is None for i in items) or d is None:
        return None
    rank = len(p.shape(_tensor_result(op)) or ())
    return [it for it in items if it is not None], _norm_dim(d, rank), rank


def _all_items_zero(p: Propagation, op: Operation) -> bool:
    return all(p.is_zero(s) for s in p.list_items.get(op.operands[0], []))


def cat(p: Propagation, op: Operation) -> None:
    """cat(tensors, dim): the cat dim is the concatenation; all other dims are coupled across inputs."""
    joined = _joined_items(p, op)
    if joined is None:
        return p.freeze_op(op, "cat of an unknown list")
    items, d, rank = joined
    where = location(op)
    parts = [it for it in items if len(it) == rank]
    out = [p.spaces.resolve(Cat(tuple(it[k] for it in parts))) if k == d else _unify_all(p, [it[k] for it in parts], where)
           for k in range(rank)]
    p.set(_tensor_result(op), out, zero=_all_items_zero(p, op))


def list_construct(p: Propagation, op: Operation) -> None:
    """A list of tensors (for cat/stack/...) remembers its items' layouts; lists of ints carry nothing."""
    if any(p.is_tensor(v) for v in op.operands):
        p.lists[op.results[0]] = [p.layout(v) if p.is_tensor(v) else None for v in op.operands]
        p.list_items[op.results[0]] = list(op.operands)


def _slice_dim(p: Propagation, x: SSAValue, dim: int, start: int, end: int, where: str) -> Layout:
    """The layout of x[dim][start:end]; a channel dim is refined into (before, kept, after)."""
    size = (p.shape(x) or ())[dim]
    layout = p.layout(x)[dim]
    start, end = max(0, min(start, size)), max(0, min(end, size))
    if not p.has_channels(layout):
        return Anon(end - start)
    pieces = [piece for piece in (
        _fresh(p, start, where) if start else None,
        _fresh(p, end - start, where) if end > start else None,
        _fresh(p, size - end, where) if size > end else None,
    ) if piece is not None]
    middle = pieces[1] if start else pieces[0]
    if len(pieces) > 1:
        p.spaces.unify(layout, Cat(tuple(pieces)), where)
    else:
        p.spaces.unify(layout, middle, where)
    return p.spaces.resolve(middle)


def _slice_args(p: Propagation, op: Operation, x: SSAValue, first: int) -> tuple[int, int, int, int] | None:
    """(dim, start, end, step) of a slice whose operands `first`.. are dim, start, end, step; bounds
    normalized to [0, size]; None when any is not a constant."""
    dim, step = p.const_int(op.operands[first]), p.const_int(op.operands[first + 3])
    start, end = p.const(op.operands[first + 1]), p.const(op.operands[first + 2])
    if dim is None or step is None or start is NOT_CONST or end is NOT_CONST:
        return None
    dim = _norm_dim(dim, len(p.layout(x)))
    size = (p.shape(x) or ())[dim]
    start = 0 if start is None else (start + size if start < 0 else start)
    end = size if end is None else (end + size if end < 0 else end)
    return dim, start, end, step


def slice_tensor(p: Propagation, op: Operation) -> None:
    """slice.Tensor(x, dim, start, end, step)."""
    x, r = op.operands[0], _tensor_result(op)
    xl = p.layout(x)
    args = _slice_args(p, op, x, 1)
    if args is None:
        return p.freeze_op(op, "slice with non-constant bounds")
    dim, start, end, step = args
    size = (p.shape(x) or ())[dim]
    out = list(xl)
    if not p.has_channels(xl[dim]):
        out[dim] = Anon((p.shape(r) or ())[dim])
    elif step == 1 and size >= 0:
        out[dim] = _slice_dim(p, x, dim, start, end, location(op))
    elif size > 0 and size % step == 0 and start < step and end >= size - step + start + 1:
        out[dim] = _every_kth(p, xl[dim], size, step, location(op))
    else:
        return p.freeze_op(op, "strided or dynamic slice of a channel dim")
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def _every_kth(p: Propagation, layout: Layout, size: int, step: int, where: str) -> Layout:
    """x[..., start::step] over a whole channel dim (rotary embeddings take x[..., ::2] and x[..., 1::2]):
    the dim is `blocks x step`; the slice keeps one fixed index of each block, so blocks are the channels
    and the position in a block is frozen. Removing block j removes its `step` consecutive indices."""
    blocks, within = _fresh(p, size // step, where), _fresh(p, step, where)
    p.spaces.unify(layout, Prod((blocks, within)), where)
    p.spaces.freeze(within, f"strided slice keeps one index of each block: {where}")
    return p.spaces.resolve(blocks)


def slice_scatter(p: Propagation, op: Operation) -> None:
    """slice_scatter(x, src, dim, start, end, step): x with x[dim][start:end] replaced by src, the
    functional form of an in-place slice write (Swin V2's `qkv_bias[n:2n].zero_()`): src's dims are x's,
    and its `dim` is that slice of x's."""
    x, src, r = op.operands[0], op.operands[1], _tensor_result(op)
    xl, sl = p.layout(x), p.layout(src)
    args = _slice_args(p, op, x, 2)
    if args is None or len(xl) != len(sl):
        return p.freeze_op(op, "slice_scatter with non-constant bounds")
    dim, start, end, step = args
    if ((p.shape(x) or ())[dim] < 0 or step != 1) and p.has_channels(xl[dim]):
        return p.freeze_op(op, "strided or dynamic slice_scatter into a channel dim")
    where = location(op)
    part = _slice_dim(p, x, dim, start, end, where) if step == 1 else Anon((p.shape(src) or ())[dim])
    for k, d in enumerate(sl):
        p.spaces.unify(d, part if k == dim else xl[k], where)
    p.set(r, [p.spaces.resolve(d) for d in xl], zero=p.is_zero(x) and p.is_zero(src))


def narrow(p: Propagation, op: Operation) -> None:
    """narrow(x, dim, start, length)."""
    x, r = op.operands[0], _tensor_result(op)
    xl = p.layout(x)
    dim, start, length = (p.const_int(op.operands[k]) for k in (1, 2, 3))
    if dim is None or start is None or length is None:
        return p.freeze_op(op, "narrow with non-constant bounds")
    dim = _norm_dim(dim, len(xl))
    out = list(xl)
    out[dim] = _slice_dim(p, x, dim, start, start + length, location(op))
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def select(p: Propagation, op: Operation) -> None:
    """select.int(x, dim, index): picking one fixed index freezes the channels of that dim."""
    x, r = op.operands[0], _tensor_result(op)
    xl = p.layout(x)
    dim = p.const_int(op.operands[1])
    if dim is None:
        return p.freeze_op(op, "select with a non-constant dim")
    dim = _norm_dim(dim, len(xl))
    p.spaces.freeze(xl[dim], f"selects a fixed index: {location(op)}")
    p.set(r, [d for k, d in enumerate(xl) if k != dim], zero=p.is_zero(x))


def index_select(p: Propagation, op: Operation) -> None:
    """index_select(x, dim, index) (ONNX Gather: Swin's relative position bias, picking q/k/v): fixed
    indices freeze the channels of that dim, which becomes the index's length; other dims pass through.
    The index tensor (a buffer, or an ONNX initializer) is data: its entries are never pruned."""
    x, r = op.operands[0], _tensor_result(op)
    xl = p.layout(x)
    dim = p.const_int(op.operands[1])
    if dim is None:
        return p.freeze_op(op, "index_select with a non-constant dim")
    dim = _norm_dim(dim, len(xl))
    where = location(op)
    p.spaces.freeze(xl[dim], f"selects fixed indices: {where}")
    for d in p.operand_dims(op.operands[2]):
        p.spaces.freeze(d, f"index values are data: {where}")
    out = list(xl)
    out[dim] = Anon((p.shape(r) or ())[dim])
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x))


def split(p: Propagation, op: Operation) -> None:
    """split.Tensor(x, size, dim) / split_with_sizes(x, sizes, dim) / chunk(x, n, dim) / unbind(x, dim):
    a list result whose items are consecutive slices (the split dim becomes a concatenation)."""
    x, r = op.operands[0], op.results[0]
    xl = p.layout(x)
    name = op.name
    dim_arg = 1 if "unbind" in name else 2
    dim = p.const_int(op.operands[dim_arg])
    if dim is None:
        return p.freeze_op(op, "split with a non-constant dim")
    dim = _norm_dim(dim, len(xl))
    size = (p.shape(x) or ())[dim]
    where = location(op)
    if "unbind" in name:
        p.spaces.freeze(xl[dim], f"unbind selects fixed indices: {where}")
        p.lists[r] = [[d for k, d in enumerate(xl) if k != dim]] * size
        return
    arg = p.const(op.operands[1])
    if "chunk" in name and isinstance(arg, int):
        step = -(-size // arg)
        sizes = [min(step, size - s) for s in range(0, size, step)]
    elif isinstance(arg, int):
        sizes = [min(arg, size - s) for s in range(0, size, arg)]
    elif isinstance(arg, list) and all(isinstance(s, int) for s in arg):
        sizes = list(arg)
    else:
        return p.freeze_op(op, "split with non-constant sizes")
    items: list[Dims | None] = []
    offset = 0
    for s in sizes:
        item = list(xl)
        item[dim] = _slice_dim(p, x, dim, offset, offset + s, where)
        items.append(item)
        offset += s
    p.lists[r] = [[p.spaces.resolve(d) for d in it] for it in items if it is not None]


def stack(p: Propagation, op: Operation) -> None:
    """stack(tensors, dim): every input dim is coupled across inputs; the new dim holds no channel."""
    joined = _joined_items(p, op)
    if joined is None:
        return p.freeze_op(op, "stack of an unknown list")
    items, d, rank = joined
    where = location(op)
    inner = [_unify_all(p, [it[k] for it in items], where) for k in range(rank - 1)]
    p.set(_tensor_result(op), [*inner[:d], Anon(len(items)), *inner[d:]], zero=_all_items_zero(p, op))


def roll(p: Propagation, op: Operation) -> None:
    """roll(x, shifts, dims): values move along the rolled dims (their channels are frozen)."""
    x = op.operands[0]
    xl = p.layout(x)
    dims = p.const(op.operands[2])
    dims = [dims] if isinstance(dims, int) else dims
    if not isinstance(dims, list) or not all(isinstance(d, int) for d in dims):
        return p.freeze_op(op, "roll over non-constant dims")
    for d in dims:
        p.spaces.freeze(xl[_norm_dim(d, len(xl))], f"rolled dim: {location(op)}")
    p.set(_tensor_result(op), xl, zero=p.is_zero(x))


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


def index_tensor(p: Propagation, op: Operation) -> None:
    """index.Tensor(x, [i0, i1, ...]): advanced indexing x[i0, i1, ...], None taking a whole dim.

    An indexed dim's entries are picked by value, so its channels are frozen. The index tensors broadcast
    together to B; result[.., b, ..] = x[.., i(b), ..] depends on the indices only at b, so B carries the
    indices' own layouts (as embedding's rows carry the ids'). By PyTorch's rule B replaces the indexed
    dims in place when they are adjacent, and goes first otherwise; the other dims of x pass through.
    Relative-position bias (`table[rel_index]`, table [num_rel, heads]) keeps the heads dim this way."""
    x, r = op.operands[0], _tensor_result(op)
    indices = _optional_tensors(p, op.operands[1])
    xl = p.layout(x)
    rshape = p.shape(r) or ()
    if indices is None or len(indices) > len(xl):
        return p.freeze_op(op, "indexing with an unknown index list")
    tensors = [(k, t) for k, t in enumerate(indices) if t is not None]
    if not tensors or not all(_is_integer_tensor(p, t) for _, t in tensors):
        return p.freeze_op(op, "indexing with masks")
    where = location(op)
    positions = [k for k, _ in tensors]
    for k in positions:
        p.spaces.freeze(xl[k], f"indexed by a tensor: {where}")
    brank = max(len(p.shape(t) or ()) for _, t in tensors)
    rest = [d for k, d in enumerate(xl) if k not in positions]
    if len(rshape) != brank + len(rest):
        return p.freeze_op(op, "indexing result of unexpected rank")
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    at = positions[0] if adjacent else 0
    b = _broadcast_dims(p, [t for _, t in tensors], rshape[at:at + brank], where)
    out = [*rest[:at], *b, *rest[at:]]
    index_channels = any(p.has_channels(d) for d in b)
    p.set(r, [p.spaces.resolve(d) for d in out], zero=p.is_zero(x) and not index_channels)


def repeat(p: Propagation, op: Operation) -> None:
    """repeat(x, repeats): tiles x. A dim repeated f times holds f copies of its layout one after the
    other, `Prod(Anon(f), layout)`: channel k owns one index in each copy; new leading dims hold no
    channel. The factors stay valid when channels go, so there is no size constant to rewrite."""
    x, r = op.operands[0], _tensor_result(op)
    xl, xs, rs = p.layout(x), p.shape(x) or (), p.shape(r) or ()
    factors = p.const_ints(op.operands[1])
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
            p.spaces.freeze(d, f"repeat of a dynamic or empty dim: {location(op)}")
            out.append(Anon(rs[lead + k]))
    p.set(r, out, zero=p.is_zero(x))


def gather(p: Propagation, op: Operation) -> None:
    """gather(x, dim, index, sparse_grad): out[.., i, ..] = x[.., index[.., i, ..], ..] along `dim`.

    x's entries along `dim` are picked by value (frozen); the result's dims are index's. On every other
    dim out, index and x share positions: coupled when x and index have the same size there, frozen
    when the index covers only a prefix of x's dim (removing a channel would shift the prefix)."""
    x, idx, r = op.operands[0], op.operands[2], _tensor_result(op)
    dim = p.const_int(op.operands[1])
    xl, il = p.layout(x), p.layout(idx)
    xs, ishape = p.shape(x) or (), p.shape(idx) or ()
    if dim is None:
        return p.freeze_op(op, "gather with a non-constant dim")
    if len(xl) != len(il):
        return p.freeze_op(op, "gather with an index of another rank")
    dim = _norm_dim(dim, len(xl))
    where = location(op)
    p.spaces.freeze(xl[dim], f"gathered by index: {where}")
    for k in range(len(xl)):
        if k == dim:
            continue
        if xs[k] == ishape[k] and xs[k] >= 0:
            p.spaces.unify(xl[k], il[k], where)
        else:
            p.spaces.freeze(xl[k], f"gather index covers part of the dim: {where}")
            p.spaces.freeze(il[k], f"gather index covers part of the dim: {where}")
    out = [p.spaces.resolve(d) for d in il]
    p.set(r, out, zero=p.is_zero(x) and not p.has_channels(out[dim]))


def list_unpack(p: Propagation, op: Operation) -> None:
    items = p.lists.get(op.operands[0])
    if items is None or len(items) != len(op.results):
        return p.freeze_op(op, "unpacking an unknown list")
    for r, dims in zip(op.results, items):
        if dims is not None:
            p.set(r, dims, zero=False)


def getitem_list(p: Propagation, op: Operation) -> None:
    items = p.lists.get(op.operands[0])
    idx = p.const_int(op.operands[1])
    if items is None or idx is None or items[idx] is None:
        return p.freeze_op(op, "indexing an unknown list")
    p.set(op.results[0], items[idx], zero=False)  # type: ignore[arg-type]


# -- the table ---------------------------------------------------------------------------------------

ZERO_PRESERVING_UNARY = """relu relu6 gelu silu hardswish hardtanh leaky_relu elu selu celu mish tanh sin neg abs
sqrt erf dropout clone contiguous detach alias to.dtype to.device to.other _to_copy type_as alias_copy
zero zeros_like lift_fresh_copy square softplus? sign atan asin sinh tan trunc round floor ceil""".split()
OTHER_UNARY = """sigmoid hardsigmoid exp cos log log2 log1p rsqrt reciprocal ones_like full_like bitwise_not
logical_not isnan isinf erfinv expm1 cosh acos""".split()


def _aten(names: list[str]) -> list[str]:
    return [f"torch.aten.{n}" for n in names if not n.endswith("?")]


def assertion(p: Propagation, op: Operation) -> None:
    """Run-time checks (`_assert_tensor_metadata`, ...): they read shapes, produce nothing, couple nothing."""


RULES: dict[str, Rule] = {
    "spa.param": param,
    **{n: assertion for n in [
        "torch.aten._assert_tensor_metadata", "torch.aten._assert_scalar", "torch.aten._assert_async.msg",
        "torch.aten.sym_constrain_range_for_size", "torch.runtime.assert",
    ]},
    **{n: no_channels for n in [
        "torch.constant.int", "torch.constant.float", "torch.constant.bool", "torch.constant.str",
        "torch.constant.none", "torch.constant.device", "torch.vtensor.literal", "torch.aten.size.int",
        "torch.aten.dim", "torch.aten.numel", "torch.aten.Int.Tensor", "torch.aten.Float.Tensor",
        "torch.aten.arange", "torch.aten.arange.start", "torch.aten.arange.start_step", "torch.aten.scalar_tensor",
        "torch.prim.NumToTensor.Scalar", "torch.aten.sym_size.int", "torch.aten.mul.int", "torch.aten.add.int",
        "torch.aten.floordiv.int", "torch.aten.sub.int", "torch.aten.eq.int", "torch.aten.ne.int",
    ]},
    "torch.aten._shape_as_tensor": shape_as_tensor,
    **{n: unary(True) for n in _aten(ZERO_PRESERVING_UNARY)},
    **{n: unary(False) for n in _aten(OTHER_UNARY)},
    **{n: factory(zero=True) for n in ["torch.aten.zeros", "torch.aten.new_zeros", "torch.aten.empty.memory_format", "torch.aten.new_empty"]},
    **{n: factory(zero=False) for n in ["torch.aten.ones", "torch.aten.full", "torch.aten.new_ones", "torch.aten.new_full"]},
    "torch.aten.lstm.input": recurrent(gates=4, hidden_list=True),
    "torch.aten.gru.input": recurrent(gates=3, hidden_list=False),
    "torch.aten.softplus": unary(False),
    "torch.aten.pow.Tensor_Scalar": unary(True),
    "torch.aten.clamp": unary(False),
    "torch.aten.clamp_min": unary(False),
    "torch.aten.clamp_max": unary(False),
    "torch.aten.masked_fill.Scalar": broadcast((0, 1), zero="first"),
    "torch.aten.mul.Scalar": scalar_arith(False),
    "torch.aten.div.Scalar": scalar_arith(False),
    "torch.aten.add.Scalar": scalar_arith(True),
    "torch.aten.sub.Scalar": scalar_arith(True),
    "torch.aten.rsub.Scalar": scalar_arith(True),
    "torch.aten.add.Tensor": broadcast((0, 1), zero="all"),
    "torch.aten.sub.Tensor": broadcast((0, 1), zero="all"),
    "torch.aten.mul.Tensor": broadcast((0, 1), zero="any"),
    "torch.aten.div.Tensor": broadcast((0, 1), zero="divide"),
    "torch.aten.maximum": broadcast((0, 1), zero="all"),
    "torch.aten.addcmul": broadcast((0, 1, 2), zero="addcmul"),
    "torch.aten.stack": stack,
    "torch.aten.roll": roll,
    "torch.aten.index.Tensor": index_tensor,
    "torch.aten.index.Tensor_hacked_twin": index_tensor,
    "torch.aten._unsafe_index.Tensor": index_tensor,
    "torch.aten.repeat": repeat,
    "torch.aten.gather": gather,
    "torch.aten.index_select": index_select,
    "torch.aten.minimum": broadcast((0, 1), zero="all"),
    "torch.aten.where.self": broadcast((0, 1, 2), zero="all"),
    "torch.aten.where.ScalarOther": broadcast((0, 1), zero="all"),
    "torch.aten.where.ScalarSelf": broadcast((0, 2), zero="all"),
    "torch.aten.eq.Tensor": broadcast((0, 1), zero="none"),
    "torch.aten.lt.Tensor": broadcast((0, 1), zero="none"),
    "torch.aten.gt.Tensor": broadcast((0, 1), zero="none"),
    "torch.aten.prelu": prelu,
    "torch.aten._prelu_kernel": prelu,
    **{f"torch.aten.conv{k}d": conv for k in (1, 2, 3)},
    **{f"torch.aten.conv{k}d.padding": conv for k in (1, 2, 3)},
    **{f"torch.aten.conv_transpose{k}d.input": conv_transpose for k in (1, 2, 3)},
    "torch.aten.convolution": convolution,
    "torch.aten._convolution": convolution,
    "torch.aten.linear": linear,
    "torch.aten.matmul": matmul,
    "torch.aten.einsum": einsum,
    "torch.aten.mm": matmul,
    "torch.aten.bmm": matmul,
    "torch.aten.addmm": addmm,
    "torch.aten.batch_norm": batch_norm(training=5, running_stats=True),
    "torch.aten._native_batch_norm_legit_no_training": batch_norm(training=None, running_stats=True),
    "torch.aten.native_batch_norm": batch_norm(training=5, running_stats=True),
    "torch.aten._native_batch_norm_legit": batch_norm(training=5, running_stats=True),
    "torch.aten._native_batch_norm_legit_functional": batch_norm(training=5, running_stats=True),
    "torch.aten._native_batch_norm_legit.no_stats": batch_norm(training=3, running_stats=False),
    "torch.aten.instance_norm": instance_norm,
    "torch.aten.layer_norm": norm_over_last((2, 3)),
    "torch.aten.native_layer_norm": norm_over_last((2, 3)),
    "torch.aten.rms_norm": norm_over_last((2,)),
    "torch.aten.group_norm": group_norm,
    "torch.aten.softmax.int": softmax,
    "torch.aten._softmax": softmax,
    "torch.aten.log_softmax.int": softmax,
    "torch.aten._log_softmax": softmax,
    "torch.aten.scaled_dot_product_attention": sdpa,
    "torch.aten.embedding": embedding,
    "torch.aten.permute": permute,
    "torch.aten.transpose.int": transpose,
    "torch.aten.t": t,
    "torch.aten.numpy_T": t,
    **{n: reshape for n in [
        "torch.aten.view", "torch.aten.reshape", "torch.aten._unsafe_view", "torch.aten.flatten.using_ints",
        "torch.aten.unflatten.int", "torch.prims.collapse", "torch.aten.squeeze.dim", "torch.aten.squeeze",
        "torch.aten.squeeze.dims", "torch.aten.unsqueeze", "torch.prims.squeeze", "torch.aten.view_copy",
        "torch.aten.reshape_as", "torch.aten.view_as",
    ]},
    "torch.aten.expand": expand,
    "torch.aten.expand_as": expand,
    "torch.aten.broadcast_to": expand,
    "torch.aten.cat": cat,
    "torch.aten.concat": cat,
    "torch.prim.ListConstruct": list_construct,
    "torch.prim.ListUnpack": list_unpack,
    "torch.aten.__getitem__.t": getitem_list,
    "torch.aten.split.Tensor": split,
    "torch.aten.split_with_sizes": split,
    "torch.aten.split.sizes": split,
    "torch.aten.chunk": split,
    "torch.aten.unbind.int": split,
    "torch.aten.slice.Tensor": slice_tensor,
    "torch.aten.slice_scatter": slice_scatter,
    "torch.aten.narrow": narrow,
    "torch.aten.select.int": select,
    **{n: keep_leading(2) for n in _aten([
        "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
        "adaptive_max_pool2d", "max_pool2d_with_indices", "max_pool3d_with_indices", "upsample_nearest1d.vec",
        "upsample_nearest2d.vec", "upsample_nearest3d.vec", "upsample_bilinear2d.vec", "upsample_linear1d.vec",
        "upsample_trilinear3d.vec", "upsample_bicubic2d.vec", "upsample_nearest2d", "upsample_bilinear2d",
        "reflection_pad1d", "reflection_pad2d", "replication_pad1d", "replication_pad2d", "channel_shuffle?", "pixel_shuffle?", "_adaptive_avg_pool2d",
    ])},
    "torch.aten.constant_pad_nd": constant_pad,
    "torch.aten.pad": constant_pad,
    "torch.aten.mean.dim": reduce(1, 2, "mean"),
    "torch.aten.mean": reduce(None, None, "mean"),
    "torch.aten.sum.dim_IntList": reduce(1, 2, "sum"),
    "torch.aten.sum": reduce(None, None, "sum"),
    "torch.aten.amax": reduce(1, 2, "max"),
    "torch.aten.max.dim": reduce(1, 2, "max"),
    "torch.aten.var.correction": reduce(1, 3, "variance"),
    "torch.aten.var.dim": reduce(1, 3, "variance"),
    "torch.aten.std.correction": reduce(1, 3, "variance"),
    "torch.aten.norm.ScalarOpt_dim": reduce(2, 3, "norm"),
    "torch.aten.linalg_vector_norm": reduce(2, 3, "norm"),
}
