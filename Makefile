# The two set-up commands of the README: `make demo` and `make test`. Both create .venv/ when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo lint test test-unit test-lit bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	HF_HUB_OFFLINE=1 PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash tools/demo.sh

test: venv lint test-lit test-unit

# ruff (lint + format check) and mypy over spa_ir/, passes/, dialects/, tools/ (config in pyproject.toml). mypy sees
# the installed names spa.passes/spa.dialects/spa.tools through a tree of symlinks (see [tool.mypy] there).
MYPY_TREE := build/mypy-path/spa
lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	mkdir -p $(MYPY_TREE)
	for d in dialects passes tools; do ln -sfn ../../../$$d $(MYPY_TREE)/$$d; done
	$(VENV)/bin/mypy
	@# every suppression says why: `# type: ignore[code]  # reason`
	! grep -rnE --include='*.py' --exclude=torch.py 'type: ignore(\[[a-z, -]+\])?\s*$$' spa_ir passes dialects tools

test-lit: venv
	$(VENV)/bin/lit -sv tests/lit

test-unit: venv
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -n 2 --dist loadgroup --durations=30 tests/unit

bench: venv
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/import.py
	$(PY) bench/prune_vs_peer.py
	$(PY) bench/criteria_mnist.py
	$(PY) bench/prune_at_init.py
	$(PY) bench/obspa.py
	$(PY) bench/onnx_peer.py
	$(PY) bench/latency.py --quick

# Other frameworks' ONNX files (tests/data/frameworks/): regenerate them in build/frameworks/<fw>-venv and compare
# canonically with the checked-in ones; UPDATE=1 copies them in and rewrites the manifest (tools/frameworks/).
.PHONY: frameworks
frameworks: venv
	UPDATE=$(UPDATE) bash tools/frameworks/make_frameworks.sh

clean:
	rm -rf $(VENV) .demo build *.egg-info
