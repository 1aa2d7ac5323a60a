"""Programs and the passes' weights: the driver hands each pipeline its program's weights in a SpaContext
(no registry), named pipelines expand into their stages, and plans round-trip through JSON."""

from __future__ import annotations

import dataclasses
import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn
from xdsl.context import Context

from spa.passes import ALL_PASSES, PIPELINES, parse_pipeline, pipeline_passes
from spa.passes.annotate_importance import AnnotateImportance
from spa.passes.eliminate_dead_channels import EliminateDeadChannels
from spa.passes.form_groups import FormGroups
from spa.passes.propagate_channels import PropagateChannels
from spa.passes.select_channels import SelectChannels
from spa_ir import api
from spa_ir.core.context import SpaContext, make_context
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan
from spa_ir.core.program import Program
from spa_ir.core.weights import WeightStore

PRUNE = {"ratio": 0.5, "criterion": "l1"}


def _models() -> dict[str, tuple[nn.Module, torch.Tensor]]:
    """Two small models whose parameters have the same names ("0.weight", ...) but other shapes: a mix-up of
    their weights would show."""
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 6, 1), nn.ReLU(),
                      nn.Flatten(), nn.Linear(6 * 4 * 4, 5))
    b = nn.Sequential(nn.Conv2d(2, 12, 1), nn.BatchNorm2d(12), nn.ReLU(), nn.Conv2d(12, 10, 3, padding=1), nn.ReLU(),
                      nn.Flatten(), nn.Linear(10 * 3 * 3, 4))
    return {"a": (a.eval(), torch.randn(1, 3, 4, 4)), "b": (b.eval(), torch.randn(1, 2, 3, 3))}


@pytest.fixture(scope="module")
def imported() -> dict[str, Program]:
    return {name: api.import_torch(model, [x], name) for name, (model, x) in _models().items()}


def _copy(prog: Program) -> Program:
    return Program(prog.module.clone(), WeightStore(dict(prog.weights.items())), prog.source)


def _result(prog: Program) -> tuple[str, dict[str, torch.Tensor], dict]:
    assert prog.plan is not None
    return prog.text(), {n: prog.weights[n] for n in prog.external_weight_names()}, prog.plan.to_json()


def _same(got: tuple[str, dict[str, torch.Tensor], dict], want: tuple[str, dict[str, torch.Tensor], dict]) -> None:
    assert got[0] == want[0]
    assert got[2] == want[2]
    assert set(got[1]) == set(want[1])
    for name, tensor in want[1].items():
        assert torch.equal(got[1][name], tensor), name


def test_two_programs_pipelines_interleaved_equal_separate_runs(imported: dict[str, Program]) -> None:
    separate = {}
    for name, prog in imported.items():
        alone = _copy(prog)
        api.prune_program(alone, **PRUNE)
        separate[name] = _result(alone)
    a, b = _copy(imported["a"]), _copy(imported["b"])
    first, *rest = pipeline_passes("spa-prune-groups", **PRUNE)
    a.run([first])
    b.run([first])
    for p in rest:
        a.run([p])
        b.run([p])
    _same(_result(a), separate["a"])
    _same(_result(b), separate["b"])
    assert separate["a"][1]["0.weight"].shape != separate["b"][1]["0.weight"].shape


def test_no_module_level_state_keeps_a_program_alive(imported: dict[str, Program]) -> None:
    prog = _copy(imported["a"])
    plan = api.prune_program(prog, **PRUNE)
    assert plan.params
    assert not list(_module_globals_holding(prog, prog.weights, prog.module))
    program, store, module = weakref.ref(prog), weakref.ref(prog.weights), weakref.ref(prog.module)
    del prog
    gc.collect()
    assert program() is None and store() is None and module() is None


def _module_globals_holding(*objects: object) -> Iterator[str]:
    """`module.name` of each global of spa's modules that is one of `objects` or a container holding one."""
    ids = {id(o) for o in objects}
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith(("spa_ir", "spa.")):
            continue
        for name, value in list(vars(mod).items()):
            if isinstance(value, (weakref.WeakKeyDictionary, weakref.WeakValueDictionary)):
                value = dict(value.items())
            inner = [*value.keys(), *value.values()] if isinstance(value, dict) else (
                list(value) if isinstance(value, (list, set, tuple)) else [])
            refs = [r() if isinstance(r, weakref.ref) else r for r in (value, *inner)]
            if any(id(r) in ids for r in refs):
                yield f"{mod_name}.{name}"


