import gc
import os
import sys

# Test helpers (zoo.py) live beside the tests; the xdsl wheel ships a top-level `tests` package,
# so they are imported by path, not as `tests.unit...`.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Under pytest-xdist every worker gets one torch thread: N workers x N threads on N cores made small
# kernels wait on each other (and the subprocesses the CLI tests start inherit the setting).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def pytest_collection_finish(session: object) -> None:
    """Move what the imports made (torch, torchvision, xDSL, onnx: about 350k objects, alive for the whole
    run) out of the garbage collector's sight. Every full collection walked them all: 0.2 s for each of the
    oracle's three gc.collect() per model, and as much for each automatic one."""
    gc.collect()
    gc.freeze()
