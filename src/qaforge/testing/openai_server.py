"""A small OpenAI-compatible server on loopback, for tests that need a real HTTP peer.

It answers ``/v1/chat/completions``, ``/v1/models`` and ``/tokenize`` from a thread, and can
misbehave on cue: each chat request takes the next *fault* from a script (``"429"``,
``"500"``, ``"timeout"``, ``"truncated"``, ``"not-json"``, ``"no-choices"``, ``"ok"``),
and ``doomed`` substrings fail a request every time. Good replies come from ``reply``
(default: :func:`qaforge.llm.fake.echo_pairs`, which fits qaforge's schemas); a reply may
also be a dict of message fields plus ``finish_reason``, e.g. ``{"content": None,
"reasoning_content": "...", "finish_reason": "length"}`` as a reasoning model's server sends.

    >>> with FakeOpenAIServer(faults=["429", "ok"]) as server:      # doctest: +SKIP
    ...     client = OpenAIClient([server.url], retries=2)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import echo_pairs

FAULTS = ("ok", "429", "500", "503", "timeout", "truncated", "not-json", "no-choices", "400")
Reply = Callable[[ChatRequest], str | dict[str, Any]]


def _request_from_body(body: dict[str, Any]) -> ChatRequest:
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    return ChatRequest(messages=list(body.get("messages") or []), schema=schema,
                       max_tokens=int(body.get("max_tokens") or 512))


class FakeOpenAIServer:
    """Threaded loopback server; ``received`` holds every chat body it was sent."""

    def __init__(self, faults: Iterable[str] = (), *, doomed: Iterable[str] = (),
                 doomed_fault: str = "500", reply: Reply = echo_pairs, retry_after: str = "1",
                 hang_seconds: float = 5.0, model: str = "fake-model",
                 owned_by: str = "fake") -> None:
        self.faults = list(faults)
        unknown = [f for f in (*self.faults, doomed_fault) if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        self.doomed = list(doomed)
        self.doomed_fault = doomed_fault
        self.reply = reply
        self.retry_after = retry_after
        self.hang_seconds = hang_seconds
        self.model = model
        self.owned_by = owned_by
        self.received: list[dict[str, Any]] = []
        #: every HTTP request: (method, path, headers), e.g. to check which key was sent
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.served: list[str] = []  # the fault (or "ok") used for each chat request
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="fake-openai-server", daemon=True)

    @property
    def url(self) -> str:
        """Base URL including ``/v1``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_fault(self, body: dict[str, Any]) -> str:
        text = json.dumps(body.get("messages", []))
        with self._lock:
            self.received.append(body)
            if any(marker in text for marker in self.doomed):
                fault = self.doomed_fault
            else:
                fault = self.faults.pop(0) if self.faults else "ok"
            self.served.append(fault)
            return fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read ``served`` instead."""

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
                      declared_length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(declared_length or len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()

            def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(obj).encode(), headers)

            def _record(self) -> None:
                with server._lock:
                    server.requests.append((self.command, self.path, dict(self.headers)))

            def do_GET(self) -> None:
                self._record()
                if self.path.rstrip("/").endswith("/v1/models"):
                    self._json(200, {"object": "list", "data": [
                        {"id": server.model, "object": "model", "owned_by": server.owned_by}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                self._record()
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._json(400, {"error": {"message": "request body is not JSON"}})
                    return
                if self.path == "/tokenize":
                    words = str(body.get("content") or body.get("prompt") or "").split()
                    self._json(200, {"tokens": list(range(len(words)))})
                elif self.path.endswith("/chat/completions"):
                    self._chat(body)
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def _chat(self, body: dict[str, Any]) -> None:
                fault = server._next_fault(body)
                if fault == "timeout":
                    server._stopping.wait(server.hang_seconds)
                    self.close_connection = True
                    return
                if fault in ("429", "500", "503", "400"):
                    headers = {"Retry-After": server.retry_after} if fault == "429" else None
                    self._json(int(fault), {"error": {"message": f"scripted {fault}"}}, headers)
                elif fault == "truncated":
                    payload = json.dumps(self._completion(body)).encode()
                    self._send(200, payload[: len(payload) // 2], declared_length=len(payload))
                    self.close_connection = True
                elif fault == "not-json":
                    self._send(200, b"<html><body>502 Bad Gateway</body></html>")
                elif fault == "no-choices":
                    self._json(200, {"id": "x", "object": "chat.completion"})
                else:
                    self._json(200, self._completion(body))

            def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
                reply = server.reply(_request_from_body(body))
                fields = dict(reply) if isinstance(reply, dict) else {"content": reply}
                finish = fields.pop("finish_reason", "stop")
                text = " ".join(str(fields.get(k) or "")
                                for k in ("reasoning_content", "reasoning", "content"))
                prompt = sum(len(str(m.get("content", "")).split())
                             for m in body.get("messages") or [])
                return {"id": "chatcmpl-fake", "object": "chat.completion",
                        "model": body.get("model", server.model),
                        "choices": [{"index": 0, "finish_reason": finish,
                                     "message": {"role": "assistant", **fields}}],
                        "usage": {"prompt_tokens": prompt,
                                  "completion_tokens": len(text.split())}}

        return Handler
