"""Records passes leave on `builtin.module` for later passes and the plan (what a selection aimed at, which
criterion scored, the original cost of a schedule): flat dictionaries of strings, integers and floats, kept
as IR attributes so that a pipeline split across spa-opt calls keeps them."""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, StringAttr, f64, i64
from xdsl.ir import Attribute

Scalar = str | int | float


def _attr(value: Scalar) -> Attribute:
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return IntegerAttr(value, i64)
    return FloatAttr(float(value), f64)


def _plain(attr: Attribute, name: str) -> Scalar:
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, (IntegerAttr, FloatAttr)):
        return attr.value.data
    raise AssertionError(f"unexpected entry {attr} in {name}")


def put_record(module: ModuleOp, name: str, fields: Mapping[str, Scalar]) -> None:
    module.attributes[name] = DictionaryAttr({k: _attr(v) for k, v in fields.items()})


def get_record(module: ModuleOp, name: str) -> dict[str, Scalar] | None:
    attr = module.attributes.get(name)
    if not isinstance(attr, DictionaryAttr):
        return None
    return {k: _plain(v, name) for k, v in attr.data.items()}


def pop_record(module: ModuleOp, name: str) -> dict[str, Scalar] | None:
    record = get_record(module, name)
    module.attributes.pop(name, None)
    return record
