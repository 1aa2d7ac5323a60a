"""spa: Structurally Prune Anything, as a compiler.

    result = spa_ir.prune(model, example_inputs, keep_flops=0.5)   # the one call (spa_ir/oneshot.py)
    spa_ir.api                                                      # the Program-level steps

Attributes are loaded on first use (PEP 562 `__getattr__`), so `import spa_ir` imports neither torch nor torch-mlir
nor xDSL: spa-opt starts without them and a user pays for what they touch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spa_ir import api
    from spa_ir.core.plan import Plan
    from spa_ir.core.program import Program
    from spa_ir.oneshot import prune
    from spa_ir.result import PruneResult

_LAZY: dict[str, tuple[str, str | None]] = {
    "prune": ("spa_ir.oneshot", "prune"),
    "PruneResult": ("spa_ir.result", "PruneResult"),
    "Plan": ("spa_ir.core.plan", "Plan"),
    "Program": ("spa_ir.core.program", "Program"),
    "api": ("spa_ir.api", None),
}
"""name -> (module, attribute in it; None: the module itself)."""

__all__ = ["Plan", "Program", "PruneResult", "api", "prune"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'spa_ir' has no attribute '{name}'")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
