"""The README's examples run as written.

Marker: a fenced block whose info string is `sh test` or `python test` (```` ```sh test ````) is run; other blocks
are not (they name the user's files). Each marked block must be self-contained and tiny (resnet18 at 32x32): a
`python test` block runs in a fresh interpreter (`python -c`), a `sh test` block in `bash -e -o pipefail`, both in an
empty temporary folder, with this venv's tools first on PATH and no model hub (HF_HUB_OFFLINE=1). A block passes
when it exits 0 (shell blocks check their results themselves, e.g. with `cmp`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
MARKED = re.compile(r"^```(sh|python) test\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, str, str]]:
    """(id, language, code) of each marked block; the id is the section heading above it and its line."""
    text = README.read_text()
    out = []
    for m in MARKED.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        headings = re.findall(r"^#+ (.+)$", text[: m.start()], re.MULTILINE)
        heading = headings[-1] if headings else "top"
        out.append((f"{heading} (line {line})", m.group(1), m.group(2)))
    return out


BLOCKS = _blocks()


def test_the_readme_has_marked_examples() -> None:
    assert {lang for _, lang, _ in BLOCKS} == {"sh", "python"}, "README.md lost its `sh test` / `python test` blocks"


@pytest.mark.parametrize(("language", "code"), [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_readme_example_runs(language: str, code: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    command = [sys.executable, "-c", code] if language == "python" else ["bash", "-e", "-o", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
