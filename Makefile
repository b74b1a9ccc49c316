# mlmon — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
IMAGE ?= mlmon:0.1.0

.PHONY: demo test lint typecheck pytest tools bench bench-peers image clean mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The files extra (pyarrow): the demo and the benchmarks read CSV files.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[files]'
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	touch $(STAMP) $@

## demo: run the main job on the bundled example (the whole alerting loop too, with
## --stack, when the prometheus and prometheus-alertmanager programs are installed)
# Ctrl-C: `exec`, so the recipe's shell (it stays, for the $$(...)) is not what SIGINT kills:
# a shell dying of SIGINT is what makes make print `*** [Makefile:NN: demo] Interrupt`.
# mlmon demo traps SIGINT, stops what it started and exits 0; make, which got the
# SIGINT too, then ends quietly (tests/e2e/test_demo_make.py).
demo: $(STAMP)
	exec $(BIN)/mlmon demo $$(command -v prometheus >/dev/null && \
		command -v prometheus-alertmanager >/dev/null && echo --stack)

## tools: install the real programs the tests run (Prometheus, Alertmanager, Pushgateway,
## VictoriaMetrics and vmalert, buildah and mmdebstrap, Java for Spark's local mode, and
## test-only virtualenvs with MLflow and the Kubeflow Pipelines SDK)
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

## mutate: mutation testing (mutmut, setup.cfg) of the statistics core, the label join, the
## ingest accounting and the responder's admission; not part of `make test`. Narrow it with
## MUTANTS='exporter.sidecar.label_join*'
mutate: $(TEST_STAMP)
	set -f; VENV=$(VENV) bash scripts/mutate.sh $(MUTANTS)

## bench: run the benchmarks (figures printed, never pass/fail on timing)
bench: $(TEST_STAMP)  # bench/stats.py compares with scipy (a test dependency)
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/ingest.py

## bench-peers: the same workload through Evidently, Alibi Detect, NannyML and Frouros,
## side by side with mlmon (one virtualenv per peer, pins in bench/peers-requirements/)
PEERS := evidently alibi nannyml frouros

bench-peers: $(STAMP) $(foreach p,$(PEERS),.venv-peer-$(p)/.installed)
	$(BIN)/python bench/peers.py

.venv-peer-%/.installed: bench/peers-requirements/%.txt
	$(PYTHON) -m venv .venv-peer-$*
	.venv-peer-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-peer-$*/bin/python -m pip install --quiet -r $<
	touch $@

## image: build the sidecar image $(IMAGE) and the batch image (NAME-batch:TAG): with
## buildah + mmdebstrap as root (scripts/build-image.sh), else with a Docker engine
image: | $(BIN)/python
	if command -v buildah >/dev/null && command -v mmdebstrap >/dev/null; then \
		PYTHON=$(BIN)/python bash scripts/build-image.sh --image $(IMAGE); \
	else \
		docker build --target sidecar -t $(IMAGE) . && \
		docker build --target batch -t $$(echo '$(IMAGE)' | sed 's/:\([^:/]*\)$$/-batch:\1/') .; \
	fi

clean:
	rm -rf $(VENV) .venv-* .mypy_cache .ruff_cache .pytest_cache build *.egg-info
