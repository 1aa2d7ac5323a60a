"""Linear layers and contractions: linear, matmul/mm/bmm, addmm (ONNX Gemm), baddbmm, einsum. The contracted dims
are coupled; contracting channels that are not zero on both sides is inexact."""

from __future__ import annotations

from math import prod

from xdsl.ir import Operation, SSAValue

from spa_ir.channels.propagation import Dims, Propagation
from spa_ir.channels.spaces import Anon, Layout, Reason
from spa_ir.core.ir import site
from spa_ir.ops.common import unify_all
from spa_ir.ops.spec import BIAS, FILTER, RIGHT_FACTOR, OpSpec, arg, has_arg, table
from spa_ir.pruning.shapes import static_shape


def linear(p: Propagation, op: Operation) -> None:
    """aten.linear(input, weight[out, in], bias[out])."""
    x, w, b = arg(op, "input"), arg(op, "weight"), arg(op, "bias")
    where = site(op)
    xl, wl = p.layout(x), p.layout(w)
    if len(wl) != 2:
        return p.freeze_op(op, "linear with a weight of rank != 2")
    p.spaces.unify(xl[-1], wl[1], where)
    if p.is_tensor(b):
        p.spaces.unify(p.layout(b)[0], wl[0], where)
    p.set(op.results[0], [*xl[:-1], wl[0]], zero=True)


def _matmul_dims(p: Propagation, op: Operation, a: SSAValue, b: SSAValue) -> Dims | None:
    al, bl = p.layout(a), p.layout(b)
    if len(al) < 2 or len(bl) < 2:
        return None
    where = site(op)
    p.spaces.unify(al[-1], bl[-2], where)
    contracted = p.spaces.resolve(al[-1])
    if p.has_channels(contracted) and not (p.is_zero(a) or p.is_zero(b)):
        p.spaces.mark_inexact(contracted, Reason("contraction over channels that are not zero", where))
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
        batch.append(unify_all(p, ls, where) if ls else Anon(1))
    return [*batch, al[-2], bl[-1]]


def matmul(p: Propagation, op: Operation) -> None:
    """matmul / mm / bmm: the contracted dims are coupled; batch dims broadcast."""
    a, b = _factors(op)
    out = _matmul_dims(p, op, a, b)
    if out is None:
        return p.freeze_op(op, "matmul of a vector")
    p.set(op.results[0], out, zero=p.is_zero(a) and p.is_zero(b))


def addmm(p: Propagation, op: Operation) -> None:
    """aten.addmm(bias, a, b, beta, alpha) = beta*bias + alpha*(a @ b) (ONNX Gemm); baddbmm the same on batches
    (BLOOM adds its alibi bias to the attention scores so)."""
    bias, (a, b) = arg(op, "self_"), _factors(op)
    out = _matmul_dims(p, op, a, b)
    if out is None:
        return p.freeze_op(op, "addmm of a vector")
    bl = p.layout(bias)
    where = site(op)
    for k in range(1, len(bl) + 1):
        if (p.shape(bias) or ())[-k] != 1:
            p.spaces.unify(bl[-k], out[-k], where)
    p.set(op.results[0], [p.spaces.resolve(d) for d in out], zero=p.is_zero(a) and p.is_zero(b) and p.is_zero(bias))


