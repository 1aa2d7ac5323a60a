"""PyTorch frontend: nn.Module (or a saved .pt2 ExportedProgram) -> Program.

torch.export (non-strict, then `run_decompositions({})` to functionalize while keeping ops such as
aten.conv2d / aten.linear / aten.layer_norm recognizable) -> torch-mlir's FX importer, with a hook
that turns every parameter, buffer and lifted constant into a named `spa.param` whose tensor goes to
the weight store. Op locations carry the nn.Module path (`layer1.0.conv1`).

`train=True` captures the training-mode forward (aux heads, dropout, batch statistics). torch.export writes a
training batch norm functionally, its new running statistics returned as buffer mutations, which torch-mlir's
importer cannot store (and returned values would freeze every channel): they become `aten.batch_norm`, whose
aten semantics update the running statistics in place, as nn.BatchNorm does, so the emitted module keeps them
up to date while it is trained (`running_statistics_in_place`).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import operator
import os
import re
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from spa_ir.core.dims import record_dim_names
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.ir import main_function
from spa_ir.core.program import Program
from spa_ir.core.progress import phases
from spa_ir.core.weights import WeightStore
from spa_ir.frontends import dynamic_shapes as dyn
from spa_ir.frontends.mlir_bridge import make_param_op, to_xdsl, torch_mlir_context

Inputs = Sequence[Any] | Mapping[str, Any]
"""Example inputs: forward's positional arguments, or a mapping of its keyword arguments."""

_RAISED_AT = re.compile(
    r'The following call raised this error:\s*\n\s*File "([^"]+)", line (\d+), in (\S+)\n[ \t]*(\S[^\n]*)'
)
_LIBRARY_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, contextlib) if m.__file__)
_SPA_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _raised_at(e: BaseException) -> str:
    """` at file:line in fn: code` for the model code that caused the error: the frame torch.export names,
    else the innermost traceback frame outside torch, the standard library and spa."""
    m = _RAISED_AT.search(str(e))
    if m:
        return f" at {m[1]}:{m[2]} in {m[3]}: `{m[4].strip()}`"
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if not f.filename.startswith(_LIBRARY_DIRS) and not f.filename.startswith(_SPA_DIR)
    ]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {f.filename}:{f.lineno} in {f.name}: `{(f.line or '').strip()}`"


def export_functional(
    model: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, dynamic_shapes: Any = None
) -> torch.export.ExportedProgram:
    """What `torch.export.export(model, args, strict=False).run_decompositions({})` returns (functional
    ATen IR that keeps composite ops such as aten.conv2d / linear / layer_norm / SDPA), traced once instead
    of twice: export's post-dispatch trace under the same "preserve every composite op" override that
    run_decompositions({}) installs. About half the capture time. Both use private torch.export APIs of
    the pinned torch; on a torch without them, the two public calls. tests/unit/test_capture.py checks
    that both give the same graph. `dynamic_shapes` is torch.export's."""
    try:
        from torch._functorch._aot_autograd.frontend_utils import _detect_attribute_assignment
        from torch.export._trace import _export
        from torch.export.exported_program import (
            _override_composite_implicit_decomp,
            _split_decomp_table_to_cia_and_python_decomp,
        )
    except ImportError:
        with _without_added_attributes(model):
            ep = torch.export.export(model, args, kwargs, dynamic_shapes=dynamic_shapes, strict=False)
            return ep.run_decompositions({})
    preserve_composites, _ = _split_decomp_table_to_cia_and_python_decomp({})
    # Attributes the forward assigns (caches such as LeViT's attention_bias_cache) are put back as
    # export's own trace does, so no traced tensor is left behind in the model.
    with (
        _override_composite_implicit_decomp(preserve_composites),
        _detect_attribute_assignment(model),
        _without_added_attributes(model),
    ):
        return _export(model, args, kwargs, dynamic_shapes=dynamic_shapes, strict=False, pre_dispatch=False)


@contextlib.contextmanager
def _without_added_attributes(model: torch.nn.Module) -> Iterator[None]:
    """Attributes the forward adds to a module during the trace are removed afterwards. torch puts back those the
    module had, but one shadowing a class-level default stays: YOLO's Detect caches `anchors`, `strides` and the
    input `shape` over class defaults on its first forward, and the traced anchors left behind broke the model's
    next forward (its cached shape matched, so it used them)."""
    before = {name: set(vars(m)) for name, m in model.named_modules()}
    try:
        yield
    finally:
        for name, m in model.named_modules():
            for attr in set(vars(m)) - before.get(name, set(vars(m))):
                del vars(m)[attr]


