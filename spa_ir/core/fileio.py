"""Atomic output: a tool either writes all its files completely or leaves none of them behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.tmp.", suffix=path.suffix, dir=path.parent or Path("."))
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike[str]]) -> Iterator[list[Path]]:
    """Yield temp paths beside each target; rename them all into place only if the block succeeds."""
    targets = [Path(p) for p in paths]
    for t in targets:
        if not t.parent.exists():
            from spa_ir.core.errors import SpaError

            raise SpaError(f"output directory '{t.parent}' does not exist")
    temps = [_temp_beside(t) for t in targets]
    try:
        yield temps
        for tmp, target in zip(temps, targets):
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp (and some writers) create 0600 files
            os.replace(tmp, target)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    with atomic_outputs([path]) as (tmp,):
        tmp.write_text(text)


def write_with_atomic(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Let `writer` produce the file at a temp path, then move it into place."""
    with atomic_outputs([path]) as (tmp,):
        writer(tmp)
