"""The device calibration and compensation run the model on (spa-opt's `--device`, the API's `device=`).

Only the runs move: the emitted module, its parameters and each calibration batch go to the device, the sums and
the refits are computed where the activations are, and what is written back (the statistics store, the weight
store) comes back to the CPU. A captured graph can name the device its tensors were made on (`aten.arange(...,
device=cpu)`, `aten.full`, `aten.zeros`): `on_device` points those at the run's device too.
"""

from __future__ import annotations

import re

import torch
import torch.fx as fx

from spa_ir.core.errors import SpaError

SPEC = re.compile(r"cpu|cuda(:\d+)?")
"""The spellings `--device` takes: cpu, cuda, cuda:N."""


def resolve_device(spec: str | torch.device | None, where: str = "--device") -> torch.device:
    """The torch.device `spec` names (None: the CPU), checked to exist here, or a one-line error saying why not."""
    if spec is None:
        return torch.device("cpu")
    text = str(spec)
    if not SPEC.fullmatch(text):
        raise SpaError(f"{where}: unknown device '{text}' (known: cpu, cuda, cuda:N)")
    device = torch.device(text)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SpaError(
                f"{where}: '{text}' asked, but CUDA is not available here (torch.cuda.is_available() is False)"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SpaError(f"{where}: '{text}' asked, but this machine has {count} CUDA device(s)")
    return device


def on_device(gm: fx.GraphModule, device: torch.device) -> fx.GraphModule:
    """`gm` (a module emitted for this run alone) with its tensors on `device` and every op that names a device
    pointed at it, in place."""
    gm.to(device)
    if retarget(gm.graph, device):
        gm.recompile()
    return gm


def retarget(graph: fx.Graph, device: torch.device) -> bool:
    """Point every op of `graph` that names another device at `device`; whether any did."""
    changed = False
    for node in graph.nodes:
        if node.op == "call_function" and isinstance(node.kwargs.get("device"), (str, torch.device)):
            if torch.device(node.kwargs["device"]) != device:
                node.kwargs = {**node.kwargs, "device": device}
                changed = True
    return changed
