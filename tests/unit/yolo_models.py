"""Ultralytics YOLO for the tests, offline: built from the package's own yaml with random weights.

Nothing may reach the network or install anything at run time. Ultralytics' switches, read from
ultralytics/utils/__init__.py and checks.py (8.4.190), are set before it is first imported:
- `YOLO_OFFLINE=1`: `is_online()` answers False without a DNS probe, so `ONLINE` is False and everything gated on it
  stays off (analytics events, Sentry crash reports, the pip version check, requirement auto-updates);
- `YOLO_AUTOINSTALL=0`: `check_requirements` never runs pip;
- `YOLO_CONFIG_DIR=<a temporary dir>`: the settings file (and any font it would download) lives there, not in the
  user's ~/.config, and the settings say `sync=False` (no hub or event sync) as well;
- `YOLO_VERBOSE=0`: no banners.
Fonts (Arial.ttf) are only fetched for plotting; the tests never plot. `blocked_network()` makes any attempt an
error, so a test that passes under it proves none was made.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import torch

MODELS = ("yolov8n", "yolo11n")
SIZE = 64
"""Input side: the three detection scales are 8x8, 4x4 and 2x2 (strides 8, 16, 32)."""


class NetworkUsed(OSError):
    """Raised by every socket call under `blocked_network()`."""


@contextlib.contextmanager
def blocked_network() -> Iterator[list[str]]:
    """Every DNS lookup and connection raises NetworkUsed (and is recorded in the list yielded)."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:] if what.startswith('connect') else args}")
            raise NetworkUsed(f"network blocked in the test: {what}")

        return call

    places: list[tuple[Any, str]] = [(socket.socket, "connect"), (socket.socket, "connect_ex"),
                                     (socket, "getaddrinfo"), (socket, "create_connection")]  # fmt: skip
    saved = [getattr(owner, attr) for owner, attr in places]
    for owner, attr in places:
        setattr(owner, attr, refuse(attr))
    try:
        yield attempts
    finally:
        for (owner, attr), original in zip(places, saved, strict=True):
            setattr(owner, attr, original)


CONFIG_DIR = tempfile.mkdtemp(prefix="spa-yolo-config-")
os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0", YOLO_VERBOSE="0", YOLO_CONFIG_DIR=CONFIG_DIR)

with blocked_network() as IMPORT_ATTEMPTS:  # ultralytics' import (its online probe, the settings file) offline too
    import ultralytics.utils
    from ultralytics.nn.tasks import DetectionModel

    ultralytics.utils.SETTINGS.update(sync=False)


def build(name: str, seed: int = 0) -> DetectionModel:
    """ultralytics' own DetectionModel from its yaml (`yolov8n.yaml`, `yolo11n.yaml`: the n scale, 80 classes),
    random weights fixed by `seed`, eval mode, not fused (Conv + BatchNorm as trained)."""
    torch.manual_seed(seed)
    return DetectionModel(f"{name}.yaml", verbose=False).eval()


def example_input(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def detect_head(model: torch.nn.Module) -> Any:
    """The Detect module (the model's last layer)."""
    layers: Any = model.model
    return layers[-1]


@contextlib.contextmanager
def export_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Detect in export mode: the forward returns only the decoded predictions [B, 4 + nc, anchors] (DFL's
    expectation over the box bins, anchors and strides applied, class sigmoids), one tensor the oracle reads.
    Outside it the eval forward returns (decoded, raw dict) as ultralytics' predictor reads it."""
    head = detect_head(model)
    head.export = True
    try:
        yield model
    finally:
        head.export = False


def raw_outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The eval forward's outputs as ultralytics' own code reads them: decoded predictions, then the raw head
    outputs (box distributions [B, 4 * reg_max, anchors] and class logits [B, nc, anchors], every scale
    concatenated)."""
    with torch.no_grad():
        decoded, raw = model(x)
    return [decoded, raw["boxes"], raw["scores"]]
