import gc
import os
import sys

import pytest

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
    """Garbage collection took 14% of the oracle's time. Move what the imports made (torch, torchvision,
    xDSL, onnx: about 350k objects, alive for the whole run) out of the collector's sight: every full
    collection walked them all (0.1-0.2 s each). And make full collections 10x rarer (3 per zoo model
    before): imports and pruning allocate heavily (fx graphs, xDSL IR), and a full collection walks every
    live object. Pruned programs of big models are still collected at once (oracle._release)."""
    gc.collect()
    gc.freeze()
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, 100)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Make `--dist loadgroup` (make test-unit) keep each xdist_group on one worker again. pytest-xdist 3.8 tags
    a test of a group by rewriting `item._nodeid` to `<id>@<group>`, which pytest 9.2 no longer reads (node ids
    are structured, `item._id`): every group was silently spread over the workers, so module fixtures meant to
    run once ran on each (pytest-dev/pytest-xdist#1386). Carry the tag over to the id the scheduler sees."""
    for item in items:
        tagged = vars(item).get("_nodeid")
        if isinstance(tagged, str) and tagged != item.nodeid and hasattr(item, "_id"):
            from _pytest.nodeid import NodeId  # only pytest >= 9.2 has it, and only then is the tag lost

            item._id = NodeId.parse(tagged)
