"""ONNX frontend: an `.onnx` file -> a Program whose IR is torch-mlir's `torch` dialect, weights as `spa.param`s.

Steps, in `import_onnx_to_mlir`, one module each:

1. load (with external data), name unnamed nodes (`load`: every op and every error gets a NameLoc), upgrade
   an opset older than torch-mlir's conversions need to `load.MIN_OPSET` (onnx's version converter);
2. lift the weights out of the graph (`weights.lift_weights`): float initializers, float tensors held in
   `Constant` nodes (TF/Keras/Paddle exports) and `Identity` copies of either (the torch exporter
   deduplicates equal initializers, e.g. all-ones BatchNorm scales, into `Identity` nodes) become
   extra graph inputs; their values come from `onnx.numpy_helper`;
3. check the (now weightless, small) model, fold constant shape arithmetic, infer shapes; then,
   while it folds something, fold reads of static dims (`Shape`/`Size`, and Gather/Slice/Concat of
   them) and the arithmetic that becomes constant, and pin Reshape targets that read a dynamic batch
   to constants (`shape_folding`), inferring shapes again; drop dead nodes; hide Loop / Scan / If behind
   opaque `spa_onnx.*` nodes reading what their bodies read (`control_flow`: their channels stay frozen);
4. import with torch-mlir's ONNX importer (`torch.operator "onnx.*"` ops), replace LSTM / GRU / RNN by PyTorch's
   recurrent ops and ONNX glue on their weights (`recurrent`: the conversion would make them `torch.prim.Loop`s),
   and run `convert-torch-onnx-to-torch,canonicalize` (`convert`; not the backend pipeline: it decomposes BatchNorm);
5. fold `torch.prim.tolist` of literal tensors into `torch.prim.ListConstruct` of constants
   (`fixups.fold_literal_tolist`: the conversion of `Split` with a sizes tensor emits it, and spa's dialect
   has no `prim.tolist`: its results are variadic);
6. replace each lifted input by a `"spa.param"() {name = ...}` op and drop it from the signature
   (`fixups.args_to_params`).

`import_onnx` then moves the module to xDSL and the weights to a WeightStore. Lifting weights to inputs,
rather than rewriting literals afterwards, keeps weight blobs out of the IR, keeps checking and shape
inference fast (and under protobuf's 2 GB limit), and stops canonicalization from merging weights that
happen to hold equal values.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import torch
from torch_mlir import ir

from spa_ir.core.program import Program
from spa_ir.core.progress import phases
from spa_ir.core.weights import WeightStore
from spa_ir.frontends.mlir_bridge import to_xdsl
from spa_ir.frontends.onnx.control_flow import hide_control_flow
from spa_ir.frontends.onnx.convert import main_func, to_torch
from spa_ir.frontends.onnx.fixups import args_to_params, fold_literal_tolist, verify_module
from spa_ir.frontends.onnx.load import (
    check_model,
    load_onnx_model,
    name_unnamed_nodes,
    record_onnx_source,
    upgrade_opset,
)
from spa_ir.frontends.onnx.shape_folding import fold_shapes
from spa_ir.frontends.onnx.weights import lift_weights, weight_values

__all__ = ["import_onnx", "import_onnx_to_mlir", "prepare_model", "prepare_onnx_model", "weight_values"]


def import_onnx(path: str | os.PathLike[str]) -> Program:
    """Import an ONNX file as a Program (IR with `spa.param`s named as `weight_values` names them, and
    their tensors). Dynamic dimensions stay dynamic (`?`). Raises SpaError (naming the file, and the node
    where there is one) when the file is missing or invalid, or when an op has no conversion to the torch
    dialect."""
    tm_module, arrays = import_onnx_to_mlir(path)
    module = to_xdsl(tm_module, str(path))
    record_onnx_source(module, Path(path))
    program = Program(module, WeightStore({name: _tensor(a) for name, a in arrays.items()}), str(path))
    program.check_weights()
    return program


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A weight as a torch tensor of its own dtype: bfloat16 (ml_dtypes', which torch.from_numpy does not take) by
    its bits."""
    if array.dtype.name == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(array).view(np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def import_onnx_to_mlir(path: str | os.PathLike[str]) -> tuple[ir.Module, dict[str, np.ndarray]]:
    """Steps 1-6: the file as a torch-mlir `torch` dialect module plus its weights, keyed by `spa.param`
    name (what `import_onnx` builds its Program from; tests read the torch-mlir module directly)."""
    path = Path(path)
    with phases("ONNX import", ("load and fold shapes", "to torch-mlir", "fix up")) as step:
        step()
        model, weights = prepare_onnx_model(path)
        step()
        module, arg_names = to_torch(model, path)
        step()
        fold_literal_tolist(module)
        args_to_params(main_func(module), arg_names, weights)
        verify_module(module, path)
    return module, weights


def prepare_onnx_model(path: str | os.PathLike[str]) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Steps 1-3, the ONNX-level half of the import: the model with weights as extra inputs, shapes inferred.

    The result is still a runnable ONNX model (feed the weights as inputs), which makes the
    rewrites testable against the original with onnxruntime.
    """
    path = Path(path)
    return prepare_model(load_onnx_model(path), path)


def prepare_model(model: onnx.ModelProto, path: Path) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Steps 1-3 on a loaded model (changed in place; `path` names it in errors)."""
    name_unnamed_nodes(model.graph)
    model = upgrade_opset(model, path)
    weights = lift_weights(model, path)
    check_model(model, path)
    model = fold_shapes(model, path)
    hide_control_flow(model)
    return model, weights
