"""User errors of the command-line tools: each is one located line on stderr
(`spa-opt: error: <file>:<line>:<col>: ...`, `spa-translate: error: <place>: ...`), exit code 1, no
traceback, and no output file (nor temp file) left behind; an output that existed before is untouched.

Every case runs in its own directory; the cases run concurrently in one module-scoped fixture (each
tool process costs seconds), and each test then checks one case. The module's tests are one xdist group:
spread over two workers, each worker ran the whole fixture (every case twice).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.xdist_group("errors")

# ----------------------------------------------------------------------------------------------------
# Inputs

TINY_MLIR = """\
func.func @main(%x: !torch.vtensor<[1,4],f32>) -> !torch.vtensor<[1,3],f32> {
  %w = spa.param "fc.weight" : !torch.vtensor<[3,4],f32>
  %b = spa.param "fc.bias" : !torch.vtensor<[3],f32>
  %y = torch.aten.linear %x, %w, %b : !torch.vtensor<[1,4],f32>, !torch.vtensor<[3,4],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  return %y : !torch.vtensor<[1,3],f32>
}
"""

MODELS_PY = """\
import torch


class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:  # data-dependent Python control flow: torch.export cannot capture it
            return y.relu()
        return -y


def branchy():
    return Branchy()


def tiny():
    return torch.nn.Sequential(torch.nn.Linear(4, 3))


def not_a_module():
    return 42
