"""FLOPs / params targets, scopes, floors, names and iterative schedules of spa-select-channels, checked on
real models against torch.utils.flop_counter on the emitted modules (the oracle: it knows nothing of spa's
cost model), and on the plan by construction (kept counts, names, composition of steps)."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import pytest
import torch
import torchvision
from oracle import clone_program, reused, same_worker
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from zoo import build

from spa.passes import pipeline_passes
from spa.passes.annotate_importance import AnnotateImportance
from spa.passes.eliminate_dead_channels import EliminateDeadChannels
from spa.passes.form_groups import FormGroups
from spa.passes.propagate_channels import PropagateChannels
from spa.passes.select_channels import SelectChannels
from spa_ir import api
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.pruning.targets import TOLERANCE

MODELS = ["resnet50", "mobilenet_v3_large", "vit_b_16", "densenet121"]


@dataclass
class Captured:
    original: Program
    analysed: Program
    """Channels propagated, groups formed and scored (l1): each case selects on a clone of it."""
    x: torch.Tensor
    flops: int
    params: int


def _model(name: str) -> torch.nn.Module:
    if name == "vit_b_16":  # 64x64: 16 patches instead of 196, the same layers
        torch.manual_seed(0)
        return torchvision.models.vit_b_16(weights=None, image_size=64).eval()
    return build(name)


def counted(gm: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs by torch's own counter; attention through the math kernel, whose matmuls it counts (it has no
    formula for the fused CPU kernel)."""
    with FlopCounterMode(display=False) as fc, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        gm(x)
    return fc.get_total_flops()


def _params(gm: torch.nn.Module) -> int:
    return sum(p.numel() for p in gm.parameters())


def _capture(name: str) -> Captured:
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    original = api.import_torch(_model(name), [x], name)
    analysed = clone_program(original)
    analysed.run([PropagateChannels(), FormGroups(), AnnotateImportance()])
    gm = api.to_torch(original)
    return Captured(original, analysed, x, counted(gm, x), _params(gm))


captured = reused(_capture)


def select(c: Captured, **options: object) -> Program:
    """A clone of the analysed program, selected and eliminated with these options."""
    p = Program(c.analysed.module.clone(), c.analysed.weights.copy(), c.analysed.source)
    p.run([SelectChannels(**options), EliminateDeadChannels()])  # type: ignore[arg-type]  # options as the pass spells them
    return p


CASES = [
    (name, kind, value, scope)
    for i, name in enumerate(MODELS)
    for j, (kind, value) in enumerate(
        [("keep_flops", 0.5), ("keep_flops", 0.3), ("keep_params", 0.5), ("keep_params", 0.3)]
    )
    for scope in [("local", "global", "protected")[(i + j) % 3]]
]


@pytest.mark.parametrize(
    "name,kind,value,scope",
    [pytest.param(*case, marks=same_worker(f"targets/{case[0]}")) for case in CASES],
)
def test_target_met_by_flop_counter(name: str, kind: str, value: float, scope: str) -> None:
    c = captured(name)
    start = time.perf_counter()
    pruned = select(c, scope=scope, **{kind: value})
    seconds = time.perf_counter() - start
    gm = api.to_torch(pruned)
    flops, params = counted(gm, c.x) / c.flops, _params(gm) / c.params
    got = flops if kind == "keep_flops" else params
    assert abs(got - value) <= TOLERANCE, f"{name} {kind}={value} {scope}: {got:.4f} ({seconds:.2f} s)"
    assert pruned.plan is not None and pruned.plan.selection is not None
    sel = pruned.plan.selection
    assert sel["scope"] == scope and sel["target"] == {"kind": kind.replace("_", "-"), "value": value}
    # spa's shape-only cost model predicts exactly what the flop counter counts on the emitted module
    assert sel["achieved"]["flops"] == pytest.approx(flops, abs=1e-5)
    assert sel["achieved"]["params"] == pytest.approx(params, abs=1e-5)
    if scope == "protected":  # every group keeps at least 10% (the default floor under protected)
        for g in pruned.plan.groups:
            assert g["size"] - len(g["removed"]) >= math.ceil(0.1 * g["size"]), g["id"]


@same_worker("targets/resnet50")
def test_local_scope_one_ratio_for_every_group() -> None:
    c = captured("resnet50")
    plan = select(c, keep_flops=0.5, scope="local").plan
    assert plan is not None
    lo, hi = 0.0, 1.0  # the ratios r with floor(r * size) == removed for every group not held by its floor
    for g in plan.groups:
        size, n = g["size"], len(g["removed"])
        if g["frozen"] or n == size - 1:
            continue
        lo, hi = max(lo, n / size), min(hi, (n + 1) / size)
    assert lo < hi, f"no single ratio explains the counts: [{lo}, {hi})"
    assert sum(len(g["removed"]) for g in plan.groups) > 0


