# Two entry points (README): `make demo` and `make test`. Both create or reuse .venv and install torch and
# torchvision first, pinned by $(CONSTRAINTS): constraints.txt (default: CPU torch 2.13.0, never CUDA wheels)
# or constraints-matched.txt (a matched CUDA pair: make demo CONSTRAINTS=constraints-matched.txt VENV=.venv-matched).
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.occbench-installed
DEMO := runs/demo
METHODS := telea navier-stokes biharmonic mean-fill
# Weight files are never downloaded; ../shared/weights (FID Inception) is used when it exists.
WEIGHTS_DIR ?= $(firstword $(wildcard ../shared/weights))
WEIGHTS_FLAG := $(if $(WEIGHTS_DIR),--weights-dir $(WEIGHTS_DIR),)
export PIP_CONSTRAINT := $(CURDIR)/$(CONSTRAINTS)

.PHONY: install demo test test-fast test-matched lint bench figure clean-demo

# README figure: the astronaut (public domain) under every generator; OCCLUDERS=BANK adds NatOcc.
FIGURE_PROTOCOLS := folder-center-256 folder-half-256 folder-freeform-256 folder-lama-thick-256 \
	folder-lama-thin-256 folder-irregular-256 demo-randocc demo-facemask

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) torch torchvision
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[test]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/occbench build-dataset demo-irregular --out $(DEMO)/data --workers 2
	for m in $(METHODS); do \
	  $(BIN)/occbench evaluate --method $$m --data $(DEMO)/data --out $(DEMO)/$$m $(WEIGHTS_FLAG) || exit 1; done
	$(BIN)/occbench table $(foreach m,$(METHODS),$(DEMO)/$(m)) --regions whole hole --mode composite \
	  --out $(DEMO)/table.md
	@cat $(DEMO)/table.md
	$(BIN)/occbench plot $(foreach m,$(METHODS),$(DEMO)/$(m)) --kind bins --metric psnr --region hole \
	  --mode composite --out $(DEMO)/psnr_by_hole_ratio
	$(BIN)/occbench plot $(foreach m,$(METHODS),$(DEMO)/$(m)) --kind grid --count 4 --out $(DEMO)/examples
	@echo "demo: dataset $(DEMO)/data, results $(DEMO)/<method>/results.json, table $(DEMO)/table.md, plots $(DEMO)/*.png"

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The matched torch/torchvision install path end to end (a cached 5.5 GB venv; .ci/run runs it with the rest).
test-matched: $(STAMP)
	OCCBENCH_TEST_MATCHED_TORCH=1 $(BIN)/python -m pytest -q tests/test_install_paths.py

lint: $(STAMP)
	$(BIN)/ruff check occbench baselines tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/build_speed.py
	$(BIN)/python benchmarks/metric_speed.py
	$(BIN)/python benchmarks/occlusion_speed.py
	$(BIN)/python benchmarks/baseline_speed.py
	$(BIN)/python benchmarks/evaluate_speed.py

figure: $(STAMP)
	$(BIN)/occbench preview $(FIGURE_PROTOCOLS) $(if $(OCCLUDERS),folder-natocc-256 --assets-dir $(OCCLUDERS),) \
	  --source demo --id astronaut --out docs/generators

clean-demo:
	rm -rf $(DEMO)
