"""Hand-written part of torch-mlir's `torch` dialect in xDSL.

Everything here follows torch-mlir's own text format exactly, so that text printed by
torch-mlir parses in xDSL and text printed by xDSL parses in torch-mlir. This module
holds what cannot be generated mechanically from torch-mlir's op bindings:

* the types (`!torch.vtensor<[1,3,?,64],f32>`, `!torch.int`, `!torch.list<int>`, ...),
* the type constraints that the generated ops use (`TENSOR`, `optional_of(INT)`, ...),
* ops whose syntax is not torch-mlir's default op format (constants, list/tuple
  construction, literals, `torch.operator`, `torch.prim.If`/`Loop`, casts, ...).

The generated ops (one per aten/prim/... op) live in `dialects/torch.py`, which also
defines the `Torch` dialect object combining both parts.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from xdsl.dialects.builtin import (
    I64,
    AffineMapAttr,
    AnyFloat,
    ArrayAttr,
    BoolAttr,
    Float64Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    NoneAttr,
    StringAttr,
    f64,
    i1,
    i64,
)
from xdsl.ir import (
    Attribute,
    OpResult,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AnyAttr,
    AttrConstraint,
    BaseAttr,
    IRDLOperation,
    ParamAttrConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_region_def,
    var_result_def,
)
from xdsl.irdl.declarative_assembly_format import FormatProgram
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.mlir_lexer import MLIRTokenKind

# ---------------------------------------------------------------------------------------
# Workaround for an xDSL 0.74 parser bug
# ---------------------------------------------------------------------------------------
#
# MLIR (and so torch-mlir) spells non-finite elements of float dense literals as hex bit
# patterns: `dense<0xFF800000> : tensor<f32>` is -inf (e.g. attention masks). xDSL reads
# the hex literal as the integer 4286578688 and converts it to a float, silently changing
# the value. Scalar float attributes (`0x7FF0000000000000 : f64`) are not affected.


def _install_dense_hex_float_fix() -> None:
    """Make xDSL read hex elements of float dense literals as bit patterns, like MLIR."""
    element_cls = AttrParser._TensorLiteralElement
    original = element_cls.to_type
    if original.__qualname__.startswith(_install_dense_hex_float_fix.__qualname__):
        return  # already installed: to_type is the one defined below

    def to_type(self: Any, parser: AttrParser, type: Any) -> Any:
        value = self.value
        if (
            isinstance(type, AnyFloat)
            and isinstance(value, int)
            and not isinstance(value, bool)
            and value >= 0
            and self.span.text[:2] in ("0x", "0X")
        ):
            raw = value.to_bytes(type.compile_time_size, "little")
            return type.unpack(raw, 1)[0]
        return original(self, parser, type)

    element_cls.to_type = to_type  # type: ignore[method-assign]  # the workaround patches xDSL 0.74 at import


_install_dense_hex_float_fix()


# ---------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------
#
# torch-mlir spells nested types without the `!torch.` prefix (`!torch.list<vtensor>`,
# `!torch.optional<list<int>>`), but dtypes inside tensor types with it
# (`!torch.vtensor<[2],!torch.qint8>`). Every torch type therefore knows how to print
# and parse itself in "nested" form: mnemonic + parameters.


class TorchType(ParametrizedAttribute, TypeAttribute):
    """Base of all `!torch.*` types; gives them the prefix-less nested spelling."""

    name: ClassVar[str]

    @property
    def mnemonic(self) -> str:
        """The type name without `torch.`, as torch-mlir prints it inside `list<..>`."""
        return self.name[len("torch.") :]


def print_nested_type(printer: Printer, ty: Attribute) -> None:
    """Print a type the way torch-mlir does inside `list<..>`/`optional<..>`/`tuple<..>`."""
    if isinstance(ty, TorchType):
        printer.print_string(ty.mnemonic)
        ty.print_parameters(printer)
    else:
        printer.print_attribute(ty)


def parse_nested_type(parser: AttrParser) -> Attribute:
    """Parse a type written without `!torch.` (or any full type, as a fallback)."""
    pos = parser.pos
    mnemonic = parser.parse_optional_identifier()
    if mnemonic is None:
        return parser.parse_type()
    cls = _NESTED_TYPES.get(mnemonic)
    if cls is None:
        parser.raise_error(f"unknown torch type '{mnemonic}'", pos, parser.pos)
    return cls.new(cls.parse_parameters(parser))


@irdl_attr_definition
class IntType(TorchType):
    """`!torch.int`: A Python int (64-bit)."""

    name = "torch.int"


@irdl_attr_definition
class FloatType(TorchType):
    """`!torch.float`: A Python float (f64)."""

    name = "torch.float"


@irdl_attr_definition
class BoolType(TorchType):
    """`!torch.bool`: A Python bool."""

    name = "torch.bool"


@irdl_attr_definition
class StrType(TorchType):
    """`!torch.str`: A Python str."""

    name = "torch.str"


@irdl_attr_definition
class NoneType(TorchType):
    """`!torch.none`: The type of `None`."""

    name = "torch.none"


@irdl_attr_definition
class NumberType(TorchType):
    """`!torch.number`: int or float: a schema `Scalar` of unknown kind."""

    name = "torch.number"


@irdl_attr_definition
class DeviceType(TorchType):
    """`!torch.Device`: A `torch.device`."""

    name = "torch.Device"


@irdl_attr_definition
class GeneratorType(TorchType):
    """`!torch.Generator`: A random number generator."""

    name = "torch.Generator"


@irdl_attr_definition
class AnyType(TorchType):
    """`!torch.any`: TorchScript's `Any`."""

    name = "torch.any"


