"""The checked-in converter outputs (tests/data/frameworks/) and their manifest, kept reproducible.

    python tools/frameworks/manifest.py compare OUT_DIR [DATA_DIR]   # one line per file: same / what differs
    python tools/frameworks/manifest.py update OUT_DIR [DATA_DIR]    # copy regenerated files in, rewrite manifest

OUT_DIR is what the generators (keras_models.py, flax_models.py, paddle_models.py) wrote: `<fw>_<model>_op<N>.onnx`,
beside each a `.ref.npz` (a seeded input and the framework's own output), and `<fw>.json` (versions, route,
conversion failures). Runs in the main venv (onnx, onnxruntime). A regenerated file is taken only when it passes
onnx.checker (full_check) and onnxruntime reproduces the framework's output on the seeded input: a converter that
writes an invalid or wrong file is a recorded failure, never a test input.

The comparison is canonical (canonical.py): what the file computes, without the names and strings that change from
one conversion to the next.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from spa.tools.frameworks.canonical import differences
from spa_ir.core.errors import SpaError, first_line

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "frameworks"
MANIFEST = "manifest.json"
FRAMEWORKS = ("keras", "flax", "paddle")
RELATIVE_TOLERANCE = 1e-4  # of the output's largest magnitude (at least 1): float32 reorderings stay far below


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def framework_of(name: str) -> str:
    """The framework a file belongs to, from its name's prefix (`keras_resnet_op15.onnx` -> keras)."""
    prefix = name.split("_", 1)[0]
    if prefix not in FRAMEWORKS:
        raise SpaError(f"file name does not start with one of {', '.join(FRAMEWORKS)}", where=name)
    return prefix


def dims(value: onnx.ValueInfoProto) -> list[int | str]:
    """A value's shape with dim_params as strings (a dimension with neither is '?')."""
    shape = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape]


# ---- validation of a regenerated file -------------------------------------------------------------------------------


