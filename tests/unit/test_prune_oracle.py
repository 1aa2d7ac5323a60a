"""Fidelity and the pruning oracle over the model zoo, for every model we can capture.

For each model: import it and check that the emitted (unpruned) module computes what the model computes
(1e-4 relative: the fidelity test of the foundation issue); then prune with criterion=random at ratios 0.3 and
0.5 with only_exact=True and check that the pruned model computes the masked original (tests/unit/oracle.py),
that its parameters shrank and its output shapes are the original's; then prune every group (only_exact=False)
and check shapes and finiteness. Model sets: torchvision classification + segmentation (tests/unit/zoo.py), torchvision
detection (whole detectors: backbone + FPN + heads as one program, spa_ir/frontends/detection.py, two-stage ROI
heads on fixed proposals; and their backbone+FPN alone; apply_plan and post-processing: test_detectors.py), timm,
Hugging Face transformers and plain-torch models (tests/unit/models_extra.py).

Every model that is not pruned is listed in NOT_PRUNABLE with the reason, and the test asserts it fails
that way (SpaError from capture, or NothingPruned when every group is frozen): nothing is skipped.
"""

from __future__ import annotations

import re

import models_extra
import pytest
import torch
import torchvision
import zoo
from oracle import NothingPruned, Session, check_model

from spa_ir.core.errors import SpaError
from spa_ir.frontends.detection import DetectorHeads, example_proposals, normalized

# model id -> regex of the reason it is not pruned (the test asserts it fails with that reason).
NOT_PRUNABLE: dict[str, str] = {
    # Every group is inexact (removing is not zeroing), so only_exact=True prunes nothing:
    # GlobalResponseNorm divides by the mean over channels, LayerNorm before every block.
    "timm/convnextv2_atto": r"nothing pruned",
    # Weight standardization (training-mode batch norm of each conv weight over in_channels x kernel):
    # removing a conv's input channel changes its weight statistics, and every group feeds some conv, so
    # every group is inexact (only the output channels of a standardized conv alone would be exact).
    "timm/nf_resnet26": r"nothing pruned",
    # The spatial gating unit LayerNorms one half of the hidden channels and multiplies it into the
    # other half; LayerNorm on the residual stream.
    "timm/gmlp_ti16_224": r"nothing pruned",
}


def _run(name: str, build, inputs) -> None:  # type: ignore[no-untyped-def]
    model = build()
    xs = inputs()
    if name in NOT_PRUNABLE:
        reason = NOT_PRUNABLE[name]
        session = None
        with pytest.raises((SpaError, NothingPruned)) as info:
            session = Session(model, xs, name)
            session.check_exact(0.5)
        assert re.search(reason, str(info.value)), f"{name} failed differently: {info.value}"
        if session is not None:  # captured, nothing exact: pruning every group must still run
            print(session.check_runs(0.5).summary())
        return
    reports = check_model(model, xs, name)
    for r in reports:
        print(r.summary())


# -- torchvision classification + segmentation ----------------------------------------------------------


GIANTS = {"vit_h_14", "vit_l_16", "vit_l_32", "regnet_y_128gf"}
"""Models of over 300 M parameters (several GB each with their copies) run one after another on one worker
(pytest --dist loadgroup), so two of them never share the machine's memory at once."""


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.xdist_group("giant")) if n in GIANTS else n for n in zoo.zoo()]
)
def test_torchvision(name: str) -> None:
    _run(name, lambda: zoo.build(name), lambda: [zoo.example_input(name)])


# -- torchvision detection ---------------------------------------------------------------------------

DETECTION_SIZE = 64


def _detector(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    # SSD models resize to their fixed size (300 / 320) themselves
    size = {} if name.startswith("ssd") else {"min_size": DETECTION_SIZE, "max_size": DETECTION_SIZE}
    return torchvision.models.get_model(name, weights=None, weights_backbone=None, **size).eval()


@pytest.mark.parametrize("name", torchvision.models.list_models(module=torchvision.models.detection))
def test_detection(name: str) -> None:
    """The whole detector's tensor part: backbone + FPN + heads on its transform's normalized batch, the ROI heads
    of a two-stage one on fixed proposals (the post-processing reads only the head outputs, which stay)."""
    det = _detector(name)
    image = torch.rand(3, DETECTION_SIZE, DETECTION_SIZE, generator=torch.Generator().manual_seed(1))
    images = normalized(det, [image])
    heads = DetectorHeads(det, images, example_proposals(images))
    _run(f"detection/{name}", lambda: heads, lambda: heads.example_inputs(images))


DETECTION_BACKBONES = [
    "fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn_v2", "ssdlite320_mobilenet_v3_large",
]


@pytest.mark.parametrize("name", DETECTION_BACKBONES)
def test_detection_backbone(name: str) -> None:
    """The capturable part of a detector: its backbone (+FPN), on a normalized batch."""
    x = [torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))]
    _run(f"detection/{name}.backbone", lambda: _detector(name).backbone.eval(), lambda: x)


# -- timm, transformers, plain torch ----------------------------------------------------------------------


@pytest.mark.parametrize("name", models_extra.timm_names())
def test_timm(name: str) -> None:
    _run(name, lambda: models_extra.build(name), lambda: models_extra.example_inputs(name))


@pytest.mark.parametrize("name", models_extra.other_names())
def test_other(name: str) -> None:
    _run(name, lambda: models_extra.build(name), lambda: models_extra.example_inputs(name))


def test_not_prunable_names_exist() -> None:
    known = set(zoo.zoo()) | set(models_extra.EXTRA)
    known |= {f"detection/{n}" for n in torchvision.models.list_models(module=torchvision.models.detection)}
    known |= {f"detection/{n}.backbone" for n in DETECTION_BACKBONES}
    assert set(NOT_PRUNABLE) <= known, set(NOT_PRUNABLE) - known
