# `make demo` and `make test` are the whole setup: they create .venv when missing,
# install torch (the pinned CPU wheel) first, then cgnas with its pinned dependencies.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

DEMO_ARCH := |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

demo: $(STAMP)
	$(BIN)/cgnas spaces
	$(BIN)/cgnas cg --space nb201 --arch '$(DEMO_ARCH)' --out out/demo/nb201_cg.png
	$(BIN)/cgnas cache --space nb201

# One OpenMP thread per process: the test models are tiny, and with two threads the suite ran
# 15x slower whenever another process held one of the two cores (docs/notebook/2026-11_to_12-08.md 1.7).
# The layer contract (pyproject.toml [tool.importlinter]) first: it takes a second.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest -q