@irdl_attr_definition
class LinearParamsType(TorchType):
    """`!torch.LinearParams`: Packed quantized linear parameters."""

    name = "torch.LinearParams"


@irdl_attr_definition
class QInt8Type(TorchType):
    """`!torch.qint8`: Quantized dtype, used as a tensor dtype."""

    name = "torch.qint8"


@irdl_attr_definition
class QUInt8Type(TorchType):
    """`!torch.quint8`: Quantized dtype, used as a tensor dtype."""

    name = "torch.quint8"


@irdl_attr_definition
class QInt16Type(TorchType):
    """`!torch.qint16`: Quantized dtype, used as a tensor dtype."""

    name = "torch.qint16"


@irdl_attr_definition
class QInt32Type(TorchType):
    """`!torch.qint32`: Quantized dtype, used as a tensor dtype."""

    name = "torch.qint32"


def _parse_dim(parser: AttrParser) -> int:
    if parser.parse_optional_punctuation("?") is not None:
        return -1
    return parser.parse_integer(allow_boolean=False, allow_negative=True)


def _sizes_attr(shape: Sequence[int] | None) -> ArrayAttr[IntAttr] | NoneAttr:
    """Tensor sizes as stored in the type: -1 for any dynamic size, NoneAttr if unranked."""
    if shape is None:
        return NoneAttr()
    return ArrayAttr(IntAttr(d if d >= 0 else -1) for d in shape)


# A dataclass, so that subclasses compare and hash by these parameters.
@dataclass(frozen=True, init=False)
class BaseTensorType(TorchType):
    """Common part of `!torch.vtensor` and `!torch.tensor`.

    Syntax: `!torch.vtensor` (unranked, unknown dtype), `!torch.vtensor<*,f32>`,
    `!torch.vtensor<[1,?,64],f32>`, `!torch.vtensor<[2],unk>`, and an optional third
    `,encoding` attribute (sparse tensors). `sizes` is NoneAttr when unranked and holds
    -1 for `?`; `dtype` is NoneAttr for `unk`.
    """

    sizes: ArrayAttr[IntAttr] | NoneAttr
    dtype: Attribute
    encoding: Attribute

    def __init__(
        self,
        sizes: ArrayAttr[IntAttr] | NoneAttr | None = None,
        dtype: Attribute | None = None,
        encoding: Attribute | None = None,
    ) -> None:
        super().__init__(
            NoneAttr() if sizes is None else sizes,
            NoneAttr() if dtype is None else dtype,
            NoneAttr() if encoding is None else encoding,
        )

    @classmethod
    def from_shape(cls, shape: Sequence[int] | None, dtype: Attribute | None = None) -> Self:
        """Build from a shape (-1 = dynamic, None = unranked) and dtype (None = unk)."""
        return cls(_sizes_attr(shape), dtype)

    def has_sizes(self) -> bool:
        """Whether the rank is known."""
        return isinstance(self.sizes, ArrayAttr)

    def has_dtype(self) -> bool:
        """Whether the dtype is known (not `unk`)."""
        return not isinstance(self.dtype, NoneAttr)

    def get_shape(self) -> tuple[int, ...]:
        """The sizes, -1 for `?`. Raises ValueError for unranked tensors."""
        if not isinstance(self.sizes, ArrayAttr):
            raise ValueError(f"{self} is unranked")
        return tuple(d.data for d in self.sizes.data)

    def has_static_shape(self) -> bool:
        """Ranked, and no `?` dimension."""
        return isinstance(self.sizes, ArrayAttr) and all(d.data >= 0 for d in self.sizes.data)

    def with_shape(self, shape: Sequence[int] | None, dtype: Attribute | None = None) -> Self:
        """Same tensor kind and encoding, new shape (and dtype, if given)."""
        new_dtype = self.dtype if dtype is None else dtype
        return type(self)(_sizes_attr(shape), new_dtype, self.encoding)

    def print_parameters(self, printer: Printer) -> None:
        sizes, dtype, encoding = self.sizes, self.dtype, self.encoding
        if isinstance(sizes, NoneAttr) and isinstance(dtype, NoneAttr) and isinstance(encoding, NoneAttr):
            return
        if isinstance(sizes, NoneAttr):
            printer.print_string("<*,")
        else:
            dims = ",".join("?" if d.data < 0 else str(d.data) for d in sizes.data)
            printer.print_string(f"<[{dims}],")
        if isinstance(dtype, NoneAttr):
            printer.print_string("unk")
        else:
            printer.print_attribute(dtype)
        if not isinstance(encoding, NoneAttr):
            printer.print_string(",")
            printer.print_attribute(encoding)
        printer.print_string(">")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        if parser.parse_optional_punctuation("<") is None:
            return (NoneAttr(), NoneAttr(), NoneAttr())
        sizes: ArrayAttr[IntAttr] | NoneAttr
        if parser.parse_optional_punctuation("*") is not None:
            sizes = NoneAttr()
        else:
            dims = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, lambda: _parse_dim(parser))
            sizes = _sizes_attr(dims)
        parser.parse_punctuation(",")
        dtype: Attribute = NoneAttr()
        if parser.parse_optional_keyword("unk") is None:
            dtype = parser.parse_type()
        encoding: Attribute = NoneAttr()
        if parser.parse_optional_punctuation(",") is not None:
            encoding = parser.parse_attribute()
        parser.parse_punctuation(">")
        return (sizes, dtype, encoding)


