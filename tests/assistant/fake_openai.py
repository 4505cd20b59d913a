"""A small, scriptable OpenAI-compatible chat server for tests.

It is a real HTTP server (stdlib ``http.server`` in a thread, on a real socket
on 127.0.0.1), so the code under test goes through its real client stack
(langchain-openai → openai → httpx): connection set-up, SSE parsing, timeouts
and errors all happen for real.  Nothing is mocked.

Endpoints:

* ``POST /v1/chat/completions`` with ``"stream": true`` → ``text/event-stream``
  (``data: {...}`` chunks carrying ``choices[0].delta.content``, a last chunk
  with ``finish_reason``, then ``data: [DONE]``), sent with HTTP/1.1 chunked
  transfer encoding like a real server, so a connection cut mid-stream is a
  detectable protocol error;
* ``POST /v1/chat/completions`` without ``stream`` → one ``chat.completion`` JSON;
* ``GET /v1/models`` → a one-model list.

Each test scripts the next replies with :meth:`FakeOpenAI.reply` (a fixed text,
or a function of the request body, delays, an HTTP error status, malformed
JSON, a connection cut after *n* chunks…) and reads what the server received in
:attr:`FakeOpenAI.requests`.

>>> with FakeOpenAI() as fake:
...     _ = fake.reply("你好[1]。")
...     import httpx
...     r = httpx.post(f"{fake.base_url}/chat/completions", json={"model": "fake", "messages": []})
...     r.json()["choices"][0]["message"]["content"], len(fake.requests)
('你好[1]。', 1)
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AnswerText = str | Callable[[dict[str, Any]], str]


@dataclass
class Reply:
    """How the server answers one chat-completion request.

    ``text``            the answer, or a function ``request body -> answer``;
    ``chunk_chars``     characters per streamed ``delta.content`` chunk;
    ``delay_before``    seconds before the response headers (time to first byte);
    ``delay_between``   seconds before each streamed content chunk;
    ``status``          an HTTP error status (≥ 400) answered with an OpenAI-style error body;
    ``malformed``       send a broken JSON chunk (stream) / a non-JSON body (non-stream);
    ``break_after``     after this many content chunks stop the stream, as ``break_mode`` says:
                        ``"reset"`` closes the socket mid-body (incomplete chunked body),
                        ``"eof"`` ends the HTTP body cleanly but without ``finish_reason``
                        and ``[DONE]`` (a truncated answer that *looks* complete to HTTP);
    ``finish_reason``   of the last chunk (``None`` omits that chunk).
    """

    text: AnswerText = "简报中未找到相关信息。"
    chunk_chars: int = 3
    delay_before: float = 0.0
    delay_between: float = 0.0
    status: int = 200
    malformed: bool = False
    break_after: int | None = None
    break_mode: str = "reset"
    finish_reason: str | None = "stop"


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    def content(self, role: str) -> str:
        """All ``role`` messages' text, joined (content may be a string or a list of parts)."""
        out = []
        for m in self.messages:
            if m.get("role") != role:
                continue
            c = m.get("content")
            out.append(c if isinstance(c, str) else "".join(p.get("text", "") for p in c or [] if isinstance(p, dict)))
        return "\n".join(out)

    @property
    def system(self) -> str:
        return self.content("system")

    @property
    def user(self) -> str:
        return self.content("user")


_PASSAGE = re.compile(r"^\[(\d+)\] （(.*?)）\n", re.M)


