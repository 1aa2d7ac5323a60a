"""Generate `dialects/torch.py`: torch-mlir's torch dialect ops as xDSL op definitions.

Usage: python tools/gen_torch_dialect.py -o dialects/torch.py

Source of truth is torch-mlir itself (its op bindings `torch_mlir.dialects._torch_ops_gen`
and its verifier), so the output matches the installed torch-mlir:

1. every OpView class gives an op name, its operand and result names (in order), and
   whether it has attributes, regions or variadic operands/results;
2. ops whose text torch-mlir prints in its default op format
   (`%r = torch.aten.x %a, %b : !ta, !tb -> !tr`, checked by building each op in
   torch-mlir and printing it) become one xDSL class each, with that syntax as a declarative
   assembly format (`LAZY_ASSEMBLY_FORMAT`, see `DefaultFormatOp` in torch_base);
3. operand and result types come from the matching PyTorch schema (JIT operator
   registry: `aten::conv2d`, `prim::NumToTensor.Scalar`, ...), mapped to torch types
   (`Tensor` -> tensor, `int[]` -> list<int>, `Scalar` -> int|float|bool|number, ...);
4. each operand/result is then probed with a set of sample types against torch-mlir's
   verifier: a type torch-mlir accepts but the schema mapping rejects widens the
   constraint, so xDSL never rejects IR that torch-mlir accepts (for those samples).

Ops that are written by hand in `dialects/torch_base.py` and ops that need attributes,
regions or variadic operands are skipped and listed in the generated file's header.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------
# Constraint atoms. A constraint is a set of atoms, each a Python expression over the
# names exported by dialects/torch_base.py; the union is their `|`.
# ---------------------------------------------------------------------------------------

Constraint = frozenset[str]
ANY: Constraint = frozenset({"ANY"})
SCALAR_ATOMS = frozenset({"INT", "FLOAT", "BOOL", "NUMBER"})
OPTIONAL_ATOMS = frozenset({"OPTIONAL", "NONE"})

# Leaf schema types (torch._C type class name -> atoms).
_SCHEMA_LEAVES: dict[str, Constraint] = {
    "TensorType": frozenset({"TENSOR"}),
    "IntType": frozenset({"INT"}),
    "SymIntType": frozenset({"INT"}),
    "FloatType": frozenset({"FLOAT"}),
    "SymFloatType": frozenset({"FLOAT"}),
    "BoolType": frozenset({"BOOL"}),
    "SymBoolType": frozenset({"BOOL"}),
    "StringType": frozenset({"STR"}),
    "NumberType": SCALAR_ATOMS,
    "DeviceObjType": frozenset({"DEVICE"}),
    "_GeneratorType": frozenset({"GENERATOR"}),
    "GeneratorType": frozenset({"GENERATOR"}),
    "NoneType": frozenset({"NONE"}),
    "TupleType": frozenset({"BaseAttr(TupleType)"}),
    "DictType": frozenset({"BaseAttr(DictType)"}),
}


def schema_type_constraint(ty: Any) -> Constraint:
    """Map a torch._C schema type (`Tensor?`, `int[]`, `Scalar`, ...) to atoms."""
    kind = type(ty).__name__
    if kind == "OptionalType":
        inner = schema_type_constraint(ty.getElementType())
        return ANY if inner == ANY else inner | OPTIONAL_ATOMS
    if kind == "ListType":
        elem = ty.getElementType()
        if type(elem).__name__ == "OptionalType":
            # torch-mlir spells a `Tensor?[]` as `!torch.list<optional<vtensor>>`.
            inner = schema_type_constraint(elem.getElementType())
            if inner == ANY:
                return frozenset({"BaseAttr(ListType)"})
            return frozenset({f"list_of({render_constraint(inner | {'OPTIONAL'})})"})
        inner = schema_type_constraint(elem)
        if inner == ANY:
            return frozenset({"BaseAttr(ListType)"})
        return frozenset({f"list_of({render_constraint(inner)})"})
    return _SCHEMA_LEAVES.get(kind, ANY)


def schema_arg_constraint(arg: Any) -> Constraint:
    """Atoms for a schema argument or return; a written alias (`Tensor(a!)`, the
    in-place/out= convention) is a mutable tensor: torch-mlir's `!torch.tensor`."""
    alias = arg.alias_info
    if alias is not None and alias.is_write and type(arg.type).__name__ == "TensorType":
        return frozenset({"NON_VALUE_TENSOR"})
    return schema_type_constraint(arg.type)