# `init=False` (here and on the other subclasses of a base with its own __init__): keep that __init__; otherwise
# the decorator's dataclass transform tells type checkers the constructor takes the fields.
@irdl_attr_definition(init=False)
class VTensorType(BaseTensorType):
    """`!torch.vtensor<[..],dtype>`: a tensor with value semantics (the usual one)."""

    name = "torch.vtensor"


@irdl_attr_definition(init=False)
class NonValueTensorType(BaseTensorType):
    """`!torch.tensor<[..],dtype>`: a mutable tensor (TorchScript-style IR only)."""

    name = "torch.tensor"


# A dataclass, so that subclasses compare and hash by these parameters.
@dataclass(frozen=True, init=False)
class _ElementType(TorchType):
    """`!torch.<name><T>` with a single nested type parameter."""

    elem: Attribute

    def __init__(self, elem: Attribute) -> None:
        super().__init__(elem)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        print_nested_type(printer, self.elem)
        printer.print_string(">")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        elem = parse_nested_type(parser)
        parser.parse_punctuation(">")
        return (elem,)


@irdl_attr_definition(init=False)
class ListType(_ElementType):
    """`!torch.list<T>`, e.g. `!torch.list<int>`, `!torch.list<optional<vtensor>>`."""

    name = "torch.list"


@irdl_attr_definition(init=False)
class OptionalType(_ElementType):
    """`!torch.optional<T>`: T or None."""

    name = "torch.optional"


# A dataclass, so that subclasses compare and hash by these parameters.
@dataclass(frozen=True, init=False)
class _ElementsType(TorchType):
    """`!torch.<name><T, U, ...>` with a list of nested types (possibly empty)."""

    elems: ArrayAttr[Attribute]

    def __init__(self, elems: Sequence[Attribute]) -> None:
        super().__init__(ArrayAttr(elems))

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_list(self.elems.data, lambda t: print_nested_type(printer, t))
        printer.print_string(">")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        elems = parser.parse_comma_separated_list(parser.Delimiter.ANGLE, lambda: parse_nested_type(parser))
        return (ArrayAttr(elems),)


@irdl_attr_definition(init=False)
class TupleType(_ElementsType):
    """`!torch.tuple<T, U>`."""

    name = "torch.tuple"


@irdl_attr_definition(init=False)
class UnionType(_ElementsType):
    """`!torch.union<T, U>`."""

    name = "torch.union"


@irdl_attr_definition
class DictType(TorchType):
    """`!torch.dict<K, V>`."""

    name = "torch.dict"

    key: Attribute
    value: Attribute

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        print_nested_type(printer, self.key)
        printer.print_string(", ")
        print_nested_type(printer, self.value)
        printer.print_string(">")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        key = parse_nested_type(parser)
        parser.parse_punctuation(",")
        value = parse_nested_type(parser)
        parser.parse_punctuation(">")
        return (key, value)


@irdl_attr_definition
class NnModuleType(TorchType):
    """`!torch.nn.Module<"class name">` (TorchScript module objects)."""

    name = "torch.nn.Module"

    class_name: StringAttr

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_string_literal(self.class_name.data)
        printer.print_string(">")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        class_name = parser.parse_str_literal()
        parser.parse_punctuation(">")
        return (StringAttr(class_name),)


TORCH_TYPES: tuple[type[TorchType], ...] = (
    VTensorType,
    NonValueTensorType,
    IntType,
    FloatType,
    BoolType,
    StrType,
    NoneType,
    NumberType,
    DeviceType,
    GeneratorType,
    AnyType,
    LinearParamsType,
    QInt8Type,
    QUInt8Type,
    QInt16Type,
    QInt32Type,
    ListType,
    OptionalType,
    TupleType,
    UnionType,
    DictType,
    NnModuleType,
)
"""All `!torch.*` types, for the dialect definition."""

_NESTED_TYPES: dict[str, type[TorchType]] = {t.name[len("torch.") :]: t for t in TORCH_TYPES}

# ---------------------------------------------------------------------------------------
# Type constraints (named after torch-mlir's ODS type constraints / schema types)
# ---------------------------------------------------------------------------------------

