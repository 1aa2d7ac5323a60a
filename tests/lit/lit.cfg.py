# lit configuration for spa's FileCheck tests. lit scrubs the environment, so the venv's tools are
# put on PATH here; spa is imported as installed (no checkout on PYTHONPATH, which would hide broken imports).
import os

import lit.formats

config.name = "spa"
config.test_format = lit.formats.ShTest()
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
root = os.path.abspath(os.path.join(config.test_source_root, "..", ".."))
venv_bin = os.path.join(root, ".venv", "bin")
config.environment["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
config.environment["HF_HUB_OFFLINE"] = "1"
config.substitutions.append(("%python", os.path.join(venv_bin, "python")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
