"""The pruning plan: everything the pruner deletes, in the original indexing, as JSON.

{"params": {"<weight>": {"<dim>": [removed indices] | {"<dim-0 index>": [removed indices]}}},
 ["masked_logits": {"<router weight>": [removed rows]}],
 "groups": [{"id", "size", "removed", "exact", ["slices"], "members": [...]}],
 "selection": {"scope", "target": {"kind": "ratio|keep-flops|keep-params", "value"},
               "achieved": {"flops": fraction, "params": fraction}, ["step", "steps"]},
 "importance": {"criterion", "agg", "norm", ["loss", "label_source", "samples"]},
 "compensation": {"source", "order", "damp", "sequential", "refitted", "plain", "norms", "biases", ...},
 "architecture": "<16 hex digits>"}

`architecture` is the fingerprint of the IR the plan was made on (spa_ir/core/fingerprint.py: ops, types,
parameter names and shapes; not weight values, locations or spa's analyses), which spa-apply-plan checks before
re-applying the plan; plans written before it existed have none (spa-apply-plan applies them with a warning).

A dim whose removed indices differ along dim 0 maps each dim-0 index (in the original indexing) to the indices
that slice loses, every slice as many (`Plan.sliced`): a Mixture-of-Experts' fused expert weights
(`experts.gate_up_proj` [E, 2I, H]: `{"1": {"0": [3, 35], "1": [7, 39], ...}}`, each expert its own neurons, so the
pruned weight is [E, 2I', H]; spa_ir/ops/routing.py). Its group says `slices` (E): its channels are (expert,
neuron) pairs, channel c neuron c % I of expert c // I. Plans without such dims read as before.

`masked_logits` names the routers (Mixture-of-Experts, spa_ir/ops/routing.py) whose removed rows are removed
experts: the masked original sets those logits to -inf (top-k then picks among the rest), not to zero.

`selection` (spa-select-channels' record; absent in plans written before it existed) says what was aimed at
and what the pruned model keeps, as fractions of the original.

Compensation (spa-obspa-compensate) changes kept weights, creates biases and re-estimates running statistics:
every tensor it changed is in `tensors`, whole and in the original indexing (a new bias under its new name), and
is saved beside the JSON as `plan.safetensors`. Applying a plan is: write the tensors in, then zero the slices
`params` lists (verify.py's masked original does exactly that).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spa_ir.core.fileio import write_text_atomic, write_with_atomic

if TYPE_CHECKING:
    import torch


@dataclass
class Plan:
    params: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    selection: dict[str, Any] | None = None
    importance: dict[str, str] | None = None
    """spa-annotate-importance's record: criterion, agg, norm, and the labels of the statistics it read."""
    compensation: dict[str, Any] | None = None
    """spa-obspa-compensate's record: source, order, damp, what it refitted and created."""
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    """Every tensor compensation changed, whole, in the original indexing."""
    masked_logits: dict[str, list[int]] = field(default_factory=dict)
    """Router weight -> its removed rows (experts), whose logits the masked original sets to -inf."""
    architecture: str | None = None
    """The architecture fingerprint of the IR the plan was made on (spa_ir/core/fingerprint.py)."""
    sliced: dict[str, dict[int, dict[int, list[int]]]] = field(default_factory=dict)
    """Weight -> dim -> dim-0 index -> the indices of that dim its slice loses (the same count in every slice);
    in the JSON, inside `params` (module docstring). Applied before the weight's dim-0 removal, in its indexing."""

    def remove(self, param: str, dim: int, indices: np.ndarray) -> None:
        if len(indices):
            dims = self.params.setdefault(param, {})
            dims[dim] = sorted(set(dims.get(dim, [])) | set(indices.tolist()))

    def then(self, later: Plan) -> Plan:
        """This plan followed by `later` (made on the model this one leaves: an iterative step), in this
        plan's indexing. A later group is matched to an earlier one by its members' (weight, dim)s;
        one without a match (the analysis grouped channels differently) is kept as it is."""
        params = {p: dict(dims) for p, dims in self.params.items()}
        for p, dims in later.params.items():
            for d, gone in dims.items():
                dims_before = params.setdefault(p, {})
                dims_before[d] = _union(dims_before.get(d, []), gone)
        groups = [dict(g) for g in self.groups]
        by_member = {_members(g): g for g in groups}
        for g in later.groups:
            earlier = by_member.get(_members(g))
            if earlier is None:
                groups.append(g)
            else:
                earlier["removed"] = _union(earlier["removed"], g["removed"])
        masked_logits = {w: list(rows) for w, rows in self.masked_logits.items()}
        for w, rows in later.masked_logits.items():
            masked_logits[w] = _union(masked_logits.get(w, []), rows)
        tensors = dict(self.tensors)
        for name, t in later.tensors.items():
            tensors[name] = _lift_tensor(t, self.params.get(name, {}), tensors.get(name))
        return Plan(
            params,
            groups,
            later.selection if later.selection is not None else self.selection,
            later.importance if later.importance is not None else self.importance,
            later.compensation if later.compensation is not None else self.compensation,
            tensors,
            masked_logits,
            self.architecture if self.architecture is not None else later.architecture,
            sliced=_then_sliced(self, later),
        )

    def json_params(self) -> dict[str, dict[str, Any]]:
        """`params` as the JSON has them: dim -> removed indices, or (sliced dims) dim-0 index -> removed indices."""
        out: dict[str, dict[str, Any]] = {}
        for p in sorted(set(self.params) | set(self.sliced)):
            dims: dict[int, Any] = {**self.params.get(p, {})}
            dims |= {d: {str(i): idx for i, idx in sorted(by.items())} for d, by in self.sliced.get(p, {}).items()}
            out[p] = {str(d): idx for d, idx in sorted(dims.items())}
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"params": self.json_params(), "groups": self.groups}
        if self.masked_logits:
            out["masked_logits"] = {w: rows for w, rows in sorted(self.masked_logits.items())}
        if self.selection is not None:
            out["selection"] = self.selection
        if self.importance is not None:
            out["importance"] = self.importance
        if self.compensation is not None:
            out["compensation"] = self.compensation
        if self.architecture is not None:
            out["architecture"] = self.architecture
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """`plan.json`, and `plan.safetensors` beside it when compensation changed tensors (a stale one from an
        earlier run is removed, so a plan never travels with another's tensors)."""
        tensors_path = tensors_path_for(path)
        if self.tensors:
            from safetensors.torch import save_file

            tensors = {n: t.detach().contiguous() for n, t in sorted(self.tensors.items())}
            write_with_atomic(tensors_path, lambda tmp: save_file(tensors, str(tmp)))
        elif tensors_path.exists():
            tensors_path.unlink()
        write_text_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        data = json.loads(open(path).read())
        raw = data["params"]
        params = {p: {int(d): i for d, i in dims.items() if isinstance(i, list)} for p, dims in raw.items()}
        sliced = {
            p: {int(d): {int(e): i for e, i in by.items()} for d, by in dims.items() if isinstance(by, dict)}
            for p, dims in raw.items()
        }
        tensors: dict[str, torch.Tensor] = {}  # read only when compensation wrote them (torch is imported then)
        if tensors_path_for(path).exists():
            from safetensors.torch import load_file

            tensors = load_file(str(tensors_path_for(path)))
        return cls(
            params,
            data["groups"],
            data.get("selection"),
            data.get("importance"),
            data.get("compensation"),
            tensors,
            data.get("masked_logits", {}),
            data.get("architecture"),
            sliced={p: dims for p, dims in sliced.items() if dims},
        )


