"""The one table between torch-mlir dtype spellings and torch dtypes, and the one reading of a `dense<..>`
literal as a torch tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from xdsl.dialects.builtin import DenseIntOrFPElementsAttr

MLIR_TO_TORCH: dict[str, torch.dtype] = {
    "f32": torch.float32,
    "f64": torch.float64,
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "si64": torch.int64,
    "si32": torch.int32,
    "si16": torch.int16,
    "si8": torch.int8,
    "ui8": torch.uint8,
    "i1": torch.bool,
    "complex<f32>": torch.complex64,
    "complex<f64>": torch.complex128,
}
TORCH_TO_MLIR: dict[torch.dtype, str] = {v: k for k, v in MLIR_TO_TORCH.items()}


def torch_dtype(mlir_dtype: str) -> torch.dtype:
    try:
        return MLIR_TO_TORCH[mlir_dtype]
    except KeyError:
        raise SpaError(f"unsupported tensor element type '{mlir_dtype}'") from None


def mlir_dtype(dtype: torch.dtype) -> str:
    try:
        return TORCH_TO_MLIR[dtype]
    except KeyError:
        raise SpaError(f"unsupported torch dtype {dtype}") from None


def literal_tensor(values: DenseIntOrFPElementsAttr, shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """The tensor a `dense<..>` literal holds, as the value it defines (`shape`, `dtype`) reads it: a
    `torch.vtensor.literal`, a `spa.param`'s inline value."""
    import numpy as np

    return torch.from_numpy(np.array(values.get_values()).reshape(tuple(shape))).to(dtype)
