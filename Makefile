# Two entry points (README): `make demo` and `make test`. Both create or reuse .venv and install
# torch==2.13.0 first (constraints.txt keeps every install on the CPU build, never CUDA wheels).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.occbench-installed
DEMO := runs/demo
METHODS := telea navier-stokes biharmonic mean-fill
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt

.PHONY: install demo test test-fast lint bench clean-demo

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/occbench build-dataset demo-center --out $(DEMO)/data --workers 2
	for m in $(METHODS); do $(BIN)/occbench predict --method $$m --data $(DEMO)/data --out $(DEMO)/$$m || exit 1; done
	@echo "demo: dataset in $(DEMO)/data, predictions in $(DEMO)/<method>/pred"

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check occbench baselines tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/build_speed.py

clean-demo:
	rm -rf $(DEMO)
