"""Tiny models for the dynamic-shape lit tests (PYTHONPATH=%S/Inputs)."""

import torch
from torch import nn


class TokensAndMask(nn.Module):
    """Token ids and a mask of the same (batch, seq): embedding -> linear -> relu, seen as 2 heads of 8
    (`view(batch, seq, 2, 8)` built from the run-time sizes) and back -> linear, masked."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, s = tokens.shape
        h = torch.relu(self.fc1(self.emb(tokens))).view(b, s, 2, 8)
        return self.fc2(h.reshape(b, s, 16)) * mask.unsqueeze(-1)


def tokens_and_mask() -> nn.Module:
    return TokensAndMask()
