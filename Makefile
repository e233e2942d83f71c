# The two commands of a fresh machine: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
# pip's notes about local index folders that do not exist on this machine are noise
QUIET_PIP := 2>&1 | { grep -v '^WARNING: Location' || true; }
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make-stamps
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test check install install-test fonts bench audit lock schema clean

run: install
	$(BIN)/pilu serve --host $(HOST) --port $(PORT)

test: install-test
	bash scripts/audit.sh --check-lock
	$(MAKE) --no-print-directory check
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The house rules that machines check, one command a line; configured in pyproject.toml.
# The strict run keeps a cache of its own: sharing one, each run would recheck the other's modules.
check: install-test
	$(BIN)/ruff check service tests bench scripts
	$(BIN)/ruff format --check service tests bench scripts
	$(BIN)/mypy --strict --cache-dir .mypy_cache/strict service
	$(BIN)/mypy tests bench scripts
	$(BIN)/lint-imports

install: $(STAMPS)/system $(STAMPS)/venv fonts

install-test: install $(STAMPS)/system-test $(STAMPS)/venv-test

fonts: $(STAMPS)/venv
	@bash scripts/install-fonts.sh
	@$(BIN)/python -m service.render.docx
	@$(BIN)/python -c 'from service.model.title import words; words("信息披露")'  # jieba's dictionary cached in build/jieba

$(STAMPS)/system: scripts/install-system.sh scripts/debian-packages.sh
	bash scripts/install-system.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/system-test: scripts/install-system.sh scripts/debian-packages.sh
	bash scripts/install-system.sh --test
	@mkdir -p $(STAMPS) && touch $@

# Exact versions from the lock files first, then the project itself (`make lock` rewrites them).
$(STAMPS)/venv: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock $(QUIET_PIP)
	$(BIN)/pip install -q -e . $(QUIET_PIP)
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv-test: pyproject.toml requirements-test.lock $(STAMPS)/venv
	$(BIN)/pip install -q -r requirements-test.lock $(QUIET_PIP)
	$(BIN)/pip install -q -e '.[test]' $(QUIET_PIP)
	@mkdir -p $(STAMPS) && touch $@

schema: install
	$(BIN)/pilu schema > docs/payload.schema.json
	$(BIN)/pilu figures --write

bench: install-test
	bash scripts/install-bench.sh
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Known vulnerabilities in the locked versions; needs OSV or PyPI's JSON API (exit 2 without).
audit: install-test
	bash scripts/audit.sh

lock: install-test
	bash scripts/audit.sh --write-lock

clean:
	rm -rf $(VENV) $(STAMPS) fonts/build build/jieba
