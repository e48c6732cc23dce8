# biomed_vital: `make demo` runs the demo, `make test` sets up and runs the test suite.
# Each target builds its own virtual environment on first use (about 2 minutes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; GPU users install their own CUDA build before `pip install biomed_vital`.
TORCH_SPEC ?= torch==2.13.0
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
export HF_HUB_OFFLINE ?= 1
export HF_HUB_DISABLE_TELEMETRY ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: demo test lint format typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) install "$(TORCH_SPEC)" 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install -e ".[dev,dicom,demo,annotate]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import torch, transformers, trl, biomed_vital; print('environment ready: torch', torch.__version__)"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/biomed-vital demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q tests

lint: $(VENV)/.installed
	$(BIN)/ruff check biomed_vital tests examples benchmarks
	$(BIN)/ruff format --check biomed_vital tests examples benchmarks

format: $(VENV)/.installed
	$(BIN)/ruff format biomed_vital tests examples benchmarks
	$(BIN)/ruff check --fix biomed_vital tests examples benchmarks

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Benchmarks are measurements, not tests: run them on a quiet machine and read benchmarks/results/.
# distilabel lives in its own environment so it never touches the library's.
.venv-bench/bin/python:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip --disable-pip-version-check -q install -r benchmarks/requirements-distilabel.txt 2>&1 | grep -v "^WARNING: Location" || true

bench: $(VENV)/.installed .venv-bench/bin/python
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_generation.py
	$(BIN)/python benchmarks/bench_selection.py
	$(BIN)/python benchmarks/bench_sampling.py
	$(BIN)/python benchmarks/bench_tuning.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_demo.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
