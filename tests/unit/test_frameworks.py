"""Real converter outputs (tests/data/frameworks: Keras via tf2onnx, Flax via jax2onnx, Paddle via paddle2onnx, at the
converters' default opsets and at 11 or their lowest) imported, pruned exactly, and written back two ways.

For every file: the import computes what the file computes (fx module and unpruned faithful ONNX, within 1e-4
relative, in onnxruntime); pruned with criterion=random at 0.3 and 0.5 (only exact groups), the faithful ONNX file
(the original graph pruned: same node names, op types, opset, inputs, outputs, dynamic dims) and the PyTorch
module (.pt2, run at another batch size than it was traced with) both equal the masked original (the original
file with the plan's slices zeroed, in onnxruntime). Every group pruned (only_exact=False): both run and give the
original output shapes. A file that does not import is in KNOWN_FAILURES with the reason its test asserts.

`SPA_FRAMEWORKS_TABLE=path` appends one JSON row per file (the table of the issue note).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from oracle import TOLERANCE, NothingPruned
from test_onnx_prune_oracle import OnnxSession, run_onnx
from zoo import flat_outputs, max_relative_error

from spa_ir.backends.export import export_program, save_onnx
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program

DATA = Path(__file__).resolve().parents[1] / "data" / "frameworks"
FILES = sorted(p.name for p in DATA.glob("*.onnx"))
BATCH = 3
"""The batch the files run with (their batch dim is dynamic; the .pt2 is traced at another size)."""

# file -> regex of the error its import must (still) fail with.
KNOWN_FAILURES: dict[str, str] = {}
# file -> the control-flow op that freezes everything prunable (tf2onnx writes the Keras 3 GRU as the `while` Loop of
# its cell): it imports, the faithful file is the original's, PyTorch emission is refused with a located error.
OPAQUE: dict[str, str] = {"keras_gru_op11.onnx": "spa_onnx.Loop", "keras_gru_op15.onnx": "spa_onnx.Loop"}


def _inputs(model: onnx.ModelProto) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for inp in model.graph.input:
        tensor_type = inp.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else BATCH for d in tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        out.append(torch.randn(dims, generator=gen).to(torch.from_numpy(np.zeros(0, dtype)).dtype))
    return out


class FrameworkSession(OnnxSession):
    """An OnnxSession whose pruned programs are also exported as .pt2 and compared with the same masked original."""

    def run_pruned(self, prog: Program) -> list[torch.Tensor]:
        faithful = super().run_pruned(prog)
        _same_structure(self.original, onnx.load(str(self.path.with_name(f"{self.path.stem}.pruned"
                                                                        f"{len(self.emitted_elements) - 1}.onnx"))))
        with torch.no_grad():
            via_pt2 = flat_outputs(export_program(prog).module()(*self.inputs))
        assert max_relative_error(via_pt2, faithful) < TOLERANCE, f"{self.name}: .pt2 and faithful ONNX differ"
        return faithful


def _same_structure(original: onnx.ModelProto, pruned: onnx.ModelProto) -> None:
    """What a program loading the file relies on is unchanged."""
    assert [(n.name, n.op_type) for n in pruned.graph.node] == [(n.name, n.op_type) for n in original.graph.node]
    assert list(pruned.opset_import) == list(original.opset_import)
    assert pruned.producer_name == original.producer_name
    for kind in ("input", "output"):
        assert [str(i) for i in getattr(pruned.graph, kind)] == [str(i) for i in getattr(original.graph, kind)]


@pytest.mark.parametrize("name", FILES)
def test_converted_model_prunes_exactly_both_ways(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes((DATA / name).read_bytes())
    model = onnx.load(str(path))
    inputs = _inputs(model)
    if name in KNOWN_FAILURES:
        with pytest.raises(SpaError, match=KNOWN_FAILURES[name]):
            FrameworkSession(path, inputs, name)
        return
    if name in OPAQUE:
        return _check_opaque(path, inputs, OPAQUE[name], tmp_path)
    session = FrameworkSession(path, inputs, name)
    unpruned = tmp_path / "unpruned.onnx"
    save_onnx(session.program, unpruned)
    _same_structure(model, onnx.load(str(unpruned)))
    assert max_relative_error(run_onnx(unpruned, inputs), session.want) < TOLERANCE
    row: dict[str, object] = {"file": name, "imports": True, "fidelity": session.fidelity_error}
    try:
        reports = session.check_model((0.3, 0.5))
    except NothingPruned as e:
        row["oracle"] = str(e)
        _table(row)
        raise
    exact = reports[0]
    row.update(groups=exact.groups, eligible=exact.eligible, frozen=exact.frozen, inexact=exact.inexact,
               errors=[r.error for r in reports[:2]], params=[round(r.param_ratio, 3) for r in reports])
    _table(row, session)
    assert exact.pruned > 0


def _check_opaque(path: Path, inputs: list[torch.Tensor], op: str, tmp_path: Path) -> None:
    from spa_ir import api

    program = api.import_onnx(path)
    with pytest.raises(SpaError, match=rf"'{op}' \(ONNX Loop / Scan / If"):
        api.to_torch(program)
    plan = api.prune_program(program, ratio=0.5, criterion="random", only_exact=True).to_json()
    assert not any(g["removed"] for g in plan["groups"])
    assert any(r["op"] == op for g in plan["groups"] for r in g["frozen"])
    save_onnx(program, tmp_path / "same.onnx")
    assert max_relative_error(run_onnx(tmp_path / "same.onnx", inputs), run_onnx(path, inputs)) == 0.0
    _table({"file": path.name, "imports": True, "groups": len(plan["groups"]), "prunable_channels": "0",
            "oracle": f"nothing prunable: every group reaches {op}", "pytorch": "refused (control flow)"})


def _table(row: dict[str, object], session: FrameworkSession | None = None) -> None:
    """Append the row (with the share of channels in prunable groups) where SPA_FRAMEWORKS_TABLE says."""
    out = os.environ.get("SPA_FRAMEWORKS_TABLE")
    if not out:
        return
    if session is not None:
        groups = session.prune(0.5, only_exact=True)[1]["groups"]
        prunable = sum(g["size"] for g in groups if g["exact"] and not g["frozen"])
        row["prunable_channels"] = f"{prunable}/{sum(g['size'] for g in groups)}"
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")


def test_faithful_export_refuses_a_changed_original(tmp_path: Path) -> None:
    """The faithful route edits the original file: a missing or changed one is a one-line error naming it, and no
    output is written; --via-torch does not need it."""
    from spa_ir import api

    path = tmp_path / "m.onnx"
    path.write_bytes((DATA / "keras_resnet_op15.onnx").read_bytes())
    program = api.import_onnx(path)
    api.prune_program(program, ratio=0.5, criterion="random")
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(SpaError, match=re.escape(f"the original ONNX file '{path.resolve()}' changed since import")):
        save_onnx(program, tmp_path / "out.onnx")
    path.unlink()
    with pytest.raises(SpaError, match="is missing"):
        save_onnx(program, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()
    save_onnx(program, tmp_path / "out.onnx", via_torch=True)
    assert (tmp_path / "out.onnx").exists()


CLI_FILES = ["keras_resnet_op15.onnx", "flax_cnn_op23.onnx", "paddle_mbv3_op11.onnx"]
"""One model per framework through the command-line tools, as the issue's "done" asks."""


