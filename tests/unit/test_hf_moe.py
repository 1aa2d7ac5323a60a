"""Mixture-of-Experts decoders (tests/unit/hf_moe.py) through the exactness oracle.

Each model is captured once with the experts implementation torch.export captures (`batched_mm`) and pruned
at 0.3 and 0.5 (only exact, against the masked original) and with every group. The experts' FFN neurons are
pruned per expert: one group per MoE layer whose channels are (expert, neuron) pairs (`slices` = 4 experts), each
expert losing as many of its own neurons (gate_up_proj dim 1, both halves, and down_proj dim 2 of its slice), so
the fused weights stay rectangular and the plan lists the removed neurons per expert. Whole experts are a group per
layer too (the router's rows, the experts' dim 0: spa_ir/ops/routing.py), whose masked original sets the
removed experts' logits to -inf (the plan's `masked_logits`), and which keeps at least top-k experts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import hf_moe
import pytest
import torch
from models_extra import HFOutputs
from oracle import TOLERANCE, Session, clone_program, per_model, reused, same_worker
from zoo import flat_outputs, max_relative_error

from spa_ir import api
from spa_ir.core.errors import SpaError
from spa_ir.core.plan import Plan


def _session(name: str) -> Session:
    return Session(hf_moe.build(name), hf_moe.tokens(), name)


session = reused(_session)


def _groups(plan: dict[str, Any], part: str, dim: int) -> list[dict[str, Any]]:
    """The plan's groups holding `part` (a weight name suffix) at `dim`."""
    return [g for g in plan["groups"] if any(m["param"].endswith(part) and m["dim"] == dim for m in g["members"])]


@pytest.mark.parametrize("name", per_model(hf_moe.MOE, "hf_moe"))
def test_moe_oracle(name: str) -> None:
    s = session(name)
    reports = s.check_model()
    _, plan, _ = s.prune(0.5, only_exact=True)
    neurons = _groups(plan, "experts.gate_up_proj", 1)
    assert len(neurons) == 2, f"{name}: one experts' neuron group per layer, got {[g['id'] for g in neurons]}"
    for g in neurons:
        assert g["exact"] and not g["frozen"] and g["slices"] == 4 and g["size"] == 4 * 32, g["id"]
        dims = {(m["param"].rsplit(".", 1)[-1], m["dim"], m["count"]) for m in g["members"]}
        assert dims == {("gate_up_proj", 1, 2), ("down_proj", 2, 1)}, dims
        gate_up, down = (
            next(m["param"] for m in g["members"] if m["param"].endswith(w)) for w in ("gate_up_proj", "down_proj")
        )
        per_expert = _per_expert(g)
        assert all(len(gone) == 16 for gone in per_expert), per_expert  # half of each expert's 32 neurons
        assert len({tuple(gone) for gone in per_expert}) > 1, f"{name}: every expert lost the same neurons"
        assert plan["params"][gate_up]["1"] == {
            str(e): gone + [j + 32 for j in gone] for e, gone in enumerate(per_expert)
        }
        assert plan["params"][down]["2"] == {str(e): gone for e, gone in enumerate(per_expert)}
    assert all(r.pruned > 0 for r in reports), [r.summary() for r in reports]
    experts = _groups(plan, "mlp.gate.weight", 0)
    assert len(experts) == 2 and all(g["exact"] and len(g["removed"]) == 2 for g in experts), experts
    routers = {m["param"]: sorted(g["removed"]) for g in experts for m in g["members"] if m["dim"] == 0}
    assert plan["masked_logits"] == {w: r for w, r in routers.items() if w.endswith("mlp.gate.weight")}
    assert {m["param"].rsplit(".", 1)[-1] for g in experts for m in g["members"]} == {
        "weight",
        "gate_up_proj",
        "down_proj",
    }


