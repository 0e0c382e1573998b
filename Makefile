# Everything a user or CI needs: `make demo` runs the pipeline locally, `make test` runs the tests.
# Targets wrap `lakehouse` verbs and scripts; never the other way round.

SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: uv
uv: ## Install uv if it is missing
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

.PHONY: dev
dev: uv ## Create the Python environment from uv.lock
	$(UV) sync --frozen

# Setup per purpose (scripts/setup.sh lists the steps of each): the demo gets only what it runs,
# lint and the Terraform tests get Terraform and checkov, the tests get everything.
.PHONY: setup
setup: dev ## Install everything else once: system packages, Spark jars, Terraform, checkov
	bash scripts/setup.sh all

.PHONY: setup-demo
setup-demo: dev ## Install what the demo and bench run: Delta's jars for local Spark
	bash scripts/setup.sh demo

.PHONY: setup-test
setup-test: dev ## Install what the tests run: Debian packages, Spark jars, Terraform, checkov
	bash scripts/setup.sh test

.PHONY: setup-lint
setup-lint: dev ## Install what lint runs: Terraform and checkov
	bash scripts/setup.sh lint

.PHONY: demo
demo: setup-demo ## Run the whole pipeline on the local defaults and print where to look
	bash scripts/demo.sh

.PHONY: test
test: setup-test ## Run every test, slow end-to-end ones included
	$(UV) run --frozen pytest

.PHONY: test-fast
test-fast: dev ## Run the tests that need no Spark, servers or browser
	$(UV) run --frozen pytest -m "not slow"

.PHONY: lint
lint: setup-lint ## Lint Python, check the lock file, the Dockerfile; Terraform: formatting, provider schema, checkov
	$(UV) lock --check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen hadolint Dockerfile
	bash scripts/lint-terraform.sh

# Off the demo path and out of `make test` (a cold build takes minutes): the image of the ECS
# worker and flow runs, built with buildah and smoke-tested. LOCAL_BASE=1 builds the base from
# Debian packages where no container registry is reachable.
.PHONY: image
image: ## Build the project's image with buildah and smoke-test it (LOCAL_BASE=1: base from Debian packages)
	bash scripts/build-image.sh $(if $(LOCAL_BASE),--local-base)

.PHONY: bench
bench: setup-demo ## Benchmark cost against data size, with a DuckDB baseline (see docs/benchmarks.md)
	$(UV) run --frozen lakehouse bench --update-docs

.PHONY: bench-files
bench-files: setup-demo ## Benchmark the SAS7BDAT files path (I94 months -> landing -> bronze) at 1x and 100x
	$(UV) run --frozen python -m lakehouse.bench.files --scale 1x=2500 --scale 100x=250000

.PHONY: clean
clean: ## Remove the local lake and caches (keeps downloaded jars and tools)
	rm -rf .lake .pytest_cache dbt_project/target dbt_project/logs
