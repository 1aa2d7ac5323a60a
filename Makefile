# The two set-up commands of the README: `make demo` and `make test`. Both create .venv/ when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-unit test-lit bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	HF_HUB_OFFLINE=1 PATH=$(CURDIR)/$(VENV)/bin:$$PATH bash tools/demo.sh

test: venv test-lit test-unit

test-lit: venv
	$(VENV)/bin/lit -sv tests/lit

test-unit: venv
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -n 2 --dist loadgroup --durations=30 tests/unit

bench: venv
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/import.py
	$(PY) bench/prune_vs_peer.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
