"""Determinism: the same inputs, options and seed give byte-identical files. The whole chain a user runs
(spa-translate --import-torch / --import-onnx, spa-opt --prune-groups with a seeded random criterion and with
data-free OBSPA, --export-onnx, --export-torch) runs twice, each time in a fresh process with another
PYTHONHASHSEED and one thread (CPU kernels may split a reduction by thread count; spinning threads on 2 shared
cores also cost 5x the CPU time), and every file it writes is compared byte for byte: .mlir, .safetensors,
plan.json, plan.safetensors, .onnx (torch.onnx's and the faithful route's) and .pt2 (a zip whose root folder
torch.export names after the file: spa writes it under the target's own name, so no temp name is in it)."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from models_extra import CompensatedNet

TESTS = Path(__file__).resolve().parent

CHAIN = [
    (
        "translate",
        "--import-torch",
        "models_extra:CompensatedNet",
        "--input-shape",
        "1,3,6,6",
        "--seed",
        "0",
        "-o",
        "m.mlir",
    ),
    ("opt", "m.mlir", "--prune-groups=ratio=0.5 criterion=random seed=1", "--plan=r/plan.json", "-o", "r/p.mlir"),
    ("opt", "m.mlir", "--prune-groups=keep-flops=0.6 criterion=obspa", "--plan=o/plan.json", "-o", "o/p.mlir"),
    ("translate", "--export-onnx", "r/p.mlir", "-o", "r/p.onnx"),
    ("translate", "--export-torch", "o/p.mlir", "-o", "o/p.pt2"),
    # the ONNX route: import a small .onnx, prune with compensation (created biases), faithful --export-onnx
    ("translate", "--import-onnx", "m.onnx", "-o", "x/m.mlir"),
    (
        "opt",
        "x/m.mlir",
        "--prune-groups=keep-flops=0.6 criterion=obspa source=stats",
        "--plan=x/plan.json",
        "-o",
        "x/p.mlir",
    ),
    ("translate", "--export-onnx", "x/p.mlir", "-o", "x/p.onnx"),
]
"""The chain's steps, each a spa-translate or spa-opt command line, run in order in one fresh process."""

DRIVER = """
import sys
from spa.tools import spa_opt, spa_translate
for tool, *argv in {chain!r}:
    code = (spa_opt if tool == "opt" else spa_translate).main(argv)
    if code:
        sys.exit(f"{{tool}} {{' '.join(argv)}} failed")
"""
"""One process runs the whole chain through the tools' own entry points (one interpreter start, not eight)."""

EXPECTED = {
    "m.mlir", "m.safetensors", "m.onnx",
    "r/p.mlir", "r/p.safetensors", "r/plan.json", "r/p.onnx",
    "o/p.mlir", "o/p.safetensors", "o/plan.json", "o/plan.safetensors", "o/p.pt2",
    "x/m.mlir", "x/m.safetensors", "x/p.mlir", "x/p.safetensors", "x/plan.json", "x/plan.safetensors", "x/p.onnx",
}  # fmt: skip


def _onnx_input(path: Path) -> None:
    """A small ONNX file (the conv net with a dynamic batch), written once and read by both runs."""
    torch.manual_seed(0)
    model = CompensatedNet().eval()
    torch.onnx.export(model, (torch.randn(1, 3, 6, 6),), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})  # fmt: skip


def _run_chain(work: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER.format(chain=CHAIN)], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def _outputs(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The chain twice in the same folder (the ONNX import records the file's absolute path), each run's files
    moved aside after it."""
    base = tmp_path_factory.mktemp("determinism")
    work, done = base / "work", []
    for i, hash_seed in enumerate(("1", "2")):
        work.mkdir()
        for sub in ("r", "o", "x"):
            (work / sub).mkdir()
        _onnx_input(work / "m.onnx")
        _run_chain(work, hash_seed)
        done.append(work.rename(base / f"run{i}"))
    return done[0], done[1]


def test_the_chain_writes_every_file(runs: tuple[Path, Path]) -> None:
    for run in runs:
        assert _outputs(run) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_two_runs_write_the_same_bytes(runs: tuple[Path, Path], name: str) -> None:
    first, second = runs[0] / name, runs[1] / name
    assert first.stat().st_size > 0
    assert filecmp.cmp(first, second, shallow=False), f"{name} differs between two runs of the same chain"


def test_the_compared_files_are_not_trivially_equal(runs: tuple[Path, Path]) -> None:
    """The two prunings differ from each other and from the input (a chain that wrote nothing new would compare
    equal too)."""
    first = runs[0]
    assert (first / "r/p.safetensors").read_bytes() != (first / "o/p.safetensors").read_bytes()
    assert (first / "m.mlir").read_text() != (first / "r/p.mlir").read_text()
    assert (first / "x/p.onnx").read_bytes() != (first / "m.onnx").read_bytes()
