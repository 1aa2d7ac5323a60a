"""Ultralytics YOLO: YOLOv8n and YOLO11n built from their yaml (random weights, 80 classes, not fused), offline.

Capture: the whole DetectionModel on a 1x3x64x64 input with Detect in export mode, so the program's output is
the decoded head ([1, 84, 84]: DFL's softmax expectation over the 16 box bins, make_anchors' anchor points and
strides, class sigmoids); the anchors Detect caches on its first forward are captured as constants. The oracle
(tests/unit/oracle.py) prunes it at 0.3 and 0.5 (only_exact) and every group, against the masked original.

Apply: the plan put back into ultralytics' own DetectionModel (spa_ir.api.apply_plan; the ultralytics adapter
sets C2f / C3k2 / C2PSA's half width `c` and PSA attention's key_dim), whose eval forward's raw outputs (decoded
predictions, box distributions and class logits of every scale) equal the masked original's; saved as an
ultralytics checkpoint ({"model": ...}, fp32: YOLO.save would write fp16), reloaded by `YOLO(path)`, and run
through ultralytics' own `predict` (letterbox, forward, NMS) on a real photo (scikit-learn's china.jpg), the
model's raw outputs there equal to the masked original's on the same preprocessed tensor.

Everything runs with the network blocked (yolo_models.blocked_network: any DNS lookup or connection raises and
is recorded); yolo_models says which ultralytics switches keep it offline.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yolo_models as ym
from oracle import Session, assert_same_parameters, clone_program, per_model, rebuilt_mismatches, reused
from sklearn.datasets import load_sample_image  # type: ignore[import-untyped]  # scikit-learn ships no stubs
from ultralytics import YOLO
from zoo import max_relative_error

from spa_ir import api
from spa_ir.backends.module.ultralytics import psa_ignore
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.verify import masked

TOL = 1e-4
OUTPUT_REASONS = {"model input", "model output", "meets a dim without channels (a constant, or frozen upstream)",
                  "convolution window over a channel dim"}  # fmt: skip
"""The only reasons a YOLO group stays frozen: the image's 3 channels, the head's outputs (80 classes, 4 x 16 box
bins: DFL's conv reads the bins as its window), the anchor points and strides (constants added to the boxes)."""


@pytest.fixture(autouse=True)
def no_network() -> Iterator[None]:
    with ym.blocked_network() as attempts:
        yield
    assert not attempts, f"the test reached for the network: {attempts}"


def _session(name: str) -> Session:
    with ym.blocked_network() as attempts:
        model = ym.build(name)
        with ym.export_mode(model):
            session = Session(model, [ym.example_input()], name)
    assert not attempts, attempts
    return session


sessions = reused(_session)


def test_offline() -> None:
    """ultralytics believes it is offline, syncs nothing and keeps its settings in the test's own directory; its
    import made no network call."""
    import ultralytics.utils as u

    assert ym.IMPORT_ATTEMPTS == []
    assert u.ONLINE is False and u.SETTINGS["sync"] is False
    assert Path(u.SETTINGS.file).resolve().is_relative_to(Path(ym.CONFIG_DIR).resolve())


def test_fresh_model_captures() -> None:
    """A DetectionModel never run before: Detect fills its anchors on the first forward, which capture does once
    eagerly before tracing (frontends/torch.py); the program computes the model, whose own forward still runs."""
    model, x = ym.build("yolov8n"), ym.example_input()
    with ym.export_mode(model):
        prog = api.import_torch(model, [x], "yolov8n")
        with torch.no_grad():
            assert max_relative_error([api.to_torch(prog)(x)], [model(x)]) < TOL


@pytest.mark.parametrize("name", per_model(ym.MODELS, "yolo"))
def test_oracle(name: str) -> None:
    s = sessions(name)
    with ym.export_mode(s.model):
        reports = s.check_model()
    for r in reports:
        print(r.summary(), r.frozen_reasons)
        assert set(r.frozen_reasons) <= OUTPUT_REASONS, r.frozen_reasons
        assert r.inexact <= 1  # only DFL's softmax over the box bins (model outputs anyway)
        assert r.eligible >= r.groups - 6  # 5 frozen (image, head outputs, anchors), DFL inexact


def _applied(name: str, ignore: str) -> tuple[Session, Plan, torch.nn.Module, Any]:
    """A copy of the model with the 0.5 only_exact plan applied (example inputs run after), the plan, the report."""
    s = sessions(name)
    prog = clone_program(s.program)
    with ym.export_mode(s.model):
        plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True, ignore=ignore)
    model = copy.deepcopy(s.model)
    applied = api.apply_plan(model, plan, example_inputs=[ym.example_input()])
    assert_same_parameters(model, prog)
    assert not rebuilt_mismatches(model)
    return s, plan, model, applied


def _against_masked(s: Session, plan: Plan, got: list[torch.Tensor], x: torch.Tensor) -> float:
    with masked(s.model, plan.to_json()["params"]) as m:
        return max_relative_error(got, ym.raw_outputs(m, x))


