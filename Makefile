# mlmon — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
IMAGE ?= mlmon:0.1.0

.PHONY: demo test lint typecheck pytest tools bench image clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

## demo: run the main job on the bundled example (the whole alerting loop too, with
## --stack, when the prometheus and prometheus-alertmanager programs are installed)
demo: $(STAMP)
	$(BIN)/mlmon demo $$(command -v prometheus >/dev/null && \
		command -v prometheus-alertmanager >/dev/null && echo --stack)

## tools: install the real programs the tests run (Prometheus, Alertmanager, Pushgateway,
## and test-only virtualenvs with MLflow and the Kubeflow Pipelines SDK)
tools: $(TEST_STAMP)
	bash scripts/ensure-tools.sh
	bash scripts/ensure-mlflow.sh >/dev/null
	bash scripts/ensure-kfp.sh >/dev/null
	bash scripts/ensure-kubectl.sh $(VENV)

## test: lint, type-check and run every test (installs what the tests need)
test: tools lint typecheck pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check exporter tests bench scripts kubeflow

typecheck: $(TEST_STAMP)
	$(BIN)/mypy --strict exporter

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest

## bench: run the benchmarks (figures printed, never pass/fail on timing)
bench: $(STAMP)
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/ingest.py

## image: build the container image (needs a Docker engine)
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache .pytest_cache build *.egg-info
