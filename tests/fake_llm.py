"""A fast OpenAI-compatible chat server on loopback, for tests that run `arena worker` processes.

It behaves like OpenAI and most compatible servers: a trailing assistant message is not
continued, every request gets a fresh reply. Each debater reply starts with `Reply <n>:` (n counts
requests), so a stored turn holding two replies is easy to spot. Judge requests (those with a
`response_format`) get a verdict for the side named in the prompt: holding 0.8, or, for a judge
model whose name contains "biased", 0.9 when the prompt presents the speaker as Debater 1 and 0.4
as Debater 2 (a position-biased judge). With `fault_every`, every
fault_every-th debater request and every fault_every-th judge request fails, cycling through a
stream cut mid-body (the connection dropped), HTTP 500, a stream that ends cleanly before the
reply did, and HTTP 429.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

OPENING = "Reply "
FAULTS = ("cut", "500", "cut-clean", "429")


class FakeLLM:
    """Start with `with FakeLLM(...) as llm:`; point ARENA_COMPATIBLE_BASE_URL at `llm.url` and
    name models `openai-compatible:<anything>`. `outcomes` counts what each request got."""

    def __init__(self, *, words: int = 16, token_delay: float = 0.02,
                 fault_every: int | None = None) -> None:
        self.words, self.token_delay, self.fault_every = words, token_delay, fault_every
        self.outcomes: Counter[str] = Counter()
        self._requests = itertools.count(1)
        self._seen: Counter[bool] = Counter()  # requests so far, by "is a judge's"
        self._faults = {judge: itertools.cycle(FAULTS) for judge in (False, True)}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def next_request(self, judge: bool) -> tuple[int, str | None]:
        """The request's number and the fault it gets (None: a normal reply)."""
        with self._lock:
            self._seen[judge] += 1
            due = self.fault_every is not None and self._seen[judge] % self.fault_every == 0
            return next(self._requests), next(self._faults[judge]) if due else None

    def count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1

    def delay(self, body: dict[str, Any]) -> float:
        """Seconds before each delta of the reply to `body` (a subclass may vary it)."""
        return self.token_delay

    def before_delta(self, n: int, body: dict[str, Any], index: int) -> None:
        """Called before each delta of request `n`'s reply: a subclass may hold a reply here."""

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        """The deltas of a reply: a debater's words, or a judge's verdict JSON in pieces."""
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if body.get("response_format"):
            side = "pro" if "assigned side: PRO" in prompt else "con"
            holding = 0.8
            if "biased" in str(body.get("model", "")):
                holding = 0.9 if "The speaker is Debater 1" in prompt else 0.4
            verdict = json.dumps({"stance": side, "holding": holding, "engagement": 0.5,
                                  "concessions": [], "rationale": f"It argues {side} throughout."})
            return [verdict[i:i + 12] for i in range(0, len(verdict), 12)]
        side = "for" if "FOR (PRO)" in prompt else "against"
        words = [f"{OPENING}{n}:", "I", "argue", side, "the", "motion."]
        words += [f"point-{i}" for i in range(max(0, self.words - len(words)))]
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(data)}\n\n".encode()


def _usage(prompt: int, completion: int) -> bytes:
    data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
            "model": "fake", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}}
    return f"data: {json.dumps(data)}\n\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, llm: FakeLLM) -> None:
        self.llm = llm
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            self.server.llm.count("client-gone")  # a worker killed mid-request

    def _json(self, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self) -> None:
        llm = self.server.llm
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        n, fault = llm.next_request(judge=bool(body.get("response_format")))
        llm.count(fault or "ok")
        if fault == "500":
            self._json(500, {"error": {"message": "injected failure", "type": "server_error"}})
        elif fault == "429":
            self._json(429, {"error": {"message": "slow down", "type": "rate_limit"}},
                       {"retry-after-ms": "50"})
        else:
            deltas = llm.reply(n, body)
            cut_at = len(deltas) // 2 if fault else None
            self._stream(deltas, cut_at, clean=fault == "cut-clean", delay=llm.delay(body),
                         before=lambda i: llm.before_delta(n, body, i))

    def _send(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, deltas: list[str], cut_at: int | None, *, clean: bool, delay: float,
                before: Callable[[int], None]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self._send(_chunk({"role": "assistant", "content": ""}))
        for i, delta in enumerate(deltas):
            if i == cut_at:
                if clean:  # the body ends properly, but before the reply did
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                else:  # the connection drops in the middle of the chunked body
                    self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            before(i)
            time.sleep(delay)  # the model's pace
            self._send(_chunk({"content": delta}))
        self._send(_chunk({}, "stop"))
        self._send(_usage(20, len(deltas)))
        self._send(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
