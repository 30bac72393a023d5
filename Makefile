# The two commands of the README: `make run` (main job) and `make test` (the harness's own tests).
# Both set everything up themselves: Debian tools, .venv, the project, the TDD artefacts.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test bench clean

$(STAMP): pyproject.toml tools/setup.sh
	bash tools/setup.sh
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/oots-harness run

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/oots-harness bench all

clean:
	rm -rf $(VENV) reports .cache
