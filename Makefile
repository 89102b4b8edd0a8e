# One-command entry points (see README "Quick start").
#   make test   create .venv, install everything (tests and deploy extras),
#               get the data, run every test (one process per core) and
#               list the 15 slowest
#   make test-fast  the same minus the tests marked slow (those that start
#               processes or train for real): the loop to run while editing
#   make demo   the Fashion-MNIST distillation demo (after make test/install)
#   make lint   ruff, configured in pyproject.toml
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install data test test-fast demo lint ablation

install: $(VENV)/.installed

$(VENV)/.installed: setup.py requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[tests,deploy]'
	touch $@

# Fashion-MNIST from Debian's package where apt-get can be used; elsewhere
# tools/demo.py says where to put the files (tests do not need them).
data:
	@if [ -d /usr/share/datasets/fashion-mnist ]; then \
	  echo "Fashion-MNIST: /usr/share/datasets/fashion-mnist"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	    || echo "warning: could not install dataset-fashion-mnist; see README"; \
	else \
	  echo "note: no apt-get/root: get Fashion-MNIST by hand for the demo (README)"; \
	fi

# One pytest-xdist worker per core, each test file on one worker (its
# module fixtures are built once): most of the time goes to tools and
# benchmarks run as one-thread processes, which then run side by side.
# The files with slow tests go first (tests/conftest.py), as collected.
test: install data
	$(BIN)/python -m pytest tests -q -n auto --dist loadfile \
	  --no-loadscope-reorder --durations=15

test-fast: install data
	$(BIN)/python -m pytest tests -q -m "not slow"

demo: install data
	$(BIN)/python tools/demo.py

ablation: install data
	$(BIN)/python tools/ablation.py

lint: install
	$(BIN)/ruff check .
