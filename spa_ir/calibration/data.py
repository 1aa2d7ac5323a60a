"""Calibration data: what the user gives (`.pt`, `.npz`, or an iterable of batches in the API), bound to the
model's inputs and validated against the IR before any work is done.

Formats. `.pt`: a tensor `[N, ...]` (one input), a tuple/list of tensors (one per input, in order), or a dict
`{"inputs": <tensor | tuple | {name: tensor}>, "targets": ..., "attention_mask": ...}`; a dict without
"inputs" is read like an `.npz`: arrays named after the model's inputs plus optional `targets` (and
`attention_mask`, a model input or not). Dim 0 indexes the samples everywhere. Names are the ones the frontends
record on the IR's function (`spa.input_names`); IR written before that has none, and named data is refused.
An `attention_mask` (a model input of that name, or the key) leaves padded positions out of the statistics and
of the loss.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr

from spa_ir.calibration.store import INPUT_NAMES_ATTR
from spa_ir.core.dtypes import TORCH_TO_MLIR, torch_dtype
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.ir import main_function, shape

LOSSES = ("cross-entropy", "mse", "output-norm")
TARGETS = "targets"
MASK = "attention_mask"
LossFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]
"""A user's loss: (first output, targets) of a batch -> per-sample losses [B] (or their mean, a scalar)."""


@dataclass(frozen=True)
class InputSpec:
    """One user input of the model as the IR declares it (shape: -1 for dynamic dims)."""

    index: int
    name: str | None
    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"'{self.name}'" if self.name else f"#{self.index}"


def input_names(module: ModuleOp) -> list[str] | None:
    """The user-input names the frontend recorded on the main function (None: IR written before they were)."""
    attr = main_function(module).attributes.get(INPUT_NAMES_ATTR)
    if not isinstance(attr, ArrayAttr):
        return None
    return [a.data for a in attr.data if isinstance(a, StringAttr)]


def model_inputs(module: ModuleOp) -> list[InputSpec]:
    fn = main_function(module)
    names = input_names(module)
    args = fn.body.block.args
    if names is not None and len(names) != len(args):
        names = None
    specs = []
    for i, arg in enumerate(args):
        dims = shape(arg)
        dtype = getattr(arg.type, "dtype", None)
        if dims is None or dtype is None:
            raise SpaError(f"model input #{i} is not a ranked tensor: calibration feeds tensors only")
        specs.append(InputSpec(i, names[i] if names else None, torch_dtype(str(dtype)), dims))
    return specs


@dataclass(frozen=True)
class Bound:
    """Calibration data bound to one IR's inputs: positional, validated."""

    inputs: tuple[torch.Tensor, ...]
    targets: torch.Tensor | None
    mask: torch.Tensor | None
    """[N, T] (1 keeps a position), from an input or key named attention_mask."""