TENSOR: AttrConstraint = BaseAttr(VTensorType) | BaseAttr(NonValueTensorType)
"""Any torch tensor (`Tensor` in a schema; torch-mlir's AnyTorchTensorType)."""
NON_VALUE_TENSOR: AttrConstraint = BaseAttr(NonValueTensorType)
"""A mutable tensor: a schema's written alias `Tensor(a!)` (in-place and out= ops)."""
INT: AttrConstraint = BaseAttr(IntType)
FLOAT: AttrConstraint = BaseAttr(FloatType)
BOOL: AttrConstraint = BaseAttr(BoolType)
STR: AttrConstraint = BaseAttr(StrType)
NONE: AttrConstraint = BaseAttr(NoneType)
NUMBER: AttrConstraint = BaseAttr(NumberType)
DEVICE: AttrConstraint = BaseAttr(DeviceType)
GENERATOR: AttrConstraint = BaseAttr(GeneratorType)
OPTIONAL: AttrConstraint = BaseAttr(OptionalType)
"""`!torch.optional<T>`: torch-mlir accepts it wherever a `T?` is expected."""
SCALAR: AttrConstraint = INT | FLOAT | BOOL | NUMBER
"""`Scalar` in a schema (torch-mlir's AnyTorchScalarType)."""


def list_of(elem: AttrConstraint) -> AttrConstraint:
    """`!torch.list<T>` with T satisfying `elem`."""
    return ParamAttrConstraint(ListType, (elem,))


def optional_of(elem: AttrConstraint) -> AttrConstraint:
    """A `T?` schema type: T, `!torch.none` or `!torch.optional<..>` (as in torch-mlir)."""
    return elem | OPTIONAL | NONE


ANY: AttrConstraint = AnyAttr()
"""No constraint (schema not found, or a generic `t`/`Any` argument)."""

# ---------------------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------------------


def _sanitize_name(text: str) -> str:
    """Turn a value into an SSA name hint the way MLIR does (invalid chars -> hex)."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "_$.-")) else f"{ord(c):02X}" for c in text)
    return out if out and not out[0].isdigit() else f"_{out}"


def float_name_hint(value: float) -> str:
    """torch-mlir's result name for a float constant, e.g. `float1.000000e-05`."""
    if math.isnan(value):
        return "floatNaN"
    if math.isinf(value):
        return "floatInf" if value > 0 else "float-Inf"
    return "float" + f"{value:.6e}".replace("+", "")


def _parse_f64(parser: Parser) -> float:
    """A float literal or, as MLIR prints inf/nan, a hex bit pattern (0x7FF0...)."""
    token = parser._current_token
    if token.kind == MLIRTokenKind.INTEGER_LIT and token.text.lower().startswith("0x"):
        bits = parser.parse_integer(allow_boolean=False, allow_negative=False)
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    return parser.parse_float()


class _TorchOp(IRDLOperation):
    """Shared helpers for hand-written ops."""

    def _set_hint(self, hint: str) -> None:
        self.results[0].name_hint = hint


_FORMAT_PROGRAMS: dict[type[IRDLOperation], FormatProgram] = {}


class DefaultFormatOp(IRDLOperation):
    """Base of the generated ops: torch-mlir's default op syntax.

    `%r = torch.aten.x %a, %b : !ta, !tb -> !tr` (torch-mlir's printDefaultTorchOp),
    written per op as an xDSL declarative assembly format in `LAZY_ASSEMBLY_FORMAT`.
    xDSL compiles a class's `assembly_format` when the class is defined, which for the
    ~800 generated ops costs ~0.3 s at every start-up; this base compiles the same
    format with xDSL's own machinery on first use instead.
    """

    LAZY_ASSEMBLY_FORMAT: ClassVar[str]

    @classmethod
    def format_program(cls) -> FormatProgram:
        """The compiled assembly format of this op class (compiled once)."""
        program = _FORMAT_PROGRAMS.get(cls)
        if program is None:
            program = FormatProgram.from_str(cls.LAZY_ASSEMBLY_FORMAT, cls.get_irdl_definition())
            _FORMAT_PROGRAMS[cls] = program
        return program

    @classmethod
    def parse(cls, parser: Parser) -> DefaultFormatOp:
        start = parser.pos
        try:
            return cls.format_program().parse(parser, cls)
        except VerifyException as err:
            # xDSL checks operand/result types while parsing and reports them without
            # a location; point at the op instead.
            parser.raise_error(f"'{cls.name}' op: {err}", start)

    def print(self, printer: Printer) -> None:
        type(self).format_program().print(printer, self)


@irdl_op_definition
class ConstantIntOp(_TorchOp):
    """`%int1 = torch.constant.int 1`."""

    name = "torch.constant.int"
    value = prop_def(IntegerAttr[I64])
    result = result_def(IntType)
    traits = traits_def(Pure())
    assembly_format = "$value attr-dict"

    def __init__(self, value: int | IntegerAttr) -> None:
        attr = value if isinstance(value, IntegerAttr) else IntegerAttr(value, i64)
        super().__init__(properties={"value": attr}, result_types=[IntType()])
        self._set_hint(f"int{attr.value.data}")


@irdl_op_definition
class ConstantFloatOp(_TorchOp):
    """`%float1.000000e-05 = torch.constant.float 1.000000e-05` (inf/nan in hex)."""

    name = "torch.constant.float"
    value = prop_def(FloatAttr[Float64Type])
    result = result_def(FloatType)
    traits = traits_def(Pure())

    def __init__(self, value: float | FloatAttr) -> None:
        attr = value if isinstance(value, FloatAttr) else FloatAttr(value, f64)
        super().__init__(properties={"value": attr}, result_types=[FloatType()])
        self._set_hint(float_name_hint(attr.value.data))

    @classmethod
    def parse(cls, parser: Parser) -> ConstantFloatOp:
        value = _parse_f64(parser)
        attrs = parser.parse_optional_attr_dict()
        op = cls(value)
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_float(self.value.value.data, f64)
        printer.print_op_attributes(self.attributes)