def capture(
    model: torch.nn.Module,
    example_inputs: Sequence[Any] | Mapping[str, Any],
    name: str = "model",
    *,
    train: bool = False,
    dynamic_shapes: Any = None,
) -> torch.export.ExportedProgram:
    """torch.export in eval mode (or training mode: `train`), with torch.export's `dynamic_shapes`
    (`frontends/dynamic_shapes.py`: size-1 examples of dynamic dims traced at 2, a dim the model fixes named in
    one line); a model that cannot be captured raises SpaError naming the cause."""
    if train:
        _check_train_capture(model, name)
    try:
        with _without_kv_cache(model):
            if dynamic_shapes is None:
                return _export(model, example_inputs, train)
            example_inputs = _traced_at_two(model, example_inputs, dynamic_shapes)
            return _export_refined(model, example_inputs, train, dynamic_shapes)
    except SpaError as e:  # a dim asked dynamic that the model fixes; a spec that does not fit the inputs
        raise SpaError(e.message, where=name) from None
    except Exception as e:
        why = f"{first_line(e, named=True)}{_raised_at(e)}"
        if dynamic_shapes is not None:
            fixed = _specialized(model, example_inputs, train, dynamic_shapes)
            if fixed is not None:
                raise SpaError(fixed.message, where=name) from None
        raise SpaError(f"cannot capture model with torch.export: {why}", where=name) from None


def _traced_at_two(model: torch.nn.Module, example_inputs: Inputs, spec: Any) -> Inputs:
    """The example inputs with their size-1 dynamic dims repeated to 2 (torch.export specializes 0 and 1)."""
    args, kwargs = split_inputs(model, example_inputs)
    args, kwargs = dyn.traced_inputs(args, kwargs, dyn.flat_specs(model, args, kwargs, spec))
    return kwargs if kwargs is not None else args


def _export_refined(
    model: torch.nn.Module, example_inputs: Inputs, train: bool, spec: Any
) -> torch.export.ExportedProgram:
    """_export with `spec`, refined by torch.export's suggested fixes (ranges the model imposes) where it fails."""
    args, kwargs = split_inputs(model, example_inputs)
    return dyn.export_refined(
        lambda s: _export(model, example_inputs, train, s),
        spec,
        lambda s: dyn.flat_specs(model, args, kwargs, s),
        dyn.input_labels(model, args, kwargs),
    )


def _specialized(model: torch.nn.Module, example_inputs: Inputs, train: bool, spec: Any) -> dyn.Specialized | None:
    """The dim asked dynamic that the model fixes (`dynamic_shapes.specialized`), else None."""
    args, kwargs = split_inputs(model, example_inputs)

    def again(auto: Any) -> torch.export.ExportedProgram:
        with _without_kv_cache(model):
            return _export(model, example_inputs, train, auto)

    specs = dyn.flat_specs(model, args, kwargs, spec)
    return dyn.specialized(again, spec, specs, dyn.input_labels(model, args, kwargs))


@contextlib.contextmanager
def _without_kv_cache(model: torch.nn.Module) -> Iterator[None]:
    """transformers models captured with `config.use_cache = False`, restored after: a decoder's KV cache (a
    DynamicCache among its outputs, which torch.export cannot return) is run-time state for generation, not a
    computation to prune; the applied model's generate() still uses it."""
    configs: dict[int, Any] = {}
    for m in model.modules():
        config = getattr(m, "config", None)
        if getattr(config, "use_cache", None) is True:
            configs[id(config)] = config
    try:
        for c in configs.values():
            c.use_cache = False
        yield
    finally:
        for c in configs.values():
            c.use_cache = True


def _export(
    model: torch.nn.Module, example_inputs: Inputs, train: bool, dynamic_shapes: Any = None
) -> torch.export.ExportedProgram:
    """export_functional in the mode asked for. A cache the forward fills on its first call (YOLO Detect's
    anchors) is exported as a constant without a value: one eager call fills it, as ultralytics' own exporter
    does, and the capture is repeated."""
    args, kwargs = split_inputs(model, example_inputs)
    ep = export_functional(model.train(train), args, kwargs, dynamic_shapes)
    if not train and traced_constants(ep):
        with torch.no_grad():
            model(*args, **(kwargs or {}))
        ep = export_functional(model, args, kwargs, dynamic_shapes)
    return ep