def run(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


def validate(path: Path) -> float:
    """onnx.checker (full_check) and onnxruntime against the framework's output; the largest difference."""
    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # noqa: BLE001  # onnx raises several types; each is one finding
        raise SpaError(f"onnx.checker: {first_line(error)}", where=path.name) from error
    reference = np.load(path.with_suffix(".ref.npz"))
    try:
        (got,) = run(path, {model.graph.input[0].name: reference["x"]})
    except Exception as error:  # noqa: BLE001  # onnxruntime's errors have no common base
        raise SpaError(f"onnxruntime: {first_line(error)}", where=path.name) from error
    expected = reference["y"]
    if got.shape != expected.shape:
        raise SpaError(f"onnxruntime gives shape {got.shape}, the framework {expected.shape}", where=path.name)
    difference = float(np.abs(got.astype(np.float64) - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    if not difference <= RELATIVE_TOLERANCE * scale:
        raise SpaError(
            f"onnxruntime differs from the framework by {difference:.3g} (scale {scale:.3g})", where=path.name
        )
    return difference


# ---- the manifest ---------------------------------------------------------------------------------------------------


def _sidecar(out: Path, framework: str) -> dict[str, Any]:
    path = out / f"{framework}.json"
    if not path.exists():
        raise SpaError("no generator report: run the framework's generator first", where=str(path))
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def _entry(path: Path, report: dict[str, Any], difference: float) -> dict[str, Any]:
    model = onnx.load(str(path))
    keys = ("framework", "framework_version", "converter", "converter_version", "route", "entry_point", "python")
    return {
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        **{key: report[key] for key in keys},
        **report["files"][path.name],
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "opset_imports": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "producer_name": model.producer_name,
        "producer_version": model.producer_version,
        "inputs": [{"name": v.name, "shape": dims(v)} for v in model.graph.input],
        "outputs": [{"name": v.name, "shape": dims(v)} for v in model.graph.output],
        "max_abs_diff_vs_framework": float(f"{difference:.3g}"),
    }


def regenerated(out: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The valid regenerated files' manifest entries, the failures (converter and validation), and each
    framework's generator report, for the frameworks whose generator ran into `out`."""
    entries: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, Any]] = []
    reports: dict[str, dict[str, Any]] = {}
    for framework in FRAMEWORKS:
        if not (out / f"{framework}.json").exists():
            continue
        report = reports[framework] = _sidecar(out, framework)
        failures += [{"framework": framework, **f} for f in report["failures"]]
        for name, info in sorted(report["files"].items()):
            try:
                entries[name] = _entry(out / name, report, validate(out / name))
            except SpaError as error:
                failures.append(_failure(framework, name, info, error))
    return entries, failures, reports


def _failure(framework: str, name: str, info: dict[str, Any], error: SpaError) -> dict[str, Any]:
    """A written file that is not taken, in the shape of the generators' failures (requested opset, message)."""
    converter = info.get("converter_errors", [])
    return {
        "framework": framework,
        "model": info["model"],
        "opset": info["requested_opset"],
        "file": name,
        "error": str(error),
        **({"converter_errors": converter} if converter else {}),
    }


def load_manifest(data: Path = DATA) -> dict[str, Any]:
    path = data / MANIFEST
    if not path.exists():
        return {"files": {}, "failures": [], "generators": {}}
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def compare(out: Path, data: Path = DATA) -> list[str]:
    """One line per file of the regenerated frameworks: same (byte-identical or canonically) or what differs."""
    entries, failures, reports = regenerated(out)
    checked_in = {p.name for p in data.glob("*.onnx") if framework_of(p.name) in reports}
    lines = []
    for name in sorted(entries.keys() | checked_in):
        if name not in checked_in:
            lines.append(f"{name}: new (not checked in)")
        elif name not in entries:
            lines.append(f"{name}: checked in, not regenerated")
        elif sha256(out / name) == sha256(data / name):
            lines.append(f"{name}: same (byte-identical)")
        else:
            found = differences(onnx.load(str(data / name)), onnx.load(str(out / name)))
            lines.append(
                f"{name}: same (canonically; the bytes differ)" if not found else f"{name}: differs: {'; '.join(found)}"
            )
    recorded = load_manifest(data)["failures"]
    for failure in failures:
        status = "as recorded" if failure in recorded else "not recorded"
        lines.append(
            f"FAILED ({status}) {failure['framework']} {failure['model']} opset={failure['opset']}: {failure['error']}"
        )
    return lines


def update(out: Path, data: Path = DATA) -> None:
    """Copy in the valid regenerated files of the frameworks that ran into `out` where they compute something else
    than the checked-in ones, drop those frameworks' stale files, and rewrite the manifest (the other frameworks'
    entries stay as they were)."""
    entries, failures, reports = regenerated(out)
    manifest = load_manifest(data)
    data.mkdir(parents=True, exist_ok=True)
    for path in data.glob("*.onnx"):
        if framework_of(path.name) in reports and path.name not in entries:
            path.unlink()
    for name in entries:
        if (data / name).exists() and not differences(onnx.load(str(data / name)), onnx.load(str(out / name))):
            # Canonically the same: the checked-in bytes stay (tf2onnx's names change from run to run).
            entries[name] = {**entries[name], "sha256": sha256(data / name), "bytes": (data / name).stat().st_size}
        else:
            shutil.copyfile(out / name, data / name)
    keep = {n: e for n, e in manifest["files"].items() if framework_of(n) not in reports}
    keep.update(entries)
    manifest = {
        "about": "written by `make frameworks UPDATE=1` (tools/frameworks/manifest.py update); do not edit",
        "files": dict(sorted(keep.items())),
        "failures": sorted(
            [f for f in manifest["failures"] if f["framework"] not in reports] + failures,
            key=lambda f: (f["framework"], f["model"], str(f["opset"])),
        ),
        "generators": dict(sorted({**manifest["generators"], **_generators(reports)}.items())),
    }
    (data / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"updated {data}: {len(entries)} files of {', '.join(reports)}, {len(failures)} failures recorded")


def _generators(reports: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {fw: {k: v for k, v in report.items() if k not in ("files", "failures")} for fw, report in reports.items()}


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[1] not in ("compare", "update"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, data = Path(argv[2]), Path(argv[3]) if len(argv) == 4 else DATA
    try:
        if argv[1] == "update":
            update(out, data)
            return 0
        lines = compare(out, data)
    except SpaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    same = all(": same" in line or "FAILED (as recorded)" in line for line in lines)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