def test_a_pass_that_needs_weights_says_so_without_them(imported: dict[str, Program]) -> None:
    prog = _copy(imported["a"])
    for p in (PropagateChannels(), FormGroups()):  # these need no weights
        p.apply(Context(), prog.module)
    for ctx in (Context(), make_context()):
        with pytest.raises(SpaError) as e:
            AnnotateImportance().apply(ctx, prog.module)
        assert str(e.value).splitlines() == [
            "spa-annotate-importance needs the program's weights: run it with Program.run or spa-opt, which hand "
            "them to the passes in a SpaContext"]


def test_context_clone_keeps_weights_and_plan_and_leaves_the_original_alone(imported: dict[str, Program]) -> None:
    prog = _copy(imported["a"])
    prog.run([PropagateChannels(), FormGroups(), AnnotateImportance(), SelectChannels(ratio=0.5)])
    ctx = prog.context()
    ctx.plan = Plan()
    clone = ctx.clone()
    assert isinstance(clone, SpaContext) and clone.plan is ctx.plan
    assert clone.weights is not None and set(clone.weights) == set(prog.weights)
    before = prog.weights["0.weight"]
    cctx, _ = EliminateDeadChannels().apply_to_clone(ctx, prog.module)
    assert isinstance(cctx, SpaContext) and cctx.weights is not None and cctx.plan not in (None, ctx.plan)
    assert cctx.weights["0.weight"].shape[0] < before.shape[0]  # the clone's store took the slices ...
    assert prog.weights["0.weight"] is before and not prog.weights.modified  # ... the program's did not


def test_prune_groups_expands_into_its_stages_with_todays_defaults() -> None:
    passes = pipeline_passes("spa-prune-groups")
    assert [p.name for p in passes] == ["spa-propagate-channels", "spa-form-groups", "spa-collect-stats",
                                         "spa-annotate-importance", "spa-select-channels",
                                         "spa-eliminate-dead-channels"]
    assert passes[3] == AnnotateImportance(criterion="l1", seed=0)
    assert passes[4] == SelectChannels(ratio=None, scope="local", min_keep=1, min_keep_ratio=None, round_to=1,
                                       only_exact=False)  # ratio 0.5 when no target; min-keep-ratio by scope
    text = ("prune-groups{ratio=0.3 criterion=random seed=2 scope=global min-keep=2 min-keep-ratio=0.1 round-to=4 "
            "only-exact=true}")
    want = pipeline_passes("prune-groups", ratio=0.3, criterion="random", seed=2, scope="global", min_keep=2,
                           min_keep_ratio=0.1, round_to=4, only_exact=True)
    assert parse_pipeline(text) == want == parse_pipeline("spa-" + text)
    assert want[4] == SelectChannels(ratio=0.3, scope="global", min_keep=2, min_keep_ratio=0.1, round_to=4,
                                     only_exact=True)
    assert parse_pipeline("spa-propagate-channels,prune-groups,spa-report-groups")[1:7] == passes


def test_pipeline_unknown_option_is_one_line_naming_it() -> None:
    with pytest.raises(SpaError) as e:
        parse_pipeline("prune-groups{ratio=0.5 bogus=1}")
    assert str(e.value) == ("prune-groups: unknown option 'bogus' (known: criterion, source, seed, agg, norm, damp, "
                            "ratio, keep-flops, keep-params, scope, min-keep, min-keep-ratio, round-to, only-exact, "
                            "ignore, overrides, heads, gqa, uniform, steps, sequential, order, samples, compensate)")
    with pytest.raises(SpaError, match="spa-prune-groups: unknown option 'min-kept'"):
        pipeline_passes("spa-prune-groups", min_kept=1)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_each_pipeline_option_is_an_option_of_the_stage_that_owns_it(name: str) -> None:
    pipeline = PIPELINES[name]
    assert len(set(pipeline.options())) == len(pipeline.options())
    for stage in pipeline.stages:
        assert stage.pass_name in ALL_PASSES
        fields = {f.name.replace("_", "-") for f in dataclasses.fields(ALL_PASSES[stage.pass_name]())}
        assert set(stage.options) <= fields, stage


def test_plan_save_load_round_trip(tmp_path: Path) -> None:
    import numpy as np

    plan = Plan()
    plan.remove("conv.weight", 0, np.array([3, 1]))
    plan.remove("conv.weight", 1, np.array([0]))
    plan.remove("fc.weight", 1, np.array([4, 5, 6, 7]))
    plan.groups.append({"id": "g3", "size": 4, "removed": [1, 3], "exact": True, "frozen": [], "members": []})
    plan.save(tmp_path / "plan.json")
    loaded = Plan.load(tmp_path / "plan.json")
    assert loaded == plan
    assert loaded.params["conv.weight"] == {0: [1, 3], 1: [0]}
