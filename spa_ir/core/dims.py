"""The names of the model inputs' dynamic dims, recorded on `@main` as `spa.dim_names`.

The IR's types say only `?` (torch-mlir's own format: `!torch.vtensor<[?,3,24,24],f32>`); which `?` dims are one
size (the sequence of `input_ids` and `attention_mask`) and what users call them (`batch`, `seq`) is what the
frontend was told (torch.export's `Dim("batch")`). The backends read it back to export with the same Dims, so the
.pt2 keeps the ties and ONNX dim_params carry the names. One list per input, one string per dim: the name of a
named dynamic dim, "" for a static or unnamed one. `spa.dim_max` holds the upper bounds the capture found (BERT's
sequence at most its position table's length: `{seq = 32}`), so the backends export within them at the first try.
Lower bounds are not kept: the capture's are mostly torch.export's 0/1 specialization (2), which would refuse a batch
of 1. Printed and parsed with the IR, so spa-opt keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, StringAttr

DIM_NAMES_ATTR = "spa.dim_names"
DIM_MAX_ATTR = "spa.dim_max"


def record_dim_names(fn: func.FuncOp, names: Sequence[Sequence[str]], maxima: Mapping[str, int] | None = None) -> None:
    """Record `names` (one list per argument) when they line up with the arguments and name something, and the upper
    bounds of named dims (`maxima`)."""
    if len(names) != len(fn.body.block.args) or not any(n for dims in names for n in dims):
        return
    fn.attributes[DIM_NAMES_ATTR] = ArrayAttr([ArrayAttr([StringAttr(n) for n in dims]) for dims in names])
    if maxima:
        fn.attributes[DIM_MAX_ATTR] = DictionaryAttr({n: IntegerAttr(m, 64) for n, m in sorted(maxima.items())})


def dim_maxima(fn: func.FuncOp) -> dict[str, int]:
    """The recorded upper bounds of named dims (name -> largest size)."""
    attr = fn.attributes.get(DIM_MAX_ATTR)
    if not isinstance(attr, DictionaryAttr):
        return {}
    return {n: v.value.data for n, v in attr.data.items() if isinstance(v, IntegerAttr)}


def dim_names(fn: func.FuncOp) -> list[list[str]] | None:
    """The recorded names (one list per argument, "" where unnamed), or None when none were recorded or they do not
    line up with the arguments' ranks (an edited IR)."""
    attr = fn.attributes.get(DIM_NAMES_ATTR)
    if not isinstance(attr, ArrayAttr) or len(attr.data) != len(fn.body.block.args):
        return None
    out: list[list[str]] = []
    for arg, dims in zip(fn.body.block.args, attr.data):
        rank = len(arg.type.get_shape()) if hasattr(arg.type, "get_shape") else -1
        if not isinstance(dims, ArrayAttr) or len(dims.data) != rank:
            return None
        out.append([d.data if isinstance(d, StringAttr) else "" for d in dims.data])
    return out
