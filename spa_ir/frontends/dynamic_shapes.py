"""Dynamic dims at capture: torch.export's `dynamic_shapes` as users give it, read per input tensor.

The spec is torch.export's own format (a tuple per positional argument or a dict by argument name; per tensor a
dict `{axis: Dim}` or a list per axis; `Dim("batch")`, `Dim.AUTO`, `Dim.DYNAMIC`) and goes to torch.export as
given. What spa adds around it:
- `traced_inputs`: an example of size 1 on a dim asked dynamic is traced at 2 (its entries repeated): torch.export
  specializes sizes 0 and 1, so `--input-shape 1,3,24,24 --dynamic-batch` would otherwise fail;
- `export_refined`: a capture that fails on a range the model imposes (BERT's sequence at most its position
  table's length) is repeated with torch.export's own suggested fixes (`refine_dynamic_shapes_from_suggested_fixes`);
  a fix that makes a dim asked dynamic static is refused (`Specialized`);
- `dim_names`: the names of the named Dims, per input and dim, recorded in the IR (`spa_ir/core/dims.py`);
- `specialized`: when the capture fails otherwise, which dim asked dynamic the model fixes (a channel dim, which
  reaches a weight, or a size the forward hard-codes), found by capturing again with `Dim.AUTO` there;
  `Specialized` says it in one line naming the input and the axis instead of torch's constraint report;
- `named_dims`: the command line's `INPUT:AXIS=NAME` triples as such a spec (one shared `Dim` per name).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch.export import Dim

from spa_ir.core.errors import SpaError

Spec = Any
"""torch.export's `dynamic_shapes`."""


def _dim_types() -> tuple[type, type]:
    from torch.export.dynamic_shapes import _DerivedDim, _DimHint

    return _DerivedDim, _DimHint


def _asked(d: Any) -> bool:
    """Whether one axis' entry asks for a dynamic dim (a Dim, Dim.AUTO or Dim.DYNAMIC; not an int, None, STATIC)."""
    _, hint = _dim_types()
    if isinstance(d, hint):
        return d != Dim.STATIC
    return isinstance(d, Dim)


def _entries(leaf: Any) -> dict[int, Any]:
    """One tensor's spec as axis -> entry."""
    items = leaf.items() if isinstance(leaf, dict) else enumerate(leaf) if isinstance(leaf, (list, tuple)) else ()
    return {int(a): d for a, d in items}


def asked(axes: dict[int, Any]) -> dict[int, Any]:
    """The axes asked dynamic of one tensor's entries."""
    return {a: d for a, d in axes.items() if _asked(d)}


class Specialized(SpaError):
    """A dim asked dynamic that the traced code fixes to one size."""

    def __init__(self, label: str, axis: int, size: int, who: str = "the model"):
        super().__init__(
            f"input {label} axis {axis} cannot be dynamic: {who} fixes it to {size} (a channel dim, which reaches a"
            " weight, or a size the forward hard-codes); channel dims stay static"
        )


Kwargs = dict[str, Any] | None


def flat_specs(model: torch.nn.Module, args: tuple[Any, ...], kwargs: Kwargs, spec: Spec) -> list[dict[int, Any]]:
    """The spec of each input tensor (in the order torch.export numbers user inputs): axis -> entry (`asked` picks
    the dynamic ones). torch.export's own reading of the format (its private helpers, as the export pairs them)."""
    from torch.export.dynamic_shapes import _combine_args, _tree_map_with_path

    combined: Any = _combine_args(model, args, kwargs)
    if isinstance(spec, (tuple, list)):
        combined = type(spec)(combined.values())
    leaves: list[Any] = []
    try:
        _tree_map_with_path(lambda _path, _t, leaf: leaves.append(leaf), combined, spec, tree_name="inputs")
    except Exception as e:
        raise SpaError(f"dynamic_shapes does not match the example inputs: {str(e).strip().splitlines()[0]}") from None
    return [_entries(leaf) for leaf in leaves]