def split_inputs(
    model: torch.nn.Module, example_inputs: Sequence[Any] | Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """Example inputs as torch.export takes them: a sequence is the positional arguments, a mapping the keyword
    arguments of forward (`{"input_ids": ..., "attention_mask": ...}`), ordered as forward's signature lists them
    (the IR's inputs, hence the emitted module's positional arguments, follow that order)."""
    if not isinstance(example_inputs, Mapping):
        return tuple(example_inputs), None
    order = {name: i for i, name in enumerate(inspect.signature(model.forward).parameters)}
    names = sorted(example_inputs, key=lambda n: order.get(n, len(order)))
    return (), {n: example_inputs[n] for n in names}


def traced_constants(ep: torch.export.ExportedProgram) -> list[str]:
    """The lifted constants that are fake tensors (made inside the trace, values unknown), by name."""
    from torch._subclasses.fake_tensor import FakeTensor

    return [name for name, t in ep.constants.items() if isinstance(t, FakeTensor)]


def _check_train_capture(model: torch.nn.Module, name: str) -> None:
    """A BatchNorm with momentum=None averages over `num_batches_tracked`, a count the capture would fix at
    its value of the moment: refused rather than emitted with a momentum that is wrong from the next step."""
    for path, m in model.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.momentum is None:
            raise SpaError(
                "cannot capture a BatchNorm with momentum=None (a cumulative average over num_batches_tracked)"
                " in training mode; give it a momentum",
                where=f"{name}: {path}",
            )


def running_statistics_in_place(
    ep: torch.export.ExportedProgram, source: str
) -> tuple[torch.export.ExportedProgram, set[str]]:
    """A training-mode program's batch norms as `aten.batch_norm(..., training=True, ...)`, which updates the
    running statistics it is given in place, instead of the functional form whose new statistics the program
    returns as buffer mutations; and the names of the buffers so written. `num_batches_tracked += 1` is
    dropped: with a momentum nothing reads it (momentum=None is refused at capture). Any other buffer the
    forward writes is a located error."""
    from torch.export.graph_signature import ExportGraphSignature, OutputKind

    sig = ep.graph_signature
    mutations = {i for i, s in enumerate(sig.output_specs) if s.kind == OutputKind.BUFFER_MUTATION}
    if not mutations:
        return ep, set()
    graph = ep.graph
    buffers = {s.arg.name: s.target for s in sig.input_specs if s.target is not None}
    written: dict[str, str] = {}  # buffer target -> the node holding its new value
    for node in graph.nodes:
        if node.target is torch.ops.aten._native_batch_norm_legit_functional.default:
            written.update(_batch_norm_in_place(graph, node, buffers))
        elif node.target is torch.ops.aten.add.Tensor and _is_step_count(node, buffers):
            written[buffers[node.args[0].name]] = node.name
    output = graph.output_node()
    results = list(output.args[0])
    for i in sorted(mutations):
        spec = sig.output_specs[i]
        if written.get(str(spec.target)) != spec.arg.name:
            where = module_path(results[i]) if isinstance(results[i], torch.fx.Node) else "output"
            raise SpaError(
                f"the forward writes buffer '{spec.target}' (only batch norms' running statistics can be captured)",
                where=f"{source}: {where}",
            )
    output.args = (tuple(r for i, r in enumerate(results) if i not in mutations),)
    graph.eliminate_dead_code()
    ep.graph_module.recompile()
    kept = [s for i, s in enumerate(sig.output_specs) if i not in mutations]
    signature = ExportGraphSignature(input_specs=sig.input_specs, output_specs=kept)
    return ep._update(ep.graph_module, signature), set(written)


def _batch_norm_in_place(graph: torch.fx.Graph, bn: torch.fx.Node, buffers: dict[str, str]) -> dict[str, str]:
    """Replace one `_native_batch_norm_legit_functional` by `aten.batch_norm` on the same operands; the
    buffers whose new values it returned (running mean and variance) -> the nodes that held them."""
    x, weight, bias, mean, var, training, momentum, eps = bn.args
    written: dict[str, str] = {}
    for user in list(bn.users):
        index = user.args[1] if user.target is operator.getitem else None
        if index == 0:
            with graph.inserting_before(bn):
                new = graph.call_function(
                    torch.ops.aten.batch_norm.default, (x, weight, bias, mean, var, training, momentum, eps, True)
                )
            new.meta = {**bn.meta, "val": user.meta.get("val")}
            user.replace_all_uses_with(new)
        elif index in (3, 4):
            stat = mean if index == 3 else var
            if isinstance(stat, torch.fx.Node) and stat.name in buffers:
                written[buffers[stat.name]] = user.name
    return written


def _is_step_count(node: torch.fx.Node, buffers: dict[str, str]) -> bool:
    """`num_batches_tracked + 1` of a batch norm."""
    a = node.args[0] if node.args else None
    return isinstance(a, torch.fx.Node) and buffers.get(a.name, "").endswith("num_batches_tracked")


def module_path(node: torch.fx.Node) -> str:
    """The innermost nn.Module path of an FX node (`layer1.0.conv1`), else the node's name. torch.export's stand-in
    for nodes made outside any module (the size reads of dynamic dims: `_empty_nn_module_stack_from_metadata_hook`)
    is no path."""
    stack = node.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        if path and not str(path).startswith("_empty_nn_module_stack"):
            return str(path)
    return node.name


def import_exported(
    ep: torch.export.ExportedProgram,
    source: str = "model",
    dim_names: Sequence[Sequence[str]] = (),
    dim_max: Mapping[str, int] | None = None,
) -> Program:
    """ExportedProgram -> Program (IR with `spa.param`s + weight store); `dim_names` (per user input, per dim: the
    name of a named dynamic dim, else "") and their upper bounds `dim_max` are recorded on @main for the backends
    (`spa_ir/core/dims.py`)."""
    from torch.export.graph_signature import InputKind
    from torch_mlir import ir
    from torch_mlir.extras.fx_importer import ContextCache, FxImporter, FxImporterHooks

    ep, written = running_statistics_in_place(ep, source)
    if traced := traced_constants(ep):
        raise SpaError(
            f"constant '{traced[0]}' was computed during the trace and holds no value (a cache the forward fills on "
            "its first call, such as YOLO Detect's anchors): run the model once before capturing it",
            where=source,
        )
    tensors: dict[str, torch.Tensor] = {}
    # Lifted tensor constants (a cache the forward assigned, such as YOLO's anchors; a tensor built in the forward)
    # reach the importer as literals, which it writes as `dense_resource` blobs that the bridge cannot carry: they
    # become named `spa.param` buffers too. One-element constants stay inline `dense<..>` literals.
    constants = {id(t): name for name, t in ep.constants.items() if isinstance(t, torch.Tensor) and t.numel() != 1}

    class ExternalWeights(FxImporterHooks):
        def resolve_literal(self, gni: Any, literal: Any, info: Any) -> Any:
            name = constants.get(id(literal)) if isinstance(literal, torch.Tensor) else None
            if name is None:
                return None
            tensors[name] = literal.detach()
            return make_param_op(name, gni._cc.tensor_to_vtensor_type(literal), ir.Location.name(name), buffer=True)

        def resolve_input(self, gni: Any, value: Any, info: Any) -> Any:
            if not isinstance(value, torch.Tensor) or info.mutable_producer_node_name is not None:
                return None
            name = str(info.input_spec.target)
            # Running statistics a training capture updates are copied: the model's own buffers are not the
            # Program's, and training either one must not change the other.
            tensors[name] = value.detach().clone() if name in written else value.detach()
            is_buffer = info.input_spec.kind != InputKind.PARAMETER
            return make_param_op(name, info.ir_type, ir.Location.name(name), buffer=is_buffer)

    class ModulePathLocations(ContextCache):
        """torch-mlir locates ops by file:line; spa wants the nn.Module path (`layer1.0.conv1`)."""

        __slots__ = ()

        def get_node_location(self, node: torch.fx.Node) -> Any:
            return ir.Location.name(module_path(node), context=self._c)

    ctx = torch_mlir_context()
    importer = FxImporter(context=ctx, hooks=ExternalWeights())
    importer._cc.__class__ = ModulePathLocations
    try:
        importer.import_program(ep, func_name="main")
    except Exception as e:
        raise SpaError(f"torch-mlir FX import failed: {first_line(e, named=True)}", where=source) from None
    module = to_xdsl(importer.module, source)
    _name_function_locations(module, source)
    _record_input_names(module, [str(n) for n in ep.graph_signature.user_inputs])
    record_dim_names(main_function(module, source), dim_names, dim_max)
    return Program(module, WeightStore(tensors), source)


def _record_input_names(module: Any, names: list[str]) -> None:
    """The ExportedProgram's user-input names (`x`, `input_ids`) as `spa.input_names` on the function, so
    calibration data can be given by name (printed and parsed with the IR). Not recorded when they do not
    line up with the function's arguments."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ArrayAttr, StringAttr

    from spa_ir.calibration.store import INPUT_NAMES_ATTR

    for fn in module.ops:
        if isinstance(fn, func.FuncOp) and len(fn.body.block.args) == len(names):
            fn.attributes[INPUT_NAMES_ATTR] = ArrayAttr([StringAttr(n) for n in names])


def _name_function_locations(module: Any, source: str) -> None:
    """torch-mlir gives the function and its return the first node's location (the first weight's
    name); spa names them after the model and `output`, so errors point at the right place."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import NameLoc, NoneAttr, StringAttr

    for fn in module.ops:
        if isinstance(fn, func.FuncOp):
            fn.location = NameLoc(StringAttr(source), NoneAttr())
            ret = fn.body.block.last_op
            if isinstance(ret, func.ReturnOp):
                ret.location = NameLoc(StringAttr("output"), NoneAttr())


