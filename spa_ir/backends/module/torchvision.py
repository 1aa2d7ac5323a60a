"""torchvision's own modules after apply_plan: the widths its blocks record beside their layers.

torchvision's blocks keep an `out_channels` integer next to the layers that define it (ConvNormActivation,
MobileNet's InvertedResidual, EfficientNet's MBConv, a detector's BackboneWithFPN, whose width the detection heads
were built from). Their forwards do not read it, but code that builds on the model does (a new head sized from
`backbone.out_channels`), so each is set to the width its layers now have. What the detectors' heads count is not
a channel and stays: anchors per location (`num_anchors`), classes (`num_classes`, `num_columns`), keypoints
(`out_channels` of KeypointRCNNPredictor) are the head outputs' channels, which pruning keeps (model outputs), and
image sizes and box counts (the transform's `max_size`, `detections_per_img`, `topk_candidates`) are no widths:
those are recorded as checked (old == new in `applied.attributes`), so apply_plan's size scan does not report an
image size that happens to equal a removed width. Anything else that still holds a removed size is reported by the
scan (`applied.limits`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _last_conv_width(module: nn.Module) -> int | None:
    """The output width of the last convolution in `module` (in registration order: a block's projection)."""
    convs = [m for m in module.modules() if isinstance(m, _CONV)]
    return convs[-1].out_channels if convs else None


def _width(module: nn.Module) -> int | None:
    """The width `module.out_channels` should hold now, for the torchvision blocks that record one; None for
    any other module (its integers are not ours to guess)."""
    from torchvision.models import efficientnet, mobilenetv2, mobilenetv3
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.misc import ConvNormActivation

    if isinstance(module, ConvNormActivation):
        first = module[0]
        return first.out_channels if isinstance(first, _CONV) else None
    if isinstance(module, (mobilenetv2.InvertedResidual, mobilenetv3.InvertedResidual)):
        body = getattr(module, "conv", None) or getattr(module, "block", None)
        return _last_conv_width(body) if isinstance(body, nn.Module) else None
    if isinstance(module, (efficientnet.MBConv, efficientnet.FusedMBConv)):
        return _last_conv_width(module.block)
    if isinstance(module, BackboneWithFPN):
        return _last_conv_width(module.fpn.layer_blocks[-1])
    return None


_NOT_WIDTHS = (
    "min_size max_size size_divisible detections_per_img topk_candidates num_classes num_anchors num_columns "
    "up_scale".split()
)
"""Integers of torchvision's detection modules that count pixels, boxes, classes or anchors, never channels."""


def _counts(module: nn.Module) -> list[str]:
    """The attributes of `module` that count pixels, boxes, classes, anchors or keypoints (none for a module not of
    torchvision's detection)."""
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNPredictor

    if not type(module).__module__.startswith("torchvision.models.detection."):
        return []
    return [*_NOT_WIDTHS, "out_channels"] if isinstance(module, KeypointRCNNPredictor) else list(_NOT_WIDTHS)


def update(model: nn.Module, applied: AppliedPlan) -> None:
    """Set every recorded `out_channels` of torchvision's blocks to its layers' width after slicing; record the
    detection modules' counts of pixels, boxes, classes and anchors as checked."""
    for path, module in model.named_modules():
        for attr in _counts(module):
            value = vars(module).get(attr)
            if isinstance(value, int) and not isinstance(value, bool):
                applied.set_attribute(path, module, attr, value)
        old = getattr(module, "out_channels", None)
        if not isinstance(old, int) or isinstance(module, _CONV) or "out_channels" in applied.attributes.get(path, {}):
            continue
        width = _width(module)
        if width is not None and width != old:
            applied.set_attribute(path, module, "out_channels", width)
