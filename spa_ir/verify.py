"""The masked original: a model with every slice a pruning plan removes set to zero.

It is the reference a pruned model must match (exactly, for plans of exact groups): the tests' oracle and
the demo check spa's output against it. A removed slice of a BatchNorm running variance is set to 1
instead, so the normalized channel is exactly 0 and not 0/sqrt(eps). Plans name weights as the frontends
do: state-dict names for PyTorch models, ONNX names (initializers, Constant outputs, Identity copies) for
ONNX files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from spa_ir.backends.onnx_faithful import add_bias, to_numpy
from spa_ir.core.errors import SpaError
from spa_ir.frontends.onnx.weights import weight_values

PlanParams = dict[str, dict[str, Any]]
"""The plan's `params`: weight -> dim (as a string, as in the JSON) -> removed indices, or, for a dim sliced along
dim 0 (experts' neurons), dim-0 index (a string) -> the removed indices of that slice (spa_ir/core/plan.py)."""


def named_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Parameters, buffers (tied ones under every name) and plain tensor attributes, by dotted name."""
    out: dict[str, torch.Tensor] = {}
    for mod_name, mod in model.named_modules(remove_duplicate=False):
        prefix = f"{mod_name}." if mod_name else ""
        for n, p in mod._parameters.items():
            if p is not None:
                out[prefix + n] = p
        for n, b in mod._buffers.items():
            if b is not None:
                out[prefix + n] = b
    return out


def _resolve(model: torch.nn.Module, tensors: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    if name in tensors:
        return tensors[name]
    obj: Any = model
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if isinstance(obj, torch.Tensor):
        return obj
    raise SpaError(f"the plan prunes '{name}', which is no parameter, buffer or tensor attribute of the model")


def fill_value(name: str) -> float:
    """What a removed slice becomes in the masked original: 1 for BatchNorm's running variance, else 0."""
    return 1.0 if name.endswith("running_var") else 0.0


class _NegInfLogits(torch.overrides.TorchFunctionMode):
    """Linear layers reading a router weight get -inf at its removed rows' outputs (removed experts: softmax
    then normalizes over the others and top-k picks among them), as the plan's `masked_logits` says."""

    def __init__(self, rows: Mapping[int, torch.Tensor]):
        super().__init__()
        self.rows = rows

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        weight = args[1] if len(args) > 1 else (kwargs or {}).get("weight")
        if func in (torch.nn.functional.linear, torch._C._nn.linear) and id(weight) in self.rows:
            out = out.index_fill(-1, self.rows[id(weight)], float("-inf"))
        return out


@contextlib.contextmanager
def masked(
    model: torch.nn.Module,
    plan_params: PlanParams,
    plan_tensors: Mapping[str, torch.Tensor] | None = None,
    masked_logits: Mapping[str, list[int]] | None = None,
) -> Iterator[torch.nn.Module]:
    """The model with the plan's tensors written in (compensation's refitted weights, new biases, running
    statistics) and its slices zeroed (running_var set to 1), restored on exit. `masked_logits` (the plan's:
    router weight -> removed experts) makes those routers' logits -inf while the context is open."""
    mode: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if masked_logits:
        tensors = named_tensors(model)
        rows = {id(_resolve(model, tensors, w)): torch.tensor(r, dtype=torch.long) for w, r in masked_logits.items()}
        mode = _NegInfLogits(rows)
    with mode, _zeroed(model, plan_params, plan_tensors) as m:
        yield m


@contextlib.contextmanager
def _zeroed(
    model: torch.nn.Module, plan_params: PlanParams, plan_tensors: Mapping[str, torch.Tensor] | None
) -> Iterator[torch.nn.Module]:
    saved: list[tuple[torch.Tensor, int, torch.Tensor, torch.Tensor]] = []
    replaced: list[tuple[torch.Tensor, torch.Tensor]] = []
    created: list[tuple[torch.nn.Module, str]] = []
    try:
        with torch.no_grad():
            tensors = named_tensors(model)
            for name, value in (plan_tensors or {}).items():
                if name in tensors:
                    t = tensors[name]
                    replaced.append((t, t.detach().clone()))
                    t.copy_(value.to(t.dtype))
                else:
                    created.append(_create_parameter(model, name, value))
            tensors = named_tensors(model)
            for name, dims in plan_params.items():
                t = _resolve(model, tensors, name)
                for d, idx in dims.items():
                    parts = [(t[int(i)], int(d) - 1, r) for i, r in idx.items()] if isinstance(idx, dict) else []
                    for part, dim, removed in parts or [(t, int(d), idx)]:
                        index = torch.tensor(removed, dtype=torch.long)
                        saved.append((part, dim, index, part.index_select(dim, index)))
                        part.index_fill_(dim, index, fill_value(name))
        yield model
    finally:
        with torch.no_grad():
            for t, dim, index, old in reversed(saved):
                t.index_copy_(dim, index, old)
            for t, old in replaced:
                t.copy_(old)
        for module, attr in created:
            setattr(module, attr, None)


def _create_parameter(model: torch.nn.Module, name: str, value: torch.Tensor) -> tuple[torch.nn.Module, str]:
    """A parameter compensation created (a bias `<module>.bias` where the module had None)."""
    owner, _, attr = name.rpartition(".")
    module = model.get_submodule(owner) if owner else model
    if getattr(module, attr, "missing") is not None:
        raise SpaError(f"the plan creates '{name}', but the model has no empty slot of that name")
    weight = getattr(module, "weight", None)
    dtype = weight.dtype if isinstance(weight, torch.Tensor) else value.dtype
    setattr(module, attr, torch.nn.Parameter(value.detach().clone().to(dtype)))
    return module, attr


# A removed slice of a weight used at one of these (op type, input index) positions is set to 1, not 0:
# a BatchNormalization variance of 0 would normalize by 1/sqrt(eps) (as `fill_value`).
_ONE_FILLED_INPUTS = frozenset({("BatchNormalization", 4)})


def _fill_value(model: onnx.ModelProto, name: str) -> float:
    uses = {(n.op_type, i) for n in model.graph.node for i, x in enumerate(n.input) if x == name}
    return 1.0 if uses & _ONE_FILLED_INPUTS else 0.0


def masked_onnx(
    model: onnx.ModelProto, plan_params: PlanParams, plan_tensors: Mapping[str, torch.Tensor] | None = None
) -> onnx.ModelProto:
    """A copy of the ONNX `model` with the plan's tensors written in and every slice the plan lists masked.
    Weights are named as the ONNX frontend names them (`weight_values`, its one naming rule): an initializer is
    masked in place, a Constant node's output or an Identity copy of a weight is replaced by a Constant holding the
    masked value. A bias compensation created (`<node>.spa_bias`) becomes an initializer and the node's bias
    input (Conv, Gemm), or an Add after it (MatMul)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    given = {n: to_numpy(t) for n, t in (plan_tensors or {}).items()}  # in the plan's dtype: a created bias keeps it
    existing = weight_values(out)
    for name in [n for n in given if n not in existing]:
        add_bias(out, name, given[name])
    values = weight_values(out)
    masked: dict[str, np.ndarray] = {n: v.astype(values[n].dtype) for n, v in given.items()}
    for name, dims in plan_params.items():
        if name not in values:
            raise SpaError(f"the plan prunes '{name}', which is no weight of the ONNX model")
        value = masked.get(name, values[name]).copy()
        for d, idx in dims.items():
            if isinstance(idx, dict):
                raise SpaError(f"the plan removes '{name}' dim {d} per slice of dim 0, which ONNX masking does not do")
            np.put_along_axis(value, _index_along(value, int(d), idx), _fill_value(model, name), axis=int(d))
        masked[name] = value
    for init in out.graph.initializer:
        if init.name in masked:
            init.CopyFrom(numpy_helper.from_array(masked.pop(init.name), init.name))
    for node in out.graph.node:
        if node.output and node.output[0] in masked:
            name = node.output[0]
            node.CopyFrom(
                onnx.helper.make_node(
                    "Constant", [], [name], name=node.name, value=numpy_helper.from_array(masked.pop(name), name)
                )
            )
    if masked:
        raise SpaError(f"weights not found in the ONNX graph: {sorted(masked)}")
    return out


def _index_along(value: np.ndarray, dim: int, idx: list[int]) -> np.ndarray:
    """Indices for np.put_along_axis selecting `idx` along `dim` (every position of the other dims)."""
    shape = [1] * value.ndim
    shape[dim] = len(idx)
    index = np.asarray(idx, dtype=np.int64).reshape(shape)
    return np.broadcast_to(index, value.shape[:dim] + (len(idx),) + value.shape[dim + 1 :])
