"""Progress bars on the phases that can take long (capture, calibration, compensation, export).

`progress(iterable, desc)` wraps a loop; `progress(total, desc)` is a bar to `update()` by hand, usable as a
context manager; `phases(desc, names)` a bar over the named steps of one phase. Bars are tqdm's, drawn only
when their stream is a terminal (tqdm's `disable=None`), so logs, pipes and tests never see them;
`set_quiet(True)` (spa-opt / spa-translate `--quiet`; from Python, this function) turns them off everywhere in
the process. Tools that hold stderr meanwhile (spa-translate's capture of library output) hand the terminal to
`set_stream` so bars still reach the user, live. `logger_held(name)` keeps a library's chatter below ERROR
meanwhile (notes nobody can act on).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, TypeVar, overload

from tqdm import tqdm

T = TypeVar("T")

_quiet = False
_stream: IO[str] | None = None


def set_quiet(quiet: bool) -> None:
    """No bars in this process (True), or bars on terminals again (False)."""
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def set_stream(stream: IO[str] | None) -> None:
    """Where bars are drawn (None: sys.stderr at the time a bar starts)."""
    global _stream
    _stream = stream


@overload
def progress(work: int, desc: str, **options: Any) -> tqdm[Any]: ...


@overload
def progress(work: Iterable[T], desc: str, **options: Any) -> tqdm[T]: ...


def progress(work: Iterable[T] | int, desc: str, **options: Any) -> tqdm[Any]:
    """A bar over `work` (an iterable, or a step count to `update()`), labelled `desc`; `options` go to tqdm
    (e.g. `unit`). Off when quiet or when the stream is not a terminal."""
    disable = True if _quiet else None
    common: dict[str, Any] = {"desc": desc, "disable": disable, "leave": False, "file": _stream, **options}
    if isinstance(work, int):
        return tqdm(total=work, **common)
    return tqdm(work, **common)


@contextlib.contextmanager
def phases(desc: str, names: Sequence[str]) -> Iterator[Callable[[], None]]:
    """A bar over the named steps of one long phase (capture: torch.export, then torch-mlir's import): each
    call of the yielded function finishes the running step and shows the next one's name."""
    with progress(len(names), desc, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]") as bar:
        done = -1

        def step() -> None:
            nonlocal done
            if done >= 0:
                bar.update()
            done += 1
            bar.set_postfix_str(names[done] if done < len(names) else "", refresh=True)

        yield step
        if done >= 0:
            bar.update()


@contextlib.contextmanager
def logger_held(name: str) -> Iterator[None]:
    """The library logger `name` at ERROR meanwhile, its own level back afterwards."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
