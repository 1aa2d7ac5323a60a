"""spa's IR in torch-mlir's compiler stack.

- `to_module` / `to_text`: the torch-dialect module torch-mlir's own pipelines take. spa's IR keeps the core aten
  ops torch.export writes; the ones torch-mlir has no named op for (generic `torch.operator`s) are rewritten by their
  op family's `OpSpec.legalize` (spa_ir/ops: `_native_batch_norm_legit_no_training` as `aten.batch_norm` with
  training=false), on a copy; weights are inlined as `dense_resource` literals, as torch-mlir's FX importer does.
- `lower`: through `torchdynamo-export-to-torch-backend-pipeline` to linalg-on-tensors, TOSA or StableHLO
  (torch-mlir's `torch-backend-to-*-backend-pipeline`s), with torch-mlir's PassManager.
- `compile_linalg`: the linalg form bufferized and lowered to LLVM, run by torch-mlir's ExecutionEngine on numpy
  arrays (`Compiled`; the memref glue is `spa_ir/backends/memref.py`).
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from spa_ir.backends import memref
from spa_ir.backends.memref import MemrefType
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.ir import main_function, params
from spa_ir.core.parsing import print_module
from spa_ir.core.program import Program

TARGETS: dict[str, str] = {
    "linalg": "torch-backend-to-linalg-on-tensors-backend-pipeline",
    "tosa": "torch-backend-to-tosa-backend-pipeline",
    "stablehlo": "torch-backend-to-stablehlo-backend-pipeline",
}
"""`lower`'s targets: torch-mlir's pipeline from its backend contract (torch dialect, value semantics) to each."""

TORCH_BACKEND = "func.func(torch-match-quantized-custom-ops),torchdynamo-export-to-torch-backend-pipeline"
"""What torch-mlir runs on FX-imported IR first (torch_mlir.fx.export_and_import): decompositions, shapes, dtypes."""

TO_LLVM = (
    "func.func(refback-generalize-tensor-pad)",
    "func.func(refback-generalize-tensor-concat)",
    "func.func(tm-tensor-bufferize)",
    "one-shot-bufferize{copy-before-write bufferize-function-boundaries"
    " function-boundary-type-conversion=identity-layout-map}",
    "refback-mlprogram-bufferize",
    "buffer-deallocation-pipeline",
    "convert-bufferization-to-memref",
    "func.func(tm-tensor-to-loops)",
    "func.func(refback-munge-memref-copy)",
    "func.func(convert-linalg-to-loops)",
    "func.func(lower-affine)",
    "convert-scf-to-cf",
    "func.func(refback-expand-ops-for-llvm)",
    "func.func(arith-expand)",
    "func.func(convert-math-to-llvm)",
    "convert-math-to-libm",
    "expand-strided-metadata",
    "finalize-memref-to-llvm",
    "lower-affine",
    "func.func(convert-arith-to-llvm)",
    "convert-func-to-llvm",
    "convert-cf-to-llvm",
    "reconcile-unrealized-casts",
)
"""linalg-on-tensors -> LLVM for the ExecutionEngine (torch-mlir's RefBackend pipeline, less its sparse-tensor and
calling-convention passes): results stay returned memrefs, owned by the caller (buffer deallocation's contract), so
dynamic result shapes work; `memref.py` reads and frees them."""


class _Legalize(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        from spa_ir.ops.registry import spec_of

        spec = spec_of(op)
        if spec is not None and spec.legalize is not None:
            spec.legalize(op, rewriter)


def legalize(module: ModuleOp) -> ModuleOp:
    """A copy of `module` whose ops torch-mlir has no named op for are rewritten into ones it has (`OpSpec.legalize`
    of their families)."""
    copy = module.clone()
    PatternRewriteWalker(_Legalize(), apply_recursively=False).rewrite_module(copy)
    return copy


WEIGHTS = ("inline", "ops", "arguments")
"""How `to_module` gives torch-mlir the weights: `dense_resource` literals (torch-mlir's FX importer's form), generic
`"spa.param"` ops (parse with --allow-unregistered-dialect; nothing lowers them), or trailing arguments of the main
function in `weight_names` order (no constants for LLVM to translate: a pruned resnet18 at 64x64 compiles and first
runs in ~3 s at -O0 instead of ~13 s inline)."""


def to_module(program: Program, *, weights: str = "inline") -> Any:
    """The program as a torch_mlir.ir.Module in a fresh torch-mlir context: legalized, locations kept (the
    frontends' nn.Module paths), weights as `weights` says (WEIGHTS)."""
    from torch_mlir import ir

    from spa_ir.frontends.mlir_bridge import torch_mlir_context

    if weights not in WEIGHTS:
        raise SpaError(f"unknown weights form '{weights}' (expected one of: {', '.join(WEIGHTS)})")
    module = legalize(program.module)
    if weights == "arguments":
        _params_as_arguments(module, program.source)
    ctx = torch_mlir_context()
    try:
        tm_module = ir.Module.parse(print_module(module, debuginfo=True, generic=True), ctx)
    except Exception as e:
        raise SpaError(f"torch-mlir rejected the IR: {first_line(e)}", where=program.source) from None
    if weights == "inline":
        _inline_params(tm_module, program)
    return tm_module


def weight_names(program: Program) -> list[str]:
    """The weights in the order `to_module(weights="arguments")` appends them to the main function's arguments."""
    return [p.weight_name for p in params(program.module)]


def _params_as_arguments(module: ModuleOp, where: str | None) -> None:
    main = main_function(module, where)
    block = main.body.block
    for p in list(params(module)):
        p.result.replace_all_uses_with(block.insert_arg(p.result.type, len(block.args)))
        p.detach()
        p.erase()
    main.function_type = FunctionType.from_lists([a.type for a in block.args], list(main.function_type.outputs))


def to_text(program: Program, *, inline_weights: bool = True, debuginfo: bool = False) -> str:
    """`to_module` as torch-mlir prints it (what `spa-translate --export-torch-mlir` writes)."""
    module = to_module(program, weights="inline" if inline_weights else "ops")
    return module.operation.get_asm(enable_debug_info=debuginfo) + "\n"


def lowered(source: Program | str, target: str = "linalg", *, weights: str = "inline") -> Any:
    """The program (weights as `weights` says) or torch-dialect text (as `to_text` writes it) lowered to `target`
    (a key of TARGETS), as a torch_mlir.ir.Module; a pipeline failure is one line naming the op and its location."""
    from torch_mlir import ir

    from spa_ir.frontends.mlir_bridge import torch_mlir_context

    if target not in TARGETS:
        raise SpaError(f"unknown lowering target '{target}' (expected one of: {', '.join(TARGETS)})")
    if isinstance(source, Program):
        module, where = to_module(source, weights=weights), source.source
    else:
        where = "<torch-mlir text>"
        try:
            module = ir.Module.parse(source, torch_mlir_context())
        except ir.MLIRError as e:
            raise _pipeline_error(e, "parsing", where) from None
    _run(module, f"builtin.module({TORCH_BACKEND},{TARGETS[target]})", target, where)
    return module


def lower(source: Program | str, target: str = "linalg", *, weights: str = "inline", debuginfo: bool = False) -> str:
    """`lowered` as text: linalg-on-tensors, TOSA or StableHLO, no torch ops left."""
    return lowered(source, target, weights=weights).operation.get_asm(enable_debug_info=debuginfo) + "\n"


@dataclass(frozen=True)
class Compiled:
    """A function compiled by torch-mlir's ExecutionEngine, called on numpy arrays: `compiled(x, ...)` -> its
    results. `bound`: the arrays passed after the caller's inputs on every call (the weights, when they are
    arguments)."""

    engine: Any
    name: str
    args: tuple[MemrefType, ...]
    results: tuple[MemrefType, ...]
    bound: tuple[np.ndarray, ...]
    where: str

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        want = len(self.args) - len(self.bound)
        if len(inputs) != want:
            raise SpaError(f"'{self.name}' takes {want} inputs, got {len(inputs)}", where=self.where)
        arrays = [np.ascontiguousarray(x, dtype=t[1]) for x, t in zip(inputs, self.args, strict=False)]
        for i, (x, (rank, _)) in enumerate(zip(arrays, self.args, strict=False)):
            if x.ndim != rank:
                raise SpaError(f"input {i} of '{self.name}' has rank {x.ndim}, expected {rank}", where=self.where)
        out = memref.results_struct(self.results)
        pointers = [ctypes.pointer(ctypes.pointer(out))] if self.results else []
        self.engine.invoke(self.name, *pointers, *[memref.argument(x) for x in [*arrays, *self.bound]])
        descriptors = [getattr(out, f"r{i}") for i in range(len(self.results))]
        outputs = [memref.take(d, t) for d, t in zip(descriptors, self.results, strict=True)]
        memref.free(descriptors)
        return outputs


def compile_linalg(source: Program | str, *, weights: str = "arguments", opt_level: int = 0) -> Compiled:
    """The program (or torch-dialect text) lowered to linalg-on-tensors, then to LLVM (TO_LLVM), in an
    ExecutionEngine: its main function runs on numpy arrays. A program's weights are arguments bound to the
    store's tensors (`weights="inline"` compiles them in as constants, which LLVM translates slowly). A reference
    runner, not a fast one: loops, at LLVM -O`opt_level` (0: pruned resnet18 at 64x64 compiles in ~3 s and runs in
    0.2 s; 2: ~20 s and 0.05 s)."""
    from torch_mlir import ir
    from torch_mlir.execution_engine import ExecutionEngine

    module = lowered(source, "linalg", weights=weights)
    where = source.source if isinstance(source, Program) else "<torch-mlir text>"
    bound: tuple[np.ndarray, ...] = ()
    if isinstance(source, Program) and weights == "arguments":
        bound = tuple(_array(source.weight(name)) for name in weight_names(source))
    main = _main_function(module, where)
    signature = ir.FunctionType(ir.TypeAttr(main.attributes["function_type"]).value)
    try:
        args = tuple(memref.memref_type(str(t)) for t in signature.inputs)
        results = tuple(memref.memref_type(str(t)) for t in signature.results)
    except ValueError as e:
        raise SpaError(f"cannot call the compiled function from numpy: {e}", where=where) from None
    name = ir.StringAttr(main.attributes["sym_name"]).value
    with module.context:
        main.attributes["llvm.emit_c_interface"] = ir.UnitAttr.get()
    del main  # the pipeline replaces the function: its handle would dangle
    _run(module, f"builtin.module({','.join(TO_LLVM)})", "LLVM", where)
    bound = tuple(np.ascontiguousarray(a, dtype=t[1]) for a, t in zip(bound, args[len(args) - len(bound) :]))
    return Compiled(ExecutionEngine(module, opt_level=opt_level), name, args, results, bound, where)


def _array(tensor: Any) -> np.ndarray:
    """A weight as numpy (bfloat16 has no numpy dtype: as float32)."""
    import torch

    t = tensor.detach().cpu().contiguous()
    return np.asarray((t.float() if t.dtype == torch.bfloat16 else t).numpy())


def _main_function(module: Any, where: str) -> Any:
    """The public function to call: `main` (spa's), else the module's only public one."""
    from torch_mlir import ir

    funcs = [op.operation for op in module.body.operations if op.operation.name == "func.func"]
    public = [f for f in funcs if "sym_visibility" not in f.attributes]
    named = [f for f in public if ir.StringAttr(f.attributes["sym_name"]).value == "main"]
    if named or len(public) == 1:
        return (named or public)[0]
    raise SpaError(f"no function 'main' among {len(public)} public functions to compile", where=where)


def _run(module: Any, pipeline: str, what: str, where: str) -> None:
    from torch_mlir import ir
    from torch_mlir.passmanager import PassManager

    with module.context:
        try:
            PassManager.parse(pipeline).run(module.operation)
        except ir.MLIRError as e:
            raise _pipeline_error(e, what, where) from None


_OPERATOR = re.compile(r'"torch\.operator"\(.*?name = "([^"]+)"')
_PROPERTIES = re.compile(r"<\{(.{1,80}?)\}>")


def _pipeline_error(e: Any, what: str, where: str) -> SpaError:
    """torch-mlir's diagnostics as one line: the first error, without the op dump, at the op's location."""
    diagnostics = list(getattr(e, "error_diagnostics", ()))
    if not diagnostics:
        return SpaError(f"torch-mlir's {what} lowering failed: {first_line(e)}", where=where)
    diag = diagnostics[0]
    message = diag.message.splitlines()[0]
    if m := _OPERATOR.search(message):
        message = f"torch-mlir has no lowering for torch.operator '{m.group(1)}'"
    else:
        head, _, dump = message.partition(": %")
        message = head.split(': "', 1)[0]
        if m := _PROPERTIES.search(dump):  # a short attribute says which (the literal `dense<true> : tensor<i1>`)
            message += f" {{{m.group(1)}}}"
    loc = str(diag.location)
    loc = loc[4:-1].strip('"') if loc.startswith("loc(") else loc
    return SpaError(f"{message} (torch-mlir, {what})", where=f"{where}: {loc}" if loc and loc != "unknown" else where)


def _inline_params(module: Any, program: Program) -> None:
    """Replace every `spa.param` by `torch.vtensor.literal(dense_resource<name>)` holding its tensor
    (what torch-mlir's own importer emits for inlined weights)."""
    import numpy as np
    import torch
    from torch_mlir import ir
    from torch_mlir.extras.fx_importer import TORCH_DTYPE_TO_NPY_TYPE, create_mlir_tensor_type

    by_name = {p.weight_name: p for p in params(program.module)}
    with module.context, ir.Location.unknown():
        for tm_op in [op for op in _walk(module.operation) if op.name == "spa.param"]:
            name = ir.StringAttr(tm_op.attributes["name"]).value
            tensor = program.tensor(by_name[name]).detach().contiguous()
            array = np.ascontiguousarray(tensor.numpy() if tensor.dtype != torch.bfloat16 else tensor.float().numpy())
            array = array.astype(TORCH_DTYPE_TO_NPY_TYPE[tensor.dtype], copy=False)
            value = ir.DenseResourceElementsAttr.get_from_buffer(array, name, create_mlir_tensor_type(tensor))
            with ir.InsertionPoint(tm_op):
                literal = ir.Operation.create(
                    "torch.vtensor.literal", results=[tm_op.results[0].type], attributes={"value": value}
                )
            tm_op.results[0].replace_all_uses_with(literal.results[0])
            tm_op.erase()


def _walk(op: Any) -> list[Any]:
    out: list[Any] = []
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                out.append(child.operation)
                out.extend(_walk(child.operation))
    return out