@irdl_op_definition
class ConstantBoolOp(_TorchOp):
    """`%true = torch.constant.bool true`."""

    name = "torch.constant.bool"
    value = prop_def(BoolAttr)
    result = result_def(BoolType)
    traits = traits_def(Pure())
    assembly_format = "$value attr-dict"

    def __init__(self, value: bool | BoolAttr) -> None:
        attr = value if isinstance(value, IntegerAttr) else IntegerAttr(int(value), i1)
        super().__init__(properties={"value": attr}, result_types=[BoolType()])
        self._set_hint("true" if attr.value.data else "false")


@irdl_op_definition
class ConstantStrOp(_TorchOp):
    """`%str = torch.constant.str "x"`."""

    name = "torch.constant.str"
    value = prop_def(StringAttr)
    result = result_def(StrType)
    traits = traits_def(Pure())
    assembly_format = "$value attr-dict"

    def __init__(self, value: str | StringAttr) -> None:
        attr = StringAttr(value) if isinstance(value, str) else value
        super().__init__(properties={"value": attr}, result_types=[StrType()])
        self._set_hint("str")


@irdl_op_definition
class ConstantNoneOp(_TorchOp):
    """`%none = torch.constant.none`."""

    name = "torch.constant.none"
    result = result_def(NoneType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__(result_types=[NoneType()])
        self._set_hint("none")


@irdl_op_definition
class ConstantDeviceOp(_TorchOp):
    """`%cpu = torch.constant.device "cpu"`."""

    name = "torch.constant.device"
    value = prop_def(StringAttr)
    result = result_def(DeviceType)
    traits = traits_def(Pure())
    assembly_format = "$value attr-dict"

    def __init__(self, value: str | StringAttr) -> None:
        attr = StringAttr(value) if isinstance(value, str) else value
        super().__init__(properties={"value": attr}, result_types=[DeviceType()])
        self._set_hint(_sanitize_name(attr.data))


@irdl_op_definition
class ConstantNumberOp(_TorchOp):
    """`torch.constant.number`: torch-mlir has no custom syntax, so it prints generically."""

    name = "torch.constant.number"
    value = prop_def(BaseAttr(IntegerAttr) | BaseAttr(FloatAttr))
    result = result_def(NumberType)
    traits = traits_def(Pure())

    def __init__(self, value: IntegerAttr | FloatAttr) -> None:
        super().__init__(properties={"value": value}, result_types=[NumberType()])
        self._set_hint("number")


@irdl_op_definition
class VTensorLiteralOp(_TorchOp):
    """`torch.vtensor.literal(dense<..> : tensor<2xf32>) : !torch.vtensor<[2],f32>`."""

    name = "torch.vtensor.literal"
    value = prop_def()
    result = result_def(VTensorType)
    traits = traits_def(Pure())
    assembly_format = "`(` $value `)` attr-dict `:` type($result)"

    def __init__(self, value: Attribute, result_type: VTensorType) -> None:
        super().__init__(properties={"value": value}, result_types=[result_type])


@irdl_op_definition
class NonValueTensorLiteralOp(_TorchOp):
    """`torch.tensor.literal(dense<..> : tensor<..>) : !torch.tensor<..>`."""

    name = "torch.tensor.literal"
    value = prop_def()
    result = result_def(NonValueTensorType)
    assembly_format = "`(` $value `)` attr-dict `:` type($result)"

    def __init__(self, value: Attribute, result_type: NonValueTensorType) -> None:
        super().__init__(properties={"value": value}, result_types=[result_type])


@irdl_op_definition
class PrimListConstructOp(_TorchOp):
    """`torch.prim.ListConstruct %a, %b : (!torch.int, !torch.int) -> !torch.list<int>`."""

    name = "torch.prim.ListConstruct"
    elements = var_operand_def()
    result = result_def(ListType)
    traits = traits_def(Pure())
    assembly_format = "$elements attr-dict `:` functional-type($elements, $result)"

    def __init__(self, elements: Sequence[SSAValue], result_type: ListType) -> None:
        super().__init__(operands=[elements], result_types=[result_type])


@irdl_op_definition
class PrimListUnpackOp(_TorchOp):
    """`%r:2 = torch.prim.ListUnpack %l : !torch.list<int> -> !torch.int, !torch.int`."""

    name = "torch.prim.ListUnpack"
    operand = operand_def(ListType)
    results_ = var_result_def()
    assembly_format = "$operand attr-dict `:` type($operand) `->` type($results_)"

    def __init__(self, operand: SSAValue, result_types: Sequence[Attribute]) -> None:
        super().__init__(operands=[operand], result_types=[result_types])


@irdl_op_definition
class PrimTupleConstructOp(_TorchOp):
    """`torch.prim.TupleConstruct %a, %b : !torch.int, !torch.int -> !torch.tuple<int, int>`."""

    name = "torch.prim.TupleConstruct"
    elements = var_operand_def()
    result = result_def(TupleType)
    traits = traits_def(Pure())
    assembly_format = "$elements attr-dict `:` type($elements) `->` type($result)"

    def __init__(self, elements: Sequence[SSAValue]) -> None:
        ty = TupleType([SSAValue.get(e).type for e in elements])
        super().__init__(operands=[elements], result_types=[ty])


@irdl_op_definition
class PrimTupleIndexOp(_TorchOp):
    """`torch.prim.TupleIndex %t, %i : !torch.tuple<..>, !torch.int -> T`."""

    name = "torch.prim.TupleIndex"
    tup = operand_def(TupleType)
    i = operand_def(IntType)
    result = result_def()
    assembly_format = "$tup `,` $i attr-dict `:` type($tup) `,` type($i) `->` type($result)"

    def __init__(self, tup: SSAValue, i: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[tup, i], result_types=[result_type])


@irdl_op_definition
class PrimTupleUnpackOp(_TorchOp):
    """`%r:2 = torch.prim.TupleUnpack %t : !torch.tuple<..> -> T, U`."""

    name = "torch.prim.TupleUnpack"
    tup = operand_def(TupleType)
    results_ = var_result_def()
    assembly_format = "$tup attr-dict `:` type($tup) `->` type($results_)"

    def __init__(self, tup: SSAValue) -> None:
        ty = SSAValue.get(tup).type
        assert isinstance(ty, TupleType)
        super().__init__(operands=[tup], result_types=[ty.elems.data])


@irdl_op_definition
class OperatorOp(_TorchOp):
    """`torch.operator "name"(%a, %b) {attrs} : (T, U) -> (R, S) {region}, {region}`.

    An op that torch-mlir has no registered op for (`torch.aten.lstm.input`, all the
    `onnx.*` ops before conversion). `op_name` is the `name` property (the Python
    field cannot be called `name`, which xDSL reserves for the op name).
    """

    name = "torch.operator"
    op_name = prop_def(StringAttr, prop_name="name")
    args = var_operand_def()
    res = var_result_def()
    bodies = var_region_def()

    def __init__(
        self,
        op_name: str | StringAttr,
        args: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        attributes: Mapping[str, Attribute] | None = None,
        regions: Sequence[Region] = (),
    ) -> None:
        name_attr = StringAttr(op_name) if isinstance(op_name, str) else op_name
        super().__init__(
            operands=[args],
            result_types=[result_types],
            properties={"name": name_attr},
            attributes=dict(attributes or {}),
            regions=[list(regions)],
        )

    # Custom syntax: xDSL's declarative format separates variadic regions by spaces,
    # torch-mlir (MLIR's `$regions` directive) by commas.
    @classmethod
    def parse(cls, parser: Parser) -> OperatorOp:
        op_name = parser.parse_str_literal("torch.operator name")
        pos = parser.pos
        args = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_unresolved_operand)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        fn_type = parser.parse_function_type()
        operands = parser.resolve_operands(args, fn_type.inputs.data, pos)
        regions: list[Region] = []
        if (region := parser.parse_optional_region()) is not None:
            regions.append(region)
            while parser.parse_optional_punctuation(",") is not None:
                regions.append(parser.parse_region())
        return cls(op_name, operands, fn_type.outputs.data, attrs, regions)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.op_name.data)
        printer.print_string("(")
        printer.print_list(self.args, printer.print_operand)
        printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_function_type(self.args.types, self.res.types)
        if self.bodies:
            printer.print_string(" ")
            printer.print_list(self.bodies, printer.print_region)

    @property
    def results_(self) -> Sequence[OpResult]:
        """The results (alias kept for symmetry with torch-mlir's Python bindings)."""
        return self.res


