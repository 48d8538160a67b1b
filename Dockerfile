# One image for every role: `arena serve --no-worker` (API nodes) and `arena worker`.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY arena ./arena
COPY personas ./personas
COPY frontend ./frontend

# A portable llama.cpp build (see the Makefile for why not a native one).
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF"
RUN pip install --no-cache-dir .

ENV ARENA_PERSONAS_DIR=/app/personas \
    ARENA_DATA_DIR=/data
EXPOSE 8000
ENTRYPOINT ["arena"]
CMD ["serve", "--host", "0.0.0.0"]