def input_labels(model: torch.nn.Module, args: tuple[Any, ...], kwargs: Kwargs) -> list[str]:
    """`0 ('x')`, `1 ('args[1]')`: each input tensor by its position and its path in the forward's arguments."""
    from torch.export.dynamic_shapes import _combine_args

    paths = [p for p, _ in pytree.tree_flatten_with_path(_combine_args(model, args, kwargs))[0]]
    return [f"{i} ('{_path_name(p)}')" for i, p in enumerate(paths)]


def _path_name(path: Sequence[Any]) -> str:
    text = ""
    for k in path:
        key = getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))
        text += str(key) if not text else f"[{key!r}]" if isinstance(key, str) else f"[{key}]"
    return text


def traced_inputs(args: tuple[Any, ...], kwargs: Kwargs, specs: list[dict[int, Any]]) -> tuple[tuple[Any, ...], Kwargs]:
    """`args` and `kwargs` with every size-1 dim asked dynamic repeated to 2 (not derived Dims, whose size follows
    another's). `kwargs` in forward's order (`torch.split_inputs`), so the leaves are in the order of `specs`."""
    derived, _ = _dim_types()
    leaves, tree = pytree.tree_flatten((args, kwargs))
    tensors = [i for i, t in enumerate(leaves) if isinstance(t, torch.Tensor)]
    if len(tensors) != len(specs):
        return args, kwargs
    for i, entries in zip(tensors, specs):
        t, axes = leaves[i], asked(entries)
        reps = [2 if a in axes and t.shape[a] == 1 and not isinstance(axes[a], derived) else 1 for a in range(t.dim())]
        if any(r > 1 for r in reps):
            leaves[i] = t.repeat(reps)
    widened_args, widened_kwargs = pytree.tree_unflatten(leaves, tree)
    return tuple(widened_args), widened_kwargs


def _symbol(d: Any) -> str | None:
    """A dim's symbol (`s77`, `2*s77`), None for a static one (an int, or a SymInt the trace fixed to a number)."""
    if isinstance(d, torch.SymInt) and not d.node.expr.is_number:
        return str(d.node.expr)
    return None


def _user_input_shapes(ep: torch.export.ExportedProgram) -> list[tuple[Any, ...] | None]:
    """The shape (ints and SymInts) of each user input of `ep`, None for non-tensors."""
    by_name = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    out: list[tuple[Any, ...] | None] = []
    for name in ep.graph_signature.user_inputs:
        val = by_name[str(name)].meta.get("val")
        out.append(tuple(val.shape) if isinstance(val, torch.Tensor) else None)
    return out


def dim_names(ep: torch.export.ExportedProgram, specs: list[dict[int, Any]]) -> tuple[list[list[str]], dict[str, int]]:
    """Per user input of `ep`, per dim: the name of the named Dim it was given (or that its symbol was given
    elsewhere: tied dims), "" otherwise; and the named dims' finite upper bounds in `ep` (its range constraints)."""
    from torch.utils._sympy.numbers import int_oo

    derived, hint = _dim_types()
    shapes = [s for s in _user_input_shapes(ep) if s is not None]
    if len(shapes) != len(specs):
        return [], {}
    by_symbol: dict[str, str] = {}
    for shape, entries in zip(shapes, specs):
        for a, d in asked(entries).items():
            symbol = _symbol(shape[a])
            if not isinstance(d, (hint, derived)) and symbol is not None:
                by_symbol.setdefault(symbol, d.__name__)
    names = [[by_symbol.get(_symbol(d) or "", "") for d in s] for s in shapes]
    maxima = {
        by_symbol[str(sym)]: int(vr.upper)
        for sym, vr in ep.range_constraints.items()
        if str(sym) in by_symbol and vr.upper != int_oo
    }
    return names, maxima


MAX_REFINEMENTS = 3
"""Captures repeated with torch.export's suggested fixes before its error stands."""