@irdl_op_definition
class OperatorTerminatorOp(_TorchOp):
    """`torch.operator_terminator %v : T` ends a `torch.operator` region."""

    name = "torch.operator_terminator"
    args = var_operand_def()
    traits = traits_def(IsTerminator())
    assembly_format = "$args attr-dict `:` type($args)"


@irdl_op_definition
class PrimIfOp(_TorchOp):
    """`%r = torch.prim.If %c -> (T) { .. } else { .. }`."""

    name = "torch.prim.If"
    condition = operand_def(BoolType)
    results_ = var_result_def()
    thenRegion = region_def()
    elseRegion = region_def()
    assembly_format = "$condition `->` `(` type($results_) `)` $thenRegion `else` $elseRegion attr-dict"


@irdl_op_definition
class PrimIfYieldOp(_TorchOp):
    """`torch.prim.If.yield %v : T` ends a `torch.prim.If` region."""

    name = "torch.prim.If.yield"
    results_ = var_operand_def()
    traits = traits_def(IsTerminator())
    assembly_format = "attr-dict ($results_^ `:` type($results_))?"


@irdl_op_definition
class PrimLoopOp(_TorchOp):
    """`torch.prim.Loop %max, %cond, init(%x) { ^bb0(..): .. } : (..) -> (..)`."""

    name = "torch.prim.Loop"
    maxTripCount = operand_def(IntType)
    initialCondition = operand_def(BoolType)
    iterArgsInit = var_operand_def()
    results_ = var_result_def()
    region = region_def()
    assembly_format = (
        "$maxTripCount `,` $initialCondition `,` `init` `(` $iterArgsInit `)` $region"
        " attr-dict `:` functional-type(operands, results)"
    )


