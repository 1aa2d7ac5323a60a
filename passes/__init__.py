"""spa's passes, one per file. `ALL_PASSES` is what spa-opt registers (name -> pass class factory)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass


def _all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    # Imported lazily so that spa-opt starts fast and only loads the passes a pipeline names.
    return {}


ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = _all_passes()