@dataclass
class Calibration:
    """Samples (dim 0) for the model's inputs, optional targets and mask, how to batch them and which loss."""

    inputs: tuple[torch.Tensor, ...] | dict[str, torch.Tensor]
    """Positional, or by input name."""
    targets: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    batch: int = 32
    loss: str | None = None
    """cross-entropy | mse | output-norm; None: cross-entropy on the targets, else on the model's own prediction."""
    loss_fn: LossFn | None = field(default=None, repr=False)
    source: str = "<calibration data>"

    @property
    def samples(self) -> int:
        first = next(iter(self.inputs.values() if isinstance(self.inputs, dict) else self.inputs), None)
        return 0 if first is None else int(first.shape[0])

    @property
    def loss_name(self) -> str:
        if self.loss_fn is not None:
            return "callable"
        return self.loss or "cross-entropy"

    @property
    def label_source(self) -> str:
        """targets | own-prediction | output-norm (what the loss compares the output with)."""
        if self.loss == "output-norm":
            return "output-norm"
        return "targets" if self.targets is not None else "own-prediction"

    def fail(self, message: str) -> SpaError:
        return SpaError(message, where=self.source)

    def bind(self, module: ModuleOp) -> Bound:
        """The data as the model's positional inputs, checked against the IR (count, names, dtype, rank, static
        dims, samples): a one-line error naming the file and the input, before any work."""
        if self.batch < 1:
            raise self.fail(f"--calib-batch must be at least 1, got {self.batch}")
        if self.loss is not None and self.loss not in LOSSES:
            raise self.fail(f"unknown loss '{self.loss}' (known: {', '.join(LOSSES)})")
        if self.loss == "mse" and self.targets is None:
            raise self.fail("--loss mse needs targets in the calibration data")
        specs = model_inputs(module)
        tensors, mask = self._positional(specs)
        n = None
        for spec, t in zip(specs, tensors):
            self._check_input(spec, t)
            if n is None:
                n = int(t.shape[0])
            elif int(t.shape[0]) != n:
                raise self.fail(f"input {spec.label} has {t.shape[0]} samples but input {specs[0].label} has {n}")
        if n is None or n == 0:
            raise self.fail("no calibration samples")
        for what, extra in ((TARGETS, self.targets), (MASK, mask)):
            if extra is not None and (extra.dim() == 0 or int(extra.shape[0]) != n):
                count = extra.shape[0] if extra.dim() else 0
                raise self.fail(f"{what} has {count} samples but the inputs have {n}")
        if mask is not None and mask.dim() != 2:
            raise self.fail(f"{MASK} must be [samples, positions], got {list(mask.shape)}")
        return Bound(tensors, self.targets, None if mask is None else mask.to(torch.bool))

    def _positional(self, specs: list[InputSpec]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor | None]:
        names = [s.name for s in specs]
        if isinstance(self.inputs, dict):
            if any(n is None for n in names):
                raise self.fail(
                    f"the data names its inputs ({', '.join(self.inputs)}) but the IR records no input names "
                    "(written before spa recorded them): give the inputs positionally (a .pt tensor or tuple)"
                )
            extra = [k for k in self.inputs if k not in names and k != MASK]
            if extra:
                raise self.fail(f"no model input named '{extra[0]}' (the model's inputs: {', '.join(map(str, names))})")
            missing = [n for n in names if n not in self.inputs]
            if missing:
                raise self.fail(f"model input '{missing[0]}' is missing (given: {', '.join(self.inputs)})")
            tensors = tuple(self.inputs[str(n)] for n in names)
            mask = self.mask if self.mask is not None else self.inputs.get(MASK)
        else:
            tensors = tuple(self.inputs)
            if len(tensors) != len(specs):
                listed = ", ".join(s.label for s in specs)
                raise self.fail(f"{len(tensors)} inputs given but the model takes {len(specs)} ({listed})")
            mask = self.mask
        if mask is None and MASK in names:
            mask = tensors[names.index(MASK)]
        return tensors, mask

    def _check_input(self, spec: InputSpec, t: torch.Tensor) -> None:
        if not isinstance(t, torch.Tensor):
            raise self.fail(f"input {spec.label} is a {type(t).__name__}, not a tensor")
        if t.dtype != spec.dtype:
            raise self.fail(
                f"input {spec.label} is {TORCH_TO_MLIR.get(t.dtype, str(t.dtype))} but the model takes "
                f"{TORCH_TO_MLIR.get(spec.dtype, str(spec.dtype))}"
            )
        if t.dim() != len(spec.shape):
            raise self.fail(
                f"input {spec.label} has rank {t.dim()} {list(t.shape)} but the model's has rank {len(spec.shape)} "
                f"{list(spec.shape)} (dim 0 indexes the samples)"
            )
        for d, (got, want) in enumerate(zip(t.shape, spec.shape)):
            if d > 0 and want >= 0 and got != want:
                raise self.fail(f"input {spec.label} dim {d} is {got} but the model's is static {want}")


