"""The installed package, seen from outside the checkout (the checkout on sys.path would hide broken
imports): every module imports under its installed name, no top-level `passes`/`tools`/`dialects` leaks
into site-packages, `import spa_ir` stays light, and pyproject lists every package folder."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_AS = {"passes": "spa.passes", "dialects": "spa.dialects", "tools": "spa.tools", "spa_ir": "spa_ir"}


def _modules() -> list[str]:
    names = []
    for folder, package in INSTALLED_AS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            names.append(".".join((package, *parts)))
    return names


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_every_module_imports_from_outside_the_checkout(tmp_path: Path) -> None:
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in _modules())
    code += f"assert {str(ROOT)!r} not in sys.path, sys.path\n"
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_top_level_passes_tools_or_dialects(tmp_path: Path) -> None:
    code = "import importlib.util\nprint([n for n in ('passes', 'tools', 'dialects') if importlib.util.find_spec(n)])"
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_spa_opt_start_up_imports_no_torch(tmp_path: Path) -> None:
    """spa-opt's driver set up (dialects, the parser, a pipeline of the analysis passes) without torch: the
    lit suite's many small runs of the analyses do not pay for it. Passes that touch tensors (importance,
    elimination) and loading a weights file import it when they are built."""
    ir = ROOT / "tests" / "lit" / "Inputs" / "ranked.mlir"
    code = (
        "import sys\nfrom spa.tools.spa_opt import SpaOptMain\n"
        f"SpaOptMain(['-p', 'spa-propagate-channels,spa-form-groups,spa-select-channels', {str(ir)!r}])\n"
        "import spa_ir, spa_ir.ops.registry, spa_ir.core.parsing\nprint('torch' in sys.modules)"
    )
    result = _run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_pyproject_lists_every_package_folder() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join((INSTALLED_AS[p.relative_to(ROOT).parts[0]], *p.relative_to(ROOT).parts[1:-1])).rstrip(".")
               for folder in INSTALLED_AS for p in (ROOT / folder).rglob("__init__.py")}
    assert folders == listed
