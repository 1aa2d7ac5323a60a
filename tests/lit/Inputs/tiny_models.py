"""Tiny PyTorch models for the spa-translate lit tests (imported with PYTHONPATH=%inputs)."""

import torch
from torch import nn


class TwoConv(nn.Module):
    """conv -> batch norm -> relu -> strided conv (no bias) -> global average pool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, stride=2, padding=1, bias=False)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.bn1(self.conv1(x))))
        return self.head(y.mean(dim=(2, 3)))


def two_conv() -> nn.Module:
    return TwoConv()