def load_calibration(path: str | os.PathLike[str], *, batch: int = 32, loss: str | None = None) -> Calibration:
    """A `.pt` or `.npz` calibration file (formats in the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise SpaError("calibration file not found", where=str(p))
    if p.suffix == ".npz":
        import numpy as np

        try:
            with np.load(p) as z:
                data: Any = {k: torch.from_numpy(z[k]) for k in z.files}
        except Exception as e:  # numpy's and zipfile's error types
            raise SpaError(f"cannot read calibration file: {first_line(e)}", where=str(p)) from None
    elif p.suffix == ".pt":
        try:
            data = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle and torch error types
            raise SpaError(f"cannot read calibration file: {first_line(e)}", where=str(p)) from None
    else:
        raise SpaError(f"calibration files are .pt or .npz, got '{p.suffix}'", where=str(p))
    return from_value(data, batch=batch, loss=loss, source=str(p))


def from_value(
    data: Any,
    *,
    targets: torch.Tensor | None = None,
    batch: int = 32,
    loss: str | LossFn | None = None,
    source: str = "<calibration data>",
) -> Calibration:
    """One calibration set from a file's content (a tensor, a tuple/list, or a dict)."""
    mask = None
    if isinstance(data, Mapping):
        data = dict(data)
        targets = data.pop(TARGETS, targets)
        if "inputs" in data:
            inputs = data.pop("inputs")
            mask = data.pop(MASK, None)
            if data:
                raise SpaError(f"unknown key '{next(iter(data))}' (known: inputs, targets, {MASK})", where=source)
            data = inputs
    if isinstance(data, torch.Tensor):
        inputs_: tuple[torch.Tensor, ...] | dict[str, torch.Tensor] = (data,)
    elif isinstance(data, (tuple, list)):
        inputs_ = tuple(data)
    elif isinstance(data, Mapping):
        inputs_ = {str(k): v for k, v in data.items()}
    else:
        raise SpaError(
            f"calibration data must be a tensor, a tuple/list or a dict, got {type(data).__name__}", where=source
        )
    values = inputs_.values() if isinstance(inputs_, dict) else inputs_
    bad = [v for v in (*values, targets, mask) if v is not None and not isinstance(v, torch.Tensor)]
    if bad:
        raise SpaError(f"calibration data holds a {type(bad[0]).__name__}, not a tensor", where=source)
    loss_fn = loss if callable(loss) else None
    return Calibration(inputs_, targets, mask, batch, None if callable(loss) else loss, loss_fn, source)


def from_batches(
    batches: Iterable[Any], *, batch: int = 32, loss: str | LossFn | None = None, source: str = "<calib batches>"
) -> Calibration:
    """An iterable of batches (the API's calib=): each a tensor, a tuple/list of tensors, `(inputs, targets)`
    with `inputs` a tuple/list, or a dict as in a `.pt` file; concatenated along dim 0."""
    parts = []
    for item in batches:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (tuple, list)):
            parts.append(from_value(item[0], targets=item[1], source=source))
        else:
            parts.append(from_value(item, source=source))
    if not parts:
        raise SpaError("no calibration batches", where=source)
    first = parts[0]
    if isinstance(first.inputs, dict):
        keys = list(first.inputs)
        inputs: tuple[torch.Tensor, ...] | dict[str, torch.Tensor] = {
            k: torch.cat([_named(p, k, source) for p in parts]) for k in keys
        }
    else:
        count = len(first.inputs)
        if any(isinstance(p.inputs, dict) or len(p.inputs) != count for p in parts):
            raise SpaError("calibration batches differ in their inputs", where=source)
        inputs = tuple(torch.cat([p.inputs[i] for p in parts]) for i in range(count))  # type: ignore[index]  # tuples, checked above
    targets = _cat_optional([p.targets for p in parts], TARGETS, source)
    mask = _cat_optional([p.mask for p in parts], MASK, source)
    loss_fn = loss if callable(loss) else None
    return Calibration(inputs, targets, mask, batch, None if callable(loss) else loss, loss_fn, source)


def _named(part: Calibration, key: str, source: str) -> torch.Tensor:
    if not isinstance(part.inputs, dict) or key not in part.inputs:
        raise SpaError(f"calibration batches differ in their inputs (one lacks '{key}')", where=source)
    return part.inputs[key]


def _cat_optional(values: Sequence[torch.Tensor | None], what: str, source: str) -> torch.Tensor | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if len(present) != len(values):
        raise SpaError(f"some calibration batches have {what} and some do not", where=source)
    return torch.cat(list(present))


def calibration_from(
    calib: Calibration | str | os.PathLike[str] | Iterable[Any] | torch.Tensor,
    *,
    batch: int = 32,
    loss: str | LossFn | None = None,
) -> Calibration:
    """The API's calib=: a Calibration, a file path, a tensor, or an iterable of batches."""
    if isinstance(calib, Calibration):
        return calib
    if isinstance(calib, (str, os.PathLike)):
        cal = load_calibration(calib, batch=batch, loss=None if callable(loss) else loss)
        cal.loss_fn = loss if callable(loss) else None
        return cal
    if isinstance(calib, (torch.Tensor, Mapping)):
        return from_value(calib, batch=batch, loss=loss)
    return from_batches(calib, batch=batch, loss=loss)
