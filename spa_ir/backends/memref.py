"""numpy arrays in and out of a function compiled by MLIR's ExecutionEngine, through the C interface
(`llvm.emit_c_interface`: `_mlir_ciface_f(results*, arg0*, arg1*, ...)`, each a memref descriptor).

Arguments are packed with torch_mlir.runtime's descriptors (the arrays stay alive for the call). Results are
returned memrefs the callee allocated and hands over (buffer deallocation's contract for public functions): all
are copied into numpy arrays, then their buffers freed, once per distinct allocation (results may share one).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np

_DTYPES: dict[str, Any] = {
    "f64": np.float64,
    "f32": np.float32,
    "f16": np.float16,
    "i64": np.int64,
    "i32": np.int32,
    "i16": np.int16,
    "i8": np.int8,
    "ui8": np.uint8,
    "i1": np.bool_,
}
"""MLIR element types -> numpy (the builtin types torch-mlir's backends give tensors: si64 becomes i64)."""

MemrefType = tuple[int, np.dtype[Any]]
"""What a memref in a signature is to the glue: its rank and element dtype."""


def memref_type(tensor_type: str) -> MemrefType:
    """`tensor<1x?x3xf32>` -> (3, float32); None-like types (`i64` scalars) are not memrefs and fail."""
    if not (tensor_type.startswith("tensor<") and tensor_type.endswith(">")):
        raise ValueError(f"not a ranked tensor type: {tensor_type}")
    *dims, element = tensor_type[len("tensor<") : -1].split("x")
    if element not in _DTYPES:
        raise ValueError(f"no numpy dtype for element type {element} of {tensor_type}")
    return len(dims), np.dtype(_DTYPES[element])


def _descriptor_class(t: MemrefType) -> type[ctypes.Structure]:
    from torch_mlir.runtime import make_nd_memref_descriptor, make_zero_d_memref_descriptor
    from torch_mlir.runtime.np_to_memref import as_ctype

    rank, dtype = t
    ctype = as_ctype(dtype)
    cls: type[ctypes.Structure] = (
        make_nd_memref_descriptor(rank, ctype) if rank > 0 else make_zero_d_memref_descriptor(ctype)
    )
    return cls


def results_struct(types: Sequence[MemrefType]) -> ctypes.Structure:
    """An empty struct of the results' descriptors, laid out as the LLVM lowering packs several results (one
    result: the descriptor itself)."""
    fields = [(f"r{i}", _descriptor_class(t)) for i, t in enumerate(types)]
    return type("Results", (ctypes.Structure,), {"_fields_": fields})()


def argument(array: np.ndarray) -> Any:
    """A pointer to a pointer to `array`'s descriptor, as ExecutionEngine.invoke passes arguments (the caller keeps
    `array` alive, C-contiguous)."""
    from torch_mlir.runtime import get_ranked_memref_descriptor

    return ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(array)))


def take(descriptor: Any, t: MemrefType) -> np.ndarray:
    """The memref as a new numpy array (its buffer is left to `free`: results may share one)."""
    rank, dtype = t
    shape = tuple(descriptor.shape) if rank else ()
    strides = tuple(descriptor.strides) if rank else ()
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype)
    base = ctypes.cast(descriptor.aligned, ctypes.c_void_p).value or 0
    start = base + descriptor.offset * dtype.itemsize
    span = 1 + sum((n - 1) * s for n, s in zip(shape, strides, strict=True))
    flat = np.frombuffer((ctypes.c_char * (span * dtype.itemsize)).from_address(start), dtype=dtype)
    return np.array(np.lib.stride_tricks.as_strided(flat, shape, [s * dtype.itemsize for s in strides]), copy=True)


def free(descriptors: Sequence[Any]) -> None:
    """Free the results' buffers, each distinct allocation once (two results can be one buffer)."""
    for pointer in {int(d.allocated) for d in descriptors} - {0}:
        _free(pointer)


def _free(pointer: int) -> None:
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free(ctypes.c_void_p(pointer))