def tensors_path_for(plan_path: str | os.PathLike[str]) -> Path:
    """`plan.json` -> `plan.safetensors` (same stem, same folder)."""
    return Path(plan_path).with_suffix(".safetensors")


def _lift_tensor(t: torch.Tensor, removed_before: dict[int, list[int]], earlier: torch.Tensor | None) -> torch.Tensor:
    """A later step's tensor in the earlier indexing: its entries scattered to the indices that survived the
    earlier step (the removed ones keep the earlier values, or zero: the plan masks them anyway)."""
    import torch

    shape = list(t.shape)
    for d, gone in removed_before.items():
        shape[d] += len(gone)
    out = earlier.clone() if earlier is not None and list(earlier.shape) == shape else t.new_zeros(shape)
    index: list[torch.Tensor] = []
    for d, n in enumerate(shape):
        lost = set(removed_before.get(d, []))
        index.append(torch.tensor([i for i in range(n) if i not in lost], dtype=torch.long))
    out[torch.meshgrid(*index, indexing="ij")] = t
    return out


def _union(removed_before: list[int], later: list[int]) -> list[int]:
    """What two steps remove, in the first step's indexing (`later` counts what the first one left)."""
    return sorted(set(removed_before) | set(_lift(removed_before, later)))


def _lift(removed_before: list[int], later: list[int]) -> list[int]:
    """Indices `later` of what survived `removed_before`, as indices before it: the j-th surviving index of
    0, 1, 2, ... (no size needed: every later index lies below the surviving count)."""
    if not later:
        return []
    gone = set(removed_before)
    survivors: list[int] = []
    i, need = 0, max(later) + 1
    while len(survivors) < need:
        if i not in gone:
            survivors.append(i)
        i += 1
    return [survivors[j] for j in later]


def _then_sliced(first: Plan, later: Plan) -> dict[str, dict[int, dict[int, list[int]]]]:
    """Both steps' per-slice removals in the first step's indexing: a later slice index counts the slices the first
    step kept along dim 0, and its indices those its slice kept (after the first's per-slice and whole-dim removals)."""
    out = {p: {d: dict(by) for d, by in dims.items()} for p, dims in first.sliced.items()}
    for p, dims in later.sliced.items():
        rows = first.params.get(p, {}).get(0, [])
        for d, by in dims.items():
            mine = out.setdefault(p, {}).setdefault(d, {})
            for i, gone in by.items():
                (e,) = _lift(rows, [i])
                before = _union(first.params.get(p, {}).get(d, []), mine.get(e, []))
                mine[e] = _union(before, gone)
            _pad_removed_slices(mine, set(rows))
    return out


def _pad_removed_slices(by_slice: dict[int, list[int]], removed_slices: set[int]) -> None:
    """A slice the first step removed whole (a removed expert) is not in the later step: it loses as many indices as
    the others (its lowest ones left), so every slice still loses as many (the weight stays rectangular while cut)."""
    most = max(len(gone) for gone in by_slice.values())
    for i in removed_slices & set(by_slice):
        gone = set(by_slice[i])
        extra = [j for j in range(most + len(gone)) if j not in gone][: most - len(gone)]
        by_slice[i] = sorted(gone | set(extra))


def _members(group: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """A group's identity across steps: the (weight, dim)s of its members (offsets change as channels go)."""
    return tuple(sorted({(m["param"], m["dim"]) for m in group.get("members") or []}))
