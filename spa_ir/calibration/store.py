"""The statistics store: tensors keyed `<weight>:<kind>` (kinds.py), the consumers that read activations, and
meta (the hash of the IR they were collected on, loss, label source, batching, samples, bytes), kept on disk as
`model.stats.safetensors` beside `model.mlir` (the meta in the safetensors metadata).

Tensors of a loaded store are read on demand, one at a time (safetensors' safe_open), so a large input
second-moment matrix is in memory only while a criterion reads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration import kinds as K
from spa_ir.core.errors import SpaError, first_line

INPUT_NAMES_ATTR = "spa.input_names"
"""The func attribute the frontends record the model's user-input names in (analysis-independent: kept in the hash)."""


@dataclass(frozen=True)
class Consumer:
    """What the store knows of a weight that reads activations."""

    op: str
    """"conv" | "linear" | "matmul"."""
    in_dim: int
    """The weight dim that indexes the input channels (conv/linear: 1; x @ W: 0)."""
    groups: int = 1
    kernel: tuple[int, ...] = ()


def stats_path_for(mlir_path: str | os.PathLike[str]) -> Path:
    """`model.mlir` -> `model.stats.safetensors` (same stem, same folder)."""
    return Path(mlir_path).with_suffix(".stats.safetensors")


def ir_hash(module: ModuleOp) -> str:
    """A hash of the IR the statistics depend on: the spa analyses' ops (`spa.space`, `spa.group`) and
    attributes (`spa.dims`, scores, removed), locations and SSA names left out, so a store collected after
    spa-form-groups still matches after spa-annotate-importance, and not after spa-eliminate-dead-channels."""
    from spa_ir.core.fingerprint import canonical_hash

    return canonical_hash(module)


class StatsStore:
    """Named float64 statistics plus the consumers and meta of the run that collected them."""

    def __init__(
        self,
        tensors: Mapping[str, torch.Tensor] | None = None,
        *,
        meta: Mapping[str, str] | None = None,
        consumers: Mapping[str, Consumer] | None = None,
        path: Path | None = None,
        file_keys: set[str] | None = None,
    ):
        self._memory: dict[str, torch.Tensor] = dict(tensors or {})
        self._path = path
        self._file_keys = set(file_keys or ())
        self.meta: dict[str, str] = dict(meta or {})
        self._consumers: dict[str, Consumer] = dict(consumers or {})

    @property
    def path(self) -> Path | None:
        """The file a loaded store reads from (None: held in memory)."""
        return self._path

    def keys(self) -> set[str]:
        return set(self._memory) | self._file_keys

    def has(self, weight: str, kind: str) -> bool:
        name = K.key(weight, kind)
        return name in self._memory or name in self._file_keys

    def get(self, weight: str, kind: str) -> torch.Tensor:
        """The statistic as a float64 CPU tensor (read from the file on demand)."""
        name = K.key(weight, kind)
        if name in self._memory:
            return self._memory[name]
        if name in self._file_keys and self._path is not None:
            with safe_open(str(self._path), framework="pt") as f:
                return f.get_tensor(name).to(torch.float64)
        raise SpaError(
            f"no '{kind}' statistics for '{weight}' (collected: {', '.join(sorted(self.kinds()))})", where=self.where
        )

    def consumer(self, weight: str) -> Consumer | None:
        return self._consumers.get(weight)

    def consumers(self) -> dict[str, Consumer]:
        return dict(self._consumers)

    def kinds(self) -> set[str]:
        return {K.split_key(n)[1] for n in self.keys()}

    def weights(self, kind: str) -> list[str]:
        """The weights that have a statistic of `kind`."""
        return sorted(w for w, k in map(K.split_key, self.keys()) if k == kind)

    @property
    def where(self) -> str:
        return str(self._path) if self._path is not None else "the statistics collected in memory"

    def check_matches(self, module: ModuleOp, needed_by: str) -> None:
        """Refuse a store collected on another IR (one line: which file, what it was collected on)."""
        ours = ir_hash(module)
        theirs = self.meta.get("ir_hash", "")
        if theirs != ours:
            source = self.meta.get("source", "unknown data")
            raise SpaError(
                f"{needed_by}: these statistics were collected on another IR (ir_hash {theirs or 'none'} from "
                f"{source}, this IR is {ours}): collect them again with spa-collect-stats and --calib FILE",
                where=self.where,
            )

    def merged(self, other: StatsStore) -> StatsStore:
        """This store with `other`'s tensors, consumers and meta added (other wins): several criteria's kinds
        collected in separate runs on the same IR."""
        tensors = {n: self._read(n) for n in self.keys() - other.keys()} | {n: other._read(n) for n in other.keys()}
        meta = {**self.meta, **other.meta, "kinds": ",".join(sorted({K.split_key(n)[1] for n in tensors}))}
        return StatsStore(tensors, meta=meta, consumers={**self._consumers, **other._consumers})

    def _read(self, name: str) -> torch.Tensor:
        return self.get(*K.split_key(name))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write every statistic and the meta (consumers as JSON) to one safetensors file (Program.save calls it
        on a temp path beside the IR; `save` alone is atomic)."""
        from safetensors.torch import save_file

        tensors = {n: self._read(n).detach().to(torch.float64).contiguous() for n in sorted(self.keys())}
        metadata = {**self.meta, "consumers": json.dumps({w: asdict(c) for w, c in sorted(self._consumers.items())})}
        save_file(tensors, str(path), metadata=metadata)

    def save(self, path: str | os.PathLike[str]) -> None:
        from spa_ir.core.fileio import write_with_atomic

        write_with_atomic(path, self.write)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StatsStore:
        p = Path(path)
        if not p.exists():
            raise SpaError("statistics file not found", where=str(p))
        try:
            with safe_open(str(p), framework="pt") as f:
                keys = set(f.keys())
                meta = dict(f.metadata() or {})
        except Exception as e:  # safetensors raises its own error types
            raise SpaError(f"cannot read statistics file: {first_line(e)}", where=str(p)) from None
        try:
            raw = json.loads(meta.pop("consumers", "{}"))
            consumers = {
                w: Consumer(c["op"], int(c["in_dim"]), int(c["groups"]), tuple(c["kernel"])) for w, c in raw.items()
            }
        except (ValueError, KeyError, TypeError) as e:
            raise SpaError(f"statistics file has malformed consumers metadata: {first_line(e)}", where=str(p)) from None
        return cls(meta=meta, consumers=consumers, path=p, file_keys=keys)
