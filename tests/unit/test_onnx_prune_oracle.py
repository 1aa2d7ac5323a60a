"""The pruning oracle on ONNX models: pruning through the ONNX frontend, checked in onnxruntime.

For each model of the ONNX list (tests/unit/onnx_zoo.py, shared with the fidelity test): export it to ONNX,
import the file (`api.import_onnx`), check that the unpruned program computes what the file computes, prune
clones with criterion=random at ratios 0.3 and 0.5 (only_exact=True), emit each pruned program as ONNX
(`spa_ir.backends.export.save_onnx`) and run it in onnxruntime. The reference is the *masked original ONNX model*:
the original file with the plan's removed slices of each weight set to zero (a BatchNormalization variance
to 1), run in onnxruntime; they must agree within 1e-4 relative, and the parameters (of the program and of
the emitted file) must shrink. Then every group is pruned (only_exact=False) and the emitted file must give
the original output shapes and finite outputs. The plan checks and the run logic are tests/unit/oracle.py's.

The plan names the imported program's weights, which are ONNX names (`spa_ir.frontends.onnx.weights.weight_values`):
a float initializer, the output of a float `Constant` node, or the output of an `Identity` copying a
weight (a weight of its own in the program). `masked_onnx` maps each back: an initializer is masked in
place, a Constant or Identity node is replaced by a Constant holding the masked value.

A model that does not import is listed in onnx_zoo.KNOWN_FAILURES, one that prunes nothing in
NOT_PRUNABLE, each with the reason its test asserts: nothing is skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx_zoo import KNOWN_FAILURES, MODELS, example_input, export_onnx
from oracle import TOLERANCE, NothingPruned, PruneSession, RunReport, per_model, perturb, reused, same_worker
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import main_function
from spa_ir.core.program import Program
from spa_ir.verify import PlanParams, masked_onnx, weight_values

# model -> regex of the reason only_exact=True prunes nothing (the test asserts it).
NOT_PRUNABLE: dict[str, str] = {
    # As in the PyTorch oracle: every group is inexact (removing is not zeroing): GlobalResponseNorm
    # divides by the mean over channels, LayerNorm before every block.
    "timm/convnextv2_atto": r"nothing pruned",
}

def weight_elements(model: onnx.ModelProto) -> int:
    """Elements of the float weights held in the file (initializers and Constant nodes)."""
    return sum(int(v.size) for v in weight_values(model).values() if np.issubdtype(v.dtype, np.floating))


def run_onnx(model: onnx.ModelProto | str | Path, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The model's outputs in onnxruntime (CPU), inputs fed by position."""
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    return [torch.from_numpy(np.asarray(o)) for o in session.run(None, feed)]


# -- the session -------------------------------------------------------------------------------------


class OnnxSession(PruneSession):
    """An ONNX file: imported once; pruned programs are emitted as ONNX and compared in onnxruntime."""

    def __init__(self, path: Path, inputs: Sequence[torch.Tensor], name: str):
        self.path = path
        self.inputs = list(inputs)
        self.name = name
        self.original = onnx.load(str(path))
        self.want = run_onnx(self.original, self.inputs)
        t0 = time.perf_counter()
        program = api.import_onnx(path)
        self.import_seconds = time.perf_counter() - t0
        self.param_names = list(program.weights)
        self._start(program)
        self.fidelity_error = max_relative_error(self._run_torch(program), self.want)
        assert self.fidelity_error < TOLERANCE, f"{name}: import -> emit differs from the ONNX model by {self.fidelity_error:.2e}"
        self.emitted_elements: list[int] = []

    def _run_torch(self, prog: Program) -> list[torch.Tensor]:
        with torch.no_grad():
            return flat_outputs(api.to_torch(prog)(*self.inputs))

    def run_pruned(self, prog: Program) -> list[torch.Tensor]:
        out = self.path.with_name(f"{self.path.stem}.pruned{len(self.emitted_elements)}.onnx")
        save_onnx(prog, out)
        self.emitted_elements.append(weight_elements(onnx.load(str(out))))
        return run_onnx(out, self.inputs)

    def run_masked(self, plan_params: PlanParams) -> list[torch.Tensor]:
        return run_onnx(masked_onnx(self.original, plan_params), self.inputs)

    def check_exact(self, ratio: float, criterion: str = "random", seed: int = 1, tol: float = TOLERANCE) -> RunReport:
        """As PruneSession's, and the emitted ONNX file holds fewer weights than the original one."""
        report = super().check_exact(ratio, criterion, seed, tol)
        before = weight_elements(self.original)
        assert self.emitted_elements[-1] < before, f"emitted ONNX holds {self.emitted_elements[-1]} weights, original {before}"
        return report


def _session(name: str, directory: Path, randomize: bool = True) -> OnnxSession:
    """Export the model (constant weights made random, see oracle.perturb, unless told not to) and import it."""
    model = MODELS[name][0]()
    model = perturb(model) if randomize else model
    x = example_input(name)
    path = export_onnx(model, (x,), directory / "model.onnx")
    return OnnxSession(path, [x], name)


