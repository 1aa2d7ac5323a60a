"""torchvision's detection ops (`torchvision::roi_align`, what MultiScaleRoIAlign runs): each ROI's output row
pools a box of the features' spatial dims, channel by channel. The feature channels pass through to the result's
dim 1 (a removed channel pools to zero); the ROI count is the rois' rows, the pooled size a constant; a channel
reaching the pooled spatial dims, the image index or the box coordinates freezes."""

from __future__ import annotations

from xdsl.ir import Operation

from spa_ir.channels.propagation import Propagation
from spa_ir.channels.spaces import Anon, Reason
from spa_ir.core.ir import site
from spa_ir.ops.spec import OpSpec, arg, table


def roi_pooling(p: Propagation, op: Operation) -> None:
    """roi_align(input [N, C, H, W], rois [K, 5], ...) -> [K, C, ph, pw]: C passes through."""
    x, rois, r = arg(op, "input"), arg(op, "rois"), op.results[0]
    xl, shape = p.layout(x), p.shape(r)
    if len(xl) != 4 or shape is None or len(shape) != 4:
        return p.freeze_op(op, "roi pooling of a tensor not of rank 4")
    where = site(op)
    for d in (xl[0], xl[2], xl[3]):
        if p.has_channels(d):
            p.spaces.freeze(d, Reason("roi pooling over a channel dim", where))
    for d in p.layout(rois):
        if p.has_channels(d):
            p.spaces.freeze(d, Reason("channels as roi coordinates", where))
    p.set(r, [Anon(shape[0]), xl[1], Anon(shape[2]), Anon(shape[3])], zero=p.is_zero(x))


_ROI_ALIGN = "input rois spatial_scale pooled_height pooled_width sampling_ratio aligned"

OPS = table(
    {
        "torch.torchvision.roi_align": OpSpec(rule=roi_pooling),
    },
    operators={"torch.torchvision.roi_align": _ROI_ALIGN},
)
