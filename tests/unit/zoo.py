"""The model zoo the fidelity (and later pruning) tests run over, with the small inputs that keep CI fast."""

from __future__ import annotations

import torch
import torchvision

SEGMENTATION = ["deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50", "deeplabv3_resnet101",
                "fcn_resnet50", "fcn_resnet101", "lraspp_mobilenet_v3_large"]

# Models whose architecture fixes the input size, or needs a larger one than the default 64x64.
INPUT_SIZE = {
    "inception_v3": 80,
    "maxvit_t": 224,
    "vit_b_16": 224, "vit_b_32": 224, "vit_l_16": 224, "vit_l_32": 224, "vit_h_14": 224,
}
DEFAULT_SIZE = 64


def classification_models() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def zoo() -> list[str]:
    return classification_models() + SEGMENTATION


def build(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    kwargs = {"aux_loss": False, "weights_backbone": None} if name in SEGMENTATION else {}
    if name in ("inception_v3", "googlenet"):
        kwargs = {"aux_logits": False, "init_weights": False}
    return informative(torchvision.models.get_model(name, weights=None, **kwargs).eval())


@torch.no_grad()
def informative(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights that make a comparison meaningful: zero-initialized tensors (ViT heads, biases,
    BN shifts) get small random values and BN running statistics are not the identity, so an output
    that is all zeros, or a wrong slice of a bias or running stat, cannot pass unnoticed."""
    for p in model.parameters():
        if p.numel() > 0 and not p.any():
            p.normal_(0.0, 0.02)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


def example_input(name: str) -> torch.Tensor:
    size = INPUT_SIZE.get(name, DEFAULT_SIZE)
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))


def flat_outputs(out: object) -> list[torch.Tensor]:
    """Model outputs (tensor, tuple, dict such as segmentation's {'out': ...}) as a flat tensor list."""
    return [t for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def max_relative_error(got: list[torch.Tensor], want: list[torch.Tensor]) -> float:
    assert len(got) == len(want), f"{len(got)} outputs, expected {len(want)}"
    errs = []
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"shape {tuple(g.shape)} != {tuple(w.shape)}"
        scale = w.abs().max()
        assert scale > 0, "reference output is all zeros: the comparison would prove nothing"
        errs.append(((g - w).abs().max() / scale).item())
    return max(errs)