def einsum(p: Propagation, op: Operation) -> None:
    """einsum(equation, tensors, path): dims named by the same letter are coupled across operands and
    the result; size-1 dims broadcast. An ellipsis stands for the same broadcast dims in every operand,
    aligned from the right (jax2onnx writes Flax's Dense as `...i,ij->...j`); an implicit output is the
    ellipsis, then the letters used once, in alphabetical order (numpy's rule). A contracted letter is a
    matmul's inner dim: removing its channel from every operand is dropping its terms, which is zeroing them
    when one operand of each term is zero on removed channels (else inexact, as for matmul)."""
    tensors = arg(op, "tensors")
    equation, items, values = p.const(arg(op, "equation")), p.lists.get(tensors), p.list_items.get(tensors, [])
    if not isinstance(equation, str) or items is None or any(i is None for i in items):
        return p.freeze_op(op, "einsum with a non-constant equation or unknown operands")
    parsed = _einsum_letters(equation, [len(p.shape(v) or ()) for v in values])
    if parsed is None:
        return p.freeze_op(op, "einsum equation does not match its operands")
    in_letters, out_letters = parsed
    where = site(op)
    by_letter: dict[str, list[Layout]] = {}
    for letters, layout, value in zip(in_letters, items, values):
        shape = p.shape(value) or ()
        for k, letter in enumerate(letters):
            if shape[k] != 1:
                by_letter.setdefault(letter, []).append(layout[k])  # type: ignore[index]  # items checked free of None above
    coupled = {letter: unify_all(p, layouts, where) for letter, layouts in by_letter.items()}
    for letter, channels in coupled.items():
        holders = [v for letters, v in zip(in_letters, values) if letter in letters]
        if letter not in out_letters and p.has_channels(channels) and not any(p.is_zero(v) for v in holders):
            p.spaces.mark_inexact(channels, Reason("contraction over channels that are not zero", where))
    result = op.results[0]
    rshape = p.shape(result) or ()
    if len(rshape) != len(out_letters):
        return p.freeze_op(op, "einsum equation does not match its result")
    out = [coupled[c] if c in coupled else Anon(rshape[k]) for k, c in enumerate(out_letters)]
    p.set(result, [p.spaces.resolve(d) for d in out], zero=all(p.is_zero(v) for v in values))


def _einsum_letters(equation: str, ranks: list[int]) -> tuple[list[str], str] | None:
    """Each operand's letters and the result's, one per dim, the ellipsis spelled out as private letters
    (shared from the right by every operand); None when the equation does not fit the operands' ranks."""
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks) or any(t.count("...") > 1 or "." in t.replace("...", "") for t in terms + [rhs]):
        return None
    spans = [rank - len(t.replace("...", "")) if "..." in t else 0 for t, rank in zip(terms, ranks)]
    if any(n < 0 for n in spans):
        return None
    ellipsis = [chr(0x2460 + k) for k in range(max(spans, default=0))]  # never a letter of an equation
    spelled = [t.replace("...", "".join(ellipsis[len(ellipsis) - n :])) for t, n in zip(terms, spans)]
    if any(len(t) != rank for t, rank in zip(spelled, ranks)):
        return None
    if not arrow:
        letters = "".join(terms).replace("...", "")
        rhs = "..." + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return spelled, rhs.replace("...", "".join(ellipsis))


def _factors(op: Operation) -> tuple[SSAValue, SSAValue]:
    """The two matrices of matmul(self, other), mm / bmm(self, mat2), addmm(self, mat1, mat2) and
    baddbmm(self, batch1, batch2)."""
    if has_arg(op, "batch1"):
        return arg(op, "batch1"), arg(op, "batch2")
    if has_arg(op, "mat1"):
        return arg(op, "mat1"), arg(op, "mat2")
    return arg(op, "self_"), arg(op, "mat2" if has_arg(op, "mat2") else "other")


def _matmul_flops(op: Operation) -> int:
    a, b = (static_shape(v) for v in _factors(op))
    out = static_shape(op.results[0])
    return 2 * prod(out) * a[-1] if len(a) > 1 and len(b) > 1 else 2 * prod(out) * b[0]


def _linear_flops(op: Operation) -> int:
    x, w = static_shape(arg(op, "input")), static_shape(arg(op, "weight"))
    return 2 * prod(x[:-1]) * w[0] * w[1]


OPS = table(
    {
        "torch.aten.linear": OpSpec(rule=linear, flops=_linear_flops, roles=(("weight", FILTER), ("bias", BIAS))),
        "torch.aten.matmul": OpSpec(rule=matmul, flops=_matmul_flops, roles=(("other", RIGHT_FACTOR),)),
        "torch.aten.mm": OpSpec(rule=matmul, flops=_matmul_flops, roles=(("mat2", RIGHT_FACTOR),)),
        "torch.aten.bmm": OpSpec(rule=matmul, flops=_matmul_flops),
        "torch.aten.addmm": OpSpec(rule=addmm, flops=_matmul_flops),
        "torch.aten.baddbmm": OpSpec(rule=addmm, flops=_matmul_flops),
        "torch.aten.einsum": OpSpec(rule=einsum),
    }
)
