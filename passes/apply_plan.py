"""spa-apply-plan: re-apply a saved pruning plan (plan.json, and plan.safetensors beside it) to an IR."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, StringAttr, i64
from xdsl.passes import ModulePass

from spa.dialects.spa import GroupOp
from spa.passes.eliminate_dead_channels import _kept_per_slice, kept_indices, removed_mask
from spa_ir.channels.annotations import annotated_dims, group_ops, spaces_from_module
from spa_ir.channels.groups import from_member_attr
from spa_ir.compensation.bias import add_bias, bias_name
from spa_ir.compensation.compensate import COMPENSATION_ATTR
from spa_ir.core.context import weights_of
from spa_ir.core.errors import SpaError
from spa_ir.core.fingerprint import architecture_hash
from spa_ir.core.ir import params
from spa_ir.core.plan import Plan
from spa_ir.core.records import put_record
from spa_ir.core.weights import store_param
from spa_ir.pruning.importance import IMPORTANCE_ATTR
from spa_ir.pruning.targets import SELECTION_ATTR

Removed = dict[str, dict[int, list[int]]]
"""weight -> dim -> removed indices (`Plan.params`)."""
Sliced = dict[str, dict[int, dict[int, list[int]]]]
"""weight -> dim -> dim-0 slice -> removed indices (`Plan.sliced`)."""

Entry = tuple[str, list[int] | dict[int, list[int]]]
"""One weight dim's removal as an error line says it: ("", indices) or ("per slice ", slice -> indices)."""

PIPELINE = "spa-propagate-channels,spa-form-groups,spa-apply-plan{{plan={plan}}},spa-eliminate-dead-channels"
"""What `spa-opt --apply-plan FILE` runs: the groups, the plan's slices marked on them, then the elimination."""


def pipeline_for(plan_path: str) -> str:
    """The `-p` text `--apply-plan FILE` expands to (the path as an xDSL string option)."""
    return PIPELINE.format(plan=json.dumps(plan_path))


