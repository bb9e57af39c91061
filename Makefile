# RESCUE trial platform. `make run` starts the whole system; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared services/eligibility services/prediction services/randomization services/followup services/console
STAMP := $(VENV)/.installed

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt $(addprefix -e ,$(PACKAGES))
	touch $@

venv: $(STAMP) ## Create the Python environment (.venv) with pinned dependencies

run: $(STAMP) ## Start Kafka, the four services (8001-8004) on SQLite and the console (8000)
	bash deploy/local/run.sh

test: $(STAMP) ## Start Kafka and PostgreSQL, run the whole test suite, stop them
	bash deploy/local/test.sh $(PYTEST_ARGS)

bench: $(STAMP) ## Benchmarks beside their ceilings -> .local/bench/ (QUICK=1: smoke run, < 1 min)
	bash deploy/local/bench.sh $(if $(QUICK),--quick) $(BENCH_ARGS)

.PHONY: chaos  # a target named like the chaos/ package directory
chaos: $(STAMP) ## Fault campaign: own Kafka+PostgreSQL, 2 replicas, 200 subjects, 50 faults
	bash deploy/local/chaos.sh $(CHAOS_ARGS)

token: $(STAMP) ## Print a local token: make token SITE=S01 ROLES=site_user,investigator
	@$(BIN)/rescue-token $(if $(SITE),--site $(SITE)) --roles $(or $(ROLES),site_user)

contracts: $(STAMP) ## Export event JSON Schemas and the AsyncAPI document to docs/contracts
	$(BIN)/rescue-contracts --out docs/contracts

lint: $(STAMP) ## ruff, and mypy (strict on shared/, every domain/ and service_layer/)
	$(BIN)/ruff check .
	$(BIN)/mypy shared/rescue_shared $(foreach p,$(filter services/%,$(PACKAGES)),$(p)/rescue_$(notdir $(p)))

stop: ## Stop the local Kafka broker and PostgreSQL if left running
	-bash deploy/local/kafka.sh stop
	-bash deploy/local/postgres.sh stop

.PHONY: help venv run test bench token contracts lint stop