def _per_expert(group: dict[str, Any]) -> list[list[int]]:
    """An (expert, neuron) group's removed channels as each expert's removed neurons (channel c: expert c // I)."""
    per = group["size"] // group["slices"]
    return [[c % per for c in sorted(group["removed"]) if c // per == e] for e in range(group["slices"])]


@same_worker("hf_moe/mixtral")
def test_expert_neurons_rank_per_expert() -> None:
    """l1 ranks each expert's neurons by that expert's own weights: the removed set of expert e is the half of its
    neurons with the smallest |gate|+|up| rows and |down| columns (each term over its mean, as the criterion's
    members), computed here from the model's tensors; elimination leaves [E', 2I', H] and [E, H, I'] tensors that are
    the original's slices at the kept neurons of each kept expert."""
    s = session("mixtral")
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, criterion="l1", only_exact=True).to_json()
    hf: Any = s.model.model  # the transformers model inside HFOutputs
    experts = hf.layers[0].mlp.experts
    gate_up, down = (t.detach().double().abs() for t in (experts.gate_up_proj, experts.down_proj))
    (g,) = [g for g in _groups(plan, "layers.0.mlp.experts.gate_up_proj", 1)]
    for e, gone in enumerate(_per_expert(g)):
        rows = gate_up[e].sum(dim=1)
        a, b = rows[:32] + rows[32:], down[e].sum(dim=0)
        score = a / a.mean() + b / b.mean()
        assert gone == sorted(torch.argsort(score, stable=True)[:16].tolist()), e
    name = "model.layers.0.mlp.experts.gate_up_proj"
    kept_experts = [e for e in range(4) if e not in plan["params"][name]["0"]]
    original = experts.gate_up_proj.detach()
    want = torch.stack([original[e][_complement(64, plan["params"][name]["1"][str(e)])] for e in kept_experts])
    assert torch.equal(prog.weights[name], want)
    assert tuple(prog.weights["model.layers.0.mlp.experts.down_proj"].shape) == (2, 64, 16)


@same_worker("hf_moe/mixtral")
def test_expert_neurons_in_steps() -> None:
    """Two steps (each on the model the first left: fewer experts, fewer neurons each): the plan lifts the second
    step's per-expert removals into the original's experts and neurons (Plan.then), so the pruned model and the
    plan applied to the user's model still compute the masked original, every expert having lost as many neurons as
    the weights say (an expert the first step removed is listed with as many)."""
    s = session("mixtral")
    prog = clone_program(s.program)
    options: dict[str, Any] = dict(ratio=0.5, steps=2, criterion="random", seed=2, only_exact=True, heads=True)
    plan = api.prune_program(prog, **options).to_json()
    name = "model.layers.1.mlp.experts.down_proj"
    gone = plan["params"][name]["2"]
    assert sorted(gone) == ["0", "1", "2", "3"] and len({len(g) for g in gone.values()}) == 1, gone
    assert prog.weights[name].shape[2] == 32 - len(gone["0"]) and len(gone["0"]) > 9  # more than one step's 9
    want = s.run_masked(plan["params"], plan["masked_logits"])
    assert max_relative_error(s.run_pruned(prog), want) < TOLERANCE
    assert prog.plan is not None
    model = copy.deepcopy(s.model)  # the plan applies to the user's model too (apply_plan checks every slice's count)
    api.apply_plan(model, prog.plan, example_inputs=s.inputs)
    assert max_relative_error(_run(model, s.inputs), want) < TOLERANCE


@same_worker("hf_moe/mixtral")
def test_regularizers_refuse_expert_neurons() -> None:
    """A regularizer's channel is indices of whole weight dims; an (expert, neuron) channel is not: a located error,
    never a penalty on other entries."""
    from spa_ir.pruning.regularizers import channel_groups

    with pytest.raises(SpaError, match=r"group @g\d+ holds experts' neurons per expert"):
        channel_groups(session("mixtral").program)


@same_worker("hf_moe/mixtral")
def test_compensated_expert_neurons() -> None:
    """OBSPA on synthetic inputs around per-expert neurons: the prefix it fits on zeroes each expert's own removed
    neurons (compensation's slices at that expert's index), and the compensated pruned model equals the masked
    original with the plan's tensors written in."""
    from spa_ir.verify import masked

    s = session("mixtral")
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, criterion="l1", compensate="obspa", only_exact=True)
    assert plan.compensation is not None and plan.compensation["refitted"] > 0 and plan.tensors, plan.compensation
    assert plan.sliced, "experts' neurons were not pruned per expert"
    with masked(s.model, plan.json_params(), plan.tensors, plan.masked_logits) as m:
        want = _run(m, s.inputs)
    assert max_relative_error(s.run_pruned(prog), want) < TOLERANCE


@same_worker("hf_moe/mixtral")
def test_taylor_ranks_each_expert_by_its_gradients() -> None:
    """A data-driven criterion per expert: Taylor's |w * dL/dw| of each expert's slice, from the statistics of the
    fused weights (sliced per expert), removes the neurons a torch.autograd computation of the same loss (output
    norm, mean over the calibration batch) ranks lowest in that expert; the pruned model is exact."""
    s = session("mixtral")
    prog = clone_program(s.program)
    calib = torch.cat([hf_moe.tokens(seed)[0] for seed in range(2, 6)])
    options: dict[str, Any] = dict(calib=calib, calib_batch=4, loss="output-norm", criterion="taylor", ratio=0.5)
    plan = api.prune_program(prog, only_exact=True, **options).to_json()
    assert max_relative_error(s.run_pruned(prog), s.run_masked(plan["params"], plan["masked_logits"])) < TOLERANCE
    hf: Any = s.model.model  # the transformers model inside HFOutputs
    experts = hf.layers[0].mlp.experts
    (out,) = flat_outputs(s.model(calib))
    loss = 0.5 * out.pow(2).flatten(1).sum(1).mean()
    grads = torch.autograd.grad(loss, [experts.gate_up_proj, experts.down_proj])
    gate_up, down = ((w * g).abs().detach().double() for w, g in zip((experts.gate_up_proj, experts.down_proj), grads))
    (g,) = _groups(plan, "layers.0.mlp.experts.gate_up_proj", 1)
    for e, gone in enumerate(_per_expert(g)):
        rows = gate_up[e].sum(dim=1)
        a, b = rows[:32] + rows[32:], down[e].sum(dim=0)
        score = a / a.mean() + b / b.mean()
        assert gone == sorted(torch.argsort(score, stable=True)[:16].tolist()), e


