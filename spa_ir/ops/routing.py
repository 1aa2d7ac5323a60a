"""Routing: top-k over a router's scores (Mixture-of-Experts) and the experts its ids pick.

A top-k over a channel dim picks entries by value, so that dim is frozen, except for a *router*:
`topk(softmax(linear(x, W)), k, dim=-1)`, each value read only by the next op. Its dim is the experts' space:
removing expert e is not zeroing it but, in the masked original, setting logit e to -inf (the plan's
`masked_logits`: verify.masked does it), so softmax normalizes over the other experts and top-k picks among
them. Then the pruned router computes the same probabilities and top-k values, and the ids it returns number
the kept experts in order: indexing the experts' fused 3-D weights by them (`index.Tensor`, through views of
the ids: `routed_space`) reads the kept experts' slices of the pruned weights. So the router's rows and the
experts' dim 0 are one group, exact, and softmax's mark (normalization over channels) does not apply to it.
Top-k over fewer than k experts is impossible: the group keeps at least k (`kept_at_least`, a floor of
spa-select-channels).

The experts' FFN neurons are per expert (`expert_neurons`): a neuron space held only by fused expert weights
read through the router's ids (`gate_up_proj[ids]`: [E, 2I, H] -> [S, 2I, H]) and by values whose dim 0 is the
S gathered rows, each row one expert's, reached through row-wise ops only (bmm, activations, products, chunks,
views that keep dim 0), holds, in row s, the neurons of expert ids[s]. Removing neuron j of expert e then
zeroes only rows of expert e in the masked original, and the pruned expert e's kept neurons are its own, in
order. So the group's channels are (expert, neuron) pairs (`spa.group {slices = E}`: size E * I), each expert
keeping the same count, so the fused weights stay rectangular ([E, 2I', H], [E, H, I']), and the plan lists
the removed neurons per expert (`params[w][d]` keyed by the expert's index, spa_ir/core/plan.py). Any other
reader of such a value (an op mixing rows: mm, a sum over tokens) leaves the space one group of neuron j of
every expert.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from spa.dialects.spa import ParamOp
from spa_ir.channels.annotations import annotated_dims, value_dims
from spa_ir.channels.propagation import Dims, Propagation
from spa_ir.channels.spaces import Anon, Atom, Reason, Spaces
from spa_ir.core.ir import const_int, main_function, site
from spa_ir.ops.common import norm_dim
from spa_ir.ops.elementwise import OTHER_UNARY, ZERO_PRESERVING_UNARY
from spa_ir.ops.spec import OpSpec, arg, aten, table

TOPK = "torch.aten.topk"
SOFTMAX = frozenset(aten("softmax.int _softmax"))
LINEAR = "torch.aten.linear"
INDEX = frozenset(aten("index.Tensor index.Tensor_hacked_twin"))
CASTS = frozenset(aten("_to_copy to.dtype clone contiguous detach"))
"""Ops that pass values unchanged (dtype casts, copies) between a router's linear, softmax and top-k."""
ID_VIEWS = CASTS | frozenset(aten("view reshape _unsafe_view flatten.using_ints unsqueeze squeeze.dim squeeze"))
"""Ops that pass a top-k's ids unchanged (reshaped) to the index that picks experts by them."""
SOFTMAX_MARK = "softmax over channels"
"""The inexact mark spa_ir/ops/attention.py's softmax rule gives its dim: lifted for a router's."""


@dataclass(frozen=True)
class Router:
    """topk(softmax(linear(x, weight))) over the linear's output dim."""

    topk: Operation
    softmax: Operation
    linear: Operation
    weight: str
    k: int


def _producer(v: SSAValue, through: frozenset[str]) -> Operation | None:
    """The op computing v, skipping ops of `through` whose result is read only once (by the next op)."""
    op = v.owner
    while isinstance(op, Operation) and op.name in through:
        v = op.operands[0]
        if not v.has_one_use():
            return None
        op = v.owner
    return op if isinstance(op, Operation) else None


def router(topk: Operation) -> Router | None:
    """The router a top-k op is the end of, or None (a plain top-k: its dim is frozen)."""
    x = arg(topk, "self_")
    rank = len(getattr(x.type, "get_shape", lambda: ())())
    k, dim = const_int(arg(topk, "k")), const_int(arg(topk, "dim"))
    if k is None or dim is None or rank == 0 or norm_dim(dim, rank) != rank - 1 or not x.has_one_use():
        return None
    soft = _producer(x, CASTS)
    if soft is None or soft.name not in SOFTMAX or const_int(arg(soft, "dim")) not in (-1, rank - 1):
        return None
    logits = arg(soft, "self_")
    if not logits.has_one_use():
        return None
    linear = _producer(logits, CASTS)
    if linear is None or linear.name != LINEAR:
        return None
    weight = arg(linear, "weight").owner
    if not isinstance(weight, ParamOp) or not _ids_only_pick(topk):
        return None
    return Router(topk, soft, linear, weight.weight_name, k)


