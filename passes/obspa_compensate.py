"""spa-obspa-compensate: refit the consumers of the pruned groups before their slices are deleted."""

from __future__ import annotations

from dataclasses import dataclass, fields

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from spa_ir.core.context import SpaContext, weights_of


@dataclass(frozen=True)
class ObspaCompensate(ModulePass):
    """For each group spa-select-channels pruned and each consumer reading it (conv, linear, matmul on its input
    dim), the optimal-brain-surgeon update of the kept input weights from the damped input second-moment matrix,
    the removed channels' mean folded into the bias (a bias is created where the consumer has none, or the shift
    goes into the running mean of the batch norm that alone reads it), and the batch norms after it corrected.
    Runs between spa-select-channels and spa-eliminate-dead-channels, on the weight store.

    source: auto (data with --calib, else synthetic) | data (the calibration data) | synthetic (inputs synthesized
    so every batch norm sees its running statistics; token models: sampled ids; neither: stats) | stats (analytic
    per-channel moments from the normalizations; the batch norms corrected analytically) | identity (plain removal).
    damp: λ in H + λ·mean(diag H)·I.
    sequential: choose each group's removed channels greedily under H⁻¹, one at a time with downdates (OBC),
      instead of the selection's (same count); the chosen set replaces the selection's.
    order: prefix (H from the inputs the pruned and compensated layers before produce; default) | original (H
      from the original model's activations, for comparison).
    seed: the synthetic inputs' seed.
    samples: how many synthetic inputs are made.

    The model runs, and the refits are computed, on the driver's device (spa-opt's --device, the API's device=;
    default the CPU); the weight store stays on the CPU.
    """

    name = "spa-obspa-compensate"

    source: str = "auto"
    damp: float = 0.01
    sequential: bool = False
    order: str = "prefix"
    seed: int = 0
    samples: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from spa_ir.calibration.device import resolve_device
        from spa_ir.compensation.compensate import Options, compensate, record_compensation

        weights = weights_of(ctx, self.name)
        assert isinstance(ctx, SpaContext)  # weights_of returned
        options = Options(**{f.name: getattr(self, f.name) for f in fields(Options)})
        report = compensate(op, weights, ctx.calib, options, ctx.synthetic, resolve_device(ctx.device))
        record_compensation(op, report)