SHARED = ["resnet18", "shufflenet_v2_x0_5", "swin_t"]
"""Models whose exported and imported session later tests reuse (dynamic batch, Constant nodes)."""

SessionOf = Callable[[str], OnnxSession]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> SessionOf:
    """`_session(name)`, made once for the models of SHARED (the others are not kept: they are big)."""
    return reused(lambda name: _session(name, tmp_path_factory.mktemp(name.replace("/", "_"))), keep=SHARED)


# -- tests -------------------------------------------------------------------------------------------


def test_not_prunable_names_exist() -> None:
    assert set(NOT_PRUNABLE) <= set(MODELS) - set(KNOWN_FAILURES)


@pytest.mark.parametrize("name", per_model(list(MODELS), "onnx", only=SHARED))
def test_onnx_model_prunes_exactly(name: str, tmp_path: Path, session: SessionOf) -> None:
    if name in KNOWN_FAILURES:
        with pytest.raises(SpaError, match=KNOWN_FAILURES[name]):
            _session(name, tmp_path)
        return
    s = session(name)
    if name in NOT_PRUNABLE:
        with pytest.raises(NothingPruned) as info:
            s.check_exact(0.5)
        assert re.search(NOT_PRUNABLE[name], str(info.value)), f"{name} failed differently: {info.value}"
        print(s.check_runs(0.5).summary())
        return
    for report in s.check_model((0.3, 0.5)):
        print(report.summary())


@pytest.mark.parametrize("name", per_model(["shufflenet_v2_x0_5", "swin_t"], "onnx", only=SHARED))
def test_dynamic_batch_prunes_as_static(name: str, tmp_path: Path, session: SessionOf) -> None:
    """Exported with a dynamic batch, the graph computes reshape targets from `Shape` at run time (channel
    shuffle's group width, Swin's windows). The frontend folds the reads of static dims, the batch read
    stays and freezes nothing, and reshapes merging the batch with window counts match around it: as many
    groups prune as in the static export, exactly, and the emitted ONNX file (traced at batch 8) runs on
    a batch of 2."""
    model = perturb(MODELS[name][0]())
    x = example_input(name)
    static = session(name)  # the same model (seeded build, seeded perturbation) exported with a static batch
    dynamic_path = export_onnx(model, (x,), tmp_path / "dynamic.onnx", input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    batch = torch.cat([x, torch.randn(x.shape, generator=torch.Generator().manual_seed(2))])
    dynamic = OnnxSession(dynamic_path, [batch], name)
    assert "?" in str(main_function(dynamic.program.module).function_type)
    _, plan, _ = static.prune(0.5, only_exact=True)
    report = dynamic.check_exact(0.5)
    assert report.pruned == sum(1 for g in plan["groups"] if g["removed"]) > 0


def test_oracle_sees_a_wrong_plan(tmp_path: Path) -> None:
    """Negative control: masking other channels than those removed must be caught. Not randomized, the
    all-ones BatchNorm scales are shared by the exporter through Identity nodes, so the plan names both
    initializers and Identity copies: both ways back to the ONNX file are exercised."""
    session = _session("resnet18", tmp_path, randomize=False)
    prog, plan, _ = session.prune(0.5, only_exact=True)
    got = session.run_pruned(prog)
    identities = {n.output[0] for n in session.original.graph.node if n.op_type == "Identity"}
    initializers = {i.name for i in session.original.graph.initializer}
    assert set(plan["params"]) & identities and set(plan["params"]) & initializers
    shifted = {p: {d: sorted({(i + 1) % session.shapes[p][int(d)] for i in idx}) for d, idx in dims.items()}
               for p, dims in plan["params"].items()}
    assert max_relative_error(got, session.run_masked(plan["params"])) < TOLERANCE
    assert max_relative_error(got, session.run_masked(shifted)) > 1e-3
    assert max_relative_error(run_onnx(session.original, session.inputs), session.want) == 0.0  # the original is untouched



@same_worker("onnx/resnet18")
def test_weights_held_in_constant_nodes(tmp_path: Path, session: SessionOf) -> None:
    """The third kind of weight: tensors held in `Constant` nodes (TF/Keras exports) are pruned and
    masked there; the exporter's Identity copies of them stay weights of their own."""
    exported = session("resnet18")  # resnet18 exported the usual way, weights as initializers
    x = exported.inputs[0]
    original = onnx.ModelProto()
    original.CopyFrom(exported.original)
    graph = original.graph
    constants = [onnx.helper.make_node("Constant", [], [i.name], name=f"const_{i.name}", value=i)
                 for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT]
    kept = [i for i in graph.initializer if i.data_type != onnx.TensorProto.FLOAT]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = constants + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    path = tmp_path / "model.onnx"
    onnx.save(original, str(path))
    session = OnnxSession(path, [x], "resnet18 (Constant nodes)")
    assert not session.original.graph.initializer
    report = session.check_exact(0.5)
    assert report.pruned > 0