@pytest.mark.parametrize("name", CLI_FILES)
def test_tools_take_a_converted_model_to_faithful_onnx_pt2_and_torch_mlir(name: str, tmp_path: Path) -> None:
    """spa-translate --import-onnx -> spa-opt --prune-groups (--plan) -> spa-translate --export-onnx (faithful) and
    --export-torch (.pt2), for the first file also --export-onnx --via-torch and --export-torch-mlir: each ONNX /
    .pt2 equals the masked original, the torch-mlir text parses in torch-mlir."""
    from test_cli import SPA_OPT, SPA_TRANSLATE, run_all

    from spa_ir.verify import masked_onnx

    (tmp_path / "m.onnx").write_bytes((DATA / name).read_bytes())
    run_all(tmp_path, [SPA_TRANSLATE, "--import-onnx", "m.onnx", "-o", "m.mlir"])
    prune = "--prune-groups=ratio=0.5 criterion=l2"
    run_all(tmp_path, [SPA_OPT, "m.mlir", prune, "--plan", "plan.json", "-o", "p.mlir"])
    every_route = name == CLI_FILES[0]  # the other two routes once (each tool call is a process start)
    run_all(
        tmp_path,
        [SPA_TRANSLATE, "--export-onnx", "p.mlir", "-o", "faithful.onnx"],
        [SPA_TRANSLATE, "--export-torch", "p.mlir", "-o", "p.pt2"],
        *([[SPA_TRANSLATE, "--export-onnx", "p.mlir", "--via-torch", "-o", "generic.onnx"],
           [SPA_TRANSLATE, "--export-torch-mlir", "p.mlir", "-o", "p.torch.mlir"]] if every_route else []),
    )
    original = onnx.load(str(tmp_path / "m.onnx"))
    inputs = _inputs(original)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert any(g["removed"] for g in plan["groups"])
    want = run_onnx(masked_onnx(original, plan["params"]), inputs)
    faithful = onnx.load(str(tmp_path / "faithful.onnx"))
    _same_structure(original, faithful)
    assert max_relative_error(run_onnx(faithful, inputs), want) < TOLERANCE
    with torch.no_grad():
        via_pt2 = flat_outputs(torch.export.load(str(tmp_path / "p.pt2")).module()(*inputs))
    assert max_relative_error(via_pt2, want) < TOLERANCE
    if not every_route:
        return
    assert max_relative_error(run_onnx(tmp_path / "generic.onnx", inputs), want) < TOLERANCE
    from torch_mlir import ir
    from torch_mlir.dialects import torch as torch_d

    context = ir.Context()
    torch_d.register_dialect(context)
    ir.Module.parse((tmp_path / "p.torch.mlir").read_text(), context)


