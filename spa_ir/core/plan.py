"""The pruning plan: everything the pruner deletes, in the original indexing, as JSON.

{"params": {"<weight>": {"<dim>": [removed indices]}},
 "groups": [{"id", "size", "removed", "exact", "members": [...]}]}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spa_ir.core.fileio import write_text_atomic


@dataclass
class Plan:
    params: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)

    def remove(self, param: str, dim: int, indices: np.ndarray) -> None:
        if len(indices):
            dims = self.params.setdefault(param, {})
            dims[dim] = sorted(set(dims.get(dim, [])) | set(indices.tolist()))

    def to_json(self) -> dict[str, Any]:
        return {
            "params": {p: {str(d): idx for d, idx in sorted(dims.items())} for p, dims in sorted(self.params.items())},
            "groups": self.groups,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        write_text_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        data = json.loads(open(path).read())
        return cls({p: {int(d): idx for d, idx in dims.items()} for p, dims in data["params"].items()}, data["groups"])