def parse_passages(user_message: str) -> dict[int, str]:
    """The numbered passages of a user message rendered from ``prompts/passage.txt``
    (inside the ``<<<简报段落开始>>>`` … ``<<<简报段落结束>>>`` block of ``answer_user.txt``).

    >>> parse_passages("简报段落：\\n[1] （甲）\\n第一段\\n\\n[2] （乙）\\n第二段\\n<<<简报段落结束>>>\\n\\n问题：多少？")
    {1: '第一段', 2: '第二段'}
    """
    marks = list(_PASSAGE.finditer(user_message))
    out: dict[int, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else _block_end(user_message, m.end())
        out[int(m.group(1))] = user_message[m.end() : end if end >= 0 else None].strip()
    return out


def _block_end(user_message: str, start: int) -> int:
    ends = [p for p in (user_message.find(e, start) for e in ("\n<<<简报段落结束>>>", "\n\n问题：")) if p >= 0]
    return min(ends) if ends else -1


def cite_passage_with(figure: str, template: str) -> Callable[[dict[str, Any]], str]:
    """An answer function citing whichever numbered passage contains ``figure``.

    ``template`` has a ``{n}`` placeholder, e.g. ``"签约投资额24.07亿元[{n}]。"``.
    """

    def answer(body: dict[str, Any]) -> str:
        request = Received("POST", "", {}, body)
        squeeze = re.compile(r"\s+")
        for n, text in parse_passages(request.user).items():
            if figure in squeeze.sub("", text):
                return template.format(n=n)
        return "简报中未找到相关信息。"

    return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOpenAI, address: tuple[str, int]) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and left makes the handler's writes fail; that is expected here.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing -------------------------------------------------------------
    def _json(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self._chunk(f"data: {text}\n\n".encode())

    def _cut(self) -> None:
        """Drop the connection now, mid-body."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- endpoints --------------------------------------------------------------
    def do_GET(self) -> None:
        self.server.fake._record(self, None)
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": self.server.fake.model, "object": "model",
                                                          "owned_by": "fake"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        fake = self.server.fake
        reply = fake._record(self, body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if fake._sleep(reply.delay_before):
            return
        if reply.status >= 400:
            self._json(reply.status, {"error": {"message": f"fake server error {reply.status}",
                                                "type": "server_error", "code": reply.status}})
            return
        text = reply.text(body) if callable(reply.text) else reply.text
        model = body.get("model", fake.model) if isinstance(body, dict) else fake.model
        if isinstance(body, dict) and body.get("stream"):
            self._stream(reply, text, model)
        elif reply.malformed:
            self._json(200, None, raw=b'{"id": "chatcmpl-fake", "choices": [{"message": ')
        else:
            self._json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": reply.finish_reason or "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(text), "total_tokens": 1 + len(text)},
            })

    def _stream(self, reply: Reply, text: str, model: str) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        self._event(chunk({"role": "assistant", "content": ""}))
        step = max(1, reply.chunk_chars)
        pieces = [text[i : i + step] for i in range(0, len(text), step)]
        for i, piece in enumerate(pieces):
            if reply.break_after is not None and i >= reply.break_after:
                if reply.break_mode == "reset":
                    self._cut()
                else:
                    self._chunk(b"")  # a clean end of the HTTP body: no finish_reason, no [DONE]
                return
            if fake._sleep(reply.delay_between):
                return
            if reply.malformed and i == 1:
                self._event('{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "')
                self._event("[DONE]")
                self._chunk(b"")
                return
            self._event(chunk({"content": piece}))
        if reply.finish_reason is not None:
            self._event(chunk({}, reply.finish_reason))
        self._event("[DONE]")
        self._chunk(b"")


class FakeOpenAI:
    """The server; use as a context manager, or ``start()`` / ``close()``.

    ``reply(...)`` sets the reply to every following request; ``queue(...)``
    sets replies for the next requests only (then the standing reply again).
    """

    def __init__(self, port: int = 0, model: str = "fake") -> None:
        self.model = model
        self.requests: list[Received] = []
        self.standing = Reply()
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(self, ("127.0.0.1", port))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"fake-openai:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- scripting ----------------------------------------------------------------
    def reply(self, text: AnswerText = Reply.text, **options: Any) -> Reply:
        self.standing = Reply(text, **options)
        return self.standing

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def chat_requests(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST"]

    # --- used by the handler --------------------------------------------------------
    def _record(self, handler: _Handler, body: Any) -> Reply:
        with self._lock:
            self.requests.append(Received(handler.command, handler.path, dict(handler.headers.items()), body))
            return self._queue.pop(0) if self._queue and body is not None else self.standing

    def _sleep(self, seconds: float) -> bool:
        """Sleep; True when the server is shutting down meanwhile (the handler then gives up)."""
        return seconds > 0 and self._stopping.wait(seconds)