@dataclass(frozen=True)
class ApplyPlan(ModulePass):
    """Mark a saved plan's removed channels on the IR's groups (`removed`, as spa-select-channels does) and write
    its tensors (`plan.safetensors`: compensated weights, created biases) into the weights, so that
    spa-eliminate-dead-channels then prunes exactly what the plan says: the same IR gives the original run's
    output byte for byte, another checkpoint of the same architecture (other weights) its own pruned model.
    Runs after spa-propagate-channels and spa-form-groups (`spa-opt --apply-plan FILE` runs all four).

    plan: the plan file (JSON; its tensors are read from the `.safetensors` of the same stem beside it).

    Refused in one line, before anything changes: a plan whose `architecture` (spa_ir/core/fingerprint.py) is not
    this IR's (both fingerprints, and the first weight the IR lacks or holds in another shape); a plan whose
    slices are not exactly what the IR's groups remove (a channel of a frozen group, a partial channel: the
    first weight and dim that differ). A plan without `architecture` (written before plans recorded it) is applied
    with a warning line on stderr: the slice check still holds. The plan's records (selection, importance,
    compensation) go back on the module, so the plan spa-eliminate-dead-channels leaves is the one applied.
    """

    name = "spa-apply-plan"

    plan: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        plan = self._load()
        self._check_architecture(plan, op)
        weights = weights_of(ctx, self.name)
        groups = group_ops(op)
        if plan.params and not groups:
            raise SpaError(f"{self.name}: the IR has no spa.group: run spa-propagate-channels,spa-form-groups first")
        self._check_tensors(plan, op)
        for name in sorted(set(plan.tensors) - {p.weight_name for p in params(op)}):
            _create_bias(op, name, self.name)
        by_name = {p.weight_name: p for p in params(op)}
        for name, tensor in sorted(plan.tensors.items()):
            store_param(by_name[name], weights, tensor)
        planned = {g["id"]: g for g in plan.groups}
        for g in groups:
            gone = _removed_channels(g, plan)
            if g.frozen is not None and len(g.frozen.data):
                if gone:
                    raise SpaError(f"{self.name}: {self.plan} removes channels of the frozen group @{g.sym_name.data}")
                continue
            g.attributes["removed"] = DenseArrayBase.from_list(i64, gone)
            criterion = _same_group(g, planned.get(g.sym_name.data))
            if criterion is not None:
                g.attributes["criterion"] = StringAttr(criterion)
        self._check_slices(plan, op)
        _restore_records(op, plan)

    def _load(self) -> Plan:
        if not self.plan:
            raise SpaError(f'{self.name}: give the plan file: {self.name}{{plan="plan.json"}}')
        if not Path(self.plan).is_file():
            raise SpaError(f"{self.name}: {self.plan}: file not found")
        try:
            return Plan.load(self.plan)
        except (ValueError, KeyError, TypeError, AttributeError) as e:  # JSON or safetensors of another shape
            raise SpaError(f"{self.name}: {self.plan} is not a plan: {type(e).__name__}: {e}") from None

    def _check_architecture(self, plan: Plan, op: ModuleOp) -> None:
        if plan.architecture is None:
            sys.stderr.write(
                f"{self.name}: warning: {self.plan} records no architecture (a plan written before plans did): "
                "applied with the slice check only\n"
            )
            return
        here = architecture_hash(op)
        if here != plan.architecture:
            first = _first_difference(plan, op)
            raise SpaError(
                f"{self.name}: {self.plan} was made on architecture {plan.architecture}, this IR is {here}"
                + (f" ({first})" if first else "")
            )

    def _check_tensors(self, plan: Plan, op: ModuleOp) -> None:
        by_name = {p.weight_name: p for p in params(op)}
        for name, tensor in sorted(plan.tensors.items()):
            p = by_name.get(name)
            if p is None:
                continue  # a bias compensation created: made below, where its consumer is known
            shape = tuple(p.result.type.get_shape())  # type: ignore[attr-defined]  # params are tensors
            if tuple(tensor.shape) != shape:
                raise SpaError(
                    f"{self.name}: {self.plan}: tensor '{name}' has shape {list(tensor.shape)}, the IR's {list(shape)}"
                )

    def _check_slices(self, plan: Plan, op: ModuleOp) -> None:
        """What the groups now remove of each weight must be the plan's slices, exactly (per dim-0 slice where
        the plan lists them so: `Plan.sliced`, a Mixture-of-Experts' neurons per expert)."""
        got, got_sliced = _removed_by_groups(op)
        want_all: dict[str, dict[int, Entry]] = {
            n: {d: ("", sorted(i)) for d, i in dims.items()} for n, dims in plan.params.items()
        }
        have_all: dict[str, dict[int, Entry]] = {n: {d: ("", i) for d, i in dims.items()} for n, dims in got.items()}
        for n, dims in plan.sliced.items():
            want_all.setdefault(n, {}).update(
                {d: ("per slice ", {i: sorted(v) for i, v in by.items()}) for d, by in dims.items()}
            )
        for n, dims in got_sliced.items():
            have_all.setdefault(n, {}).update({d: ("per slice ", by) for d, by in dims.items()})
        for name in sorted(set(want_all) | set(have_all)):
            want, have = want_all.get(name, {}), have_all.get(name, {})
            for d in sorted(set(want) | set(have)):
                if want.get(d) != have.get(d):
                    raise SpaError(
                        f"{self.name}: {self.plan} removes {_short(want.get(d))} of '{name}' dim {d}, "
                        f"its groups in this IR remove {_short(have.get(d))}"
                    )


def _removed_channels(g: GroupOp, plan: Plan) -> list[int]:
    """The group's channels whose indices the plan removes in every member; in a group with `slices` (experts'
    neurons) channel c is channel c % per of dim-0 slice c // per, removed per slice (`Plan.sliced`)."""
    n = g.slices.value.data if g.slices is not None else 1
    per = g.size.value.data // n
    gone = np.ones((n, per), dtype=bool)
    for attr in g.members.data:
        param, dim, index_map = from_member_attr(attr)
        rows = index_map.all_indices(per)
        by_slice = plan.sliced.get(param, {}).get(dim)
        for i in range(n):
            removed = by_slice.get(i, []) if by_slice is not None else plan.params.get(param, {}).get(dim, [])
            gone[i] &= np.isin(rows, removed).all(axis=1)
    return [int(c) for c in np.flatnonzero(gone.ravel())]


