"""From torch-mlir's in-memory IR (torch_mlir.ir) to spa's xDSL IR.

The bridge walks torch-mlir's objects and rebuilds each op in xDSL (about 4x faster than printing and
re-parsing the text, and it keeps locations, which torch-mlir prints as forward aliases that xDSL's
parser does not read). Types, attributes and locations are converted through their text form,
cached, so each distinct spelling is parsed once. In torch-mlir `spa.param` is an unregistered op
created by `make_param_op`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import LocationAttr, ModuleOp, NameLoc, NoneAttr, StringAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException

from spa.dialects.torch_base import float_name_hint
from spa_ir.core.context import make_context
from spa_ir.core.errors import SpaError, first_line


def torch_mlir_context() -> Any:
    """A torch-mlir context with the torch dialect and room for spa's (unregistered there) ops."""
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_d

    # The bindings wrap each op in the class that `torch_mlir.dialects.<namespace>` defines, and retry
    # that import for every op of a namespace whose import failed: spa's own (empty) entry stops that.
    sys.modules.setdefault("torch_mlir.dialects.spa", types.ModuleType("torch_mlir.dialects.spa"))
    ctx = ir.Context()
    torch_d.register_dialect(ctx)
    ctx.allow_unregistered_dialects = True
    return ctx


def make_param_op(name: str, ir_type: Any, loc: Any = None, *, buffer: bool = False) -> Any:
    """Create `spa.param "name" : type` in torch-mlir's IR at the current insertion point; return its value."""
    from torch_mlir import ir

    attributes = {"name": ir.StringAttr.get(name)}
    if buffer:
        attributes["buffer"] = ir.UnitAttr.get()
    op = ir.Operation.create("spa.param", results=[ir_type], attributes=attributes, loc=loc)
    return op.result


def _value(op: Operation) -> Any:
    """A `torch.constant.*` op's Python value: `.data` of its value attribute (StringAttr) or of the
    attribute's `value` (IntegerAttr, FloatAttr)."""
    attr = op.properties["value"] if "value" in op.properties else op.attributes["value"]
    inner: Any = getattr(attr, "value", attr)
    return inner.data


_NAME_HINTS: dict[str, Any] = {
    # torch-mlir's result names for constants (`%int1`, `%float1.000000e-05`, `%true`, `%none`), so a
    # freshly imported module prints as torch-mlir prints it, and printing is a fixed point.
    "torch.constant.int": lambda op: f"int{_value(op)}".replace("-", "_"),
    "torch.constant.float": lambda op: float_name_hint(_value(op)),
    "torch.constant.bool": lambda op: "true" if _value(op) else "false",
    "torch.constant.none": lambda op: "none",
    "torch.constant.str": lambda op: "str",
}


class _Converter:
    """Rebuilds a torch_mlir.ir operation tree as xDSL operations."""

    def __init__(self, ctx: Context, source: str):
        self.ctx = ctx
        self.source = source
        self.values: dict[Any, SSAValue] = {}
        self.attr_cache: dict[str, Attribute] = {}
        self.type_cache: dict[str, Attribute] = {}
        self.loc_cache: dict[str, Attribute] = {}
        self.name_locs: dict[str, NameLoc] = {}

    def _parse(self, text: str, what: str, cache: dict[str, Attribute]) -> Attribute:
        if (hit := cache.get(text)) is not None:
            return hit
        parser = Parser(self.ctx, text, self.source)
        try:
            if what == "type":
                value: Attribute | None = parser.parse_type()
            elif what == "loc":
                value = parser.parse_optional_location()
            else:
                value = parser.parse_attribute()
        except ParseError as e:
            raise SpaError(f"cannot read torch-mlir {what} '{text}': {e.msg}", where=self.source) from None
        assert value is not None
        cache[text] = value
        return value

    def type(self, t: Any) -> Attribute:
        return self._parse(str(t), "type", self.type_cache)

    def location(self, loc: Any) -> LocationAttr:
        """Name locations (the frontends' module paths, nearly every op) are built directly; others parsed."""
        child = getattr(loc, "child_loc", None)
        if child is not None and type(child).__name__ == "UnknownLoc":
            name = loc.name_str
            if (hit := self.name_locs.get(name)) is None:
                hit = self.name_locs[name] = NameLoc(StringAttr(name), NoneAttr())
            return hit
        parsed = self._parse(str(loc), "loc", self.loc_cache)
        assert isinstance(parsed, LocationAttr)  # what parse_optional_location returns
        return parsed

    def op(self, tm_op: Any) -> Operation:
        tm_op = tm_op.operation
        name = tm_op.name
        op_type = self.ctx.get_optional_op(name)
        if op_type is None:
            raise SpaError(f"op '{name}' is not known to spa's dialects", where=f"{self.source}: {tm_op.location}")
        prop_names: set[str] = set()
        if issubclass(op_type, IRDLOperation):
            prop_names = set(op_type.get_irdl_definition().properties)
        properties: dict[str, Attribute] = {}
        attributes: dict[str, Attribute] = {}
        for named in tm_op.attributes:
            key = named if isinstance(named, str) else named.name
            attr = self._parse(str(tm_op.attributes[key]), "attr", self.attr_cache)
            (properties if key in prop_names else attributes)[key] = attr
        regions = [self.region(r) for r in tm_op.regions]
        new = op_type.create(
            operands=[self.values[v] for v in tm_op.operands],
            result_types=[self.type(r.type) for r in tm_op.results],
            properties=properties,
            attributes=attributes,
            regions=regions,
        )
        new.location = self.location(tm_op.location)
        for tm_res, res in zip(tm_op.results, new.results):
            self.values[tm_res] = res
        hint = _NAME_HINTS.get(name)
        if hint is not None:
            new.results[0].name_hint = hint(new)
        return new

    def region(self, tm_region: Any) -> Region:
        blocks = []
        for tm_block in tm_region.blocks:
            block = Block(arg_types=[self.type(a.type) for a in tm_block.arguments])
            for tm_arg, arg in zip(tm_block.arguments, block.args):
                self.values[tm_arg] = arg
            for tm_op in tm_block.operations:
                block.add_op(self.op(tm_op))
            blocks.append(block)
        return Region(blocks)


def to_xdsl(tm_module: Any, source: str) -> ModuleOp:
    """torch_mlir.ir.Module -> verified xDSL ModuleOp, locations kept."""
    conv = _Converter(make_context(), source)
    body = conv.region(tm_module.operation.regions[0])
    module = ModuleOp(body)
    try:
        module.verify()
    except VerifyException as e:
        raise SpaError(f"imported IR does not verify: {first_line(e)}", where=source) from None
    return module
