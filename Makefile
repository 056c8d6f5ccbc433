# The README's two commands. `make run` and `make test` both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Every distribution, installed editable (with the extras the whole suite exercises:
# semgrep for the static rules, the TPC-H generator for the TPC-H test).
DISTS := ibert_core ibert_validator_duckdb ibert_tasks_sql ibert_tasks_docs \
         ibert_miner_github plugins/ibert_example_plugin adapters
EXTRAS := ibert_tasks_sql=static,bench,hf
PYPROJECTS := $(addsuffix /pyproject.toml,$(DISTS))
spec = -e './$(1)$(if $(filter $(1)=%,$(EXTRAS)),[$(patsubst $(1)=%,%,$(filter $(1)=%,$(EXTRAS)))])'
EXAMPLE := ibert_tasks_sql/src/ibert_tasks_sql/examples

.PHONY: setup run test lint typecheck nox bench clean

setup: $(STAMP)

$(STAMP): $(PYPROJECTS) constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -c constraints.txt \
		$(foreach d,$(DISTS),$(call spec,$(d))) \
		pytest ruff mypy nox
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ibert run sql_to_ibis $(EXAMPLE)/ecommerce.sql --schema $(EXAMPLE)/ecommerce.yaml

test: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -q \
		$(foreach d,$(DISTS),$(d)/tests) tests

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

nox: $(STAMP)
	$(BIN)/nox

clean:
	rm -rf $(VENV) .nox
