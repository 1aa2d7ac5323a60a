"""spa-eliminate-dead-channels: remove the selected channels from weights, types and size constants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern
from xdsl.rewriter import Rewriter

from spa.dialects.spa import ParamOp
from spa_ir.channels.annotations import annotated_dims, fill_anon, group_ops, reasons, spaces_from_module, strip
from spa_ir.channels.groups import from_member_attr
from spa_ir.channels.spaces import Anon, Layout, Prod, Reason, Spaces
from spa_ir.compensation.compensate import take_compensation
from spa_ir.core.context import leave_plan, weights_of
from spa_ir.core.ir import main_function, params
from spa_ir.core.plan import Plan
from spa_ir.core.program import external_weight_names
from spa_ir.core.weights import WeightStore, param_tensor, store_param
from spa_ir.ops.registry import spec_of
from spa_ir.ops.routing import routers
from spa_ir.pruning.importance import take_importance
from spa_ir.pruning.shapes import Shapes
from spa_ir.pruning.targets import take_selection


def removed_mask(size: int, removed: list[int]) -> np.ndarray:
    """A group's removed channels as a boolean mask with one extra False entry at the end, so that the
    coordinate -1 ("not in this space", see Spaces.coordinates) indexes a kept channel."""
    mask = np.zeros(size + 1, dtype=bool)
    mask[removed] = True
    return mask


def kept_indices(spaces: Spaces, layout: Layout, size: int, removed: dict[int, np.ndarray]) -> np.ndarray:
    """Indices of one dim that survive: those holding no removed channel of any space."""
    keep = np.ones(size, dtype=bool)
    for sid, coords in spaces.coordinates(fill_anon(layout, size)).items():
        mask = removed.get(sid)
        if mask is not None:
            keep &= ~mask[coords]
    return np.flatnonzero(keep)


def unit_factor(spaces: Spaces, layout: Layout, removed: dict[int, np.ndarray]) -> tuple[int, int] | None:
    """A dynamic dim laid out `_ x s3` (a batch merged with heads): the old and new size of the static factor below
    its dynamic unit, what a size `mul.int(batch, 4)` scales by; None for a plain `_`."""
    if not isinstance(layout, Prod) or not isinstance(layout.parts[0], Anon):
        return None
    inner = Prod(layout.parts[1:])
    size = spaces.size(inner)
    return size, len(kept_indices(spaces, inner, size, removed))


@dataclass(frozen=True)
class EliminateDeadChannels(ModulePass):
    """Delete every group's `removed` channels: slice the weights in the store (and record them in the
    pruning plan), give every value its smaller type, and rewrite the constants that encode sizes
    (view/reshape shapes, split sizes, slice bounds, conv groups, normalized shapes: the `ShrinkSizeConstants`
    pattern),
    so the emitted model runs without hand edits. Removes the channel annotations afterwards. The tensors
    spa-obspa-compensate changed go into the plan whole, in the original indexing (`plan.safetensors`)."""

    name = "spa-eliminate-dead-channels"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        weights = weights_of(ctx, self.name)
        spaces = spaces_from_module(op)
        removed: dict[int, np.ndarray] = {}
        per_slice: dict[int, list[np.ndarray]] = {}  # space -> each dim-0 slice's mask (spa.group's `slices`)
        # the records spa-select-channels and spa-annotate-importance left on the module, into the plan
        plan = Plan(selection=take_selection(op), importance=take_importance(op))
        plan.compensation, changed = take_compensation(op)
        by_name = {p.weight_name: p for p in params(op)}
        plan.tensors = {n: param_tensor(by_name[n], weights).clone() for n in changed if n in by_name}
        for g in group_ops(op):
            gone = [int(i) for i in g.removed.get_values()] if g.removed is not None else []
            sid = int(g.space.data[1:])
            if gone:
                n = g.slices.value.data if g.slices is not None else 1
                per = g.size.value.data // n
                masks = [removed_mask(per, [c % per for c in gone if c // per == i]) for i in range(n)]
                removed[sid] = masks[0]  # every slice loses as many: sizes are the first one's
                if n > 1:
                    per_slice[sid] = masks
            plan.groups.append(
                {
                    "id": g.sym_name.data,
                    "size": g.size.value.data,
                    "removed": gone,
                    "exact": bool(g.exact.value.data),
                    **({"criterion": g.criterion.data} if g.criterion is not None else {}),
                    **({"slices": g.slices.value.data} if g.slices is not None else {}),
                    "frozen": [reason_json(r) for r in reasons(g.frozen)],
                    "members": [{"param": p, "dim": d, **vars(m)} for p, d, m in map(from_member_attr, g.members.data)],
                }
            )
        fn = main_function(op)
        shapes = Shapes()
        for inner in fn.body.block.ops:
            dims = annotated_dims(inner)
            for i, r in enumerate(inner.results):
                shape = getattr(r.type, "get_shape", None)
                if shape is None:
                    continue
                old = tuple(shape())
                layouts = dims[i] if dims is not None and i < len(dims) else ()
                kept = [kept_indices(spaces, lay, n, removed) if n >= 0 else None for lay, n in zip(layouts, old)]
                units = [unit_factor(spaces, lay, removed) if n < 0 else None for lay, n in zip(layouts, old)]
                shapes.record(r, old, kept, units)
        # 1. weights: slice the stored tensors, record the plan
        for inner in fn.body.block.ops:
            if isinstance(inner, ParamOp) and shapes.changed(inner.result):
                sliced = _kept_per_slice(spaces, inner, removed, per_slice)
                self._slice_param(weights, inner, shapes, plan, sliced)
        for r in routers(op):  # removed experts are -inf logits in the masked original, not zeros
            gone = plan.params.get(r.weight, {}).get(0, [])
            if gone:
                plan.masked_logits[r.weight] = gone
        # 2. size constants, while old and new shapes are both known
        walker = PatternRewriteWalker(
            ShrinkSizeConstants(shapes, frozenset(fn.body.block.ops)), apply_recursively=False
        )
        walker.rewrite_module(op)
        # 3. types
        for inner in list(fn.body.block.ops):
            for r in list(inner.results):
                if shapes.changed(r):
                    new_type = r.type.with_shape(shapes.new(r))  # type: ignore[attr-defined]  # only tensors have shapes in Shapes
                    Rewriter.replace_value_with_new_type(r, new_type)
        strip(op)
        leave_plan(ctx, plan, self.name)
        weights.keep_only(external_weight_names(op))

    @staticmethod
    def _slice_param(
        weights: WeightStore, p: ParamOp, shapes: Shapes, plan: Plan, sliced: dict[int, list[np.ndarray]]
    ) -> None:
        """`sliced`: dim -> the indices each dim-0 slice keeps (experts' neurons), cut first, in dim 0's indexing."""
        tensor = param_tensor(p, weights)
        for d, kept_by_slice in sliced.items():
            n = tensor.shape[d]
            plan.sliced.setdefault(p.weight_name, {})[d] = {
                i: sorted(set(range(n)) - set(kept.tolist())) for i, kept in enumerate(kept_by_slice)
            }
            tensor = torch.stack([t.index_select(d - 1, torch.from_numpy(k)) for t, k in zip(tensor, kept_by_slice)])
        for d, kept in enumerate(shapes.kept(p.result)):
            if kept is None or len(kept) == tensor.shape[d] or d in sliced:
                continue
            gone = np.ones(tensor.shape[d], dtype=bool)
            gone[kept] = False
            plan.remove(p.weight_name, d, np.flatnonzero(gone))
            tensor = tensor.index_select(d, torch.from_numpy(kept))
        store_param(p, weights, tensor)


def _kept_per_slice(
    spaces: Spaces, p: ParamOp, removed: dict[int, np.ndarray], per_slice: dict[int, list[np.ndarray]]
) -> dict[int, list[np.ndarray]]:
    """Dim -> the indices each dim-0 slice of the weight keeps, for the dims holding a space removed per slice."""
    dims = annotated_dims(p)
    shape = p.result.type.get_shape()  # type: ignore[attr-defined]  # spa.param results are tensors
    out: dict[int, list[np.ndarray]] = {}
    for d, layout in enumerate(dims[0] if dims else ()):
        mine = [s for s in spaces.atoms(fill_anon(layout, shape[d])) if s in per_slice]
        if d and mine:
            out[d] = [
                kept_indices(spaces, layout, shape[d], removed | {s: per_slice[s][i] for s in mine})
                for i in range(shape[0])
            ]
    return out


def reason_json(reason: Reason) -> dict[str, str]:
    """A freeze reason in the plan: `{"kind", "op", "at"}` (op and at only where known)."""
    site = reason.site
    return {"kind": reason.kind, **({"op": site.op, "at": site.at} if site else {})}


@dataclass
class ShrinkSizeConstants(RewritePattern):
    """Rewrite the size operands of one op (view shapes, split sizes, slice bounds, conv groups, normalized
    shapes: its family's `OpSpec.resize` in spa_ir/ops) to the shapes its values have after pruning. Only the
    ops of the unpruned function are rewritten: ops a rewrite creates already have their new sizes."""

    shapes: Shapes
    originals: frozenset[Operation]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        spec = spec_of(op)
        if spec is not None and spec.resize is not None and op in self.originals:
            spec.resize(op, self.shapes, rewriter)