"""


def tiny_weights(**change: torch.Tensor) -> dict[str, torch.Tensor]:
    weights = {"fc.weight": torch.randn(3, 4), "fc.bias": torch.randn(3)}
    weights.update(change)
    return weights


def write_tiny(d: Path, stem: str = "m", weights: dict[str, torch.Tensor] | None = None) -> None:
    (d / f"{stem}.mlir").write_text(TINY_MLIR)
    if weights is not None:
        save_file(weights, str(d / f"{stem}.safetensors"))


def write_malformed(body_line: str) -> Callable[[Path], None]:
    """A function whose second line is `body_line`."""

    def setup(d: Path) -> None:
        (d / "bad.mlir").write_text(
            "func.func @main(%x: !torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32> {\n"
            f"{body_line}\n"
            "  return %0 : !torch.vtensor<[2],f32>\n"
            "}\n")

    return setup


def write_onnx_failing_checker(d: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    relu = helper.make_node("Relu", ["not_defined"], ["y"])
    graph = helper.make_graph([relu], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(onnx.checker.ValidationError):
        onnx.checker.check_model(model)
    onnx.save(model, str(d / "bad.onnx"))


def write_onnx_unknown_op(d: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("NoSuchOp", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(d / "bad.onnx"))


# ----------------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    tool: str
    args: list[str]
    message: str
    """Regex the text after `<tool>: error: ` must match in full."""
    setup: Callable[[Path], None] = lambda d: None
    outputs: list[str] = field(default_factory=list)
    """Files the command would write: none may appear, or change if they existed."""
    preexisting: list[str] = field(default_factory=list)
    """Outputs created (with known content) before the run: they must stay as they were."""
    pythonpath: bool = False


def _q(text: str) -> str:
    return re.escape(text)


CASES: dict[str, Case] = {
    # --- missing inputs
    "opt-missing-input": Case("spa-opt", ["nope.mlir", "-o", "out.mlir"], _q("nope.mlir: file not found"), outputs=["out.mlir"]),
    "translate-missing-mlir": Case("spa-translate", ["--export-torch", "nope.mlir", "-o", "out.pt2"],
                                   _q("nope.mlir: file not found"), outputs=["out.pt2"]),
    "translate-missing-onnx": Case("spa-translate", ["--import-onnx", "nope.onnx", "-o", "out.mlir"],
                                   r"nope\.onnx: .*not found", outputs=["out.mlir", "out.safetensors"]),
    "translate-missing-pt2": Case("spa-translate", ["--import-pt2", "nope.pt2", "-o", "out.mlir"],
                                  _q("nope.pt2: file not found"), outputs=["out.mlir", "out.safetensors"]),
    # --- malformed MLIR: the line and column of the offending token
    "opt-unregistered-op": Case(
        "spa-opt", ["bad.mlir", "-o", "out.mlir"], _q("bad.mlir:2:8: Operation torch.bogus is not registered"),
        write_malformed("  %0 = torch.bogus %x : !torch.vtensor<[2],f32> -> !torch.vtensor<[2],f32>"),
        outputs=["out.mlir"], preexisting=["out.mlir"]),
    "opt-unregistered-op-generic": Case(
        "spa-opt", ["bad.mlir"], _q("bad.mlir:2:8: Operation torch.bogus is not registered"),
        write_malformed('  %0 = "torch.bogus"(%x) : (!torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>')),
    "opt-syntax": Case(
        "spa-opt", ["bad.mlir", "-o", "out.mlir"], _q("bad.mlir:2:53: Expected '->'"),
        write_malformed("  %0 = torch.aten.relu %x : !torch.vtensor<[2],f32> !torch.vtensor<[2],f32>"),
        outputs=["out.mlir"]),
    "opt-type-mismatch": Case(
        "spa-opt", ["bad.mlir", "-o", "out.mlir"],
        _q("bad.mlir:3:10: operand is used with type !torch.vtensor<[2],f32>, but has been previously used or "
           "defined with type !torch.vtensor<[3],f32>"),
        write_malformed("  %0 = torch.aten.relu %x : !torch.vtensor<[2],f32> -> !torch.vtensor<[3],f32>"),
        outputs=["out.mlir"]),
    "opt-verify-error": Case(
        "spa-opt", ["bad.mlir", "-o", "out.mlir"],
        _q("bad.mlir:2:3: 'spa.param' op: spa.param 'w': inline value shape (3,) does not match result type shape (2,)"),
        write_malformed('  %0 = spa.param "w" = dense<1.0> : tensor<3xf32> : !torch.vtensor<[2],f32>'),
        outputs=["out.mlir"]),
    "translate-verify-error": Case(
        "spa-translate", ["--export-torch", "bad.mlir", "-o", "out.pt2"],
        _q("bad.mlir:2:3: 'torch.aten.relu' op: operand 'self_' at position 0 does not verify: "
           "Unexpected attribute !torch.int"),
        lambda d: (d / "bad.mlir").write_text(
            "func.func @main(%i: !torch.int) -> !torch.vtensor<[2],f32> {\n"
            '  %0 = "torch.aten.relu"(%i) : (!torch.int) -> !torch.vtensor<[2],f32>\n'
            "  return %0 : !torch.vtensor<[2],f32>\n}\n"),
        outputs=["out.pt2"]),
    # --- weights beside the IR
    "opt-weights-file-missing": Case("spa-opt", ["m.mlir", "-o", "out.mlir"], _q("m.safetensors: weights file not found"),
                                     lambda d: write_tiny(d), outputs=["out.mlir", "out.safetensors"]),
    "translate-weights-file-missing": Case("spa-translate", ["--export-onnx", "m.mlir", "-o", "out.onnx"],
                                           _q("m.safetensors: weights file not found"), lambda d: write_tiny(d),
                                           outputs=["out.onnx"]),
    "opt-weight-wrong-shape": Case(
        "spa-opt", ["m.mlir", "-o", "out.mlir"],
        _q("m.mlir: spa.param 'fc.weight' is [3, 4] torch.float32 in the IR but [4, 4] torch.float32 in weights file 'm.safetensors'"),
        lambda d: write_tiny(d, weights=tiny_weights(**{"fc.weight": torch.randn(4, 4)})),
        outputs=["out.mlir", "out.safetensors"], preexisting=["out.mlir", "out.safetensors"]),
    "translate-weight-wrong-dtype": Case(
        "spa-translate", ["--export-torch", "m.mlir", "-o", "out.pt2"],
        _q("m.mlir: spa.param 'fc.bias' is [3] torch.float32 in the IR but [3] torch.float16 in weights file 'm.safetensors'"),
        lambda d: write_tiny(d, weights=tiny_weights(**{"fc.bias": torch.randn(3).half()})), outputs=["out.pt2"]),
    "opt-weight-missing-tensor": Case(
        "spa-opt", ["m.mlir", "--weights", "other.safetensors", "-o", "out.mlir"],
        _q("m.mlir: spa.param 'fc.weight' has no tensor in weights file 'other.safetensors'"),
        lambda d: (write_tiny(d), save_file({"fc.bias": torch.randn(3)}, str(d / "other.safetensors"))),
        outputs=["out.mlir", "out.safetensors"]),
    "translate-weights-not-safetensors": Case(
        "spa-translate", ["--export-torch-mlir", "m.mlir", "-o", "out.mlir"], r"m\.safetensors: cannot read weights file: .+",
        lambda d: (write_tiny(d), (d / "m.safetensors").write_bytes(b"\x00not safetensors")), outputs=["out.mlir"]),
    # --- ONNX inputs
    "onnx-garbage": Case("spa-translate", ["--import-onnx", "bad.onnx", "-o", "out.mlir"],
                         r"bad\.onnx: cannot parse ONNX model: .+",
                         lambda d: (d / "bad.onnx").write_bytes(b"\x08\x07garbage\xff\xff\xff not a protobuf"),
                         outputs=["out.mlir", "out.safetensors"]),
    "onnx-fails-checker": Case("spa-translate", ["--import-onnx", "bad.onnx", "-o", "out.mlir"],
                               r"bad\.onnx: invalid ONNX model: .*'not_defined'.*", write_onnx_failing_checker,
                               outputs=["out.mlir", "out.safetensors"]),
    "onnx-unknown-op": Case("spa-translate", ["--import-onnx", "bad.onnx", "-o", "out.mlir"],
                            r"bad\.onnx: invalid ONNX model: No Op registered for NoSuchOp.*", write_onnx_unknown_op,
                            outputs=["out.mlir", "out.safetensors"]),
    # --- PyTorch models
    "uncapturable-model": Case(
        "spa-translate", ["--import-torch", "mymodels:branchy", "--input-shape", "1,4", "-o", "out.mlir"],
        r"mymodels:branchy: cannot capture model with torch\.export: GuardOnDataDependentSymNode: Could not guard on "
        r"data-dependent expression .* at .*mymodels\.py:11 in forward: `if y\.sum\(\) > 0:.*`",
        outputs=["out.mlir", "out.safetensors"], preexisting=["out.mlir"], pythonpath=True),
    "not-a-module": Case("spa-translate", ["--import-torch", "mymodels:not_a_module", "--input-shape", "1,4", "-o", "out.mlir"],
                         _q("'mymodels:not_a_module' returned int, not a torch.nn.Module"),
                         outputs=["out.mlir", "out.safetensors"], pythonpath=True),
    "spec-without-colon": Case("spa-translate", ["--import-torch", "torchvision.models.resnet18", "--input-shape", "1,3,8,8", "-o", "out.mlir"],
                               _q("expected MODULE:CALLABLE (e.g. torchvision.models:resnet18), got 'torchvision.models.resnet18'"),
                               outputs=["out.mlir", "out.safetensors"]),
    "spec-no-such-module": Case("spa-translate", ["--import-torch", "no_such_module_xyz:build", "--input-shape", "1,4", "-o", "out.mlir"],
                                _q("cannot find 'no_such_module_xyz:build': ModuleNotFoundError: No module named 'no_such_module_xyz'"),
                                outputs=["out.mlir", "out.safetensors"]),
    "spec-no-such-callable": Case("spa-translate", ["--import-torch", "mymodels:nothing", "--input-shape", "1,4", "-o", "out.mlir"],
                                  _q("cannot find 'mymodels:nothing': AttributeError: module 'mymodels' has no attribute 'nothing'"),
                                  outputs=["out.mlir", "out.safetensors"], pythonpath=True),
    "import-torch-without-shape": Case("spa-translate", ["--import-torch", "mymodels:tiny", "-o", "out.mlir"],
                                       _q("--import-torch needs --input-shape (e.g. --input-shape 1,3,224,224)"),
                                       outputs=["out.mlir", "out.safetensors"], pythonpath=True),
    # --- output directory that does not exist
    "import-into-missing-dir": Case("spa-translate", ["--import-torch", "mymodels:tiny", "--input-shape", "1,4", "-o", "nodir/out.mlir"],
                                    _q("output directory 'nodir' does not exist"), pythonpath=True),
    "opt-into-missing-dir": Case("spa-opt", ["m.mlir", "-o", "nodir/out.mlir"], _q("output directory 'nodir' does not exist"),
                                 lambda d: write_tiny(d, weights=tiny_weights())),
    "export-into-missing-dir": Case("spa-translate", ["--export-torch", "m.mlir", "-o", "nodir/out.pt2"],
                                    _q("output directory 'nodir' does not exist"), lambda d: write_tiny(d, weights=tiny_weights())),
}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, bytes]
    after: dict[str, bytes]


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def _run_case(root: Path, name: str, case: Case) -> Result:
    d = root / name
    d.mkdir()
    (d / "mymodels.py").write_text(MODELS_PY)
    case.setup(d)
    for out in case.preexisting:
        (d / out).write_bytes(b"previous content of " + out.encode())
    before = _snapshot(d)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    if case.pythonpath:
        env["PYTHONPATH"] = str(d)
    p = subprocess.run([str(BIN / case.tool), *case.args], cwd=d, env=env, capture_output=True, text=True, timeout=600)
    return Result(p.returncode, p.stdout, p.stderr, before, _snapshot(d))


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    root = tmp_path_factory.mktemp("errors")
    with ThreadPoolExecutor(max_workers=min(4, max(2, os.cpu_count() or 2))) as pool:
        futures = {name: pool.submit(_run_case, root, name, case) for name, case in CASES.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_error_is_one_located_line_and_leaves_no_file(name: str, results: dict[str, Result]) -> None:
    case, r = CASES[name], results[name]
    assert r.returncode == 1, f"exit code {r.returncode}; stderr:\n{r.stderr}"
    lines = r.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{r.stderr}"
    prefix = f"{case.tool}: error: "
    assert lines[0].startswith(prefix), lines[0]
    assert re.fullmatch(case.message, lines[0][len(prefix):]), f"{lines[0]!r} does not match {case.message!r}"
    assert r.stdout == ""
    # Nothing written, nothing replaced, no temp file: the directory is exactly as before.
    assert r.after == r.before, f"files changed: {sorted(set(r.after) ^ set(r.before))}"
    for out in case.outputs:
        assert out in case.preexisting or out not in r.after


def test_cases_write_their_outputs_when_the_input_is_fine(tmp_path: Path) -> None:
    """The error cases are not failing for an unrelated reason: fixed inputs succeed and write the outputs."""
    (tmp_path / "mymodels.py").write_text(MODELS_PY)
    write_tiny(tmp_path, weights=tiny_weights())
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    subprocess.run([str(BIN / "spa-opt"), "m.mlir", "-o", "out.mlir"], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert 'spa.param "fc.weight" : !torch.vtensor<[3,4],f32>' in (tmp_path / "out.mlir").read_text()
    written, original = load_file(str(tmp_path / "out.safetensors")), load_file(str(tmp_path / "m.safetensors"))
    assert written.keys() == original.keys() and all(torch.equal(written[k], original[k]) for k in original)
    subprocess.run([str(BIN / "spa-translate"), "--import-torch", "mymodels:tiny", "--input-shape", "1,4", "-o", "t.mlir"],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "m.mlir", "m.safetensors", "mymodels.py", "out.mlir", "out.safetensors", "t.mlir", "t.safetensors"]
