"""Whole torchvision detectors: backbone + FPN + heads captured as one program, pruned, and put back into the
detector, which then runs its own pre- and post-processing on a real photo.

For each detector (the smallest torchvision variant of each family, random weights, small images): the tensor part
(spa_ir/frontends/detection.py's DetectorHeads; two-stage ROI heads on fixed proposals) is checked against
torchvision's own pooling, captured once, pruned (only_exact, ratio 0.5, criterion random), and only the head
outputs' channels (what the post-processing reads) and the image input may be frozen. The share of the detector's
parameters in pruned groups is printed. Then apply_plan slices the detector itself (the wrapper's weight names are
the detector's), the torchvision adapter updates its recorded widths (nothing left in `limits`), the raw head
outputs equal the masked original's (the original detector with the plan's slices zeroed) within 1e-4, and the
detector's own forward on the photo returns the masked original's boxes, labels and scores. The oracle at 0.3 / 0.5
and all groups on every detector of torchvision is test_prune_oracle.py's test_detection.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from oracle import perturb, reused
from zoo import max_relative_error

from spa_ir import api
from spa_ir.channels.groups import IndexMap
from spa_ir.core.errors import SpaError
from spa_ir.frontends.detection import DetectorHeads, example_proposals, normalized
from spa_ir.verify import masked

DETECTORS = [
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "maskrcnn_resnet50_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
    "ssd300_vgg16",
]
SIZE = 64
"""min_size = max_size of the R-CNN / RetinaNet / FCOS transforms (SSDs resize to their own 300 / 320)."""
POST_PROCESSING_READS = {"model input", "model output"}
"""The only reasons a group of the captured part may be frozen: the image, and the head outputs' channels."""
TOLERANCE = 1e-4


def photo() -> torch.Tensor:
    """A real photo (sklearn's china.jpg, 427 x 640), as the detector takes it: [3, H, W] in [0, 1]."""
    from sklearn.datasets import load_sample_image  # type: ignore[import-untyped]  # scikit-learn ships no stubs

    return torch.from_numpy(np.array(load_sample_image("china.jpg"))).permute(2, 0, 1).float() / 255


def build(name: str) -> Any:
    """Random weights (seeded; perturbed so no tensor is constant), and no score threshold: random heads score
    every class near 1/num_classes, which the default thresholds would drop, leaving nothing to compare."""
    torch.manual_seed(0)
    size = {} if name.startswith("ssd") else {"min_size": SIZE, "max_size": SIZE}
    det: Any = perturb(torchvision.models.get_model(name, weights=None, weights_backbone=None, **size).eval())
    if hasattr(det, "roi_heads"):
        det.roi_heads.score_thresh = 0.0
    else:
        det.score_thresh = 0.0
    return det


