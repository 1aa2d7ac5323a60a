"""The pruned model back in the user's own class: a plan applied to the user's nn.Module in place.

    applied = spa_ir.api.apply_plan(model, "out/plan.json", example_inputs=[x])
    applied.changed   # tensor name -> (old shape, new shape)
    applied.limits    # one line per thing the user must know (a hard-coded size, a config that cannot say it)

Applying a plan is what the masked original (spa_ir/verify.py) does, with slicing instead of zeroing: the plan's
`tensors` (compensation's refits, created biases) are written first, then every `params` entry keeps the
complement of its removed indices (a dim removed per dim-0 slice, `Plan.sliced`, each slice its own, first).
Everything is validated before anything changes, so a bad plan leaves the model as it was. Standard torch.nn
layers get their attributes from their new tensors (`layers.py`); a library's own modules (transformers'
attention, ultralytics' heads, torchvision's detection heads) by the adapter registered for that library in
`ADAPTERS`, imported only when the model holds that library's classes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from spa_ir.backends.module.hardcoded import (
    check_forward,
    run_eval,
    scan_size_attributes,
    snapshot_int_attributes,
    verify_against_masked,
)
from spa_ir.backends.module.layers import layer_updates
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.verify import _create_parameter, _resolve, masked, named_tensors

Shape = tuple[int, ...]

ADAPTERS: tuple[tuple[str, str], ...] = (
    ("torchvision.", "spa_ir.backends.module.torchvision"),
    ("ultralytics.", "spa_ir.backends.module.ultralytics"),
    ("transformers.", "spa_ir.backends.module.transformers"),
)
"""(library module prefix, adapter module): the adapter's `update(model, applied)` runs when some submodule's
class `__module__` starts with the prefix. An engineer adding an adapter file adds its line here."""


@dataclass(frozen=True)
class SizeAttribute:
    """An integer attribute of a changed module that still holds a size the plan changed: the module's forward
    may use it (a `view(b, self.dim, -1)`), so the user must update it or use the emitted module."""

    module: str
    cls: str
    attribute: str
    value: int

    def line(self) -> str:
        return (
            f"{self.module or '<model>'} ({self.cls}).{self.attribute} = {self.value} is a size the plan changed and "
            "was not updated; if the forward uses it, update it by hand (the emitted module, spa_ir.api.to_torch, "
            "has no such limit)"
        )


@dataclass
class AppliedPlan:
    """What apply_plan did to the model, as data (printed only by the caller)."""

    plan: Plan
    changed: dict[str, tuple[Shape, Shape]] = field(default_factory=dict)
    """Every sliced tensor name (each name of a tied tensor, listed in the plan or not) -> (old, new shape)."""
    written: list[str] = field(default_factory=list)
    """The plan's tensors written in before slicing (compensation), created ones included."""
    created: list[str] = field(default_factory=list)
    """Tensors the plan created (a compensation bias where the module had none), now Parameters."""
    attributes: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    """module path -> attribute -> (old, new): every attribute apply_plan and the adapters updated."""
    limits: list[str] = field(default_factory=list)
    """One line per thing the user must know (a hard-coded size, a config that cannot express per-layer widths)."""
    size_attributes: list[SizeAttribute] = field(default_factory=list)
    """The integer attributes still holding a changed size (their lines are in `limits` too)."""
    adapters: list[str] = field(default_factory=list)
    """The adapter modules that ran."""
    verified: float | None = None
    """With example inputs and an exact plan: the applied model's largest relative difference from the masked
    original (at most hardcoded.VERIFY_TOLERANCE, else apply_plan refused); None when not checked."""

    def set_attribute(self, path: str, module: Any, attribute: str, value: Any) -> None:
        """Set `module.attribute = value` and record it (adapters call this, so the size scan knows it was done)."""
        old = getattr(module, attribute, None)
        setattr(module, attribute, value)
        self.attributes.setdefault(path, {})[attribute] = (old, value)


