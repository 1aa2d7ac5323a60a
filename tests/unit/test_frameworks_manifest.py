"""The other frameworks' converter outputs (tests/data/frameworks/, made by `make frameworks UPDATE=1` from
tools/frameworks/) are what the manifest says they are, valid ONNX, and run in onnxruntime; and the canonical
comparison that `make frameworks` reports with tells a changed computation from a changed producer string.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from spa.tools.frameworks import canonical

DATA = Path(__file__).resolve().parents[1] / "data" / "frameworks"
MANIFEST: dict[str, Any] = json.loads((DATA / "manifest.json").read_text())
FILES = sorted(MANIFEST["files"])
# Every model the generators build (tools/frameworks/*_models.py), each at the converter's default opset and 11.
MODELS = {
    "keras": ("resnet", "mlp", "lstm", "gru"),
    "flax": ("cnn", "transformer"),
    "paddle": ("mbv3",),
}
DYNAMIC = 2  # the size given to a dim_param (the batch, or a converter's unk__ dimension)


def test_every_file_is_listed_and_every_entry_exists() -> None:
    on_disk = {p.name for p in DATA.glob("*.onnx")}
    assert on_disk == set(MANIFEST["files"])


@pytest.mark.parametrize("name", FILES)
def test_file_matches_its_manifest_entry(name: str) -> None:
    entry, data = MANIFEST["files"][name], (DATA / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len(data) == entry["bytes"]
    model = onnx.load_from_string(data)
    assert name == f"{name.split('_')[0]}_{entry['model']}_op{entry['opset']}.onnx"
    assert {o.domain or "ai.onnx": o.version for o in model.opset_import}["ai.onnx"] == entry["opset"]
    assert [v.name for v in model.graph.input] == [i["name"] for i in entry["inputs"]]
    assert [v.name for v in model.graph.output] == [o["name"] for o in entry["outputs"]]
    assert model.producer_name == entry["producer_name"]
    for key in ("framework", "framework_version", "converter", "converter_version", "route"):
        assert entry[key], key


def test_every_model_is_there_at_two_opsets_or_its_failure_is_recorded() -> None:
    for framework, models in MODELS.items():
        for model in models:
            files = [e for n, e in MANIFEST["files"].items() if n.startswith(f"{framework}_") and e["model"] == model]
            failed = [f for f in MANIFEST["failures"] if f["framework"] == framework and f["model"] == model]
            requested = {e["requested_opset"] for e in files} | {f["opset"] for f in failed}
            assert files, f"{framework} {model}: no file"
            assert requested == {None, 11}, f"{framework} {model}: opsets {requested}"


def _random_feeds(model: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.input:
        shape = [d.dim_value if d.HasField("dim_value") else DYNAMIC for d in value.type.tensor_type.shape.dim]
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, value.name
        feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


@pytest.mark.parametrize("name", FILES)
def test_file_is_valid_and_runs(name: str) -> None:
    model = onnx.load(str(DATA / name))
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(DATA / name), options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, _random_feeds(model, seed=len(name)))
    assert len(outputs) == len(model.graph.output)
    for value, got in zip(model.graph.output, outputs):
        declared = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        assert got.ndim == len(declared), value.name
        assert all(want in (None, size) for want, size in zip(declared, got.shape)), (value.name, got.shape)
        assert np.isfinite(got).all(), value.name
        assert np.abs(got).max() > 0, value.name  # an all-zero output would hide a broken weight


def test_canonical_comparison_ignores_names_and_producer_but_not_weights() -> None:
    name = next(n for n in FILES if onnx.load(str(DATA / n)).graph.initializer)
    original = onnx.load(str(DATA / name))
    renamed = onnx.load(str(DATA / name))
    renamed.producer_version, renamed.doc_string, renamed.graph.name = "9.9", "built today", "other"
    for i, node in enumerate(renamed.graph.node):
        node.name = f"n{i}"
    assert canonical.differences(original, renamed) == []
    changed = onnx.load(str(DATA / name))
    weight = max(changed.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    array = onnx.numpy_helper.to_array(weight).copy()
    array.flat[0] += 1.0
    weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
    found = canonical.differences(original, changed)
    assert found[0] == f"initializers: 1 with new contents [{weight.name!r}], 1 gone", found
    assert found[1].startswith("nodes: "), found  # the nodes that read it, and all after them
    swapped = onnx.load(str(DATA / name))
    first = next(n for n in swapped.graph.node if n.op_type not in ("Identity", "Constant"))
    first.op_type = "Neg" if first.op_type != "Neg" else "Abs"
    (found,) = canonical.differences(original, swapped)
    assert f"'{first.op_type} -> {first.output[0]}'" in found, found
