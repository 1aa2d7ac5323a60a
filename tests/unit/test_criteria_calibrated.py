"""The data-driven criteria end to end: statistics collected by spa-collect-stats from calibration data,
scores, selection, elimination, and the pruned model equal to the masked original; and Taylor / OBD on
collected statistics against Torch-Pruning's implementations on the same data."""

from __future__ import annotations

import pytest
import torch
from criteria_helpers import layer_groups, spearman
from torch import nn

from spa.passes import parse_pipeline
from spa_ir import api
from spa_ir.calibration.data import from_value
from spa_ir.ops.registry import weight_roles
from spa_ir.pruning.criteria import CRITERIA, Inputs
from spa_ir.verify import masked

DATA_DRIVEN = [name for name, entry in CRITERIA.items() if entry.needs]


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean((2, 3)))


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.2, 1.0)
            m.running_mean.data.normal_(0, 0.1)
    return model


def test_every_data_driven_criterion_prunes_exactly_from_calibration_data() -> None:
    assert set(DATA_DRIVEN) == {"taylor", "hessian", "obd-c", "hrank", "thinet", "cp", "wanda-sp", "flap", "obspa"} | {
        "snip",
        "grasp",
        "crop",
    }
    model = small_cnn()
    x, y = torch.randn(24, 3, 8, 8), torch.randint(0, 4, (24,))
    probe = torch.randn(2, 3, 8, 8)
    removed = {}
    for crit in DATA_DRIVEN:
        program = api.import_torch(model, [torch.randn(1, 3, 8, 8)])
        plan = api.prune_program(program, criterion=crit, ratio=0.5, only_exact=True, calib={"inputs": x, "targets": y})
        groups = [g for g in plan.groups if g["removed"]]
        assert groups and all(g["criterion"] == crit for g in groups), crit
        removed[crit] = tuple(tuple(g["removed"]) for g in groups)
        pruned = api.to_torch(program)
        with torch.no_grad(), masked(model, plan.params, plan.tensors) as reference:  # obspa refits: its tensors
            want = reference(probe)
        got = torch.cat([pruned(probe[i : i + 1]) for i in range(len(probe))])
        assert torch.allclose(got, want, atol=1e-5), crit
    l1 = api.import_torch(model, [torch.randn(1, 3, 8, 8)])
    l1_plan = api.prune_program(l1, criterion="l1", ratio=0.5, only_exact=True)
    l1_removed = tuple(tuple(g["removed"]) for g in l1_plan.groups if g["removed"])
    assert sum(r != l1_removed for r in removed.values()) >= len(DATA_DRIVEN) - 2, removed


@pytest.mark.parametrize("criterion", ["taylor", "hessian"])
def test_collected_gradients_score_like_torch_pruning(criterion: str) -> None:
    """Torch-Pruning's Taylor (|θ·g| of the batch's mean loss) and OBD (θ²·mean of per-sample squared
    gradients) from backward passes on the original model, against spa's from spa-collect-stats (on the
    emitted module, a batch-1 capture calibrated 4 samples per forward), layer by layer."""
    tp = pytest.importorskip("torch_pruning")
    model = small_cnn()
    x, y = torch.randn(12, 3, 8, 8), torch.randint(0, 4, (12,))
    program = api.import_torch(model, [torch.randn(1, 3, 8, 8)])
    calib = from_value({"inputs": x, "targets": y}, batch=4)
    program.run(
        parse_pipeline(f"spa-propagate-channels,spa-form-groups,spa-collect-stats{{criterion={criterion}}}"),
        calib=calib,
    )
    assert program.stats is not None
    inputs = Inputs(program.weights, weight_roles(program.module), program.stats)
    layers = layer_groups(program)

    model.zero_grad()
    if criterion == "taylor":
        imp = tp.importance.TaylorImportance(group_reduction="first", normalizer=None)
        nn.functional.cross_entropy(model(x), y).backward()
    else:
        # Torch-Pruning 1.6's accumulate_grad keys its sums by parameter but tests membership by name, so it
        # keeps the last sample's squared gradient only; the per-sample sums are filled in as it means them.
        imp = tp.importance.HessianImportance(group_reduction="first", normalizer=None)
        for i in range(len(x)):
            model.zero_grad()
            nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
            for q in model.parameters():
                imp._accu_grad[q] = imp._accu_grad.get(q, 0) + q.grad.detach().clone() ** 2
                imp._counter[q] = imp._counter.get(q, 0) + 1
    names = {m: n for n, m in model.named_modules()}
    dg = tp.DependencyGraph().build_dependency(model, example_inputs=torch.randn(1, 3, 8, 8))
    compared = 0
    for group in dg.get_all_groups(root_module_types=[nn.Conv2d]):
        key = f"{names[group[0].dep.target.module]}.weight[0]"
        if key in layers:
            theirs = imp(group).numpy()
            ours = CRITERIA[criterion].scores(inputs, layers[key])[0]
            assert spearman(ours, theirs) > 0.999, key
            compared += 1
    assert compared == 2


def test_steps_recollect_the_statistics_on_the_pruned_model() -> None:
    """steps=2 with a data-driven criterion: the second step's statistics are collected again on the model the
    first step left (a store from the first would be refused by its IR hash), and the plan, in the original
    indexing, still gives the masked original."""
    model = small_cnn()
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))
    program = api.import_torch(model, [torch.randn(1, 3, 8, 8)])
    plan = api.prune_program(
        program, criterion="taylor", keep_flops=0.4, steps=2, only_exact=True, calib={"inputs": x, "targets": y}
    )
    assert plan.selection is not None and plan.selection["steps"] == 2
    assert abs(plan.selection["achieved"]["flops"] - 0.4) <= 0.02
    assert program.stats is not None and program.stats.meta["samples"] == "16"
    probe = torch.randn(1, 3, 8, 8)
    with torch.no_grad(), masked(model, plan.params) as reference:
        assert torch.allclose(api.to_torch(program)(probe), reference(probe), atol=1e-5)
