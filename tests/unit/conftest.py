import os
import sys

# Test helpers (zoo.py) live beside the tests; the xdsl wheel ships a top-level `tests` package,
# so they are imported by path, not as `tests.unit...`.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
