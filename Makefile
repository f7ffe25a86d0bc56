# Two commands do everything on a fresh machine:
#   make demo   create .venv if needed, install lstmkit, run the main job end to end
#   make test   create .venv if needed, install lstmkit with its test extras, run the test suite
# Both are idempotent: a stamp per extra is refreshed only when pyproject.toml (or, for demo, this file) changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= out/demo
PIP    := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-demo: pyproject.toml Makefile | $(PY)
	$(PIP) -e ".[cli,fast]"
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PIP) -e ".[test]"
	@touch $@

$(VENV)/.stamp-bench: pyproject.toml | $(PY)
	$(PIP) -e ".[bench,fast]"
	@touch $@

# One BLAS thread: the engine's matrices are small, and on a shared 2-core machine extra BLAS
# threads only contend (measured: an update of the text model went from ~1 s to ~0.04 s).
demo: $(VENV)/.stamp-demo
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m lstmkit demo --out $(OUT)

test: $(VENV)/.stamp-test
	$(PY) -m pytest

# make bench: lstmkit vs torch vs ONNX Runtime on 2 threads (~11 min with 15 rounds; run it when
# nothing else is running). Writes benchmarks/results/bench_lstm.{md,json,png}.
# make bench BENCH_ARGS=--quick   few repetitions (development); BENCH_ARGS="--only tiny,long" etc.
BENCH_ARGS ?=
bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/bench_lstm.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info .pytest_cache .hypothesis
