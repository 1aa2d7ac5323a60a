"""Reading and printing spa's IR text, with errors located at the op (file:line:col). Imports no torch: spa-opt
parses its input with it at start-up."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.lexer import Span

from spa_ir.core.context import make_context
from spa_ir.core.errors import SpaError, located_parse_error


class SpaParser(Parser):
    """xDSL's parser, with 'Operation X is not registered' located at the op name (xDSL points past it),
    and the source position of every op kept (`op_spans`) so verification errors can name it."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.op_spans: dict[Operation, Span] = {}

    def parse_operation(self) -> Operation:
        span = self._current_token.span
        op = super().parse_operation()
        self.op_spans[op] = span
        return op

    def _get_op_by_name(self, name: str) -> type[Operation]:
        if self.ctx.get_optional_op(name, dialect_stack=self._parser_state.dialect_stack) is None:
            content = self.lexer.input.content
            start = content.rfind(name.encode() if isinstance(content, bytes) else name, 0, self.pos)
            if start >= 0:
                start -= content[start - 1 : start] in ('"', b'"')  # generic form: point at the quote
                span = Span(start, start + len(name), self.lexer.input)
                self.raise_error(f"Operation {name} is not registered", span)
        return super()._get_op_by_name(name)


def parse_module(text: str, name: str = "<stdin>") -> ModuleOp:
    """Parse and verify MLIR text; errors become one-line `file:line:col: message`."""
    parser = SpaParser(make_context(), text, name)
    try:
        module = parser.parse_module()
    except ParseError as e:
        raise located_parse_error(e) from None
    verify_located(module, parser.op_spans, name)
    return module


def verify_located(module: ModuleOp, op_spans: dict[Operation, Span], name: str, line_offset: int = 0) -> None:
    """Verify; a failure is a one-line SpaError `file:line:col: 'op.name' op: message` at the failing op."""
    try:
        module.verify()
    except VerifyException as e:
        error, where = e, name
        for op in module.walk():  # find the op whose own verifier fails
            try:
                op.verify(verify_nested_ops=False)
            except VerifyException as op_error:
                error, span = op_error, op_spans.get(op)
                where = str(replace(span, line_offset=line_offset).get_location()) if span is not None else name
                where = f"{where}: '{op.name}' op"
                break
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise SpaError(message, where=where) from None


def print_module(module: ModuleOp, *, debuginfo: bool = False, generic: bool = False) -> str:
    out = io.StringIO()
    Printer(stream=out, print_debuginfo=debuginfo, print_generic_format=generic).print_op(module)
    out.write("\n")
    return out.getvalue()
