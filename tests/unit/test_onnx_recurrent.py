"""ONNX recurrent layers through the ONNX frontend (spa_ir/frontends/onnx/recurrent.py), and ONNX control flow that
is not one.

- PyTorch's nn.LSTM / nn.GRU / nn.RNN (tanh, relu), 1 and 2 layers, bidirectional, batch_first, initial states as
  inputs or not, each between two Linears, exported by torch.onnx at opsets 11 and 17: the file imports with each
  ONNX node as a PyTorch recurrent op (no `prim.Loop`), the imported program computes what onnxruntime computes on
  the file, and the pruning oracle (tests/unit/oracle.py) holds: pruned at 0.3 and 0.5 (only_exact) it equals the
  masked original file in onnxruntime. The hidden units prune *through* the op (the analysis sees through the gate
  regrouping) unless an initial state is a model input; the Linear before always prunes. Some pruned models are
  also emitted as ONNX (re-exported through PyTorch) and .pt2 and run.
- ONNX conventions torch.onnx never writes (layout=1, direction=reverse, absent initial states, a dynamic batch,
  full sequence_lens, no B), built with onnx.helper and checked against onnx's reference evaluator (onnxruntime
  has no layout=1); what PyTorch cannot compute is a one-line SpaError naming the node.
- Keras LSTM / GRU converted by tf2onnx (tests/data/frameworks): an LSTM node imports and prunes; a GRU that tf2onnx
  left as a `Loop` is a located error.
- Loop / Scan / If that are not recurrent layers: If and Scan import, what reaches them (captured values included)
  is frozen with a recorded reason, the rest prunes exactly (checked through the faithful ONNX writer), and .pt2 /
  fx emission is a one-line SpaError naming the op; a Loop torch-mlir cannot convert is a located import error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, numpy_helper
from onnx import helper as oh
from onnx.reference import ReferenceEvaluator
from oracle import TOLERANCE, PruneSession, RunReport, perturb
from test_onnx_prune_oracle import OnnxSession, run_onnx
from torch import nn
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.backends.export import save_onnx, save_pt2
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import main_function
from spa_ir.ops.recurrent import hidden_size
from spa_ir.verify import PlanParams, masked_onnx

DATA = Path(__file__).resolve().parents[1] / "data" / "frameworks"
CONTROL_FLOW = "control flow (its regions are not analyzed)"
ONNX_OP = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}
ATEN_OP = {
    "lstm": "torch.aten.lstm.input",
    "gru": "torch.aten.gru.input",
    "rnn_tanh": "torch.aten.rnn_tanh.input",
    "rnn_relu": "torch.aten.rnn_relu.input",
}


class FxSession(OnnxSession):
    """The ONNX oracle with the pruned program run as the backend's GraphModule (emitting a file per prune costs
    seconds; a few pruned models are emitted in `test_pruned_recurrent_model_emits`)."""

    def run_pruned(self, prog: Any) -> list[torch.Tensor]:
        return self._run_torch(prog)

    def check_exact(self, ratio: float, criterion: str = "random", seed: int = 1, tol: float = TOLERANCE) -> RunReport:
        return PruneSession.check_exact(self, ratio, criterion, seed, tol)


def _groups_with(plan: dict[str, Any], param: str, dim: int) -> list[dict[str, Any]]:
    return [g for g in plan["groups"] if any(m["param"] == param and m["dim"] == dim for m in g["members"])]


def _one_line(e: pytest.ExceptionInfo[SpaError]) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# -- PyTorch's recurrent layers exported by torch.onnx ----------------------------------------------------------


class RecurrentNet(nn.Module):
    """Linear -> recurrent layer(s) -> Linear on every step's output; the initial states optionally as inputs."""

    def __init__(self, kind: str, layers: int, bidirectional: bool, batch_first: bool) -> None:
        super().__init__()
        self.kind = kind
        self.a = nn.Linear(6, 8)
        shape = {"num_layers": layers, "bidirectional": bidirectional, "batch_first": batch_first}
        if kind in ("lstm", "gru"):
            self.r: nn.RNNBase = (nn.LSTM if kind == "lstm" else nn.GRU)(8, 5, **shape)
        else:
            self.r = nn.RNN(8, 5, nonlinearity=kind.removeprefix("rnn_"), **shape)
        self.b = nn.Linear(10 if bidirectional else 5, 3)

    def forward(self, x: torch.Tensor, *states: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        if not states:
            y, _ = self.r(h)
        elif self.kind == "lstm":
            y, _ = self.r(h, (states[0], states[1]))
        else:
            y, _ = self.r(h, states[0])
        return self.b(y)


@dataclass(frozen=True)
class Case:
    kind: str
    layers: int
    bidirectional: bool
    batch_first: bool
    states: bool  # initial states as model inputs
    opset: int

    @property
    def name(self) -> str:
        bits = [f"l{self.layers}", "bi" if self.bidirectional else "", "bf" if self.batch_first else ""]
        return "-".join([self.kind, *filter(None, bits), "h0" if self.states else "", f"op{self.opset}"]).replace(
            "--", "-"
        )

    def inputs(self) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(3)
        x = torch.randn((2, 4, 6) if self.batch_first else (4, 2, 6), generator=g)
        n = 2 if self.kind == "lstm" else 1
        rows = self.layers * (2 if self.bidirectional else 1)
        return [x] + ([torch.randn(rows, 2, 5, generator=g) for _ in range(n)] if self.states else [])


CASES = [
    Case("lstm", 1, False, False, False, 17),
    Case("lstm", 2, True, True, False, 11),
    Case("lstm", 1, False, True, True, 17),
    Case("gru", 1, False, True, False, 11),
    Case("gru", 2, True, False, True, 17),
    Case("rnn_tanh", 2, False, False, False, 17),
    Case("rnn_tanh", 1, True, True, False, 11),
    Case("rnn_relu", 1, False, False, True, 11),
    Case("rnn_relu", 2, True, True, False, 17),
]


def _export(case: Case, directory: Path) -> tuple[Path, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = perturb(RecurrentNet(case.kind, case.layers, case.bidirectional, case.batch_first))
    inputs = case.inputs()
    path = directory / f"{case.name}.onnx"
    torch.onnx.export(
        model, tuple(inputs), str(path), dynamo=False, do_constant_folding=False, opset_version=case.opset
    )
    return path, inputs


EXPORT_WARNINGS = [
    "ignore:You are using the legacy TorchScript-based ONNX export:DeprecationWarning",
    "ignore:Exporting a model to ONNX with a batch_size other than 1:UserWarning",
]


def _quiet_export(test: Callable[..., None]) -> Callable[..., None]:
    for warning in EXPORT_WARNINGS:
        test = pytest.mark.filterwarnings(warning)(test)
    return test


@_quiet_export
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_torch_export_imports_and_prunes_exactly(case: Case, tmp_path: Path) -> None:
    path, inputs = _export(case, tmp_path)
    assert [n.op_type for n in onnx.load(str(path)).graph.node].count(ONNX_OP[case.kind]) == case.layers
    s = FxSession(path, inputs, case.name)  # asserts fidelity: the imported program against onnxruntime
    text = s.program.text()
    assert text.count(ATEN_OP[case.kind]) == case.layers and "torch.prim.Loop" not in text
    _, plan, _ = s.prune(0.5, only_exact=True)
    (hidden,) = _groups_with(plan, "r.weight_hh_l0", 1)  # every layer's and direction's units: one group
    assert hidden["size"] == 5
    if case.states:  # a state given as input can be anything on a pruned unit: the units stay
        assert [r["kind"] for r in hidden["frozen"]] == ["model input"]
    else:
        assert not hidden["frozen"] and len(hidden["removed"]) == 2
        assert _groups_with(plan, f"r.weight_hh_l{case.layers - 1}", 1) == [hidden]
    reports = s.check_model((0.3, 0.5))
    assert all(r.eligible == (1 if case.states else 2) for r in reports), [r.summary() for r in reports]


EMITTED = [CASES[1], CASES[4], CASES[8]]


@_quiet_export
@pytest.mark.parametrize("case", EMITTED, ids=lambda c: c.name)
def test_pruned_recurrent_model_emits(case: Case, tmp_path: Path) -> None:
    """The pruned program as faithful ONNX (the original graph pruned), as ONNX re-exported through PyTorch and as
    .pt2, each run, equals the masked original."""
    path, inputs = _export(case, tmp_path)
    s = FxSession(path, inputs, case.name)
    prog, plan, _ = s.prune(0.5, only_exact=True)
    want = s.run_masked(plan["params"])
    for via_torch in (False, True):
        save_onnx(prog, tmp_path / "pruned.onnx", via_torch=via_torch)
        assert max_relative_error(run_onnx(tmp_path / "pruned.onnx", inputs), want) < TOLERANCE, via_torch
    save_pt2(prog, tmp_path / "pruned.pt2")
    with torch.no_grad():
        got = flat_outputs(torch.export.load(str(tmp_path / "pruned.pt2")).module()(*inputs))
    assert max_relative_error(got, want) < TOLERANCE


@_quiet_export
def test_oracle_sees_a_wrong_plan(tmp_path: Path) -> None:
    """Negative control: masking other hidden units of the ONNX weights than those removed is caught (so the plan's
    dims are the ONNX initializers' and the gate blocks were regrouped right)."""
    case = CASES[1]
    path, inputs = _export(case, tmp_path)
    s = FxSession(path, inputs, case.name)
    prog, plan, _ = s.prune(0.5, only_exact=True)
    got = s.run_pruned(prog)
    shifted = {
        p: {d: sorted({(i + 1) % s.shapes[p][int(d)] for i in idx}) for d, idx in dims.items()}
        for p, dims in plan["params"].items()
    }
    assert max_relative_error(got, s.run_masked(plan["params"])) < TOLERANCE
    assert max_relative_error(got, s.run_masked(shifted)) > 1e-3


# -- ONNX conventions torch.onnx does not write -------------------------------------------------------------


def _onnx_recurrent(
    kind: str = "LSTM",
    *,
    layout: int = 0,
    direction: str = "forward",
    bias: bool = True,
    batch: int | str = 2,
    seq_lens: Sequence[int] | None = None,
    attrs: dict[str, Any] | None = None,
    peepholes: bool = False,
) -> onnx.ModelProto:
    """x -> MatMul -> <kind> (hidden 5, no initial state) -> sum over directions -> MatMul -> out."""
    rng = np.random.default_rng(0)
    gates, hidden, width, seq = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind], 5, 6, 4
    dirs = 2 if direction == "bidirectional" else 1

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((0.5 * rng.standard_normal(shape)).astype(np.float32), name)

    inits = [weight("in_w", width, width), weight("W", dirs, gates * hidden, width)]
    inits += [weight("R", dirs, gates * hidden, hidden), weight("out_w", hidden, 3)]
    inits.append(numpy_helper.from_array(np.array([2 if layout else 1], np.int64), "dir_axis"))
    inputs = ["xi", "W", "R", "B" if bias else ""]
    if bias:
        inits.append(weight("B", dirs, 2 * gates * hidden))
    if seq_lens is not None:
        inits.append(numpy_helper.from_array(np.array(seq_lens, np.int32), "lens"))
        inputs.append("lens")
    if peepholes:
        inits.append(weight("P", dirs, 3 * hidden))
        inputs += [""] * (7 - len(inputs)) + ["P"]
    node_attrs = {"hidden_size": hidden, "direction": direction, **(attrs or {})}
    if layout:
        node_attrs["layout"] = 1
    if kind == "GRU":
        node_attrs.setdefault("linear_before_reset", 1)
    nodes = [
        oh.make_node("MatMul", ["x", "in_w"], ["xi"], name="inp"),
        oh.make_node(kind, inputs, ["Y"], name="rec", **node_attrs),
        oh.make_node("ReduceSum", ["Y", "dir_axis"], ["ys"], keepdims=0, name="dirs"),
        oh.make_node("MatMul", ["ys", "out_w"], ["out"], name="outp"),
    ]
    outer = [batch, seq] if layout else [seq, batch]
    graph = oh.make_graph(
        nodes,
        "g",
        [oh.make_tensor_value_info("x", TensorProto.FLOAT, [*outer, width])],
        [oh.make_tensor_value_info("out", TensorProto.FLOAT, [*outer, 3])],
        inits,
    )
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])


