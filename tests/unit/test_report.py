"""spa_ir.reporting: the report's numbers against independent computations (the safetensors files before and
after, the plan's removed indices, torch.utils.flop_counter on the models, the plan's achieved FLOPs), its JSON
and PNG, and spa-opt's --report / --report-json / --plot / --quiet; a normal command-line run prints nothing but
its summary line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from spa.tools import spa_opt
from spa_ir import api
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.core.progress import phases, progress, set_quiet, set_stream
from spa_ir.reporting import Report, build_report, snapshot

BIN = Path(sys.executable).parent
LIT_INPUTS = Path(__file__).resolve().parents[1] / "lit" / "Inputs"


class Net(nn.Module):
    """conv -> bn -> relu -> conv -> bn -> relu -> pool -> linear: two prunable groups of different widths."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.c2, self.b2 = nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))
        return self.fc(y.mean(dim=(2, 3)))


X = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def pruned() -> tuple[nn.Module, Program, Program, Plan, Report]:
    torch.manual_seed(0)
    model = Net().eval()
    after = api.import_torch(model, [X])
    before = snapshot(after)
    plan = api.prune_program(after, keep_flops=0.6, criterion="l1")
    return model, before, after, plan, build_report(before, after, plan, latency=True)


def test_params_and_file_sizes_are_those_of_the_safetensors_files(tmp_path: Path, pruned: tuple) -> None:
    model, before, after, _, report = pruned
    before.save(tmp_path / "before.mlir")
    after.save(tmp_path / "after.mlir")
    names = {n for n, _ in model.named_parameters()}
    for span, stem in ((report.totals.params, "before"), (report.totals.params, "after")):
        tensors = load_file(tmp_path / f"{stem}.safetensors")
        assert getattr(span, stem) == sum(t.numel() for n, t in tensors.items() if n in names)
        buffers = sum(t.numel() for n, t in tensors.items() if n not in names)
        assert getattr(report.totals.buffers, stem) == buffers
        assert getattr(report.totals.file_bytes, stem) == os.path.getsize(tmp_path / f"{stem}.safetensors")
    assert report.totals.params.before == sum(p.numel() for p in model.parameters())
    assert report.totals.params.after < report.totals.params.before


def test_layer_widths_are_the_originals_less_the_plans_removed_indices(pruned: tuple) -> None:
    model, _, after, plan, report = pruned
    state = model.state_dict()
    assert {layer.weight for layer in report.layers} == set(after.external_weight_names())
    for layer in report.layers:
        assert layer.shape.before == list(state[layer.weight].shape)
        removed = plan.params.get(layer.weight, {})
        expected = [n - len(removed.get(d, [])) for d, n in enumerate(layer.shape.before)]
        assert layer.shape.after == expected == list(after.weight(layer.weight).shape), layer.weight
    assert [layer.weight for layer in report.layers if layer.changed and layer.matrix] == [
        "c1.weight",
        "c2.weight",
        "fc.weight",
    ]


def test_group_widths_are_the_widths_of_the_dims_they_span(pruned: tuple) -> None:
    """A member spanning its whole dim (offset 0, one index per channel) has the group's width there, before
    (the model's tensors) and after (the pruned program's)."""
    model, _, after, plan, report = pruned
    state = model.state_dict()
    by_id = {g["id"]: g for g in plan.groups}
    pruned_groups = [g for g in report.groups if g.width.after < g.width.before]
    assert len(pruned_groups) == 2
    for row in pruned_groups:
        assert not row.frozen and row.exact
        members = by_id[row.id]["members"]
        whole = [m for m in members if (m["offset"], m["stride"], m["block"], m["count"]) == (0, 1, 1, 1)]
        assert whole and {m["param"] for m in whole} <= set(row.layers)
        for m in whole:
            assert state[m["param"]].shape[m["dim"]] == row.width.before
            assert after.weight(m["param"]).shape[m["dim"]] == row.width.after


def _flops(module: nn.Module) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(X)
    return int(counter.get_total_flops())


def test_flops_are_flop_counters_and_their_ratio_the_plans_achieved_flops(pruned: tuple) -> None:
    model, _, after, plan, report = pruned
    assert report.totals.flops.before == _flops(model)
    assert report.totals.flops.after == _flops(api.to_torch(after))
    assert report.totals.flops.ratio() == pytest.approx(plan.selection["achieved"]["flops"], abs=1e-6)
    assert report.totals.flops.ratio() == pytest.approx(0.6, abs=0.02)


def test_latency_is_measured_on_both_emitted_modules(pruned: tuple) -> None:
    latency = pruned[4].totals.latency_ms
    assert latency is not None and 0 < latency.before < 10_000 and 0 < latency.after < 10_000
    shapes = pruned[4].totals.latency_inputs
    assert shapes == [list(X.shape)], shapes  # the captured (static) input
    assert "CPU latency (" + "x".join(map(str, shapes[0])) in pruned[4].table()


