# `make run` and `make test` are the only commands a newcomer needs: both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# llama.cpp compiles on install. A portable x86-64 build (AVX2, no AVX-512/AMX): a native build
# can pick instructions that a virtual machine advertises but does not allow.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF

.PHONY: run test check format install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip wheel setuptools
	@echo "Installing (llama-cpp-python compiles on first install: about 5-10 minutes on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(BIN)/python -m pip install --progress-bar on -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/arena serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check arena tests scripts
	$(BIN)/ruff format --check arena
	$(BIN)/mypy arena

format: $(STAMP)
	$(BIN)/ruff check --fix arena tests scripts
	$(BIN)/ruff format arena

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
