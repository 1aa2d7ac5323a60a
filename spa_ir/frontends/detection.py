"""The tensor part of a torchvision detector, as one module torch.export can capture.

A whole detector cannot be exported: its pre-processing resizes each image by its own size, and its post-processing
(anchor decoding, top-k per level, NMS, the proposals of a two-stage detector) has data-dependent sizes. What pruning
changes lies between them: backbone + FPN + the heads. `DetectorHeads(detector, images, proposals)` runs exactly that
part on transform-normalized images (`normalized(detector, images)`) and returns the raw head tensors, so their
class / box / anchor channels are model outputs (frozen) and everything before them can be pruned.

Two-stage detectors (Faster / Mask / Keypoint R-CNN) pool their ROI heads' features on proposals the RPN chose at
run time. Here the proposals are fixed boxes given at construction, a second input (`rois`, the `[K, 5]` batch-index
+ box rows): torchvision's MultiScaleRoIAlign assigns each box its FPN level by value (`torch.where` per level, not
capturable), so the wrapper assigns the levels once, with the pooler's own level mapper, orders the boxes by level
(`order`), and pools each level's static slice. The ROI heads' tensor part (box head MLP, box predictor, mask head
and predictor, keypoint head and predictor) is then in the same program as the backbone.

The wrapper registers the detector's own submodules under their own names (`backbone`, `rpn`, `roi_heads`, `head`),
so the captured program's weight names, and the plan's, are the detector's state-dict names: the plan applies to
the detector itself (`spa_ir.api.apply_plan(detector, plan)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from spa_ir.core.errors import SpaError

_PARTS = ("backbone", "rpn", "roi_heads", "head")
"""The submodules of torchvision's detectors that hold parameters (GeneralizedRCNN, RetinaNet, FCOS, SSD)."""


def normalized(detector: nn.Module, images: Sequence[torch.Tensor]) -> torch.Tensor:
    """The batch the detector's backbone sees: its own transform (normalize, resize, pad to a common size)."""
    with torch.no_grad():
        batch, _ = detector.transform(list(images))  # type: ignore[operator]  # nn.Module attribute: a Tensor or Module to mypy
    out: torch.Tensor = batch.tensors
    return out


def example_proposals(images: torch.Tensor, n: int = 12, seed: int = 2) -> list[torch.Tensor]:
    """Fixed boxes (x1, y1, x2, y2) for capturing a two-stage detector's ROI heads: `n` per image, of sizes from 4
    pixels to nearly the image's, so that large enough images put them on several FPN levels."""
    g = torch.Generator().manual_seed(seed)
    h, w = images.shape[-2:]
    out = []
    for _ in range(images.shape[0]):
        side = torch.linspace(4, 0.9 * min(h, w), n)[:, None] * (0.7 + 0.6 * torch.rand(n, 2, generator=g))
        xy = torch.rand(n, 2, generator=g) * (torch.tensor([w, h]) - side).clamp(min=1)
        out.append(torch.cat([xy, xy + side], 1))
    return out


