"""The ONNX model list shared by the ONNX fidelity test and the ONNX pruning oracle: PyTorch models
exported to ONNX the usual way (legacy exporter, no constant folding), with the models that do not
import listed with the reason."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from zoo import build, informative


def _timm(name: str) -> Callable[[], torch.nn.Module]:
    def make() -> torch.nn.Module:
        import timm

        torch.manual_seed(0)
        return informative(timm.create_model(name, pretrained=False).eval())

    return make


# name -> (builder, image size). Varied families: residual, dense, depthwise/SE, channel shuffle, fire
# modules, inception, ConvNeXt, MetaFormer, ghost modules, transformers (ViT, Swin, DeiT, MobileViT).
MODELS: dict[str, tuple[Callable[[], torch.nn.Module], int]] = {
    **{name: (lambda name=name: build(name), 64) for name in [
        "resnet18", "mobilenet_v3_small", "densenet121", "efficientnet_b0", "squeezenet1_0", "shufflenet_v2_x0_5",
        "regnet_y_400mf", "convnext_tiny", "swin_t", "mnasnet0_5", "googlenet"]},
    "vit_b_16": (lambda: build("vit_b_16"), 224),
    "timm/resnet18d": (_timm("resnet18d"), 64),
    "timm/convnextv2_atto": (_timm("convnextv2_atto"), 64),
    "timm/poolformer_s12": (_timm("poolformer_s12"), 64),
    "timm/ghostnet_100": (_timm("ghostnet_100"), 64),
    "timm/deit_tiny_patch16_224": (_timm("deit_tiny_patch16_224"), 224),
    "timm/mobilevit_xxs": (_timm("mobilevit_xxs"), 64),
}

# name -> regex of the error the import must (still) fail with.
KNOWN_FAILURES: dict[str, str] = {}


def example_input(name: str) -> torch.Tensor:
    """The image batch a model of the list is exported with (and run on)."""
    size = MODELS[name][1]
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))


def export_onnx(model: torch.nn.Module, args: tuple[Any, ...], path: Path, **kwargs: Any) -> Path:
    """Legacy exporter, no constant folding: the export the ONNX frontend is meant for (keeps BN, names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), dynamo=False, do_constant_folding=False, **kwargs)
    return path
