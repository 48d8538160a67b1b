# `make run` and `make test` are the only commands a newcomer needs: both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# llama.cpp compiles on install. A portable x86-64 build (AVX2, no AVX-512/AMX): a native build
# can pick instructions that a virtual machine advertises but does not allow.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF

.PHONY: run test test-all check format docs install clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel setuptools
	@echo "Installing (llama-cpp-python compiles on first install: about 5-10 minutes on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip install --progress-bar on -e ".[dev,docs]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/arena serve

# The suite runs in parallel (pytest-xdist): its tests wait on servers and sockets more than they
# compute, so more workers than cores pays. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 4
# `make test` leaves out the `long` tests (whole matches and benchmark smoke runs on the embedded
# model: about 4 minutes of CPU together) to finish within 5 minutes on 2 cores; `make test-all`
# (and CI: `make test TEST_MARKS=`) runs every test.
TEST_MARKS ?= not long

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "$(TEST_MARKS)" $(PYTEST_ARGS)

test-all:
	$(MAKE) test TEST_MARKS=

# every benchmark under scripts/ at a small size (a few minutes on 2 cores; FULL=1: the sizes
# docs/benchmarks.md reports), each figure beside its baseline from the same run, into one table:
# bench/results.md and .json (FULL=1: bench/results-full.*; BENCH_ARGS="--only longrun" for one)
bench: $(STAMP)
	$(BIN)/python scripts/bench_all.py --size $(if $(FULL),full,small) $(BENCH_ARGS)

# format, lint, types (arena, and the benchmarks typed against its protocols), the architecture
# (import-linter: .importlinter) and module size
check: $(STAMP)
	$(BIN)/ruff check arena tests scripts
	$(BIN)/ruff format --check arena
	$(BIN)/mypy arena
	$(BIN)/mypy scripts/bench_local.py scripts/bench_probe.py scripts/bench_all.py scripts/bench_crowd.py
	$(BIN)/lint-imports
	@find arena -name '*.py' | xargs wc -l | awk '$$2 != "total" && $$1 > 400 \
		{ print $$2 ": " $$1 " lines (the limit is 400): split it by concept"; bad = 1 } \
		END { exit bad }'

format: $(STAMP)
	$(BIN)/ruff check --fix arena tests scripts
	$(BIN)/ruff format arena

# the documentation site (mkdocs.yml, docs/) into site/; strict: a broken link or anchor fails.
# NO_MKDOCS_2_WARNING hides the Material theme's notice of its end of life (May 2027).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