def render_constraint(c: Constraint) -> str:
    """Python source for a constraint (`SCALAR` for int|float|bool|number)."""
    if "ANY" in c:
        return "ANY"
    if c > OPTIONAL_ATOMS:
        return f"optional_of({render_constraint(c - OPTIONAL_ATOMS)})"
    atoms = set(c)
    parts: list[str] = []
    if atoms >= SCALAR_ATOMS:
        atoms -= SCALAR_ATOMS
        parts.append("SCALAR")
    order = [
        "TENSOR", "NON_VALUE_TENSOR", "INT", "FLOAT", "BOOL", "NUMBER", "STR", "DEVICE", "GENERATOR"
    ]  # fmt: skip
    parts += [a for a in order if a in atoms]
    parts += sorted(atoms - set(order) - {"NONE"})
    if "NONE" in atoms:
        parts.append("NONE")
    return " | ".join(parts)


# Sample types for probing torch-mlir's verifier: (torch-mlir type text, atom).
PROBE_TYPES: tuple[tuple[str, str], ...] = (
    ("!torch.vtensor<[2],f32>", "TENSOR"),
    ("!torch.tensor<[2],f32>", "TENSOR"),
    ("!torch.int", "INT"),
    ("!torch.float", "FLOAT"),
    ("!torch.bool", "BOOL"),
    ("!torch.number", "NUMBER"),
    ("!torch.str", "STR"),
    ("!torch.none", "NONE"),
    ("!torch.Device", "DEVICE"),
    ("!torch.Generator", "GENERATOR"),
    ("!torch.list<int>", "list_of(INT)"),
    ("!torch.list<float>", "list_of(FLOAT)"),
    ("!torch.list<bool>", "list_of(BOOL)"),
    ("!torch.list<str>", "list_of(STR)"),
    ("!torch.list<vtensor>", "list_of(TENSOR)"),
    ("!torch.list<optional<vtensor>>", "list_of(TENSOR | OPTIONAL)"),
    ("!torch.optional<vtensor>", "OPTIONAL"),
    ("!torch.optional<int>", "OPTIONAL"),
    ("!torch.tuple<int, int>", "BaseAttr(TupleType)"),
    ("!torch.dict<str, int>", "BaseAttr(DictType)"),
    ("!torch.any", "BaseAttr(AnyType)"),
    ("!torch.LinearParams", "BaseAttr(LinearParamsType)"),
    ("!torch.list<tensor>", "list_of(TENSOR)"),
)

# ---------------------------------------------------------------------------------------
# Reading torch-mlir's op bindings
# ---------------------------------------------------------------------------------------


@dataclass
class OpInfo:
    """What the OpView class of one torch-mlir op says about it."""

    name: str
    class_name: str
    operands: list[str] = field(default_factory=list[str])
    results: list[str] = field(default_factory=list[str])
    skip_reason: str | None = None
    operand_constraints: list[Constraint] = field(default_factory=list[Constraint])
    result_constraints: list[Constraint] = field(default_factory=list[Constraint])
    schema: str | None = None


