# `make demo` and `make test` are the whole setup: they create .venv when missing,
# install torch (the pinned CPU wheel) first, then cgnas with its pinned dependencies.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m cgnas.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean-cache:
	rm -rf .cgnas-cache
