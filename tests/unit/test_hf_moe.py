"""Mixture-of-Experts decoders (tests/unit/hf_moe.py) through the exactness oracle.

Each model is captured once with the experts implementation torch.export captures (`batched_mm`) and pruned
at 0.3 and 0.5 (only exact, against the masked original) and with every group. The experts' FFN neurons are
one group per MoE layer: the fused 3-D weights are gathered by expert id, so neuron j is removed from every
expert of the layer (gate_up_proj dim 1, both halves, and down_proj dim 2). Whole experts are a group per
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
        assert g["exact"] and not g["frozen"] and len(g["removed"]) == g["size"] // 2
        dims = {(m["param"].rsplit(".", 1)[-1], m["dim"], m["count"]) for m in g["members"]}
        assert dims == {("gate_up_proj", 1, 2), ("down_proj", 2, 1)}, dims
        gate_up = next(m["param"] for m in g["members"] if m["param"].endswith("gate_up_proj"))
        size = g["size"]
        assert plan["params"][gate_up]["1"] == sorted(g["removed"] + [i + size for i in g["removed"]])
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
    so the model computes the masked original, and so does the one save_pretrained / from_pretrained rebuild."""
    import transformers

    s = session(name)
    prog = clone_program(s.program)
    plan = api.prune_program(prog, ratio=0.5, criterion="random", seed=1, only_exact=True, heads=True, uniform=True)
    assert prog.plan is not None
    prog.plan.save(tmp_path / "plan.json")  # the plan as a user has it: a file, masked_logits in it
    assert Plan.load(tmp_path / "plan.json").masked_logits == plan.masked_logits
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