def _removed_by_groups(op: ModuleOp) -> tuple[Removed, Sliced]:
    """weight -> dim -> the indices spa-eliminate-dead-channels will remove, and per dim-0 slice where a group
    has `slices`: elimination's own computation (`kept_indices`, `_kept_per_slice`) on the groups' `removed`."""
    spaces = spaces_from_module(op)
    removed: dict[int, np.ndarray] = {}
    per_slice: dict[int, list[np.ndarray]] = {}
    for g in group_ops(op):
        gone = [int(i) for i in g.removed.get_values()] if g.removed is not None else []
        if gone:
            n = g.slices.value.data if g.slices is not None else 1
            per = g.size.value.data // n
            masks = [removed_mask(per, [c % per for c in gone if c // per == i]) for i in range(n)]
            removed[int(g.space.data[1:])] = masks[0]
            if n > 1:
                per_slice[int(g.space.data[1:])] = masks
    out: Removed = {}
    out_sliced: Sliced = {}
    for p in params(op):
        dims = annotated_dims(p)
        shape = tuple(p.result.type.get_shape())  # type: ignore[attr-defined]  # params are tensors
        sliced = _kept_per_slice(spaces, p, removed, per_slice)
        changed = False
        for d, (layout, n) in enumerate(zip(dims[0] if dims else (), shape)):
            if n < 0:
                continue
            kept = kept_indices(spaces, layout, n, removed)
            changed |= len(kept) < n
            if len(kept) < n and d not in sliced:
                out.setdefault(p.weight_name, {})[d] = sorted(set(range(n)) - set(kept.tolist()))
        if changed:
            for d, kept_by_slice in sliced.items():
                every = set(range(shape[d]))
                by = {i: sorted(every - set(k.tolist())) for i, k in enumerate(kept_by_slice)}
                out_sliced.setdefault(p.weight_name, {})[d] = by
    return out, out_sliced


def _same_group(g: GroupOp, planned: dict[str, object] | None) -> str | None:
    """The plan's criterion for this group when the plan lists it under the same id and members (a single-step
    plan on this architecture), so the plan left afterwards says it again."""
    if planned is None or "criterion" not in planned:
        return None
    members = [{"param": p, "dim": d, **vars(m)} for p, d, m in map(from_member_attr, g.members.data)]
    return str(planned["criterion"]) if planned.get("members") == members else None


def _create_bias(op: ModuleOp, name: str, where: str) -> None:
    """The bias compensation created as `name` (spa_ir/compensation/bias.py), on the consumer it was made for;
    its value is the plan's tensor, written next."""
    names = [p.weight_name for p in params(op)]
    stem = name.removesuffix(".spa_bias").removesuffix(".bias")
    likely = [w for w in (stem + ".weight", stem) if w in names]
    for weight in [*likely, *names]:
        try:
            if bias_name(op, weight) != name:
                continue
        except SpaError:
            continue
        add_bias(op, weight, name)
        return
    raise SpaError(f"{where}: the plan's tensor '{name}' is neither a weight of the IR nor a bias of one's consumer")


def _restore_records(op: ModuleOp, plan: Plan) -> None:
    """The plan's records back on the module, where spa-eliminate-dead-channels takes them into its plan."""
    if plan.selection is not None:
        s = plan.selection
        fields = {"scope": s["scope"], "target": s["target"]["kind"], "value": float(s["target"]["value"])}
        fields.update(s.get("achieved", {}))
        fields.update({k: s[k] for k in ("step", "steps") if k in s})
        put_record(op, SELECTION_ATTR, fields)
    if plan.importance is not None:
        put_record(op, IMPORTANCE_ATTR, plan.importance)
    if plan.compensation is not None:
        put_record(op, COMPENSATION_ATTR, {**plan.compensation, "changed": ",".join(sorted(plan.tensors))})


def _first_difference(plan: Plan, op: ModuleOp) -> str:
    """The first weight the plan names that this IR lacks (or holds in another shape), if any: cheap to find."""
    by_name = {p.weight_name: p for p in params(op)}
    for name in sorted(plan.params):
        if name not in by_name and name not in plan.tensors:
            return f"no weight '{name}' here"
    for name, tensor in sorted(plan.tensors.items()):
        p = by_name.get(name)
        shape = list(p.result.type.get_shape()) if p is not None else None  # type: ignore[attr-defined]  # a tensor
        if shape is not None and shape != list(tensor.shape):
            return f"'{name}' is {shape} here, {list(tensor.shape)} in the plan"
    return ""


def _short(entry: Entry | None) -> str:
    """A plan entry for an error line: indices (the first 8 of a long list), or per slice."""
    if entry is None:
        return "nothing"
    how, indices = entry
    if isinstance(indices, dict):
        return how + ", ".join(f"{i}: {_short(('', v))}" for i, v in sorted(indices.items()))
    return str(indices) if len(indices) <= 8 else f"[{', '.join(map(str, indices[:8]))}, ...] ({len(indices)})"
