"""The spa dialect: what pruning adds to torch-mlir's IR.

`spa.param` names a weight or buffer held in the weight store beside the IR (`model.safetensors`),
keyed by its original state-dict or ONNX initializer name. Keeping weights out of the IR keeps it
small, fast to parse and readable; small lit tests may carry the value inline as `dense<...>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    SymbolNameConstraint,
    UnitAttr,
)
from xdsl.ir import Attribute, Data, Dialect, ParametrizedAttribute
from xdsl.irdl import (
    IRDLOperation,
    attr_def,
    irdl_attr_definition,
    irdl_op_definition,
    opt_attr_def,
    result_def,
    traits_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

from spa.dialects.layout import Anon, Atom, Cat, Layout, Prod


@irdl_op_definition
class ParamOp(IRDLOperation):
    """A named weight: `%w = spa.param "layer1.0.conv1.weight" : !torch.vtensor<[64,64,3,3],f32>`.

    Buffers say so (`spa.param "bn1.running_mean" buffer : ...`) so the backend rebuilds them as buffers.
    """

    name = "spa.param"

    param_name = attr_def(StringAttr, attr_name="name")
    value = opt_attr_def(DenseIntOrFPElementsAttr)
    buffer = opt_attr_def(UnitAttr)
    """Set for buffers (running statistics, ...) as opposed to trainable parameters."""
    result = result_def(Attribute)

    assembly_format = "$name (`buffer` $buffer^)? (`=` $value^)? attr-dict `:` type($result)"

    def __init__(
        self,
        name: str,
        result_type: Attribute,
        value: DenseIntOrFPElementsAttr | None = None,
        *,
        buffer: bool = False,
    ):
        attributes: dict[str, Attribute] = {"name": StringAttr(name)}
        if value is not None:
            attributes["value"] = value
        if buffer:
            attributes["buffer"] = UnitAttr()
        super().__init__(attributes=attributes, result_types=[result_type])

    @property
    def weight_name(self) -> str:
        return self.param_name.data

    @property
    def is_buffer(self) -> bool:
        return self.buffer is not None

    def verify_(self) -> None:
        if not self.param_name.data:
            raise VerifyException("spa.param needs a non-empty name")
        if self.value is not None:
            shape = getattr(self.result.type, "get_shape", None)
            if shape is not None and tuple(self.value.get_shape()) != tuple(shape()):
                raise VerifyException(
                    f"spa.param '{self.weight_name}': inline value shape {tuple(self.value.get_shape())} "
                    f"does not match result type shape {tuple(shape())}"
                )


# ---------------------------------------------------------------------------------------------
# Channel annotations (spa-propagate-channels) and groups (spa-form-groups and later passes).
# ---------------------------------------------------------------------------------------------


def print_layout(layout: Layout, top: bool = True) -> str:
    """`_` (no channel), `s3` (space 3), `s7 x 49` (each channel owns 49 consecutive indices), `cat(s3, s7)`,
    `_ x s3` (a dynamic dim: a batch merged with heads)."""
    match layout:
        case Anon(n):
            return "_" if top or n < 0 else str(n)
        case Atom(s):
            return f"s{s}"
        case Prod(parts):
            return " x ".join(
                print_layout(p, False) if not isinstance(p, Prod) else f"({print_layout(p, False)})" for p in parts
            )
        case Cat(parts):
            return "cat(" + ", ".join(print_layout(p, False) for p in parts) + ")"
    raise TypeError(layout)


def _parse_term(parser: AttrParser) -> Layout:
    if parser.parse_optional_punctuation("(") is not None:
        inner = _parse_layout(parser)
        parser.parse_punctuation(")")
        return inner
    if (n := parser.parse_optional_integer(allow_boolean=False, allow_negative=False)) is not None:
        return Anon(n)
    ident = parser.parse_identifier("expected a channel layout: '_', 'sN', a size, or 'cat(...)'")
    if ident == "_":
        return Anon(-1)
    if ident == "cat":
        parts = parser.parse_comma_separated_list(parser.Delimiter.PAREN, lambda: _parse_layout(parser))
        return Cat(tuple(parts))
    if ident.startswith("s") and ident[1:].isdigit():
        return Atom(int(ident[1:]))
    parser.raise_error(f"unknown channel layout term '{ident}'")


def _parse_layout(parser: AttrParser) -> Layout:
    parts = [_parse_term(parser)]
    while parser.parse_optional_keyword("x") is not None:
        parts.append(_parse_term(parser))
    return parts[0] if len(parts) == 1 else Prod(tuple(parts))


@irdl_attr_definition
class DimsAttr(Data[tuple[Layout, ...]]):
    """The channel layout of each dimension of one tensor value: `#spa.dims<[_, s3, _, _]>`."""

    name = "spa.dims"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> tuple[Layout, ...]:
        with parser.in_angle_brackets():
            return tuple(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, lambda: _parse_layout(parser)))

    def print_parameter(self, printer: Printer) -> None:
        printer.print_string("<[" + ", ".join(print_layout(d) for d in self.data) + "]>")


@irdl_attr_definition
class MemberAttr(ParametrizedAttribute):
    """One group member: which weight, which dim, and where group channel k lives in that dim:
    indices(k) = { offset + k*stride + j + r*period : 0 <= j < block, 0 <= r < count }.

    Printed with only the fields that differ from the identity map:
    `#spa.member<"fc.weight"[1], stride 49, block 49>`.
    """

    name = "spa.member"

    param: StringAttr
    dim: IntAttr
    offset: IntAttr
    stride: IntAttr
    block: IntAttr
    count: IntAttr
    period: IntAttr

    _FIELDS: ClassVar[tuple[str, ...]] = ("offset", "stride", "block", "count", "period")
    _DEFAULTS: ClassVar[dict[str, int]] = {"offset": 0, "stride": 1, "block": 1, "count": 1, "period": 0}

    @classmethod
    def get(cls, param: str, dim: int, **fields: int) -> MemberAttr:
        values = {**cls._DEFAULTS, **fields}
        return cls(StringAttr(param), IntAttr(dim), *(IntAttr(values[f]) for f in cls._FIELDS))

    def field(self, name: str) -> int:
        return getattr(self, name).data

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            param = parser.parse_str_literal("expected the member's weight name")
            parser.parse_punctuation("[")
            dim = parser.parse_integer(allow_boolean=False, allow_negative=False)
            parser.parse_punctuation("]")
            values = dict(cls._DEFAULTS)
            while parser.parse_optional_punctuation(",") is not None:
                key = parser.parse_keyword_in(cls._FIELDS)
                values[key] = parser.parse_integer(allow_boolean=False, allow_negative=False)
        return (StringAttr(param), IntAttr(dim), *(IntAttr(values[f]) for f in cls._FIELDS))

    def print_parameters(self, printer: Printer) -> None:
        extra = "".join(f", {f} {self.field(f)}" for f in self._FIELDS if self.field(f) != self._DEFAULTS[f])
        printer.print_string(f'<"{self.param.data}"[{self.dim.data}]{extra}>')


@irdl_attr_definition
class ReasonAttr(ParametrizedAttribute):
    """Why a channel space is frozen or inexact, as data: what happened (`kind`), at which op (its key) and
    where in the model (its location, e.g. an nn.Module path); op and location may be empty.
    Printed `#spa.reason<"softmax over channels", "torch.aten.softmax.int", "encoder.0.attn">`."""

    name = "spa.reason"

    kind: StringAttr
    op: StringAttr
    at: StringAttr

    @classmethod
    def get(cls, kind: str, op: str = "", at: str = "") -> ReasonAttr:
        return cls(StringAttr(kind), StringAttr(op), StringAttr(at))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            fields = [parser.parse_str_literal("expected the reason's kind")]
            while len(fields) < 3 and parser.parse_optional_punctuation(",") is not None:
                fields.append(parser.parse_str_literal("expected a string"))
        return tuple(StringAttr(f) for f in fields + [""] * (3 - len(fields)))

    def print_parameters(self, printer: Printer) -> None:
        fields = [self.kind.data, self.op.data, self.at.data]
        while len(fields) > 1 and not fields[-1]:
            fields.pop()
        with printer.in_angle_brackets():
            printer.print_list(fields, printer.print_string_literal)


@irdl_op_definition
class SpaceOp(IRDLOperation):
    """A channel space found by spa-propagate-channels: its size, where it comes from, and why it is
    frozen (cannot be pruned) or inexact (pruning it is not the same as zeroing it), if so."""

    name = "spa.space"

    sym_name = attr_def(SymbolNameConstraint())
    size = attr_def(IntegerAttr)
    origin = attr_def(StringAttr)
    frozen = opt_attr_def(ArrayAttr[ReasonAttr])
    inexact = opt_attr_def(ArrayAttr[ReasonAttr])

    assembly_format = "$sym_name attr-dict"
    traits = traits_def(SymbolOpInterface())


@irdl_op_definition
class GroupOp(IRDLOperation):
    """A group of coupled channels: removing channel k removes its indices (MemberAttr) in every member together."""

    name = "spa.group"

    sym_name = attr_def(SymbolNameConstraint())
    size = attr_def(IntegerAttr)
    space = attr_def(StringAttr)
    members = attr_def(ArrayAttr[MemberAttr])
    exact = attr_def(BoolAttr)
    frozen = opt_attr_def(ArrayAttr[ReasonAttr])
    inexact = opt_attr_def(ArrayAttr[ReasonAttr])
    scores = opt_attr_def(DenseArrayBase)
    criterion = opt_attr_def(StringAttr)
    """The criterion that gave the scores (spa-annotate-importance)."""
    norm = opt_attr_def(StringAttr)
    """The normalization the scores already had (absent: none; global selection then divides by the mean)."""
    removed = opt_attr_def(DenseArrayBase)
    slices = opt_attr_def(IntegerAttr)
    """Set when the group's channels live inside the slices along dim 0 of its members (Mixture-of-Experts: one
    per expert, spa_ir/ops/routing.py): channel c is channel c % (size / slices) of `space`, at index
    c // (size / slices) of every member's dim 0; every slice loses the same number of channels."""

    assembly_format = "$sym_name attr-dict"
    traits = traits_def(SymbolOpInterface())

    def verify_(self) -> None:
        if self.slices is not None:
            n, size = self.slices.value.data, self.size.value.data
            if n < 1 or size % n:
                raise VerifyException(f"group {self.sym_name.data}: {size} channels in {n} slices")
            per_slice = [int(r) // (size // n) for r in (self.removed.get_values() if self.removed else ())]
            if len({per_slice.count(i) for i in range(n)}) > 1:
                raise VerifyException(f"group {self.sym_name.data}: its slices lose different numbers of channels")
        if self.scores is not None and len(self.scores.get_values()) != self.size.value.data:
            n = len(self.scores.get_values())
            raise VerifyException(f"group {self.sym_name.data}: {n} scores for {self.size.value.data} channels")
        if self.removed is not None:
            removed = self.removed.get_values()
            if any(not 0 <= int(r) < self.size.value.data for r in removed):
                raise VerifyException(f"group {self.sym_name.data}: removed channel out of range")
            if removed and self.frozen:
                raise VerifyException(f"group {self.sym_name.data} is frozen but removes channels")


Spa = Dialect("spa", [ParamOp, SpaceOp, GroupOp], [DimsAttr, MemberAttr, ReasonAttr])
