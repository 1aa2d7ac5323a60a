"""Sizes the user's code holds that the plan changed: integer attributes still at an old size, and the module
whose forward fails after applying (a `x.view(b, 64, -1)`). The emitted module has neither limit: its sizes
are the IR's, rewritten by pruning."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from spa_ir.backends.module.layers import is_standard_layer
from spa_ir.core.errors import SpaError, first_line

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan, SizeAttribute

IntAttributes = dict[str, dict[str, int]]


def snapshot_int_attributes(model: torch.nn.Module) -> IntAttributes:
    """Every module's own integer attributes (bools excluded), by module path: the values before applying."""
    return {
        path: {a: v for a, v in vars(m).items() if isinstance(v, int) and not isinstance(v, bool)}
        for path, m in model.named_modules()
    }


def _dim_sizes(module: torch.nn.Module) -> set[int]:
    """The sizes of every dim of the tensors in `module`'s subtree, as they are now."""
    return {n for t in [*module.parameters(), *module.buffers()] for n in t.shape}


def _changed_dims(applied: AppliedPlan) -> dict[str, set[tuple[int, int]]]:
    """module path -> (old, new) sizes of the changed dims of the tensors it or its direct children own."""
    out: dict[str, set[tuple[int, int]]] = {}
    for name, (old, new) in applied.changed.items():
        owner = name.rpartition(".")[0]
        sizes = {(o, n) for o, n in zip(old, new, strict=True) if o != n}
        out.setdefault(owner, set()).update(sizes)
        if owner:
            out.setdefault(owner.rpartition(".")[0], set()).update(sizes)
    return out


def scan_size_attributes(model: torch.nn.Module, applied: AppliedPlan, before: IntAttributes) -> list[SizeAttribute]:
    """Integer attributes that still hold a size the plan changed and that neither apply_plan nor an adapter
    updated. One attribute: for the modules owning changed tensors and their ancestors, an old size of a changed
    dim in their subtree that no tensor of the subtree has any more; for the others (a module without tensors
    that reshapes), such a size of the whole model. Two attributes whose product is the old size of a changed dim
    of the module's or its children's tensors (`num_heads * head_dim` of an attention's projection). Standard
    torch.nn layers are skipped: their attributes are derived."""
    from spa_ir.backends.module import SizeAttribute

    old_sizes: dict[str, set[int]] = {}
    for name, (old, new) in applied.changed.items():
        owner = name.rpartition(".")[0]
        gone = {o for o, n in zip(old, new, strict=True) if o != n}
        parts = owner.split(".") if owner else []
        for k in range(len(parts) + 1):
            old_sizes.setdefault(".".join(parts[:k]), set()).update(gone)
    if not old_sizes:
        return []
    near = _changed_dims(applied)
    anywhere = old_sizes[""] - _dim_sizes(model)
    found: list[SizeAttribute] = []
    for path, module in model.named_modules():
        if is_standard_layer(module):
            continue
        stale = old_sizes[path] - _dim_sizes(module) if path in old_sizes else anywhere
        updated = applied.attributes.get(path, {})
        ints = {a: v for a, v in before.get(path, {}).items() if a not in updated and getattr(module, a, None) == v}
        found.extend(SizeAttribute(path, type(module).__name__, a, v) for a, v in ints.items() if v in stale)
        pairs = [(a, b) for a in ints for b in ints if a < b and ints[a] > 1 and ints[b] > 1]
        for a, b in pairs:
            product = ints[a] * ints[b]
            if any(o == product for o, _ in near.get(path, ())):
                found.append(SizeAttribute(path, type(module).__name__, f"{a} * {b}", product))
    return found


def _call(model: torch.nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, Sequence) and not isinstance(inputs, torch.Tensor):
        return model(*inputs)
    return model(inputs)


def run_eval(model: torch.nn.Module, inputs: Any) -> Any:
    """The model's outputs on `inputs` in eval mode without grad (its modes are restored)."""
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            return _call(model, inputs)
    finally:
        for m, mode in modes.items():
            m.training = mode


