# syntax=docker/dockerfile:1
# One image for every role: `arena serve --no-worker` (API nodes) and `arena worker`.
# The build stage makes the arena's wheel (the page and the personas inside it, as package data)
# and wheels of everything it needs; the image installs those wheels and no source.

FROM python:3.11-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY arena ./arena
COPY frontend ./frontend
COPY personas ./personas

# A portable llama.cpp build (see the Makefile for why not a native one).
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF"
RUN pip wheel --no-cache-dir --wheel-dir /wheels .


FROM python:3.11-slim

# llama.cpp's OpenMP runtime; the compilers stay in the build stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# The same wheel as `pip install` anywhere: bound from the build stage, so no copy stays behind.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels persona-arena

RUN useradd --create-home --uid 1000 arena \
 && mkdir /data \
 && chown arena /data
USER arena
# Not a source tree: the page and the personas come from the installed package.
WORKDIR /data
ENV ARENA_DATA_DIR=/data
EXPOSE 8000
ENTRYPOINT ["arena"]
CMD ["serve", "--host", "0.0.0.0"]
