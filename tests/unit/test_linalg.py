"""spa in front of torch-mlir's compiler stack: a pruned resnet18 (batch norms, residual adds, the linear head) at
64x64 lowered by torch-mlir's own pipelines to linalg-on-tensors (and TOSA, StableHLO) with no torch op left, then
compiled to LLVM and run by torch-mlir's ExecutionEngine: its outputs are the .pt2's (save_pt2), the module users
run in PyTorch."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from spa_ir import api
from spa_ir.backends import torch_mlir
from spa_ir.backends.export import save_pt2
from spa_ir.core.errors import SpaError
from spa_ir.core.program import Program

SIZE = 64


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Program, torch.nn.Module]:
    """The pruned program and its .pt2 module."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    prog = api.import_torch(model, [torch.randn(1, 3, SIZE, SIZE)])
    api.prune_program(prog, ratio=0.5, criterion="l1")
    path = tmp_path_factory.mktemp("linalg") / "r18.pt2"
    save_pt2(prog, path)
    return prog, torch.export.load(str(path)).module()


def _body(text: str) -> str:
    """The module without its `dense_resource` blobs (weight names are no ops)."""
    return text.split("{-#", 1)[0]


def test_resnet18_lowers_to_linalg_with_no_torch_op_left(pruned: tuple[Program, torch.nn.Module]) -> None:
    prog, _ = pruned
    conv1 = prog.weight("conv1.weight").shape
    assert conv1[0] < 64  # pruned
    body = _body(torch_mlir.lower(prog, "linalg"))
    assert "torch." not in body
    assert f"tensor<{conv1[0]}x3x7x7xf32>" in body  # the pruned stem filters, as inlined weights
    assert len(re.findall(r"linalg\.conv_2d_nchw_fchw", body)) == 20
    assert "linalg.matmul" in body


@pytest.mark.parametrize("target", ["tosa", "stablehlo"])
def test_resnet18_lowers_to_tosa_and_stablehlo(pruned: tuple[Program, torch.nn.Module], target: str) -> None:
    body = _body(torch_mlir.lower(pruned[0], target))
    assert "torch." not in body
    assert len(re.findall(r"tosa\.conv2d|stablehlo\.convolution", body)) == 20


def test_resnet18_runs_in_the_execution_engine_as_the_pt2(pruned: tuple[Program, torch.nn.Module]) -> None:
    prog, pt2 = pruned
    compiled = torch_mlir.compile_linalg(prog)
    rng = np.random.default_rng(0)
    for _ in range(2):  # a second call reuses the engine and frees the first results
        x = rng.standard_normal((1, 3, SIZE, SIZE)).astype(np.float32)
        (y,) = compiled(x)
        with torch.no_grad():
            want = pt2(torch.from_numpy(x)).numpy()
        assert y.shape == want.shape == (1, 1000)
        assert np.abs(y - want).max() < 1e-4 * max(1.0, float(np.abs(want).max()))
    with pytest.raises(SpaError, match="rank 3, expected 4"):
        compiled(x[0])


def test_a_pipeline_failure_is_one_line_naming_the_op() -> None:
    text = """func.func @main(%x: !torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32> {
  %y = torch.operator "torch.aten.no_such_op"(%x) : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>
  return %y : !torch.vtensor<[2],f32>
}"""
    with pytest.raises(SpaError, match="torch-mlir has no lowering for torch.operator 'torch.aten.no_such_op'") as e:
        torch_mlir.lower(text, "linalg")
    assert "\n" not in str(e.value)


def test_written_text_lowers_as_the_program_does(pruned: tuple[Program, torch.nn.Module]) -> None:
    """What `spa-translate --export-torch-mlir` writes is what `lower` takes: the same linalg module."""
    prog, _ = pruned
    text = torch_mlir.to_text(prog)
    assert "torch.operator" not in text
    assert _body(torch_mlir.lower(text, "tosa")) == _body(torch_mlir.lower(prog, "tosa"))


def test_legalized_ops_compute_what_torch_does() -> None:
    """tests/lit/linalg/legalize.mlir (concat, _unsafe_index, sym_size, the training batch norms) run by the engine:
    five results (two of them one buffer), an int64 input, weights bound as arguments."""
    path = Path(__file__).parents[1] / "lit" / "linalg" / "legalize.mlir"
    compiled = torch_mlir.compile_linalg(Program.parse(path.read_text(), source=str(path)))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3, 4)).astype(np.float32)
    index = np.array([1, 0])
    got = compiled(x, index, y)
    tx, ty, w, b = torch.from_numpy(x), torch.from_numpy(y), torch.full((3,), 2.0), torch.full((3,), 0.5)
    norm = torch.nn.functional.batch_norm(ty, None, None, w, b, training=True)
    want = [torch.cat([tx, tx]), tx[torch.from_numpy(index)], tx.view(3, 2), norm, norm]
    assert len(got) == len(want)
    for g, v in zip(got, want, strict=True):
        np.testing.assert_allclose(g, v.numpy(), atol=1e-5)


class _UpPReLU(torch.nn.Module):
    """Bilinear upsampling (by a scale and to a size) and a PReLU per channel on NCHW: both need their families'
    legalization to lower to linalg (torch-mlir has no linalg lowering of upsample_bilinear2d.vec, and its prelu
    broadcasts the slope from the right)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.act = torch.nn.PReLU(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = torch.nn.functional.interpolate(self.conv(x), scale_factor=1.5, mode="bilinear")
        return self.act(torch.nn.functional.interpolate(up, size=(11, 13), mode="bilinear", align_corners=True))


def test_bilinear_upsampling_and_prelu_run_as_in_torch_at_any_batch() -> None:
    """Captured with a dynamic batch: the compiled function takes batches of 1 and 3 (result shapes from the run)."""
    torch.manual_seed(0)
    model = _UpPReLU().eval()
    with torch.no_grad():
        model.act.weight.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))  # one slope per channel, all different
    x = torch.randn(3, 3, 8, 8)
    prog = api.import_torch(model, [x], dynamic_shapes=({0: torch.export.Dim("batch")},))
    assert "!torch.vtensor<[?,3,8,8],f32>" in prog.text()
    compiled = torch_mlir.compile_linalg(prog)
    for batch in (1, 3):
        (y,) = compiled(x[:batch].numpy())
        with torch.no_grad():
            np.testing.assert_allclose(y, model(x[:batch]).numpy(), atol=1e-5)


def test_lower_is_an_option_of_export_torch_mlir_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spa.tools import spa_translate

    out = tmp_path / "x.pt2"
    assert spa_translate.main(["--export-torch", str(tmp_path / "p.mlir"), "--lower", "linalg", "-o", str(out)]) == 1
    assert capsys.readouterr().err == "spa-translate: error: --lower applies to --export-torch-mlir only\n"
    assert not out.exists()