def topk(p: Propagation, op: Operation) -> None:
    """topk(x, k, dim, largest, sorted) -> (values, indices): the picked dim becomes k entries without channels.
    A router's dim is the experts' space (module docstring); any other picked dim is frozen, and so are the
    other dims (the ids along a removed channel would be those of zeros)."""
    x = arg(op, "self_")
    xl = p.layout(x)
    dim = const_int(arg(op, "dim"))
    k = const_int(arg(op, "k"))
    if dim is None or k is None:
        return p.freeze_op(op, "top-k with a non-constant k or dim")
    d = norm_dim(dim, len(xl))
    where = site(op)
    found = router(op)
    picked = xl[d]
    if found is None or not isinstance(picked, Atom):
        p.spaces.freeze(picked, Reason("top-k picks entries by value", where))
    else:
        info = p.spaces.info(picked)
        info.inexact = [r for r in info.inexact if r != Reason(SOFTMAX_MARK, site(found.softmax))]
    for j, layout in enumerate(xl):
        if j != d:
            p.spaces.freeze(layout, Reason("top-k ids along a channel dim", where))
    out: Dims = [Anon(k) if j == d else Anon(n) for j, n in enumerate(p.shape(op.results[0]) or ())]
    for r in op.results:
        p.set(r, out, zero=False)


def routed_space(p: Propagation, index: SSAValue) -> Atom | None:
    """The experts' space whose ids `index` holds (a router's top-k ids, through views), or None."""
    v = index
    while isinstance(v.owner, Operation) and v.owner.name in ID_VIEWS:
        v = v.owner.operands[0]
    op = v.owner
    if not isinstance(op, Operation) or op.name != TOPK or v is not op.results[1] or router(op) is None:
        return None
    picked = p.layout(arg(op, "self_"))[-1]
    return picked if isinstance(picked, Atom) else None


def _ids_only_pick(topk: Operation) -> bool:
    """Whether the top-k's ids are read only to pick entries (index.Tensor, through views): pruned ids number
    the kept experts, so anything else reading their values (one_hot, a comparison) would see other numbers."""
    pending = [topk.results[1]]
    while pending:
        v = pending.pop()
        for use in v.uses:
            user = use.operation
            if user.name in ID_VIEWS:
                pending.extend(user.results)
            elif user.name != "torch.prim.ListConstruct" or not all(
                u.operation.name in INDEX and u.index == 1 for r in user.results for u in r.uses
            ):
                return False
    return True


def routers(module: ModuleOp) -> list[Router]:
    """Every router of the module's main function."""
    fn = main_function(module)
    return [r for op in fn.body.block.ops if op.name == TOPK and (r := router(op)) is not None]


def kept_at_least(module: ModuleOp) -> dict[int, int]:
    """Space id -> the experts a router's group keeps at least (its top-k's k), from the channel annotations."""
    out: dict[int, int] = {}
    for r in routers(module):
        dims = value_dims(arg(r.topk, "self_"))
        if dims and isinstance(dims[-1], Atom):
            out[dims[-1].space] = max(out.get(dims[-1].space, 0), r.k)
    return out


ROW_WISE = (
    INDEX
    | ID_VIEWS
    | frozenset(ZERO_PRESERVING_UNARY)
    | frozenset(OTHER_UNARY)
    | frozenset(aten("bmm baddbmm mul.Tensor add.Tensor sub.Tensor div.Tensor slice.Tensor transpose.int"))
    | {"torch.prim.ListUnpack"}
)
"""Ops that keep an expert's rows apart: what produces a value holding its neurons (dim 0, the gathered rows, is
checked to stay one size and hold no channel, so a view, slice or transpose moving it is caught)."""


def _routed_ids(index: Operation) -> Atom | None:
    """The experts' space whose router ids `index` (an index.Tensor picking dim 0 by one tensor) reads, or None."""
    ids = index.operands[1].owner
    if not isinstance(ids, Operation) or ids.name != "torch.prim.ListConstruct" or len(ids.operands) != 1:
        return None
    v = ids.operands[0]
    while isinstance(v.owner, Operation) and v.owner.name in ID_VIEWS:
        v = v.owner.operands[0]
    top = v.owner
    if not isinstance(top, Operation) or top.name != TOPK or v is not top.results[1] or router(top) is None:
        return None
    dims = value_dims(arg(top, "self_"))
    return dims[-1] if dims and isinstance(dims[-1], Atom) else None


def _gathered_by_ids(p: ParamOp, experts: Atom) -> bool:
    """Whether every read of the weight is `weight[ids]` by the router ids of its dim 0's experts."""
    uses = list(p.result.uses)
    return all(u.index == 0 and u.operation.name in INDEX and _routed_ids(u.operation) == experts for u in uses)


def expert_neurons(module: ModuleOp, spaces: Spaces) -> dict[int, int]:
    """Space id -> expert count for each channel space that lives inside the experts' slices (module docstring),
    from the channel annotations: held only by expert weights gathered by their router's ids (dim 0 the experts,
    the space in other dims) and by values of one row count whose rows stay apart (`ROW_WISE`)."""
    experts = {Atom(s) for s in kept_at_least(module)}
    count: dict[int, set[int]] = {}
    rows: dict[int, set[int]] = {}
    bad: set[int] = set()
    for op in main_function(module).body.block.ops:
        for r, dims in zip(op.results, annotated_dims(op) or []):
            shape = tuple(getattr(r.type, "get_shape", lambda: ())())
            if not dims or len(shape) != len(dims):
                continue
            held = {a for d in dims[1:] for a in spaces.atoms(d)}
            bad.update(spaces.atoms(dims[0]))
            if isinstance(op, ParamOp):
                if dims[0] in experts and _gathered_by_ids(op, dims[0]):
                    for a in held:
                        count.setdefault(a, set()).add(shape[0])
                else:
                    bad.update(held)
            elif op.name in ROW_WISE:
                for a in held:
                    rows.setdefault(a, set()).add(shape[0])
            else:
                bad.update(held)
    return {a: next(iter(n)) for a, n in count.items() if a not in bad and len(n) == 1 and len(rows.get(a, ())) == 1}


OPS = table({TOPK: OpSpec(rule=topk)})