@irdl_op_definition
class PrimLoopConditionOp(_TorchOp):
    """`torch.prim.Loop.condition %c, iter(%x : T)` ends a `torch.prim.Loop` body."""

    name = "torch.prim.Loop.condition"
    shouldContinue = operand_def(BoolType)
    iterArgs = var_operand_def()
    traits = traits_def(IsTerminator())
    assembly_format = "$shouldContinue `,` `iter` `(` ($iterArgs^ `:` type($iterArgs))? `)` attr-dict"


@irdl_op_definition
class TensorStaticInfoCastOp(_TorchOp):
    """`torch.tensor_static_info_cast %a : !torch.vtensor<[2],f32> to !torch.vtensor`."""

    name = "torch.tensor_static_info_cast"
    operand = operand_def(TENSOR)
    result = result_def(TENSOR)
    traits = traits_def(Pure())
    assembly_format = "$operand attr-dict `:` type($operand) `to` type($result)"

    def __init__(self, operand: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[operand], result_types=[result_type])


@irdl_op_definition
class DerefineOp(_TorchOp):
    """`torch.derefine %i : !torch.int to !torch.optional<int>` (type widening)."""

    name = "torch.derefine"
    operand = operand_def()
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$operand attr-dict `:` type($operand) `to` type($result)"

    def __init__(self, operand: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[operand], result_types=[result_type])


def _counterpart_tensor_type(ty: Attribute, to: type[BaseTensorType]) -> BaseTensorType:
    """The value/non-value twin of a tensor type (same sizes, dtype and encoding)."""
    if not isinstance(ty, BaseTensorType):
        raise ValueError(f"expected a torch tensor type, got {ty}")
    return to(ty.sizes, ty.dtype, ty.encoding)


class _CopyTensorOp(_TorchOp):
    """`%r = torch.copy.to_<kind> %a : !result_type`: the operand type is implied."""

    OPERAND_KIND: ClassVar[type[BaseTensorType]]
    RESULT_KIND: ClassVar[type[BaseTensorType]]

    def __init__(self, operand: SSAValue) -> None:
        ty = _counterpart_tensor_type(SSAValue.get(operand).type, self.RESULT_KIND)
        super().__init__(operands=[operand], result_types=[ty])

    # Custom syntax: the declarative format cannot derive the operand type from the
    # result type (torch-mlir does it in C++).
    @classmethod
    def parse(cls, parser: Parser) -> _CopyTensorOp:
        operand = parser.parse_unresolved_operand()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        result_type = parser.parse_type()
        if not isinstance(result_type, cls.RESULT_KIND):
            parser.raise_error(f"expected !{cls.RESULT_KIND.name}", pos, parser.pos)
        operand_type = _counterpart_tensor_type(result_type, cls.OPERAND_KIND)
        op = cls(parser.resolve_operand(operand, operand_type))
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.operands[0])
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.results[0].type)


@irdl_op_definition
class CopyToNonValueTensorOp(_CopyTensorOp):
    """`%t = torch.copy.to_tensor %v : !torch.tensor<..>` (vtensor -> tensor)."""

    name = "torch.copy.to_tensor"
    OPERAND_KIND: ClassVar[type[BaseTensorType]] = VTensorType
    RESULT_KIND: ClassVar[type[BaseTensorType]] = NonValueTensorType
    operand = operand_def(VTensorType)
    result = result_def(NonValueTensorType)


@irdl_op_definition
class CopyToValueTensorOp(_CopyTensorOp):
    """`%v = torch.copy.to_vtensor %t : !torch.vtensor<..>` (tensor -> vtensor)."""

    name = "torch.copy.to_vtensor"
    OPERAND_KIND: ClassVar[type[BaseTensorType]] = NonValueTensorType
    RESULT_KIND: ClassVar[type[BaseTensorType]] = VTensorType
    operand = operand_def(NonValueTensorType)
    result = result_def(VTensorType)


@irdl_op_definition
class OverwriteTensorContentsOp(_TorchOp):
    """`torch.overwrite.tensor.contents %v overwrites %t : !torch.vtensor, !torch.tensor`."""

    name = "torch.overwrite.tensor.contents"
    value = operand_def(VTensorType)
    overwritten = operand_def(NonValueTensorType)
    assembly_format = "$value `overwrites` $overwritten attr-dict `:` type($value) `,` type($overwritten)"


@irdl_op_definition
class RuntimeAssertOp(_TorchOp):
    """`torch.runtime.assert %cond, "message"`."""

    name = "torch.runtime.assert"
    condition = operand_def(BoolType)
    message = prop_def(StringAttr)
    assembly_format = "$condition `,` $message attr-dict"