def apply_plan(
    model: torch.nn.Module,
    plan: Plan | str | os.PathLike[str],
    *,
    example_inputs: Any = None,
    verify: bool = True,
    reference: Any = None,
) -> AppliedPlan:
    """Slice `model`'s tensors in place as `plan` says and update its layers' attributes. With `example_inputs`, the
    applied model runs once: a forward that fails is named (a hard-coded size), and for an exact plan (with
    `verify`) its outputs must equal the masked original's, else it is refused; a refusal leaves the model as it
    was. verify=False for models whose outputs pass discrete post-processing (detections after NMS, where a
    rounding-level difference reorders boxes): check their raw outputs instead. `reference`: the outputs to verify
    against where the masked original is none (an inexact plan), e.g. the emitted pruned program's on the same
    inputs (spa_ir.prune passes them)."""
    if not isinstance(plan, Plan):
        plan = Plan.load(plan)
    applied = AppliedPlan(plan)
    before = snapshot_int_attributes(model)
    stamp = _fingerprint(plan)
    if stamp in getattr(model, APPLIED_ATTRIBUTE, ()):
        raise SpaError(
            "this plan was applied to the model already: its indices are the original model's, apply it to that"
        )
    with torch.no_grad():
        slices = _validate(model, plan)
        updates = _layer_updates(model, plan, slices)
        want = _masked_outputs(model, plan, example_inputs) if example_inputs is not None and verify else None
        want = reference if want is None and verify else want
        with _restored_on_error(model, plan):
            _write_tensors(model, plan, applied)
            _slice(model, slices, applied)
            _set_attributes(model, updates, applied)
            for prefix, adapter in ADAPTERS:
                if any(type(m).__module__.startswith(prefix) for m in model.modules()):
                    importlib.import_module(adapter).update(model, applied)
                    applied.adapters.append(adapter)
            applied.size_attributes = scan_size_attributes(model, applied, before)
            applied.limits.extend(s.line() for s in applied.size_attributes)
            if example_inputs is not None:
                got = check_forward(model, example_inputs, applied)
                if want is not None:
                    applied.verified = verify_against_masked(got, want, applied)
    object.__setattr__(model, APPLIED_ATTRIBUTE, (*getattr(model, APPLIED_ATTRIBUTE, ()), stamp))
    return applied


def _masked_outputs(model: torch.nn.Module, plan: Plan, inputs: Any) -> Any:
    """The masked original's outputs on `inputs` when the plan is exact (every group it removes from is; a
    compensated plan's tensors written in): what the applied model must compute. None for an inexact plan."""
    if any(g.get("removed") and not g.get("exact", True) for g in plan.groups):
        return None
    with masked(model, plan.json_params(), plan.tensors, plan.masked_logits) as original:
        return run_eval(original, inputs)


@contextlib.contextmanager
def _restored_on_error(model: torch.nn.Module, plan: Plan) -> Iterator[None]:
    """The model as it was if applying fails part way (an adapter refusing what the plan did to its module):
    every module's attributes, tensor slots and class, its `config` objects' attributes, and the values of the
    tensors the plan writes in place. Never a half-applied model."""
    modules = list(model.modules())
    saved = [(m, type(m), dict(vars(m)), dict(m._parameters), dict(m._buffers), dict(m._modules)) for m in modules]
    configs = {id(c): (c, dict(vars(c))) for m in modules if hasattr(c := getattr(m, "config", None), "__dict__")}
    tensors = named_tensors(model)
    values = [(tensors[n], tensors[n].detach().clone()) for n in plan.tensors if n in tensors]
    try:
        yield
    except BaseException:
        for m, cls, attrs, params, buffers, children in saved:
            m.__class__ = cls
            vars(m).clear()
            vars(m).update(attrs)
            vars(m).update(_parameters=params, _buffers=buffers, _modules=children)
        for c, attrs in configs.values():
            vars(c).clear()
            vars(c).update(attrs)
        for t, value in values:
            t.copy_(value)
        raise


APPLIED_ATTRIBUTE = "_spa_applied_plans"
"""The root module's record of the plans applied to it (fingerprints): a plan's indices are the original
model's, so applying it twice would cut other channels silently; a second time is refused."""


