"""What the criteria cross-checks share: each member of each prunable group as a group of its own (one
layer's scores), and a rank correlation."""

from __future__ import annotations

import numpy as np

from spa_ir.channels.annotations import group_ops
from spa_ir.core.ir import params
from spa_ir.core.program import Program
from spa_ir.pruning.criteria.base import Group
from spa_ir.pruning.importance import as_group


def layer_groups(program: Program) -> dict[str, Group]:
    """`"<weight>[<dim>]"` -> a group holding only that member of its prunable group."""
    param_ops = {q.weight_name: q for q in params(program.module)}
    out = {}
    for g in group_ops(program.module):
        if not g.frozen:
            group = as_group(g, param_ops)
            out |= {f"{m.param}[{m.dim}]": Group(group.name, group.size, (m,), group.site) for m in group.members}
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = (np.argsort(np.argsort(v, kind="stable")).astype(float) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])