def read_op_infos() -> list[OpInfo]:
    """One OpInfo per torch-mlir op, sorted by op name."""
    from torch_mlir import ir
    from torch_mlir.dialects import _torch_ops_gen as gen

    kind_of_return = {
        ir.Value: "operand",
        ir.OpOperandList: "var_operand",
        ir.OpResult: "result",
        ir.OpResultList: "var_result",
    }
    infos: dict[str, OpInfo] = {}
    op_classes: list[tuple[str, Any]] = inspect.getmembers(gen, inspect.isclass)  # torch-mlir has no type hints
    for class_name, cls in op_classes:
        if not (issubclass(cls, ir.OpView) and hasattr(cls, "OPERATION_NAME")):
            continue
        info = OpInfo(cls.OPERATION_NAME, class_name)
        reasons: list[str] = []
        for prop_name, prop in cls.__dict__.items():
            if not isinstance(prop, property) or prop.fget is None:
                continue
            ret = prop.fget.__annotations__.get("return")
            kind = kind_of_return.get(ret)
            if kind == "operand":
                info.operands.append(prop_name)
            elif kind == "result":
                info.results.append(prop_name)
            elif kind in ("var_operand", "var_result"):
                reasons.append("variadic operands or results")
            elif ret is not None and "Region" in getattr(ret, "__name__", ""):
                reasons.append("regions")
            else:
                reasons.append("attributes or optional operands")
        if cls._ODS_REGIONS != (0, True):
            reasons.append("regions")
        signature = inspect.signature(cls.__init__)
        if any(
            "Optional[" in str(p.annotation) and "Value" in str(p.annotation) for p in signature.parameters.values()
        ):
            reasons.append("attributes or optional operands")
        if reasons:
            info.skip_reason = sorted(set(reasons))[0]
        infos[info.name] = info
    return [infos[name] for name in sorted(infos)]


# ---------------------------------------------------------------------------------------
# PyTorch schemas
# ---------------------------------------------------------------------------------------


def find_schema(op_name: str) -> Any | None:
    """The JIT schema for `torch.<ns>.<op>[.<overload>]`, or None."""
    import torch

    parts = op_name.split(".")[1:]
    if len(parts) not in (2, 3):
        return None
    ns, op = parts[0], parts[1]
    overload = parts[2] if len(parts) == 3 else ""
    try:
        schemas = torch._C._jit_get_schemas_for_operator(f"{ns}::{op}")
    except RuntimeError:
        schemas = []
    for schema in schemas:
        if schema.overload_name == overload:
            return schema
    try:
        packet = getattr(getattr(torch.ops, ns), op)
        return getattr(packet, overload or "default")._schema
    except (AttributeError, RuntimeError):
        return None


# ---------------------------------------------------------------------------------------
# Probing torch-mlir: default syntax and accepted types
# ---------------------------------------------------------------------------------------


