"""The kinds of statistics spa-collect-stats collects. A store keys each tensor `<weight name>:<kind>`: stable
names (the `spa.param`'s), never SSA names, so a store outlives printing and parsing the IR.

Gradient kinds are of the loss's mean over the calibration samples; input kinds are sums over the rows a
consumer (a conv / linear / matmul reading activations through this weight) sees, in float64.
"""

from __future__ import annotations

GRAD = "grad"
"""Mean over samples of dℓ_i/dθ, the weight's shape (taylor, snip)."""
FISHER = "fisher"
"""Mean over samples of (dℓ_i/dθ)²: one squared per-sample gradient each (hessian/OBD), the weight's shape."""
HG = "hg"
"""H·g of the mean loss, g its gradient (grasp, crop), the weight's shape."""
IN_SUM = "in_sum"
"""Σ over samples and positions of each input channel of the consumer's activation x, [C_in]."""
IN_SQ = "in_sq"
"""Σ x_c², [C_in]."""
IN_COUNT = "in_count"
"""Rows summed into IN_SUM / IN_SQ (samples × positions, masked positions left out), a scalar."""
IN_COV = "in_cov"
"""Σ x xᵀ over the consumer's input feature rows, [F, F]: F = C_in for linear/matmul, C_in/groups·kh·kw for a
conv (the columns of weight.reshape(C_out, -1)); a grouped conv's groups are summed as rows."""
IN_COV_COUNT = "in_cov_count"
"""Rows summed into IN_COV (for a conv: samples × output positions × groups; else as IN_COUNT), a scalar."""
IN_ROW_SUM = "in_row_sum"
"""Σ over the same rows of each feature, [F] (IN_COV's first moment: with it the augmented second-moment matrix of
[x; 1] that OBSPA's bias folding needs; a conv's padded positions count as zeros)."""
OUT_RANK = "out_rank"
"""Mean matrix rank of each output channel's 2-D feature map over samples, [C_out] (hrank; 2-D convs only)."""

GRADIENT_KINDS = frozenset({GRAD, FISHER, HG})
INPUT_KINDS = frozenset({IN_SUM, IN_SQ, IN_COUNT, IN_COV, IN_COV_COUNT, IN_ROW_SUM})
OUTPUT_KINDS = frozenset({OUT_RANK})
ALL_KINDS = GRADIENT_KINDS | INPUT_KINDS | OUTPUT_KINDS


def key(weight: str, kind: str) -> str:
    """The store's key of one statistic."""
    return f"{weight}:{kind}"


def split_key(name: str) -> tuple[str, str]:
    """`conv.weight:grad` -> (`conv.weight`, `grad`)."""
    weight, _, kind = name.rpartition(":")
    return weight, kind


def closure(kinds: frozenset[str]) -> frozenset[str]:
    """What collecting `kinds` collects: the cheap companions of an input kind (its sums and counts) come along,
    so a criterion reading IN_SQ can normalize by IN_COUNT."""
    out = set(kinds)
    if kinds & {IN_SUM, IN_SQ, IN_COUNT}:
        out |= {IN_SUM, IN_SQ, IN_COUNT}
    if IN_COV in kinds:
        out |= {IN_COV_COUNT, IN_ROW_SUM}
    return frozenset(out)