def _fingerprint(plan: Plan) -> str:
    return hashlib.sha256(json.dumps(plan.to_json()["params"], sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Slice:
    """One tensor (under all its names) and the indices it keeps per dim."""

    names: tuple[str, ...]
    shape: Shape
    keep: dict[int, list[int]]
    removed: dict[int, list[int]]
    sliced: dict[int, list[list[int]]] = field(default_factory=dict)
    """Dim -> the indices each dim-0 slice keeps (experts' neurons: as many in every slice), cut before `keep`."""

    def new_shape(self) -> Shape:
        shape = list(self.shape)
        for d, by_slice in self.sliced.items():
            shape[d] = len(by_slice[0])
        for d, kept in self.keep.items():
            shape[d] = len(kept)
        return tuple(shape)


def _validate(model: torch.nn.Module, plan: Plan) -> list[_Slice]:
    """Every name, dim and index of the plan checked against the model before anything changes."""
    tensors = named_tensors(model)
    for name, value in plan.tensors.items():
        if name in tensors:
            if tuple(tensors[name].shape) != tuple(value.shape):
                raise SpaError(
                    f"the plan writes '{name}' of shape {tuple(value.shape)}, the model's is "
                    f"{tuple(tensors[name].shape)}: was the plan made for another model?"
                )
            continue
        owner, _, attr = name.rpartition(".")
        try:
            module = model.get_submodule(owner) if owner else model
        except AttributeError:
            raise SpaError(f"the plan creates '{name}', but the model has no module '{owner}'") from None
        if getattr(module, attr, "missing") is not None:
            raise SpaError(f"the plan creates '{name}', but the model has no empty slot of that name")
    by_tensor: dict[int, _Slice] = {}
    for name in sorted(set(plan.params) | set(plan.sliced)):
        dims = plan.params.get(name, {})
        t = plan.tensors[name] if name in plan.tensors and name not in tensors else _resolve(model, tensors, name)
        removed = {int(d): sorted(set(idx)) for d, idx in dims.items()}
        sliced = {d: _kept_per_slice(name, t, d, by) for d, by in plan.sliced.get(name, {}).items()}
        for d, idx in removed.items():
            if not 0 <= d < t.dim():
                raise SpaError(f"the plan prunes dim {d} of '{name}', which has {t.dim()} dims")
            if idx and not (0 <= idx[0] and idx[-1] < t.shape[d]):
                bad = idx[0] if idx[0] < 0 else idx[-1]
                raise SpaError(f"the plan removes index {bad} of '{name}' dim {d}, which has size {t.shape[d]}")
        key = id(t)
        if key in by_tensor:
            earlier = by_tensor[key]
            if earlier.removed != removed:
                raise SpaError(
                    f"'{name}' is the same tensor as '{earlier.names[0]}' (tied), but the plan removes other "
                    "indices from it"
                )
            by_tensor[key] = _Slice((*earlier.names, name), earlier.shape, earlier.keep, removed, earlier.sliced)
            continue
        keep = {d: _complement(t.shape[d], idx) for d, idx in removed.items()}
        by_tensor[key] = _Slice((name,), tuple(t.shape), keep, removed, sliced)
    aliases: dict[int, list[str]] = {}
    for name, t in tensors.items():
        aliases.setdefault(id(t), []).append(name)
    return [
        _Slice((*s.names, *(n for n in aliases.get(key, []) if n not in s.names)), s.shape, s.keep, s.removed, s.sliced)
        for key, s in by_tensor.items()
    ]


def _kept_per_slice(name: str, t: torch.Tensor, d: int, removed: dict[int, list[int]]) -> list[list[int]]:
    """The indices of dim `d` each dim-0 slice of `t` keeps, checked: every slice listed, each losing as many."""
    if not 1 <= d < t.dim() or sorted(removed) != list(range(t.shape[0])):
        raise SpaError(f"the plan removes '{name}' dim {d} per slice of dim 0, but not for its {t.shape[0]} slices")
    if len({len(set(r)) for r in removed.values()}) > 1 or any(
        not 0 <= i < t.shape[d] for r in removed.values() for i in r
    ):
        raise SpaError(
            f"the plan removes '{name}' dim {d} per slice of dim 0: not as many in every slice, or out of range"
        )
    return [_complement(t.shape[d], removed[i]) for i in range(t.shape[0])]


def _complement(size: int, removed: list[int]) -> list[int]:
    gone = set(removed)
    return [i for i in range(size) if i not in gone]


def _layer_updates(model: torch.nn.Module, plan: Plan, slices: list[_Slice]) -> dict[str, dict[str, Any]]:
    """The new attributes of every standard layer whose tensors change, computed (and checked) before slicing."""
    new_shapes: dict[str, dict[str, Shape]] = {}
    removed: dict[str, dict[str, dict[int, list[int]]]] = {}
    for s in slices:
        for name in s.names:
            owner, _, attr = name.rpartition(".")
            new_shapes.setdefault(owner, {})[attr] = s.new_shape()
            removed.setdefault(owner, {})[attr] = s.removed
    out: dict[str, dict[str, Any]] = {}
    for path, shapes in new_shapes.items():
        module = model.get_submodule(path) if path else model
        attrs = layer_updates(path, module, shapes, removed[path])
        if attrs:
            out[path] = attrs
    return out


def _set_attributes(model: torch.nn.Module, updates: dict[str, dict[str, Any]], applied: AppliedPlan) -> None:
    """The layers' new attributes, recorded where they change; a layer whose class changed is a line in limits."""
    for path, attrs in updates.items():
        module = model.get_submodule(path)
        for attr, value in attrs.items():
            if getattr(module, attr, None) != value:
                applied.set_attribute(path, module, attr, value)
        if "__class__" in applied.attributes.get(path, {}):
            old, new = applied.attributes[path]["__class__"]
            applied.limits.append(
                f"{path or '<model>'}: {old.__name__} is now {new.__module__}.{new.__name__}, which holds the pruned "
                f"widths torch's {old.__name__} cannot (same tensors and state-dict names)"
            )


def _write_tensors(model: torch.nn.Module, plan: Plan, applied: AppliedPlan) -> None:
    """The plan's tensors (compensation), whole and in the original indexing, written before slicing."""
    tensors = named_tensors(model)
    for name, value in plan.tensors.items():
        if name in tensors:
            t = tensors[name]
            t.copy_(value.to(t.dtype))
        else:
            module, attr = _create_parameter(model, name, value)
            _to_weight_device(module, attr)
            applied.created.append(name)
        applied.written.append(name)


def _to_weight_device(module: torch.nn.Module, attr: str) -> None:
    """A created parameter (read from plan.safetensors: on the CPU) moved to the device of its module's weight."""
    weight, created = getattr(module, "weight", None), getattr(module, attr)
    if isinstance(weight, torch.Tensor) and created.device != weight.device:
        setattr(module, attr, torch.nn.Parameter(created.detach().to(weight.device)))


def _slice(model: torch.nn.Module, slices: list[_Slice], applied: AppliedPlan) -> None:
    """Replace each sliced tensor in every slot that holds it (tied names stay one tensor); Parameters stay
    Parameters with their requires_grad, buffers stay buffers."""
    replacement: dict[int, torch.Tensor] = {}
    tensors = named_tensors(model)  # after the writes: created parameters are found by name
    for s in slices:
        t = _resolve(model, tensors, s.names[0])
        new = t.detach()
        for d, by_slice in s.sliced.items():
            index = [torch.tensor(kept, dtype=torch.long, device=t.device) for kept in by_slice]
            new = torch.stack([part.index_select(d - 1, i) for part, i in zip(new, index)])
        for d, kept in s.keep.items():
            new = new.index_select(d, torch.tensor(kept, dtype=torch.long, device=t.device))
        new = new.contiguous()
        if isinstance(t, torch.nn.Parameter):
            new = torch.nn.Parameter(new, requires_grad=t.requires_grad)
        replacement[id(t)] = new
        for name in s.names:
            applied.changed[name] = (tuple(t.shape), tuple(new.shape))
    for path, module in model.named_modules(remove_duplicate=False):
        held = [*module._parameters.items(), *module._buffers.items(), *vars(module).items()]
        for attr, value in held:
            if isinstance(value, torch.Tensor) and id(value) in replacement:
                new = replacement[id(value)]
                setattr(module, attr, new)  # through __setattr__: nn.LSTM's flat weights follow
                applied.changed[f"{path}.{attr}" if path else attr] = (tuple(value.shape), tuple(new.shape))


__all__ = ["ADAPTERS", "AppliedPlan", "SizeAttribute", "apply_plan"]