class TorchMlirProbe:
    """Builds ops in a torch-mlir context to see how they print and what they accept."""

    def __init__(self) -> None:
        from torch_mlir import ir
        from torch_mlir.dialects import torch as torch_d

        self.ir = ir
        self.ctx = ir.Context()
        torch_d.register_dialect(self.ctx)
        self.ctx.attach_diagnostic_handler(lambda _diag: True)
        args = ", ".join(f"%a{i}: {t}" for i, (t, _) in enumerate(PROBE_TYPES))
        self.module = ir.Module.parse(f"func.func @p({args}) {{ return }}", self.ctx)
        block = self.module.body.operations[0].regions[0].blocks[0]
        self.values = list(block.arguments)
        self.ip = ir.InsertionPoint.at_block_begin(block)
        self.loc = ir.Location.unknown(self.ctx)

    def _create(self, name: str, operands: Sequence[int], results: Sequence[int]) -> Any:
        return self.ir.Operation.create(
            name,
            results=[self.values[i].type for i in results],
            operands=[self.values[i] for i in operands],
            ip=self.ip,
            loc=self.loc,
        )

    def _first_error(self, name: str, operands: Sequence[int], results: Sequence[int]) -> str:
        op = self._create(name, operands, results)
        try:
            op.verify()
            return ""
        except self.ir.MLIRError as err:
            return str(err)
        finally:
            op.erase()

    def accepted(self, name: str, n_operands: int, n_results: int) -> tuple[list[list[int]], list[list[int]]] | None:
        """Indices into PROBE_TYPES that torch-mlir accepts per operand and result.

        The ODS verifier checks operands, then results, in order and stops at the first
        failure, so operand i is probed with earlier operands set to accepted types.
        Returns None when some operand or result accepts none of the samples.
        """
        operand_ok: list[list[int]] = []
        chosen = [0] * n_operands
        for i in range(n_operands):
            ok: list[int] = []
            for t in range(len(PROBE_TYPES)):
                chosen[i] = t
                if f"operand #{i} " not in self._first_error(name, chosen, [0] * n_results):
                    ok.append(t)
            if not ok:
                return None
            chosen[i] = ok[0]
            operand_ok.append(ok)
        result_ok: list[list[int]] = []
        results = [0] * n_results
        for i in range(n_results):
            ok = []
            for t in range(len(PROBE_TYPES)):
                results[i] = t
                if f"result #{i} " not in self._first_error(name, chosen, results):
                    ok.append(t)
            if not ok:
                return None
            results[i] = ok[0]
            result_ok.append(ok)
        return operand_ok, result_ok

    def prints_default_format(self, name: str, n_operands: int, n_results: int) -> bool:
        """Whether torch-mlir prints the op as `%r = name %a, %b : Ta, Tb -> Tr`.

        Result names are ignored: multi-result ops name them (`%values, %indices`).
        """
        operands = [i % len(PROBE_TYPES) for i in range(n_operands)]
        results = [(i + 1) % len(PROBE_TYPES) for i in range(n_results)]
        op = self._create(name, operands, results)
        try:
            text = op.get_asm(assume_verified=True).strip()
        finally:
            op.erase()
        if n_results:
            text = text.split(" = ", 1)[-1]
        expected = f"{name} " + ", ".join(f"%arg{i}" for i in operands) + " : "
        expected += ", ".join(PROBE_TYPES[i][0] for i in operands)
        if n_operands and n_results:
            expected += " -> "
        expected += ", ".join(PROBE_TYPES[i][0] for i in results)
        return re.sub(r"\s+", " ", text) == re.sub(r"\s+", " ", expected)


# ---------------------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Counts reported in the generated file's header."""

    skipped: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    typed_from_schema: int = 0
    widened: list[str] = field(default_factory=list[str])
    unconstrained: int = 0
    no_schema: list[str] = field(default_factory=list[str])


@functools.cache
def _xdsl_type(text: str) -> Any:
    """Parse a torch-mlir type into our xDSL types (to evaluate constraints on it)."""
    from xdsl.context import Context
    from xdsl.ir import Dialect
    from xdsl.parser import Parser

    from spa.dialects import torch_base

    ctx = Context()
    ctx.load_dialect(Dialect("torch", [], list(torch_base.TORCH_TYPES)))
    return Parser(ctx, text).parse_type()


@functools.cache
def _satisfies(constraint: Constraint, type_text: str) -> bool:
    from xdsl.irdl import VerificationContext
    from xdsl.utils.exceptions import VerifyException

    from spa.dialects import torch_base

    # eval of the text render_constraint made (names of torch_base), the same text the generated file holds
    expr = eval(render_constraint(constraint), vars(torch_base))
    try:
        expr.verify(_xdsl_type(type_text), VerificationContext())
        return True
    except VerifyException:
        return False


def _final_constraint(
    from_schema: Constraint | None, accepted: list[int] | None, what: str, stats: Stats
) -> Constraint:
    """Schema constraint widened by what torch-mlir accepts (ANY if no schema)."""
    if from_schema is None:
        stats.unconstrained += 1
        return ANY
    if accepted is None or from_schema == ANY:
        if from_schema == ANY:
            stats.unconstrained += 1
        else:
            stats.typed_from_schema += 1
        return from_schema
    if len(accepted) == len(PROBE_TYPES):
        stats.unconstrained += 1
        return ANY
    result = set(from_schema)
    for index in accepted:
        type_text, atom = PROBE_TYPES[index]
        if not _satisfies(frozenset(result), type_text):
            result.add(atom)
    if result != from_schema:
        stats.widened.append(f"{what}: +{sorted(result - from_schema)}")
    stats.typed_from_schema += 1
    return frozenset(result)