def tensors_of(out: Any) -> list[torch.Tensor]:
    """The tensors of a model output (tensors, tuples, lists, dicts, ModelOutputs), in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, Mapping):
        return [t for v in out.values() for t in tensors_of(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in tensors_of(v)]
    return []


VERIFY_TOLERANCE = 1e-4
"""max |applied - masked| / max |masked| over every output: the oracle's bound for exact plans."""


def verify_against_masked(got: Any, want: Any, applied: AppliedPlan) -> float:
    """The applied model's outputs against the masked original's (an exact plan: they must be equal). A forward
    that derives a size from its tensors (an attention scale from the pruned head width) or splits heads by a
    stale attribute computes something else without failing: that is refused in one line. Floating outputs of
    the same shape are compared; others (integer labels, intermediate features an output dict returns at their
    pruned widths) are not."""
    pairs = [
        (x, y)
        for x, y in zip(tensors_of(got), tensors_of(want), strict=False)
        if x.is_floating_point() and x.shape == y.shape and x.numel()
    ]
    error = max((float((x - y).abs().max()) / (float(y.abs().max()) or 1.0) for x, y in pairs), default=0.0)
    if not error <= VERIFY_TOLERANCE:
        stale = "; ".join(s.line().split(" is a size")[0] for s in applied.size_attributes[:3])
        raise SpaError(
            f"the applied model computes other outputs than the masked original on the example inputs (relative "
            f"error {error:.1e}): a forward derives a size from the pruned tensors or holds one the plan changed"
            f"{f' ({stale})' if stale else ''}; the emitted module (spa_ir.api.to_torch) has no such limit "
            "(a model whose outputs pass data-dependent post-processing, such as NMS: verify=False)"
        )
    return error


def _changed_dim(size: int, changed: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]], path: str) -> str | None:
    """A tensor dim the plan changed from `size` ("conv.weight dim 0: 64 -> 32"): the module's own tensors first,
    weights before other tensors."""
    inside = f"{path}." if path else ""
    order = sorted(changed.items(), key=lambda kv: (not kv[0].startswith(inside), "weight" not in kv[0]))
    for name, (old, new) in order:
        for d, (o, n) in enumerate(zip(old, new, strict=True)):
            if o == size and o != n:
                return f"{name} dim {d}: {o} -> {n}"
    return None


def _culprit(message: str, applied: AppliedPlan, path: str) -> str:
    """Why the module at `path` failed: its stale size attributes, or else a size in the error message that the
    plan changed, each with a tensor dim it changed; a general phrase when neither says anything."""
    held = [s for s in applied.size_attributes if s.module == path]
    if held:
        dims = [d for d in (_changed_dim(s.value, applied.changed, path) for s in held) if d]
        where = f" ({'; '.join(dims)})" if dims else ""
        return f"it holds {', '.join(f'{s.attribute} = {s.value}' for s in held)}, a size the plan changed{where}"
    for n in sorted({int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", message)}):
        dim = _changed_dim(n, applied.changed, path)
        if dim is not None:
            return f"its forward uses {n}, which the plan changed ({dim})"
    return "its forward may hold a size the plan changed"


def check_forward(model: torch.nn.Module, inputs: Any, applied: AppliedPlan) -> Any:
    """Run the applied model once and return its outputs (`run_eval`). If a forward raises, the module
    it raised in (the innermost one entered and not left) is named in one line, with its stale size attributes
    (`applied.size_attributes`) or else the size the plan changed that its error message names."""
    stack: list[tuple[str, torch.nn.Module]] = []
    handles = []

    def enter(path: str, module: torch.nn.Module) -> None:
        stack.append((path, module))

    def leave() -> None:
        stack.pop()

    for path, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(lambda mod, args, path=path: enter(path, mod)))
        handles.append(m.register_forward_hook(lambda mod, args, out: leave()))
    try:
        return run_eval(model, inputs)
    except Exception as e:
        path, module = stack[-1] if stack else ("", model)
        error = first_line(e, named=True)
        raise SpaError(
            f"{type(module).__name__} fails after pruning ({error}): {_culprit(error, applied, path)}; the emitted "
            "module (spa_ir.api.to_torch) has no such limit",
            where=path or "<model>",
        ) from None
    finally:
        for h in handles:
            h.remove()