def _reference(model: onnx.ModelProto, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """onnxruntime's outputs; onnx's reference evaluator's for layout=1, which onnxruntime does not run."""
    if not any(a.name == "layout" and a.i == 1 for n in model.graph.node for a in n.attribute):
        return run_onnx(model, inputs)
    evaluator = ReferenceEvaluator(model)
    feed = {i.name: x.numpy() for i, x in zip(model.graph.input, inputs)}
    return [torch.from_numpy(np.asarray(o)) for o in evaluator.run(None, feed)]


class ReferenceSession(PruneSession):
    """The oracle with `_reference` as the runtime of the original and masked files."""

    def __init__(self, path: Path, inputs: Sequence[torch.Tensor], name: str):
        self.original = onnx.load(str(path))
        self.inputs = list(inputs)
        self.name = name
        self.want = _reference(self.original, self.inputs)
        self.import_seconds = 0.0
        program = api.import_onnx(path)
        self.param_names = list(program.weights)
        self._start(program)
        fidelity = max_relative_error(self.run_pruned(program), self.want)
        assert fidelity < TOLERANCE, f"{name}: import -> emit differs from the reference by {fidelity:.2e}"

    def run_pruned(self, prog: Any) -> list[torch.Tensor]:
        with torch.no_grad():
            return flat_outputs(api.to_torch(prog)(*self.inputs))

    def run_masked(self, plan_params: PlanParams) -> list[torch.Tensor]:
        return _reference(masked_onnx(self.original, plan_params), self.inputs)


CONVENTIONS: dict[str, dict[str, Any]] = {
    "lstm": {},
    "lstm-layout1": {"layout": 1},
    "lstm-reverse": {"direction": "reverse"},
    "lstm-full-sequence-lens": {"seq_lens": [4, 4]},
    "lstm-dynamic-batch": {"batch": "N"},
    "gru-layout1-bidirectional": {"kind": "GRU", "layout": 1, "direction": "bidirectional"},
    "gru-reverse-no-bias": {"kind": "GRU", "direction": "reverse", "bias": False},
    "rnn-relu-bidirectional": {"kind": "RNN", "direction": "bidirectional", "attrs": {"activations": ["Relu"] * 2}},
    "rnn-layout1-dynamic-batch": {"kind": "RNN", "layout": 1, "batch": "N"},
}


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_onnx_conventions_import_and_prune(name: str, tmp_path: Path) -> None:
    """Absent initial states are zeros the pruned program slices with the units: the hidden units prune too."""
    kw = CONVENTIONS[name]
    path = tmp_path / "rec.onnx"
    onnx.save(_onnx_recurrent(**kw), str(path))
    batch = 3 if kw.get("batch") == "N" else 2
    shape = (batch, 4, 6) if kw.get("layout") else (4, batch, 6)
    s = ReferenceSession(path, [torch.randn(shape, generator=torch.Generator().manual_seed(1))], name)
    prog, plan, _ = s.prune(0.5, only_exact=True)
    (hidden,) = _groups_with(plan, "R", 2)
    assert hidden["size"] == 5 and not hidden["frozen"] and len(hidden["removed"]) == 2
    # what the node's hidden_size attribute must become in a pruned ONNX file
    assert hidden_size(main_function(s.program.module).walk()) == 5
    assert hidden_size(main_function(prog.module).walk()) == 3
    assert all(r.eligible == 2 for r in s.check_model((0.3, 0.5)))


# ONNX recurrent layers PyTorch's ops cannot compute: not skipped, each must be refused at import with a one-line
# error naming the node and saying why (the regex), which the test below asserts.
UNSUPPORTED: dict[str, tuple[dict[str, Any], str]] = {
    "sequence-lens": ({"seq_lens": [3, 4]}, r"sequence_lens other than every sequence at full length"),
    "clip": ({"attrs": {"clip": 1.0}}, r"attribute 'clip' has no PyTorch equivalent"),
    "activations": ({"attrs": {"activations": ["Sigmoid", "Tanh", "Relu"]}}, r"activations .* differ from PyTorch's"),
    "input-forget": ({"attrs": {"input_forget": 1}}, r"input_forget=1"),
    "peepholes": ({"peepholes": True}, r"peephole weights"),
    "gru-linear-before-reset-0": ({"kind": "GRU", "attrs": {"linear_before_reset": 0}}, r"linear_before_reset=0"),
    "rnn-sigmoid": ({"kind": "RNN", "attrs": {"activations": ["Sigmoid"]}}, r"one of Tanh, Relu"),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_what_pytorch_cannot_compute_is_a_located_error(name: str, tmp_path: Path) -> None:
    kw, message = UNSUPPORTED[name]
    path = tmp_path / "rec.onnx"
    onnx.save(_onnx_recurrent(**kw), str(path))
    with pytest.raises(SpaError, match=message) as e:
        api.import_onnx(path)
    assert f"{path}: {kw.get('kind', 'LSTM')} node 'rec': " in _one_line(e)


# -- Keras through tf2onnx -------------------------------------------------------------------------------------


KERAS = sorted(p.name for p in DATA.glob("keras_*.onnx") if re.fullmatch(r"keras_(lstm|gru)_op\d+\.onnx", p.name))


def test_keras_recurrent_files_are_there() -> None:
    assert {"keras_lstm_op11.onnx", "keras_lstm_op15.onnx", "keras_gru_op11.onnx", "keras_gru_op15.onnx"} <= set(KERAS)


@pytest.mark.parametrize("name", KERAS)
def test_keras_recurrent_layer(name: str, tmp_path: Path) -> None:
    """tf2onnx writes a Keras LSTM as an ONNX LSTM (its zero state an Expand of 0 to the run-time batch): it imports
    and its hidden units prune. It leaves the Keras 3 GRU as the `while` Loop of its cell: it imports as opaque
    control flow, every channel reaching it frozen, the faithful ONNX file is the original's, PyTorch refuses it."""
    path = DATA / name
    model = onnx.load(str(path))
    types = [n.op_type for n in model.graph.node]
    if "Loop" in types and not {"LSTM", "GRU", "RNN"} & set(types):
        loop = next(n.name for n in model.graph.node if n.op_type == "Loop")
        prog = api.import_onnx(path)
        with pytest.raises(SpaError, match=rf"at loc\(\"{loop}\"\): 'spa_onnx.Loop' \(ONNX Loop") as e:
            api.to_torch(prog)
        _one_line(e)
        plan = api.prune_program(prog, ratio=0.5, criterion="random", only_exact=True).to_json()
        assert not any(g["removed"] for g in plan["groups"])
        assert any(r["op"] == "spa_onnx.Loop" for g in plan["groups"] for r in g["frozen"])
        save_onnx(prog, tmp_path / "same.onnx")
        x = [torch.randn(2, 8, 12, generator=torch.Generator().manual_seed(0))]
        assert max_relative_error(run_onnx(tmp_path / "same.onnx", x), run_onnx(model, x)) == 0.0
        return
    (node,) = [n for n in model.graph.node if n.op_type in ("LSTM", "GRU", "RNN")]
    hidden = next(a.i for a in node.attribute if a.name == "hidden_size")
    (_, seq, width) = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    s = FxSession(path, [torch.randn(2, seq, width, generator=torch.Generator().manual_seed(0))], name)
    _, plan, _ = s.prune(0.5, only_exact=True)
    (units,) = _groups_with(plan, node.input[2], 2)  # R's columns
    assert units["size"] == hidden and not units["frozen"]
    assert all(r.eligible == 1 for r in s.check_model((0.3, 0.5)))


# -- control flow that is not a recurrent layer -----------------------------------------------------------------


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    rng = np.random.default_rng(sum(map(ord, name)))
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def _vi(name: str, elem: int, shape: Sequence[int]) -> onnx.ValueInfoProto:
    return oh.make_tensor_value_info(name, elem, list(shape))


F32 = TensorProto.FLOAT


def _if_model() -> onnx.ModelProto:
    """x -> MatMul w0 -> Relu -> MatMul w1 -> If(flag): then Relu(a), else MatMul(a, w2) -> MatMul w3. The branches
    read `a` and w2 from outside (no operand of the If says so)."""
    then = oh.make_graph([oh.make_node("Relu", ["a"], ["r"], name="then_relu")], "then", [], [_vi("r", F32, [2, 6])])
    other = oh.make_graph(
        [oh.make_node("MatMul", ["a", "w2"], ["e"], name="else_mm")], "else", [], [_vi("e", F32, [2, 6])]
    )
    nodes = [
        oh.make_node("MatMul", ["x", "w0"], ["p"], name="mm0"),
        oh.make_node("Relu", ["p"], ["q"], name="relu"),
        oh.make_node("MatMul", ["q", "w1"], ["a"], name="mm1"),
        oh.make_node("If", ["flag"], ["y"], name="if", then_branch=then, else_branch=other),
        oh.make_node("MatMul", ["y", "w3"], ["out"], name="mm3"),
    ]
    inits = [_weight("w0", 4, 5), _weight("w1", 5, 6), _weight("w2", 6, 6), _weight("w3", 6, 3)]
    inputs = [_vi("x", F32, [2, 4]), _vi("flag", TensorProto.BOOL, [])]
    return oh.make_model(
        oh.make_graph(nodes, "g", inputs, [_vi("out", F32, [2, 3])], inits), opset_imports=[oh.make_opsetid("", 17)]
    )


def _scan_model() -> onnx.ModelProto:
    """x [2,5,4] -> MatMul w0 -> Relu -> MatMul w1 -> Scan over axis 1 (s += x_t, from s0) -> MatMul w3."""
    body = oh.make_graph(
        [
            oh.make_node("Add", ["s_in", "xt"], ["s_out"], name="scan_add"),
            oh.make_node("Identity", ["s_out"], ["y_t"], name="scan_id"),
        ],
        "scan_body",
        [_vi("s_in", F32, [2, 6]), _vi("xt", F32, [2, 6])],
        [_vi("s_out", F32, [2, 6]), _vi("y_t", F32, [2, 6])],
    )
    nodes = [
        oh.make_node("MatMul", ["x", "w0"], ["p"], name="mm0"),
        oh.make_node("Relu", ["p"], ["q"], name="relu"),
        oh.make_node("MatMul", ["q", "w1"], ["a"], name="mm1"),
        oh.make_node(
            "Scan",
            ["s0", "a"],
            ["s", "ys"],
            name="scan",
            body=body,
            num_scan_inputs=1,
            scan_input_axes=[1],
            scan_output_axes=[1],
        ),
        oh.make_node("MatMul", ["s", "w3"], ["out"], name="mm3"),
    ]
    inits = [_weight("w0", 4, 5), _weight("w1", 5, 6), _weight("w3", 6, 3), _weight("s0", 2, 6)]
    return oh.make_model(
        oh.make_graph(nodes, "g", [_vi("x", F32, [2, 5, 4])], [_vi("out", F32, [2, 3])], inits),
        opset_imports=[oh.make_opsetid("", 17)],
    )


def _loop_model() -> onnx.ModelProto:
    """x -> MatMul w1 -> Loop 3 times (h = MatMul(h, w2) + h) -> MatMul w3."""
    body = oh.make_graph(
        [
            oh.make_node("MatMul", ["h_in", "w2"], ["m"], name="body_mm"),
            oh.make_node("Add", ["m", "h_in"], ["h_out"], name="body_add"),
            oh.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
        ],
        "body",
        [_vi("i", TensorProto.INT64, []), _vi("cond_in", TensorProto.BOOL, []), _vi("h_in", F32, [2, 6])],
        [_vi("cond_out", TensorProto.BOOL, []), _vi("h_out", F32, [2, 6])],
    )
    nodes = [
        oh.make_node("MatMul", ["x", "w1"], ["a"], name="mm1"),
        oh.make_node("Loop", ["trip", "cond", "a"], ["h"], name="loop", body=body),
        oh.make_node("MatMul", ["h", "w3"], ["out"], name="mm3"),
    ]
    inits = [_weight("w1", 4, 6), _weight("w2", 6, 6), _weight("w3", 6, 3)]
    inits += [numpy_helper.from_array(np.array(3, np.int64), "trip"), numpy_helper.from_array(np.array(True), "cond")]
    return oh.make_model(
        oh.make_graph(nodes, "g", [_vi("x", F32, [2, 4])], [_vi("out", F32, [2, 3])], inits),
        opset_imports=[oh.make_opsetid("", 17)],
    )


CONTROL: dict[str, tuple[Callable[[], onnx.ModelProto], str, list[list[torch.Tensor]]]] = {
    "if": (_if_model, "spa_onnx.If", [[torch.randn(2, 4), torch.tensor(flag)] for flag in (True, False)]),
    "scan": (_scan_model, "spa_onnx.Scan", [[torch.randn(2, 5, 4)]]),
}


@pytest.mark.parametrize("name", list(CONTROL))
def test_control_flow_is_frozen_and_not_emitted_as_pytorch(name: str, tmp_path: Path) -> None:
    make, op, feeds = CONTROL[name]
    model = make()
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    prog = api.import_onnx(path)
    for emit in (lambda: api.to_torch(prog), lambda: save_pt2(prog, tmp_path / "m.pt2")):
        with pytest.raises(SpaError, match=rf"at loc\(\"{name}\"\): '{op}' \(ONNX Loop / Scan / If") as e:
            emit()
        _one_line(e)
    plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True).to_json()
    reaching = _groups_with(plan, "w1", 1) + ([] if name == "scan" else _groups_with(plan, "w2", 0))
    for group in reaching:  # what the regions read: `a` (w1's outputs) and, captured by a branch, w2
        assert [(r["kind"], r["op"]) for r in group["frozen"]] == [(CONTROL_FLOW, op)], group
    (prunable,) = _groups_with(plan, "w0", 1)  # before the control flow: pruned, exactly
    assert not prunable["frozen"] and len(prunable["removed"]) == 2 and _groups_with(plan, "w1", 0) == [prunable]
    save_onnx(prog, tmp_path / "pruned.onnx")  # the original graph, pruned
    for inputs in feeds:
        got = run_onnx(tmp_path / "pruned.onnx", inputs)
        assert max_relative_error(got, run_onnx(masked_onnx(model, plan["params"]), inputs)) < TOLERANCE


def test_loop_imports_as_opaque_control_flow(tmp_path: Path) -> None:
    """A Loop torch-mlir's conversion rejects imports all the same (opaque): what reaches it is frozen, the faithful
    file computes the original, PyTorch emission is a located one-line error."""
    model = _loop_model()
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / "loop.onnx"
    onnx.save(model, str(path))
    prog = api.import_onnx(path)
    plan = api.prune_program(prog, ratio=0.5, criterion="random", only_exact=True).to_json()
    for group in _groups_with(plan, "w1", 1):
        assert [(r["kind"], r["op"]) for r in group["frozen"]] == [(CONTROL_FLOW, "spa_onnx.Loop")], group
    with pytest.raises(SpaError, match=r"at loc\(\"loop\"\): 'spa_onnx.Loop'") as e:
        api.to_torch(prog)
    _one_line(e)
    save_onnx(prog, tmp_path / "same.onnx")
    x = [torch.randn(2, 4)]
    assert max_relative_error(run_onnx(tmp_path / "same.onnx", x), run_onnx(model, x)) < TOLERANCE