def analyse(infos: list[OpInfo], hand_written: set[str], stats: Stats) -> list[OpInfo]:
    """Decide which ops to generate and with which constraints."""
    import torchvision  # noqa: F401  (registers torchvision:: schemas)

    probe = TorchMlirProbe()
    generated: list[OpInfo] = []
    for info in infos:
        reason = info.skip_reason
        if info.name in hand_written:
            reason = "hand-written in dialects/torch_base.py"
        elif reason is None and not probe.prints_default_format(info.name, len(info.operands), len(info.results)):
            reason = "custom syntax (not torch-mlir's default op format)"
        if reason is not None:
            stats.skipped.setdefault(reason, []).append(info.name)
            continue
        schema = find_schema(info.name)
        operand_types: list[Constraint | None] = [None] * len(info.operands)
        result_types: list[Constraint | None] = [None] * len(info.results)
        if schema is None:
            stats.no_schema.append(info.name)
        else:
            info.schema = str(schema)
            if len(schema.arguments) == len(info.operands):
                operand_types = [schema_arg_constraint(a) for a in schema.arguments]
            if len(schema.returns) == len(info.results):
                # torch-mlir declares tensor results as optional tensors.
                result_types = [
                    schema_arg_constraint(r) | (OPTIONAL_ATOMS if type(r.type).__name__ == "TensorType" else set())
                    for r in schema.returns
                ]
        probed = probe.accepted(info.name, len(info.operands), len(info.results))
        info.operand_constraints = [
            _final_constraint(
                c, None if probed is None else probed[0][i], f"{info.name} operand {info.operands[i]}", stats
            )
            for i, c in enumerate(operand_types)
        ]
        info.result_constraints = [
            _final_constraint(
                c, None if probed is None else probed[1][i], f"{info.name} result {info.results[i]}", stats
            )
            for i, c in enumerate(result_types)
        ]
        generated.append(info)
    return generated


def _field_names(names: Iterable[str], reserved: Callable[[str], bool]) -> list[str]:
    return [f"{n}_" if reserved(n) else n for n in names]


def render_op(info: OpInfo) -> str:
    """The xDSL class for one op."""
    from xdsl.irdl import IRDLOperation

    def reserved(n: str) -> bool:
        return hasattr(IRDLOperation, n) or n in ("name", "assembly_format", "traits")

    operands = _field_names(info.operands, reserved)
    results = _field_names(info.results, reserved)
    fmt = " `,` ".join(f"${o}" for o in operands)
    fmt = (fmt + " " if fmt else "") + "attr-dict `:` "
    fmt += " `,` ".join(f"type(${o})" for o in operands)
    if operands and results:
        fmt += " `->` "
    fmt += " `,` ".join(f"type(${r})" for r in results)
    lines = [
        "@irdl_op_definition",
        f"class {info.class_name}(DefaultFormatOp):",
        f'    """`{info.name}`{": " + _doc_safe(info.schema) if info.schema else ""}"""',
        "",
        f'    name = "{info.name}"',
    ]
    for n, c in zip(operands, info.operand_constraints, strict=True):
        lines.append(f"    {n} = operand_def({render_constraint(c)})")
    for n, c in zip(results, info.result_constraints, strict=True):
        lines.append(f"    {n} = result_def({render_constraint(c)})")
    lines.append(f'    LAZY_ASSEMBLY_FORMAT: ClassVar[str] = "{fmt}"')
    return "\n".join(lines)


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """isort's order for imported names: CONSTANTS, Classes, functions; natural order."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    parts = re.split(r"(\d+)", name.lower())
    return kind, [int(p) if p.isdigit() else p for p in parts]


def _doc_safe(text: str) -> str:
    """Make a schema string safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _wrap(names: Sequence[str], indent: str = "#   ", width: int = 88) -> list[str]:
    lines: list[str] = []
    current = indent
    for n in names:
        if len(current) + len(n) + 1 > width and current.strip() != "#":
            lines.append(current.rstrip())
            current = indent
        current += n + " "
    if current.strip() != "#":
        lines.append(current.rstrip())
    return lines