def _features(backbone: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    feats = backbone(images)
    return {"0": feats} if isinstance(feats, torch.Tensor) else dict(feats)


class _Pool(nn.Module):
    """One MultiScaleRoIAlign on boxes whose levels were assigned once: each level's slice pooled, concatenated."""

    def __init__(
        self,
        featmap_names: list[str],
        output_size: list[int],
        sampling_ratio: int,
        scales: list[float],
        counts: list[int],
    ) -> None:
        super().__init__()
        self.featmap_names, self.output_size, self.sampling_ratio = featmap_names, output_size, sampling_ratio
        self.scales, self.counts = scales, counts

    def forward(self, features: dict[str, torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
        from torchvision.ops import roi_align

        x = [features[k] for k in self.featmap_names if k in features]
        parts, start = [], 0
        for level, count in enumerate(self.counts):
            if count:
                parts.append(
                    roi_align(
                        x[level],
                        rois[start : start + count],
                        self.output_size,
                        spatial_scale=self.scales[level],
                        sampling_ratio=self.sampling_ratio,
                    )
                )
            start += count
        return torch.cat(parts) if len(parts) > 1 else parts[0]


def _pool_for(
    pooler: Any, features: dict[str, torch.Tensor], image_sizes: list[tuple[int, int]], levels: torch.Tensor
) -> _Pool:
    """The pooler's static counterpart for boxes ordered by level (`levels`, ascending)."""
    from torchvision.ops.poolers import _filter_input, _setup_scales

    x = _filter_input(features, pooler.featmap_names)
    scales, _ = _setup_scales(x, image_sizes, pooler.canonical_scale, pooler.canonical_level)
    counts = [int((levels == k).sum()) for k in range(len(x))]
    return _Pool(
        list(pooler.featmap_names),
        list(pooler.output_size),
        int(pooler.sampling_ratio),
        scales,
        counts,
    )


class DetectorHeads(nn.Module):
    """backbone + FPN + heads of a torchvision detector; `forward(images[, rois])` returns the raw head tensors.

    images: transform-normalized (`normalized`); proposals: for a two-stage detector, the fixed boxes per image
    (`[K_i, 4]`, x1 y1 x2 y2 in the normalized images' coordinates) its ROI heads pool; `rois` then holds them
    ordered by FPN level (`self.order` indexes the concatenated proposals), and `example_inputs(images)` gives
    both inputs."""

    backbone: Any
    rpn: Any
    roi_heads: Any
    head: Any

    def __init__(
        self, detector: nn.Module, images: torch.Tensor, proposals: Sequence[torch.Tensor] | None = None
    ) -> None:
        super().__init__()
        for name in _PARTS:
            part = getattr(detector, name, None)
            if isinstance(part, nn.Module):
                self.add_module(name, part)
        if not hasattr(self, "backbone"):
            raise SpaError(f"{type(detector).__name__} is not a torchvision detector (no backbone)", where="detection")
        self.two_stage = hasattr(self, "rpn") and hasattr(self, "roi_heads")
        self.pools = nn.ModuleDict()
        self.rois = torch.zeros(0, 5)
        self.order = torch.zeros(0, dtype=torch.long)
        if self.two_stage:
            self._assign_levels(images, proposals)

    def _assign_levels(self, images: torch.Tensor, proposals: Sequence[torch.Tensor] | None) -> None:
        from torchvision.ops.poolers import _convert_to_roi_format, _filter_input, _setup_scales

        if proposals is None or len(proposals) != images.shape[0]:
            raise SpaError(
                "a two-stage detector's heads need fixed proposals, one [K, 4] tensor per image", where="detection"
            )
        boxes = [b.to(images.dtype) for b in proposals]
        sizes = [(int(images.shape[-2]), int(images.shape[-1]))] * len(boxes)
        with torch.no_grad():
            features = _features(self.backbone, images)
        roi_heads = self.roi_heads
        box_pool = roi_heads.box_roi_pool
        x = _filter_input(features, box_pool.featmap_names)
        _, mapper = _setup_scales(x, sizes, box_pool.canonical_scale, box_pool.canonical_level)
        levels = mapper(boxes)
        self.order = torch.sort(levels, stable=True).indices
        self.rois = _convert_to_roi_format(boxes)[self.order]
        levels = levels[self.order]
        for kind in ("box", "mask", "keypoint"):
            pooler = getattr(roi_heads, f"{kind}_roi_pool", None)
            if pooler is not None:
                self.pools[kind] = _pool_for(pooler, features, sizes, levels)

    def example_inputs(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The inputs `forward` takes for these images: the images, and the fixed rois of a two-stage detector."""
        return [images, self.rois] if self.two_stage else [images]

    def forward(self, images: torch.Tensor, rois: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        features = _features(self.backbone, images)
        if not self.two_stage:
            outs = self.head(list(features.values()))
            return tuple(outs.values())
        objectness, deltas = self.rpn.head(list(features.values()))
        out: list[torch.Tensor] = [*objectness, *deltas]
        assert rois is not None, "a two-stage detector's heads take the fixed rois (example_inputs)"
        heads = self.roi_heads
        box = heads.box_head(self.pools["box"](features, rois))
        out.extend(heads.box_predictor(box))
        if "mask" in self.pools:
            out.append(heads.mask_predictor(heads.mask_head(self.pools["mask"](features, rois))))
        if "keypoint" in self.pools:
            out.append(heads.keypoint_predictor(heads.keypoint_head(self.pools["keypoint"](features, rois))))
        return tuple(out)