@pytest.mark.parametrize("name", per_model(ym.MODELS, "yolo"))
def test_apply_save_predict(name: str, tmp_path: Path) -> None:
    s, plan, model, applied = _applied(name, psa_ignore(sessions(name).model))
    assert applied.limits == [] and applied.adapters == ["spa_ir.backends.module.ultralytics"]
    layers: Any = model.model
    halves = {p: v for p, attrs in applied.attributes.items() for a, v in attrs.items() if a == "c"}
    csp = [i for i, m in enumerate(layers) if type(m).__name__ in ("C2f", "C3k2")]
    assert {f"model.{i}" for i in csp} <= set(halves)
    for i in csp:  # the forward's own split (forward_split reads `c`) and its chunk agree with the weights
        assert 2 * layers[i].c == layers[i].cv1.conv.out_channels
        assert halves[f"model.{i}"][1] == layers[i].c
    if name == "yolo11n":  # PSA attention: heads and values whole (psa_ignore), the keys pruned
        attn = layers[10].m[0].attn
        assert applied.attributes["model.10.m.0.attn"] == {"key_dim": (32, 16)}
        assert attn.num_heads * attn.head_dim == attn.qkv.conv.in_channels == layers[10].c == 128
    x = ym.example_input()
    assert _against_masked(s, plan, ym.raw_outputs(model, x), x) < TOL

    path = tmp_path / f"{name}-pruned.pt"
    torch.save({"model": model, "train_args": {}}, path)  # ultralytics' checkpoint format (YOLO.save, in fp32)
    loaded = YOLO(str(path))
    assert type(loaded.model) is type(s.model)
    assert _against_masked(s, plan, ym.raw_outputs(loaded.model, x), x) < TOL

    seen: dict[str, Any] = {}
    hook = loaded.model.register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out))
    photo = load_sample_image("china.jpg")[:, :, ::-1].copy()  # RGB -> BGR, as ultralytics reads arrays
    results = loaded.predict(photo, imgsz=128, conf=1e-9, max_det=10, verbose=False, save=False)
    hook.remove()
    assert len(results) == 1 and results[0].boxes is not None and len(results[0].boxes) == 10
    decoded, raw = seen["out"]
    assert seen["x"].shape == (1, 3, 96, 128)  # the 427x640 photo letterboxed, not the capture's 64x64
    assert _against_masked(s, plan, [decoded, raw["boxes"], raw["scores"]], seen["x"]) < TOL


def test_apply_all_groups() -> None:
    """Every group pruned (only_exact=False) cuts Detect's box bins too (DFL's softmax makes them inexact): the
    adapter sets reg_max, no and DFL's c1, and the applied DetectionModel computes what the emitted module does."""
    s = sessions("yolov8n")
    prog = clone_program(s.program)
    x = ym.example_input()
    with ym.export_mode(s.model):
        plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=False)
        model = copy.deepcopy(s.model)
        applied = api.apply_plan(model, plan, example_inputs=[x])
        with torch.no_grad():
            assert max_relative_error([model(x)], [api.to_torch(prog)(x)]) < TOL
    assert applied.limits == []
    assert applied.attributes["model.22"] == {"reg_max": (16, 8), "no": (144, 112)}
    assert applied.attributes["model.22.dfl"] == {"c1": (16, 8)}


def test_psa_without_ignore_is_a_limit() -> None:
    """Pruned freely, YOLO11's PSA attention keeps fewer value channels than its input has; its forward views the
    attention output as the input's width, so the adapter names the module and the fix, and the forward run after
    applying fails naming the module."""
    s = sessions("yolo11n")
    prog = clone_program(s.program)
    with ym.export_mode(s.model):
        plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True)
    applied = api.apply_plan(copy.deepcopy(s.model), plan)
    psa = [line for line in applied.limits if line.startswith("model.10.m.0.attn (Attention)")]
    assert len(psa) == 1 and "psa_ignore" in psa[0], applied.limits
    with pytest.raises(SpaError, match=r"model\.10\.m\.0\.attn"):
        api.apply_plan(copy.deepcopy(s.model), plan, example_inputs=[ym.example_input()])


def test_unequal_halves_are_a_limit() -> None:
    """A plan that keeps different counts in C2f's two halves (a global criterion can) cannot be said by its
    `chunk(2, 1)`: a limit naming the module, attribute and counts, and the forward fails naming the module."""
    model = ym.build("yolov8n")
    layers: Any = model.model
    c = layers[2].c
    rows = ["conv.weight", *(f"bn.{t}" for t in ("weight", "bias", "running_mean", "running_var"))]
    params = {f"model.2.cv1.{n}": {0: [0, 1]} for n in rows} | {"model.2.cv2.conv.weight": {1: [0, 1]}}  # 1st half
    plan = Plan(params=params)
    applied = api.apply_plan(copy.deepcopy(model), plan)
    assert applied.limits == [
        f"model.2 (C2f).c = {c}: its forward cuts cv1's output into two equal halves, but the plan keeps {c - 2} and "
        f"{c} channels in them; the emitted module (spa_ir.api.to_torch) has no such limit"
    ]
    with pytest.raises(SpaError, match=r"model\.2"):
        api.apply_plan(copy.deepcopy(model), plan, example_inputs=[ym.example_input()])
