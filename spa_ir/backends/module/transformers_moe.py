"""transformers' Mixture-of-Experts modules after apply_plan: the experts, their routers, and the config's sizes.

transformers 5 keeps a MoE layer's experts fused in 3-D parameters (`experts.gate_up_proj` [E, 2I, H] or
`up_proj` [E, I, H], `experts.down_proj` [E, H, I]; transposed where `is_transposed`) beside counts the eager and
expert-parallel dispatches read (`experts.num_experts`, `experts.intermediate_dim`, the router's `num_experts`):
they are set to what the tensors hold (experts keep neurons of their own, as many in each: spa_ir/ops/routing.py,
so one width per layer). The config says the expert count (`num_local_experts` for Mixtral,
`num_experts` for Qwen-MoE / OLMoE), each expert's width (`moe_intermediate_size` where the family has one, else
`intermediate_size`) and Qwen2-MoE's shared expert's width (`shared_expert_intermediate_size`, not the dense
MLP's `intermediate_size`). The transformers adapter writes them where every layer agrees and names the layers
otherwise (a limit), as for its other sizes (spa_ir/backends/module/transformers.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan

EXPERT_COUNT_KEYS = ("num_local_experts", "num_experts")
EXPERT_WIDTH_KEYS = ("moe_intermediate_size", "intermediate_size")
SHARED_WIDTH_KEY = "shared_expert_intermediate_size"
SHARED_EXPERT = "shared_expert"
"""The child name of Qwen2-MoE's always-on expert (a plain MLP beside the routed ones)."""


def _fused(module: nn.Module) -> tuple[torch.Tensor, bool] | None:
    """The experts' down projection [E, H, I] (or [E, I, H] transposed) and whether transposed; None for others."""
    down = module._parameters.get("down_proj")
    if isinstance(down, torch.Tensor) and down.dim() == 3 and isinstance(vars(module).get("num_experts"), int):
        return down, bool(vars(module).get("is_transposed", False))
    return None


def _set(applied: AppliedPlan, path: str, module: nn.Module, name: str, value: int) -> None:
    old = vars(module).get(name)
    if isinstance(old, int) and not isinstance(old, bool):
        applied.set_attribute(path, module, name, value)


def _is_router(module: nn.Module) -> bool:
    weight = module._parameters.get("weight")
    return isinstance(weight, torch.Tensor) and weight.dim() == 2 and isinstance(vars(module).get("top_k"), int)


def _key(config: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in vars(config) or hasattr(type(config), n)), None)


def config_keys(config: Any) -> dict[str, str | None]:
    """The config key of each size `moe_sizes` returns (None: the family has none)."""
    return {
        "experts": _key(config, EXPERT_COUNT_KEYS),
        "expert_ffn": _key(config, EXPERT_WIDTH_KEYS),
        "shared_ffn": SHARED_WIDTH_KEY if hasattr(config, SHARED_WIDTH_KEY) else None,
    }


def moe_sizes(prefix: str, top: nn.Module, applied: AppliedPlan, ffn: dict[str, int]) -> dict[str, dict[str, int]]:
    """Set the experts' and routers' counts to their tensors' sizes; return the sizes per layer for the config.
    Shared experts' widths move out of `ffn` (the dense MLP width) into their own size."""
    experts: dict[str, int] = {}
    widths: dict[str, int] = {}
    for path, m in top.named_modules():
        full = ".".join(p for p in (prefix, path) if p)
        found = _fused(m)
        if found is not None:
            down, transposed = found
            count, width = int(down.shape[0]), int(down.shape[1 if transposed else 2])
            _set(applied, full, m, "num_experts", count)
            _set(applied, full, m, "intermediate_dim", width)
            experts[path], widths[path] = count, width
        elif _is_router(m):
            count = int(m.get_parameter("weight").shape[0])
            _set(applied, full, m, "num_experts", count)
    shared = {p: w for p, w in ffn.items() if p.rsplit(".", 1)[-1] == SHARED_EXPERT}
    for p in shared:
        del ffn[p]
    return {"experts": experts, "expert_ffn": widths, "shared_ffn": shared}