def export_refined(
    export: Callable[[Spec], torch.export.ExportedProgram],
    spec: Spec,
    per_tensor: Callable[[Spec], list[dict[int, Any]]],
    labels: list[str],
    who: str = "the model",
) -> torch.export.ExportedProgram:
    """`export(spec)`; when torch.export fails suggesting fixes (a range the code imposes: `seq = Dim('seq',
    max=32)`), again with the spec refined by them, as torch.export documents. A fix that makes a dim asked dynamic
    a constant raises `Specialized` (`per_tensor` reads a spec per input tensor, named by `labels`)."""
    from torch._dynamo.exc import UserError
    from torch.export.dynamic_shapes import refine_dynamic_shapes_from_suggested_fixes

    for _ in range(MAX_REFINEMENTS):
        try:
            return export(spec)
        except UserError as e:
            if "Suggested fixes:" not in str(e.msg):
                raise
            refined = refine_dynamic_shapes_from_suggested_fixes(e.msg, spec)
        for label, before, after in zip(labels, per_tensor(spec), per_tensor(refined)):
            for a in sorted(set(asked(before)) - set(asked(after))):
                raise Specialized(label, a, int(after[a]), who)
        spec = refined
    return export(spec)


def specialized(
    capture: Callable[[Spec], torch.export.ExportedProgram],
    spec: Spec,
    specs: list[dict[int, Any]],
    labels: list[str],
) -> Specialized | None:
    """Why a capture asked for dynamic dims failed, when the model fixes one of them: captured again with Dim.AUTO
    on those dims (torch.export then specializes instead of failing), the first asked dim that came out static.
    None when that capture fails too or fixes none (the failure is about something else)."""

    def auto(d: Any) -> Any:
        return Dim.AUTO if _asked(d) else d

    try:
        ep = capture(pytree.tree_map(auto, spec, is_leaf=lambda d: _asked(d) or d is None))
    except Exception:
        return None
    shapes = [s for s in _user_input_shapes(ep) if s is not None]
    for shape, entries, label in zip(shapes, specs, labels):
        for a in sorted(asked(entries)):
            if _symbol(shape[a]) is None:
                return Specialized(label, a, int(shape[a]))
    return None


def named_dims(
    model: torch.nn.Module, inputs: Sequence[torch.Tensor], axes: Sequence[tuple[str, int, str]], *, batch: bool
) -> tuple[dict[int, Any], ...]:
    """The command line's dynamic dims as torch.export's spec (one dict per input, one `Dim` per name, shared):
    `batch` makes dim 0 of every input `Dim("batch")`; each `(INPUT, AXIS, NAME)` names one axis, INPUT an index or
    a parameter name of the forward. An axis named twice differently, or out of range, is an error."""
    params = [
        n
        for n, p in inspect.signature(model.forward).parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    named: list[dict[int, str]] = [{0: "batch"} if batch else {} for _ in inputs]
    for which, axis, name in axes:
        i = _input_index(which, params, len(inputs))
        rank = inputs[i].dim()
        if not -rank <= axis < rank:
            raise SpaError(f"--dynamic {which}:{axis}={name}: input {i} has {rank} dims")
        a = axis % rank
        if named[i].get(a, name) != name:
            raise SpaError(f"--dynamic {which}:{axis}={name}: axis {a} of input {i} is already named '{named[i][a]}'")
        named[i][a] = name
    dims: dict[str, Any] = {}
    return tuple({a: dims.setdefault(n, Dim(n)) for a, n in sorted(d.items())} for d in named)


def _input_index(which: str, params: list[str], count: int) -> int:
    if which.lstrip("-").isdigit():
        i = int(which)
        if not 0 <= i < count:
            raise SpaError(f"--dynamic: input {i} does not exist (the model has {count} inputs)")
        return i
    if which in params[:count]:
        return params.index(which)
    known = ", ".join(params[:count]) or "none: give an index"
    raise SpaError(f"--dynamic: the forward has no input '{which}' (its inputs: {known})")
