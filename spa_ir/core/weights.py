"""The weight store: tensors beside the IR, keyed by their original names.

Tensors are read lazily from the `.safetensors` file (memory-mapped by safetensors), so a pass that
touches a few weights does not load the whole model; tensors a pass replaced are held in memory
until the store is saved.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open

from spa_ir.core.dtypes import literal_tensor, torch_dtype
from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from spa.dialects.spa import ParamOp

_SAFETENSORS_DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "C64": torch.complex64,
}


class WeightStore(Mapping[str, torch.Tensor]):
    """Named tensors: a lazily read safetensors file plus in-memory replacements."""

    def __init__(self, tensors: Mapping[str, torch.Tensor] | None = None, *, path: Path | None = None):
        self._path = path
        self._file_names: set[str] = set()
        if path is not None:
            with safe_open(str(path), framework="pt") as f:
                self._file_names = set(f.keys())
        self._memory: dict[str, torch.Tensor] = dict(tensors or {})
        self._deleted: set[str] = set()
        self.modified = False
        """Whether a pass replaced or deleted a tensor since loading."""

    @property
    def path(self) -> Path | None:
        """The safetensors file the store reads from (None for a store held only in memory)."""
        return self._path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WeightStore:
        p = Path(path)
        if not p.exists():
            raise SpaError("weights file not found", where=str(p))
        try:
            return cls(path=p)
        except Exception as e:  # safetensors raises its own error types
            raise SpaError(f"cannot read weights file: {e}", where=str(p)) from None

    def __getitem__(self, name: str) -> torch.Tensor:
        if name in self._memory:
            return self._memory[name]
        if name in self._file_names and name not in self._deleted:
            assert self._path is not None
            with safe_open(str(self._path), framework="pt") as f:
                return f.get_tensor(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        seen = set(self._memory)
        yield from self._memory
        yield from sorted(n for n in self._file_names - seen - self._deleted)

    def __len__(self) -> int:
        return len(set(self._memory) | (self._file_names - self._deleted))

    def __contains__(self, name: object) -> bool:
        return name in self._memory or (name in self._file_names and name not in self._deleted)

    def meta(self, name: str) -> tuple[tuple[int, ...], torch.dtype]:
        """Shape and dtype of a tensor without reading its data."""
        if name in self._memory:
            t = self._memory[name]
            return tuple(t.shape), t.dtype
        if name not in self:
            raise KeyError(name)
        assert self._path is not None
        with safe_open(str(self._path), framework="pt") as f:
            sl = f.get_slice(name)
            return tuple(sl.get_shape()), _SAFETENSORS_DTYPES[sl.get_dtype()]

    def set(self, name: str, tensor: torch.Tensor) -> None:
        self._memory[name] = tensor
        self._deleted.discard(name)
        self.modified = True

    def delete(self, name: str) -> None:
        self._memory.pop(name, None)
        self._deleted.add(name)
        self.modified = True

    def keep_only(self, names: Iterable[str]) -> None:
        """Drop every tensor not in `names` (e.g. weights no `spa.param` refers to any more)."""
        keep = set(names)
        for name in list(self):
            if name not in keep:
                self.delete(name)

    def copy(self) -> WeightStore:
        """An independent store over the same file: replacements made in one do not show in the other."""
        other = WeightStore(self._memory)
        other._path, other._file_names, other._deleted = self._path, self._file_names, set(self._deleted)
        other.modified = self.modified
        return other


def param_shape_dtype(op: ParamOp) -> tuple[tuple[int, ...], torch.dtype]:
    """Static shape and torch dtype of a `spa.param`'s result type."""
    t = op.result.type
    shape = tuple(t.get_shape())  # type: ignore[attr-defined]  # spa.param results are tensors
    if any(d < 0 for d in shape):
        raise SpaError(f"spa.param '{op.weight_name}' must have a static shape, got {shape}")
    return shape, torch_dtype(str(t.dtype))  # type: ignore[attr-defined]  # spa.param results are tensors


def param_tensor(op: ParamOp, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The value of a `spa.param`: its inline `dense<..>` literal (small lit-test weights), else its tensor in
    `weights`. The one way to read a param's tensor (Program.tensor and the passes use it)."""
    if op.value is not None:
        return literal_tensor(op.value, *param_shape_dtype(op))
    return weights[op.weight_name]


def store_param(op: ParamOp, weights: WeightStore, tensor: torch.Tensor) -> None:
    """Give a `spa.param` a new value of its own shape or another: inline literals (lit tests) stay inline, the
    others go into the store. The one way passes write a param's tensor."""
    if op.value is not None:
        from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType

        op.attributes["value"] = DenseIntOrFPElementsAttr.from_list(
            TensorType(op.value.get_element_type(), tensor.shape), tensor.flatten().tolist()
        )
    else:
        weights.set(op.weight_name, tensor.contiguous())
