"""spa-propagate-channels: annotate every value's dims with the channel spaces they hold."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from spa.dialects.spa import DimsAttr, SpaceOp
from spa_ir.channels.annotations import DIMS_ATTR, reason_attr, strip
from spa_ir.channels.propagation import Propagation, propagate
from spa_ir.channels.spaces import Anon, Layout
from spa_ir.core.ir import main_function
from spa_ir.ops.registry import channel_rules


@dataclass
class AnnotateDims(RewritePattern):
    """Attach `spa.dims` (the resolved layout of each tensor result) to one op."""

    analysis: Propagation

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not op.results or DIMS_ATTR in op.attributes:
            return
        if not any(self.analysis.is_tensor(r) for r in op.results):
            return
        dims = []
        for r in op.results:
            layouts = self.analysis.layout(r) if self.analysis.is_tensor(r) else []
            dims.append(DimsAttr(tuple(_top(layout) for layout in layouts)))
        op.attributes[DIMS_ATTR] = ArrayAttr(dims)
        rewriter.has_done_action = True


def _top(layout: Layout) -> Layout:
    return Anon(-1) if isinstance(layout, Anon) else layout


@dataclass(frozen=True)
class PropagateChannels(ModulePass):
    """Run each op's channel rule (spa_ir/ops, one module per op family) over the main function, then write the
    layouts as `spa.dims` attributes and one `spa.space` symbol per space (size, origin, and why it is
    frozen or inexact). Ops without a rule freeze the channels that reach them."""

    name = "spa-propagate-channels"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        strip(op)
        fn = main_function(op)
        analysis = propagate(fn, channel_rules())
        PatternRewriteWalker(AnnotateDims(analysis), apply_recursively=False).rewrite_module(op)
        used: set[int] = set()
        for inner in fn.body.block.ops:
            for attr in inner.attributes.get(DIMS_ATTR, ArrayAttr([])).data:
                for layout in attr.data:
                    used.update(analysis.spaces.atoms(layout))
        spaces = [_space_op(analysis, s) for s in sorted(used)]
        first = op.body.block.first_op
        if first is None:
            op.body.block.add_ops(spaces)
        else:
            op.body.block.insert_ops_before(spaces, first)


def _space_op(analysis: Propagation, sid: int) -> SpaceOp:
    info = analysis.spaces.info(sid)
    attrs = {
        "sym_name": StringAttr(f"s{sid}"),
        "size": IntegerAttr(info.size, i64),
        "origin": StringAttr(info.origin),
    }
    if info.frozen:
        attrs["frozen"] = ArrayAttr([reason_attr(r) for r in info.frozen])
    if info.inexact:
        attrs["inexact"] = ArrayAttr([reason_attr(r) for r in info.inexact])
    return SpaceOp.create(attributes=attrs)