class Captured:
    """One detector, its pristine copy (the masked original's base), the wrapper's inputs, the plan."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.detector = build(name)
        self.original = copy.deepcopy(self.detector)
        self.photo = photo()
        self.images = normalized(self.detector, [self.photo])
        self.boxes = example_proposals(self.images)
        heads = DetectorHeads(self.detector, self.images, self.boxes).eval()
        self.inputs = heads.example_inputs(self.images)
        self.program = api.import_torch(heads, self.inputs, name)
        self.plan = api.prune_program(self.program, ratio=0.5, criterion="random", seed=1, only_exact=True)
        self.plan_json: dict[str, Any] = self.plan.to_json()

    def heads_of(self, detector: torch.nn.Module) -> DetectorHeads:
        return DetectorHeads(detector, self.images, self.boxes).eval()


captured = reused(Captured)


def share_in_pruned_groups(model: torch.nn.Module, plan: dict[str, Any]) -> float:
    """The share of the model's parameter entries that lie on a channel of a group the plan prunes: an entry is
    in a group when its index along some dim is one of a member's indices (the plan's index maps)."""
    covered: dict[tuple[str, int], set[int]] = {}
    for g in plan["groups"]:
        if not g["removed"]:
            continue
        for m in g["members"]:
            idx = IndexMap(m["offset"], m["stride"], m["block"], m["count"], m["period"]).all_indices(g["size"])
            covered.setdefault((m["param"], m["dim"]), set()).update(int(i) for i in idx.ravel())
    total = inside = 0
    for name, p in model.named_parameters():
        outside = 1
        for d, n in enumerate(p.shape):
            outside *= n - len(covered.get((name, d), ()))
        total += p.numel()
        inside += p.numel() - outside
    return inside / total


def _outputs(module: torch.nn.Module, *inputs: Any) -> list[torch.Tensor]:
    with torch.no_grad():
        return list(module(*inputs))


def test_static_level_split_is_torchvision_pooling() -> None:
    """The wrapper's per-level pooling of the level-ordered boxes is MultiScaleRoIAlign's pooling of the boxes, on
    images large enough for boxes of several FPN levels (the capture's 64-pixel images give boxes of one level)."""
    torch.manual_seed(0)
    det: Any = perturb(
        torchvision.models.get_model(
            "maskrcnn_resnet50_fpn", weights=None, weights_backbone=None, min_size=320, max_size=320
        ).eval()
    )
    images = normalized(det, [photo()])
    boxes = example_proposals(images)
    heads = DetectorHeads(det, images, boxes)
    box_pool: Any = heads.pools["box"]
    assert sum(1 for n in box_pool.counts if n) > 1, "the boxes should span several levels"
    size = [(int(images.shape[-2]), int(images.shape[-1]))]
    with torch.no_grad():
        features = det.backbone(images)
        for kind in ("box", "mask"):
            want = getattr(det.roi_heads, f"{kind}_roi_pool")(features, boxes, size)[heads.order]
            got = heads.pools[kind](dict(features), heads.rois)
            assert max_relative_error([got], [want]) < 1e-6, kind


@pytest.mark.parametrize("name", DETECTORS)
def test_detector_pruned_and_applied(name: str) -> None:
    c = captured(name)
    groups = c.plan_json["groups"]
    frozen = {r["kind"] for g in groups for r in g["frozen"]}
    allowed = POST_PROCESSING_READS
    assert frozen <= allowed, f"{name}: groups frozen for {frozen - allowed}"
    pruned = [g for g in groups if g["removed"]]
    share = share_in_pruned_groups(c.original, c.plan_json)
    before = sum(p.numel() for p in c.original.parameters())
    after = sum(c.program.weights[n].numel() for n, _ in c.original.named_parameters())
    print(
        f"{name}: {len(groups)} groups, {len(pruned)} pruned, {share:.1%} of the parameters in pruned groups, "
        f"{after}/{before} = {after / before:.2f} kept at ratio 0.5"
    )
    assert pruned and share > 0
    assert set(c.program.weights) <= set(c.detector.state_dict()), "the captured names are the detector's"

    # its own forward ends in NMS and top-k: a rounding-level difference can reorder boxes, so apply_plan does not
    # compare those outputs (verify=False); the raw heads are compared with the masked original below
    applied = api.apply_plan(c.detector, c.plan, example_inputs=[[c.photo]], verify=False)
    assert applied.limits == [], applied.limits
    for n, p in c.detector.named_parameters():
        assert tuple(p.shape) == tuple(c.program.weights[n].shape), n
    assert sum(p.numel() for p in c.detector.parameters()) == after < before

    got = _outputs(c.heads_of(c.detector), *c.inputs)
    with masked(c.original, c.plan_json["params"]) as m:
        want = _outputs(c.heads_of(m), *c.inputs)
        with torch.no_grad():
            reference = m([c.photo])[0]
    err = max_relative_error(got, want)
    print(f"{name}: raw head outputs {len(got)}, max relative error {err:.1e}")
    assert err < TOLERANCE

    with torch.no_grad():
        detections = c.detector([c.photo])[0]
    assert set(detections) >= {"boxes", "labels", "scores"} and len(detections["boxes"]) > 0
    compared = assert_same_detections(detections, reference)
    print(f"{name}: {len(detections['boxes'])} detections on the photo, {compared} of the best 10 compared by box")


def assert_same_detections(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], top: int = 10) -> int:
    """The best `top` detections are the reference's: the scores in order, and each box of a score no other
    candidate ties with found among the reference's with its label (of candidates of equal score, on anchors of
    identical features, top-k and NMS may keep either). Returns how many boxes were compared."""
    top = min(top, len(want["scores"]))
    assert max_relative_error([got["scores"][:top]], [want["scores"][:top]]) < TOLERANCE
    tol = TOLERANCE * float(want["scores"].max())
    scale = float(want["boxes"].abs().max())
    compared = 0
    for box, label, score in zip(got["boxes"][:top], got["labels"][:top], got["scores"][:top], strict=True):
        if (
            int(((got["scores"] - score).abs() <= tol).sum()) > 1
            or int(((want["scores"] - score).abs() <= tol).sum()) > 1
        ):
            continue
        same = (want["labels"] == label) & ((want["boxes"] - box).abs().amax(1) <= TOLERANCE * scale)
        same &= (want["scores"] - score).abs() <= tol
        assert bool(same.any()), f"detection {box.tolist()} (label {int(label)}, score {float(score):.4f}) not found"
        compared += 1
    return compared


def test_a_two_stage_detector_without_proposals_is_refused() -> None:
    det = build(DETECTORS[0])
    images = torch.zeros(1, 3, SIZE, SIZE)
    with pytest.raises(SpaError, match="fixed proposals"):
        DetectorHeads(det, images)
    with pytest.raises(SpaError, match="not a torchvision detector"):
        DetectorHeads(torch.nn.Linear(2, 2), images)
