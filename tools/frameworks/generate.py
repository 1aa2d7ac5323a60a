"""Runs one framework's generator in that framework's venv (`make frameworks` does, per framework):

    build/frameworks/<fw>-venv/bin/python tools/frameworks/generate.py <fw> OUT_DIR

The generator `<fw>_models.py` beside this file says what to build and how its converter is called (`MODELS`,
`OPSETS`, `FRAMEWORK`, `LOGGER`, `build`, `convert`, `reference`, `versions`); this loop, shared by all of them,
converts every model at every opset, writes `OUT_DIR/<fw>_<model>_op<N>.onnx` with a `.ref.npz` beside it (a
seeded input and the framework's own output on it; never checked in: manifest.py checks the file against it), and
`OUT_DIR/<fw>.json` (versions, per file what the converter logged, every conversion that raised) for manifest.py.
A converter failure is recorded, not raised: it is a finding. Only the standard library is imported here; the
framework comes in with its generator.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any


class ErrorLog(logging.Handler):
    """A converter's logged errors: tf2onnx logs an op it cannot convert and writes the file anyway, paddle2onnx
    logs a failed conversion instead of raising."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(argv: list[str]) -> int:
    framework = argv[1]
    out = Path(argv[2]) if len(argv) > 2 else Path("build/frameworks/out")
    out.mkdir(parents=True, exist_ok=True)
    gen = importlib.import_module(f"{framework}_models")  # beside this file: a script's folder is on sys.path
    np = importlib.import_module("numpy")
    report: dict[str, Any] = {**gen.versions(), "files": {}, "failures": []}
    for name in gen.MODELS:
        for opset in gen.OPSETS:
            built = gen.build(name)
            log = ErrorLog()
            logger = None if gen.LOGGER is None else logging.getLogger(gen.LOGGER)
            if logger is not None:
                logger.addHandler(log)
            try:
                proto, fields = gen.convert(built, opset, name)
            except Exception as error:  # noqa: BLE001  # a converter failure is a finding to record, not a crash
                message = f"{type(error).__name__}: {error}".splitlines()[0]
                if log.messages:
                    message += f"; it logged: {' | '.join(log.messages)}"
                report["failures"].append({"model": name, "opset": opset, "error": message})
                print(f"{framework}_{name} opset={opset}: FAILED {message}", file=sys.stderr)
                traceback.print_exc()
                continue
            finally:
                if logger is not None:
                    logger.removeHandler(log)
            file_opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
            path = out / f"{framework}_{name}_op{file_opset}.onnx"
            path.write_bytes(proto.SerializeToString())
            x, y = gen.reference(built)
            np.savez(path.with_suffix(".ref.npz"), x=x, y=y)
            entry = {"model": name, "requested_opset": opset, **fields}
            if logger is not None:
                entry["converter_errors"] = log.messages
            report["files"][path.name] = entry
            print(f"wrote {path}")
    (out / f"{framework}.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