@same_worker("targets/resnet50")
def test_round_to_and_min_keep_inside_the_search() -> None:
    c = captured("resnet50")
    pruned = select(c, keep_flops=0.5, scope="global", round_to=8, min_keep=4)
    assert pruned.plan is not None and pruned.plan.selection is not None
    assert abs(pruned.plan.selection["achieved"]["flops"] - 0.5) <= TOLERANCE
    pruned_any = False
    for g in pruned.plan.groups:
        kept = g["size"] - len(g["removed"])
        assert kept == g["size"] or (kept % 8 == 0 and kept >= 4), (g["id"], g["size"], kept)
        pruned_any |= bool(g["removed"])
    assert pruned_any


@same_worker("targets/resnet50")
def test_ignore_and_overrides_leave_the_named_groups() -> None:
    c = captured("resnet50")

    def names(g: dict) -> list[str]:
        return [m["param"] for m in g["members"]]

    plan = select(c, ratio=0.5, ignore=r"^layer4\.").plan
    assert plan is not None
    touched = [g for g in plan.groups if any(re.search(r"^layer4\.", n) for n in names(g))]
    assert touched and all(not g["removed"] for g in touched)
    assert any(g["removed"] for g in plan.groups if g not in touched)

    plan = select(c, keep_flops=0.6, overrides=r"^layer1\.:0.3,^layer4\.:0").plan
    assert plan is not None
    for g in plan.groups:
        if g["frozen"]:
            continue
        first = next(
            (r for p, r in ((r"^layer1\.", 0.3), (r"^layer4\.", 0.0)) if any(re.search(p, n) for n in names(g))), None
        )
        if first is not None:
            assert len(g["removed"]) == min(math.floor(first * g["size"]), g["size"] - 1), g["id"]


@same_worker("targets/resnet50")
def test_unreachable_targets_name_the_best_value() -> None:
    c = captured("resnet50")
    floors = r"keep-flops=0.01 is out of reach under scope global: the closest reachable value is 0\.(2|3)\d+"
    with pytest.raises(SpaError, match=floors):  # every group keeps half its channels: about a quarter of the FLOPs
        select(c, keep_flops=0.01, scope="global", min_keep_ratio=0.5)
    with pytest.raises(
        SpaError, match=r"keep-params=0.5 is out of reach under scope local: the closest reachable value is 1\.0000"
    ):
        select(c, keep_params=0.5, ignore=".")  # every group touches a weight: nothing can go
    with pytest.raises(SpaError, match="exclusive"):
        select(c, ratio=0.3, keep_flops=0.5)


@same_worker("targets/resnet50")
def test_steps_reach_the_target_and_compose_the_plan() -> None:
    c = captured("resnet50")
    p = clone_program(c.original)
    p.run(pipeline_passes("spa-prune-groups", keep_flops=0.5, steps=2, scope="protected"))
    gm = api.to_torch(p)
    assert abs(counted(gm, c.x) / c.flops - 0.5) <= TOLERANCE
    assert "spa.original_cost" not in p.module.attributes
    plan = p.plan
    assert plan is not None and plan.selection is not None and plan.selection["steps"] == 2
    # the composed plan is in the original indexing: the pruned weights are the original ones at the kept indices
    for name, dims in plan.params.items():
        want = c.original.weight(name)
        for d, gone in dims.items():
            kept = [i for i in range(want.shape[d]) if i not in set(gone)]
            want = want.index_select(d, torch.tensor(kept))
        assert torch.equal(p.weight(name), want), name


def test_plan_composition_and_json(tmp_path: object) -> None:
    first = Plan(
        {"w": {0: [1, 3]}}, [{"id": "g1", "size": 5, "removed": [1, 3], "members": [{"param": "w", "dim": 0}]}]
    )
    later = Plan(
        {"w": {0: [0, 2]}, "v": {1: [0]}},
        [{"id": "g9", "size": 3, "removed": [0, 2], "members": [{"param": "w", "dim": 0}]}],
        {"scope": "local"},
    )
    both = first.then(later)
    assert both.params == {"w": {0: [0, 1, 3, 4]}, "v": {1: [0]}}  # survivors 0 2 4: later's 0 and 2 are 0 and 4
    assert both.groups[0]["removed"] == [0, 1, 3, 4] and both.groups[0]["size"] == 5
    assert both.selection == {"scope": "local"}
    path = f"{tmp_path}/plan.json"
    both.save(path)
    assert Plan.load(path) == both
    old = Plan({"w": {0: [1]}})
    old.save(path)
    assert Plan.load(path).selection is None
