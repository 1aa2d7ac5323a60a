"""Import baseline: capture (torch.export) / import (torch-mlir -> xDSL) / backend (IR -> fx) / run times.

    .venv/bin/python bench/import.py [model ...]

Prints a table; later work on the frontends must beat these numbers. Capture is the peer-free part
(PyTorch's own cost); the ratio column is spa's own import + backend time over capture time.
"""

from __future__ import annotations

import sys
import time

import torch
import torchvision

from spa_ir.backends.torch_fx import to_graph_module
from spa_ir.frontends.torch import capture, import_exported

MODELS = {
    "resnet50": (1, 3, 224, 224),
    "densenet121": (1, 3, 224, 224),
    "vit_b_16": (1, 3, 224, 224),
    "mobilenet_v3_large": (1, 3, 224, 224),
}


def bench(name: str, shape: tuple[int, ...]) -> tuple[float, ...]:
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.randn(shape)
    t0 = time.perf_counter()
    ep = capture(model, [x], name)
    t1 = time.perf_counter()
    program = import_exported(ep, name)
    t2 = time.perf_counter()
    gm = to_graph_module(program)
    t3 = time.perf_counter()
    with torch.no_grad():
        got, want = gm(x), model(x)
    err = ((got - want).abs().max() / want.abs().max()).item()
    ops = sum(1 for _ in program.module.walk())
    return t1 - t0, t2 - t1, t3 - t2, ops, err


def main(names: list[str]) -> None:
    print(f"{'model':<20}{'ops':>7}{'capture s':>11}{'import s':>10}{'backend s':>11}{'spa/capture':>13}{'max rel err':>13}")
    for name in names or list(MODELS):
        cap, imp, back, ops, err = bench(name, MODELS.get(name, (1, 3, 224, 224)))
        print(f"{name:<20}{ops:>7}{cap:>11.2f}{imp:>10.2f}{back:>11.2f}{(imp + back) / cap:>13.2f}{err:>13.1e}")


if __name__ == "__main__":
    main(sys.argv[1:])