def test_json_has_the_documented_keys_and_the_table_is_aligned(pruned: tuple) -> None:
    report = pruned[4]
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"groups", "layers", "totals", "selection"}
    assert set(data["totals"]) == {"params", "buffers", "flops", "file_bytes", "latency_ms", "latency_inputs"}
    assert set(data["groups"][0]) == {"id", "layers", "width", "exact", "frozen"}
    assert set(data["layers"][0]) == {"weight", "buffer", "shape"}
    assert data["totals"]["params"] == {"before": report.totals.params.before, "after": report.totals.params.after}
    table = report.table()
    for g in report.groups:
        assert (f"{g.width.before} -> {g.width.after}" in table) == (g.width.after < g.width.before)
    totals = table.split("totals\n")[1].splitlines()
    assert [row.split()[0] for row in totals[2:]] == ["params", "FLOPs", "weights", "CPU"]
    assert len({len(row) for row in totals}) == 1  # right-aligned numbers: every row ends in the same column


def test_plot_is_a_png(tmp_path: Path, pruned: tuple) -> None:
    path = tmp_path / "widths.png"
    pruned[4].plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_spa_opt_report_flags(tmp_path: Path, pruned: tuple, capfd: pytest.CaptureFixture[str]) -> None:
    """The table on stderr with --report (the API's numbers, a second run), the JSON file, nothing with --quiet,
    one line and no files without a pipeline that prunes."""
    before, report = pruned[1], pruned[4]
    snapshot(before).save(tmp_path / "m.mlir")
    capfd.readouterr()
    prune = ["--prune-groups=keep-flops=0.6 criterion=l1"]
    args = [str(tmp_path / "m.mlir"), *prune, "--report", "--report-json", str(tmp_path / "r.json")]
    assert spa_opt.main([*args, "-o", str(tmp_path / "p.mlir")]) == 0
    out, err = capfd.readouterr()
    params = report.totals.params
    assert out == "" and err.startswith("spa-opt: pruned (criterion l1") and "\ntotals\n" in err
    rows = [
        [r.split() for r in text.splitlines() if r.startswith(("params ", "FLOPs "))] for text in (err, report.table())
    ]
    assert rows[0] == rows[1] and len(rows[0]) == 2
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["totals"]["params"] == {"before": params.before, "after": params.after}
    for key in ("flops", "file_bytes"):  # file_bytes: spa-opt's input file's size, the API's serialized in memory
        assert written["totals"][key] == report.to_json()["totals"][key]

    assert spa_opt.main([str(tmp_path / "m.mlir"), *prune, "--quiet", "-o", str(tmp_path / "q.mlir")]) == 0
    assert capfd.readouterr() == ("", "")

    bad = [str(tmp_path / "m.mlir"), "-p", "spa-propagate-channels", "--plot", str(tmp_path / "x.png")]
    assert spa_opt.main([*bad, "-o", str(tmp_path / "x.mlir")]) == 1
    out, err = capfd.readouterr()
    assert out == "" and err.count("\n") == 1 and "need one input and a pipeline that prunes" in err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.mlir").exists()


def test_a_normal_command_line_run_prints_only_its_summary(tmp_path: Path) -> None:
    """spa-translate import and export, spa-opt pruning, as subprocesses (what a user's terminal shows): no
    library output (warnings, logs, progress bars off a terminal), only spa-opt's summary line."""
    env = {**os.environ, "PYTHONPATH": str(LIT_INPUTS)}

    def run(*args: str) -> tuple[str, str]:
        proc = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout, proc.stderr

    imported = run(
        "spa-translate", "--import-torch", "tiny_models:two_conv", "--input-shape", "1,3,8,8", "-o", "m.mlir"
    )
    assert imported == ("", "")
    out, err = run("spa-opt", "m.mlir", "--prune-groups=ratio=0.5", "-o", "p.mlir")
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("spa-opt: pruned (criterion l1")
    assert run("spa-translate", "--export-onnx", "p.mlir", "-o", "p.onnx") == ("", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("terminal", "quiet"), [(True, False), (False, False), (True, True)])
def test_progress_bars_only_on_a_terminal_and_never_when_quiet(terminal: bool, quiet: bool) -> None:
    stream = _Terminal() if terminal else io.StringIO()
    set_stream(stream)
    set_quiet(quiet)
    try:
        with phases("capture", ("torch.export", "torch-mlir import")) as step:
            step()
            step()
        assert list(progress(range(3), "calibration")) == [0, 1, 2]
    finally:
        set_stream(None)
        set_quiet(False)
    text = stream.getvalue()
    shown = terminal and not quiet
    assert ("capture" in text and "torch-mlir import" in text and "calibration" in text and "/3" in text) == shown
    assert shown or text == ""