def test_keep_flops_on_a_dynamic_batch(tmp_path: Path) -> None:
    """Converters leave the batch dynamic; FLOPs are counted per sample (a dynamic dim counts as 1), so keep-flops
    works and the kept fraction the plan reports is flop_counter's on the emitted modules at another batch size."""
    from torch.utils.flop_counter import FlopCounterMode

    from spa_ir import api

    path = tmp_path / "m.onnx"
    path.write_bytes((DATA / "keras_resnet_op15.onnx").read_bytes())
    program = api.import_onnx(path)
    x = torch.randn(5, 32, 32, 3)

    def flops(prog: Program) -> int:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            export_program(prog).module()(x)
        return counter.get_total_flops()

    before = flops(program)
    plan = api.prune_program(program, keep_flops=0.5, criterion="l2")
    kept = flops(program) / before
    assert plan.selection is not None
    assert abs(kept - plan.selection["achieved"]["flops"]) < 1e-3 and abs(kept - 0.5) < 0.02


@pytest.mark.parametrize("name", ["paddle_mbv3_op11.onnx", "keras_gru_op15.onnx"])
def test_obspa_on_converted_models(name: str, tmp_path: Path) -> None:
    """criterion=obspa (data-free, analytic statistics) on converter outputs: the biases it creates are in the
    plan even where the refit left them zero (the plan's slices name them), and a model with nothing prunable
    (everything reaches opaque control flow) is left alone instead of failing to emit."""
    from spa_ir import api
    from spa_ir.verify import masked_onnx

    path = tmp_path / name
    path.write_bytes((DATA / name).read_bytes())
    original = onnx.load(str(path))
    program = api.import_onnx(path)
    plan = api.prune_program(program, ratio=0.5, criterion="obspa", source="stats")
    params = plan.to_json()["params"]
    created = [n for n in plan.tensors if n.endswith(".spa_bias")]
    assert len(created) == (plan.compensation or {}).get("biases", 0) == (4 if name == "paddle_mbv3_op11.onnx" else 0)
    inputs = _inputs(original)
    want = run_onnx(masked_onnx(original, params, plan.tensors), inputs)
    save_onnx(program, tmp_path / "p.onnx")
    assert max_relative_error(run_onnx(tmp_path / "p.onnx", inputs), want) < TOLERANCE
    assert bool(params) == (name not in OPAQUE)
