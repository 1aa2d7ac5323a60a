"""spa-form-groups: turn the channel spaces that reach weights into `spa.group`s with members."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, BoolAttr, IntegerAttr, ModuleOp, StringAttr, i1, i64
from xdsl.passes import ModulePass

from spa.dialects.spa import GroupOp, MemberAttr
from spa_ir.channels.annotations import fill_anon, reason_attr, space_ops, spaces_from_module, value_dims
from spa_ir.channels.groups import member_maps, to_member_attr
from spa_ir.channels.propagation import NOT_CHANNEL
from spa_ir.channels.spaces import Atom, Reason
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import main_function, params
from spa_ir.ops.routing import expert_neurons


@dataclass(frozen=True)
class FormGroups(ModulePass):
    """Each channel space held by at least one weight dim becomes `spa.group @gN` listing its members
    (weight name, dim, index map from group channel to tensor index), whether it is frozen and why,
    and whether removing its channels equals zeroing them (`exact`). A Mixture-of-Experts' neuron space inside the
    experts' slices is one group of (expert, neuron) pairs (`slices`, spa_ir/ops/routing.py). Spaces that are no
    channel at all (kernel windows) and spaces of size 1 are dropped. The `spa.space` symbols stay: later passes need
    every space's size to map activations' indices."""

    name = "spa-form-groups"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        spaces = spaces_from_module(op)
        main_function(op)
        members: dict[int, list[MemberAttr]] = {}
        for p in params(op):
            dims = value_dims(p.result)
            if dims is None:
                raise SpaError(f"spa.param '{p.weight_name}' has no spa.dims: run spa-propagate-channels first")
            shape = p.result.type.get_shape()  # type: ignore[attr-defined]  # spa.param results are tensors
            for d, layout in enumerate(dims):
                for sid, coords in spaces.coordinates(fill_anon(layout, shape[d])).items():
                    try:
                        maps = member_maps(coords, spaces.info(sid).size)
                    except SpaError:
                        spaces.freeze(Atom(sid), Reason(f"irregular index map in {p.weight_name}[{d}]"))
                        continue
                    members.setdefault(sid, []).extend(to_member_attr(p.weight_name, d, m) for m in maps)
        groups = []
        per_expert = expert_neurons(op, spaces)
        for space in space_ops(op):
            sid = int(space.sym_name.data[1:])
            info = spaces.info(sid)
            reasons = [r for r in info.frozen if r != NOT_CHANNEL]
            if sid not in members or info.size <= 1 or (info.frozen and not reasons):
                continue
            attrs = {
                "sym_name": StringAttr(f"g{sid}"),
                "size": IntegerAttr(info.size, i64),
                "space": StringAttr(f"s{sid}"),
                "members": ArrayAttr(members[sid]),
                "exact": BoolAttr(not info.inexact, i1),
            }
            if sid in per_expert and not reasons:  # (expert, neuron) pairs: spa_ir/ops/routing.py
                attrs["size"] = IntegerAttr(per_expert[sid] * info.size, i64)
                attrs["slices"] = IntegerAttr(per_expert[sid], i64)
            if reasons:
                attrs["frozen"] = ArrayAttr([reason_attr(r) for r in reasons])
            if info.inexact:
                attrs["inexact"] = ArrayAttr([reason_attr(r) for r in info.inexact])
            groups.append(GroupOp.create(attributes=attrs))
        for g in list(op.body.block.ops):
            if isinstance(g, GroupOp):
                g.detach()
                g.erase()
        op.body.block.insert_ops_before(groups, space_ops(op)[0])