def render_module(generated: list[OpInfo], stats: Stats, versions: str) -> str:
    """The whole generated file."""
    from spa.dialects import torch_base

    n_skipped = sum(len(v) for v in stats.skipped.values())
    header = [
        '"""torch-mlir\'s `torch` dialect in xDSL: generated ops and the `Torch` dialect.',
        "",
        "generated by tools/gen_torch_dialect.py — do not edit.",
        "Regenerate: python tools/gen_torch_dialect.py -o dialects/torch.py",
        '"""',
        "",
        f"# Source: {versions}.",
        f"# Ops: {len(generated)} generated, {len(torch_base.HAND_WRITTEN_OPS)} hand-written"
        f" (dialects/torch_base.py), {n_skipped} of torch-mlir's ops skipped.",
        f"# Operand/result constraints: {stats.typed_from_schema} from PyTorch schemas,"
        f" {stats.unconstrained} unconstrained (no schema, arity mismatch, generic type).",
        f"# Ops without a PyTorch schema ({len(stats.no_schema)}, unconstrained):",
        *_wrap(stats.no_schema),
        f"# Constraints widened to what torch-mlir accepts ({len(stats.widened)}):",
        *[f"#   {w}" for w in stats.widened],
    ]
    for reason in sorted(stats.skipped):
        names = stats.skipped[reason]
        header.append(f"# Skipped, {reason} ({len(names)}):")
        header += _wrap(names)
    body = [
        "",
        "# ruff: noqa: E501, E741",
        "from typing import ClassVar",
        "",
        "from xdsl.ir import Dialect",
        "from xdsl.irdl import (",
        "    BaseAttr,",
        "    IRDLOperation,",
        "    irdl_op_definition,",
        "    operand_def,",
        "    result_def,",
        ")",
        "",
        "# The hand-written types, constraints and ops, re-exported: everything of the torch",
        "# dialect can be imported from `spa.dialects.torch`.",
        "from spa.dialects.torch_base import (  # noqa: F401",
        *[f"    {name}," for name in sorted(torch_base.__all__, key=_isort_key)],
        ")",
        "",
    ]
    classes = [render_op(info) for info in generated]
    footer = [
        "GENERATED_OPS: tuple[type[IRDLOperation], ...] = (",
        *[f"    {info.class_name}," for info in generated],
        ")",
        "",
        'Torch = Dialect("torch", [*HAND_WRITTEN_OPS, *GENERATED_OPS], list(TORCH_TYPES))',
        '"""torch-mlir\'s `torch` dialect: all ops and types."""',
        "",
    ]
    return "\n".join(header + body) + "\n\n" + "\n\n\n".join(classes) + "\n\n\n" + "\n".join(footer)


def _versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{pkg} {version(pkg)}" for pkg in ("torch-mlir", "torch", "torchvision", "xdsl"))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO_ROOT / "dialects" / "torch.py")
    args = parser.parse_args(argv)

    from spa.dialects import torch_base

    stats = Stats()
    hand_written = {op.name for op in torch_base.HAND_WRITTEN_OPS}
    generated = analyse(read_op_infos(), hand_written, stats)
    text = render_module(generated, stats, _versions())
    args.output.write_text(text)
    n_skipped = sum(len(v) for v in stats.skipped.values())
    print(
        f"wrote {args.output}: {len(generated)} generated ops, "
        f"{len(hand_written)} hand-written, {n_skipped} skipped, "
        f"{len(stats.widened)} widened constraints, {len(stats.no_schema)} without schema"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