@irdl_op_definition
class SymbolicIntOp(_TorchOp):
    """`%0 = torch.symbolic_int "s0" {min_val = 2, max_val = 10} : !torch.int`."""

    name = "torch.symbolic_int"
    symbol_name = prop_def(StringAttr)
    min_val = prop_def(IntegerAttr[I64])
    max_val = prop_def(IntegerAttr[I64])
    result = result_def(IntType)

    _BOUNDS: ClassVar[tuple[str, str]] = ("min_val", "max_val")

    def __init__(
        self,
        symbol_name: str,
        min_val: int,
        max_val: int,
        attributes: Mapping[str, Attribute] | None = None,
    ) -> None:
        super().__init__(
            properties={
                "symbol_name": StringAttr(symbol_name),
                "min_val": IntegerAttr(min_val, i64),
                "max_val": IntegerAttr(max_val, i64),
            },
            attributes=dict(attributes or {}),
            result_types=[IntType()],
        )

    # Custom syntax: torch-mlir writes the bounds in the attribute dictionary without a type
    # (`min_val = 2`) and rejects `min_val = 2 : i64`, which the declarative format prints.
    @classmethod
    def parse(cls, parser: Parser) -> SymbolicIntOp:
        symbol_name = parser.parse_str_literal()
        pos = parser.pos
        attrs = parser.parse_optional_attr_dict()
        bounds: list[int] = []
        for key in cls._BOUNDS:
            value = attrs.pop(key, None)
            if not isinstance(value, IntegerAttr):
                parser.raise_error(f"expected integer '{key}' in the attribute dictionary", pos)
            bounds.append(value.value.data)
        parser.parse_punctuation(":")
        parser.parse_type()
        return cls(symbol_name, bounds[0], bounds[1], attrs)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.symbol_name.data)
        bounds = f"min_val = {self.min_val.value.data}, max_val = {self.max_val.value.data}"
        printer.print_string(" {" + bounds)
        for key, value in self.attributes.items():
            printer.print_string(", ")
            printer.print_identifier_or_string_literal(key)
            printer.print_string(" = ")
            printer.print_attribute(value)
        printer.print_string("} : ")
        printer.print_attribute(self.result.type)


@irdl_op_definition
class BindSymbolicShapeOp(_TorchOp):
    """`torch.bind_symbolic_shape %t, [%s0], affine_map<()[s0] -> (s0)> : !torch.vtensor<..>`."""

    name = "torch.bind_symbolic_shape"
    operand = operand_def(TENSOR)
    shape_symbols = var_operand_def(IntType)
    shape_expressions = prop_def(AffineMapAttr)
    assembly_format = "$operand `,` `[` $shape_symbols `]` `,` $shape_expressions attr-dict `:` type($operand)"


HAND_WRITTEN_OPS: tuple[type[IRDLOperation], ...] = (
    ConstantIntOp,
    ConstantFloatOp,
    ConstantBoolOp,
    ConstantStrOp,
    ConstantNoneOp,
    ConstantDeviceOp,
    ConstantNumberOp,
    VTensorLiteralOp,
    NonValueTensorLiteralOp,
    PrimListConstructOp,
    PrimListUnpackOp,
    PrimTupleConstructOp,
    PrimTupleIndexOp,
    PrimTupleUnpackOp,
    OperatorOp,
    OperatorTerminatorOp,
    PrimIfOp,
    PrimIfYieldOp,
    PrimLoopOp,
    PrimLoopConditionOp,
    TensorStaticInfoCastOp,
    DerefineOp,
    CopyToNonValueTensorOp,
    CopyToValueTensorOp,
    OverwriteTensorContentsOp,
    RuntimeAssertOp,
    SymbolicIntOp,
    BindSymbolicShapeOp,
)
"""Ops defined here (the generator skips these names)."""

__all__ = [
    "TorchType",
    "BaseTensorType",
    "VTensorType",
    "NonValueTensorType",
    "IntType",
    "FloatType",
    "BoolType",
    "StrType",
    "NoneType",
    "NumberType",
    "DeviceType",
    "GeneratorType",
    "AnyType",
    "LinearParamsType",
    "QInt8Type",
    "QUInt8Type",
    "QInt16Type",
    "QInt32Type",
    "ListType",
    "OptionalType",
    "TupleType",
    "UnionType",
    "DictType",
    "NnModuleType",
    "TORCH_TYPES",
    "print_nested_type",
    "parse_nested_type",
    "ANY",
    "BOOL",
    "DEVICE",
    "FLOAT",
    "GENERATOR",
    "INT",
    "NONE",
    "NON_VALUE_TENSOR",
    "NUMBER",
    "OPTIONAL",
    "SCALAR",
    "STR",
    "TENSOR",
    "list_of",
    "optional_of",
    "DefaultFormatOp",
    "ConstantIntOp",
    "ConstantFloatOp",
    "ConstantBoolOp",
    "ConstantStrOp",
    "ConstantNoneOp",
    "ConstantDeviceOp",
    "ConstantNumberOp",
    "VTensorLiteralOp",
    "NonValueTensorLiteralOp",
    "PrimListConstructOp",
    "PrimListUnpackOp",
    "PrimTupleConstructOp",
    "PrimTupleIndexOp",
    "PrimTupleUnpackOp",
    "OperatorOp",
    "OperatorTerminatorOp",
    "PrimIfOp",
    "PrimIfYieldOp",
    "PrimLoopOp",
    "PrimLoopConditionOp",
    "TensorStaticInfoCastOp",
    "DerefineOp",
    "CopyToNonValueTensorOp",
    "CopyToValueTensorOp",
    "OverwriteTensorContentsOp",
    "RuntimeAssertOp",
    "SymbolicIntOp",
    "BindSymbolicShapeOp",
    "HAND_WRITTEN_OPS",
    "float_name_hint",
]
