"""The xDSL context spa works in: builtin, func, torch-mlir's torch dialect and spa's own dialect."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func

from spa.dialects.spa import Spa
from spa.dialects.torch import Torch

DIALECTS = (Builtin, Func, Torch, Spa)


def make_context(*, allow_unregistered: bool = False) -> Context:
    ctx = Context(allow_unregistered=allow_unregistered)
    for dialect in DIALECTS:
        ctx.load_dialect(dialect)
    return ctx