def _complement(size: int, removed: list[int]) -> list[int]:
    return [i for i in range(size) if i not in set(removed)]


@same_worker("hf_moe/mixtral")
def test_removed_experts_are_not_zeroed_experts() -> None:
    """The -inf logits matter: against the masked original with the removed experts only zeroed (logit 0, still
    in the softmax and the top-k), the pruned model differs; against -inf logits it is exact."""
    s = session("mixtral")
    prog, plan, _ = s.prune(0.5, only_exact=True)
    got = s.run_pruned(prog)
    assert max_relative_error(got, s.run_masked(plan["params"], plan["masked_logits"])) < TOLERANCE
    assert max_relative_error(got, s.run_masked(plan["params"])) > 1e-2


@same_worker("hf_moe/qwen2_moe")
def test_experts_keep_top_k() -> None:
    """Top-2 routing over 4 experts: however high the ratio, each layer keeps 2 experts (and stays exact)."""
    s = session("qwen2_moe")
    prog = clone_program(s.program)  # not s.prune: its plan check expects the ratio's count in every group
    plan = api.prune_program(prog, ratio=0.9, criterion="random", seed=1, only_exact=True).to_json()
    for g in _groups(plan, "mlp.gate.weight", 0):
        assert g["size"] - len(g["removed"]) == 2, g
    assert max_relative_error(s.run_pruned(prog), s.run_masked(plan["params"], plan["masked_logits"])) < TOLERANCE


def test_eager_experts_refused_with_location() -> None:
    """The eager loop over the experts hit is data-dependent: torch.export refuses it, spa says where."""
    with pytest.raises(SpaError, match=r"cannot capture.*modeling_mixtral\.py:\d+"):
        api.import_torch(hf_moe.build("mixtral", "eager"), hf_moe.tokens(), "mixtral-eager")


def test_grouped_mm_experts_frozen_with_reason() -> None:
    """grouped_mm is an opaque custom op: its experts' channels are frozen with the reason, as data."""
    prog = api.import_torch(hf_moe.build("mixtral", "grouped_mm"), hf_moe.tokens(), "mixtral-grouped")
    plan = api.prune_program(prog, ratio=0.5, only_exact=True).to_json()
    experts = _groups(plan, "experts.down_proj", 2)
    assert experts and all(g["frozen"] and not g["removed"] for g in experts)
    ops = {r.get("op") for g in experts for r in g["frozen"]}
    assert ops == {"torch.transformers.grouped_mm_fallback"}, ops


@pytest.mark.parametrize("name", per_model(["mixtral", "qwen2_moe"], "hf_moe"))
def test_apply_plan_saves_and_reloads(name: str, tmp_path: Path) -> None:
    """apply_plan into the user's own MoE model: the experts' counts and widths reach the modules and the config
    (num_local_experts / num_experts, intermediate_size / moe_intermediate_size, Qwen2-MoE's shared expert width),
    so the model computes the masked original, and so does the one save_pretrained / from_pretrained rebuild. Each
    expert keeps its own neurons, as many in every expert, which the config's one width can say."""
    import transformers

    s = session(name)
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True, heads=True, uniform=True)
    assert prog.plan is not None
    prog.plan.save(tmp_path / "plan.json")  # the plan as a user has it: a file, masked_logits in it
    loaded_plan = Plan.load(tmp_path / "plan.json")
    assert loaded_plan.masked_logits == plan.masked_logits and loaded_plan.sliced == plan.sliced
    assert len(plan.sliced) == 4, sorted(plan.sliced)  # each expert its own neurons: gate_up and down, 2 layers
    model = copy.deepcopy(s.model)
    applied = api.apply_plan(model, tmp_path / "plan.json", example_inputs=s.inputs)
    assert not applied.limits, applied.limits
    want = s.run_masked(plan.to_json()["params"], plan.masked_logits)
    assert plan.masked_logits and max_relative_error(_run(model, s.inputs), want) < TOLERANCE
    hf: Any = model.model  # the transformers model inside HFOutputs
    config, experts = hf.config, hf.layers[0].mlp.experts
    count = config.num_local_experts if name == "mixtral" else config.num_experts
    width = config.intermediate_size if name == "mixtral" else config.moe_intermediate_size
    assert (count, width) == (experts.num_experts, experts.intermediate_dim) == tuple(experts.down_proj.shape[::2])
    assert count == 2 and width == 16
    if name == "qwen2_moe":
        assert config.shared_expert_intermediate_size == 24
    hf.save_pretrained(tmp_path / "model")
    loaded = transformers.AutoModel.from_pretrained(tmp_path / "model", experts_implementation=hf_moe.CAPTURED)
    assert max_relative_error(_run(HFOutputs(loaded.eval()), s.inputs), want) < TOLERANCE


def _run(model: torch.nn.Module, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    with torch.no_grad():
        return flat_outputs(model(*inputs))