def random_input(shape: Sequence[int], dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    """An example input to trace with: standard normal for float dtypes, 0 or 1 otherwise (valid as an
    index, a token id or a mask whatever the model's sizes)."""
    if dtype.is_floating_point:
        return torch.randn(list(shape), generator=generator).to(dtype)
    return torch.randint(0, 2, list(shape), generator=generator).to(dtype)


def import_module(
    model: torch.nn.Module,
    example_inputs: Sequence[Any] | Mapping[str, Any],
    name: str = "model",
    *,
    train: bool = False,
    dynamic_shapes: Any = None,
) -> Program:
    """The model captured in eval mode, or in training mode (`train`: aux heads, batch statistics, dropout), its
    inputs' dims dynamic as torch.export's `dynamic_shapes` says (the named Dims' names recorded in the IR)."""
    with phases("capture", ("torch.export", "torch-mlir import")) as step:
        step()
        ep = capture(model, example_inputs, name, train=train, dynamic_shapes=dynamic_shapes)
        step()
        return import_exported(ep, name, *_dim_names(model, example_inputs, ep, dynamic_shapes))


def _dim_names(
    model: torch.nn.Module, example_inputs: Inputs, ep: torch.export.ExportedProgram, spec: Any
) -> tuple[list[list[str]], dict[str, int]]:
    """The named dynamic dims per input and dim, and their upper bounds (`dynamic_shapes.dim_names`)."""
    if spec is None:
        return [], {}
    args, kwargs = split_inputs(model, example_inputs)
    return dyn.dim_names(ep, dyn.flat_specs(model, args, kwargs, spec))


def import_pt2(path: str | os.PathLike[str]) -> Program:
    p = Path(path)
    if not p.exists():
        raise SpaError("file not found", where=str(p))
    try:
        ep = torch.export.load(str(p))
    except Exception as e:
        raise SpaError(f"not a loadable .pt2 ExportedProgram: {first_line(e, named=True)}", where=str(p)) from None
    return import_exported(ep.run_decompositions({}), str(p))


def build_model(spec: str, seed: int = 0) -> torch.nn.Module:
    """`package.module:callable` -> the model it builds, with random weights fixed by `seed`."""
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise SpaError(f"expected MODULE:CALLABLE (e.g. torchvision.models:resnet18), got '{spec}'")
    try:
        factory: Callable[[], torch.nn.Module] = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as e:
        raise SpaError(f"cannot find '{spec}': {first_line(e, named=True)}") from None
    torch.manual_seed(seed)
    try:
        model = factory()
    except Exception as e:
        raise SpaError(f"building '{spec}' failed: {first_line(e, named=True)}") from None
    if not isinstance(model, torch.nn.Module):
        raise SpaError(f"'{spec}' returned {type(model).__name__}, not a torch.nn.Module")
    return model.eval()
