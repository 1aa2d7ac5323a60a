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


def scan_size_attributes(model: torch.nn.Module, applied: AppliedPlan, before: IntAttributes) -> list[SizeAttribute]:
    """Integer attributes that equal a size the plan removed and that neither apply_plan nor an adapter updated:
    for the modules owning changed tensors and their ancestors, an old size of a changed dim in their subtree
    that no tensor of the subtree has any more; for the others (a module without tensors that reshapes), such
    a size of the whole model. Standard torch.nn layers are skipped: their attributes are derived."""
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
    anywhere = old_sizes[""] - _dim_sizes(model)
    found: list[SizeAttribute] = []
    for path, module in model.named_modules():
        if is_standard_layer(module):
            continue
        stale = old_sizes[path] - _dim_sizes(module) if path in old_sizes else anywhere
        updated = applied.attributes.get(path, {})
        for attr, value in before.get(path, {}).items():
            if attr in updated or getattr(module, attr, None) != value or value not in stale:
                continue
            found.append(SizeAttribute(path, type(module).__name__, attr, value))
    return found


def _call(model: torch.nn.Module, inputs: Any) -> Any:
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, Sequence) and not isinstance(inputs, torch.Tensor):
        return model(*inputs)
    return model(inputs)


def _culprit(message: str, changed: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]) -> str:
    """The size in an error message that the plan changed, with the first tensor dim it changed ("64, which the
    plan changed (conv.weight dim 0: 64 -> 32)"); a general phrase when the message names none."""
    said = {int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", message)}
    for name, (old, new) in sorted(changed.items(), key=lambda kv: not kv[0].endswith("weight")):  # weights first
        for d, (o, n) in enumerate(zip(old, new, strict=True)):
            if o != n and o in said:
                return f"its forward uses {o}, which the plan changed ({name} dim {d}: {o} -> {n})"
    return "its forward may hold a size the plan changed"


def check_forward(model: torch.nn.Module, inputs: Any, applied: AppliedPlan) -> None:
    """Run the applied model once (eval mode, no grad; the modes are restored). If a forward raises, the module
    it raised in (the innermost one entered and not left) is named in one line, with the size the plan changed
    that its error message names."""
    stack: list[tuple[str, torch.nn.Module]] = []
    handles = []

    def enter(path: str, module: torch.nn.Module) -> None:
        stack.append((path, module))

    def leave() -> None:
        stack.pop()

    for path, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(lambda mod, args, path=path: enter(path, mod)))
        handles.append(m.register_forward_hook(lambda mod, args, out: leave()))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            _call(model, inputs)
    except Exception as e:
        path, module = stack[-1] if stack else ("", model)
        error = first_line(e, named=True)
        raise SpaError(
            f"{type(module).__name__} fails after pruning ({error}): {_culprit(error, applied.changed)}; the emitted "
            "module (spa_ir.api.to_torch) has no such limit",
            where=path or "<model>",
        ) from None
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
