"""Origin policy for the JSON API: same host, or an allowlisted origin.

Browsers send ``Origin`` on cross-origin requests (and on same-origin POSTs).
An origin that is neither this host nor in ``settings.cors_origins`` is refused
with 403 JSON by the server itself, so a non-browser client spoofing a page
cannot use the API either, and a browser never sees an
``Access-Control-Allow-Origin`` header for it.

>>> policy = OriginPolicy(["http://a.example"])
>>> policy.allowed("http://a.example", "http", "127.0.0.1:7860")
True
>>> policy.allowed("http://127.0.0.1:7860", "http", "127.0.0.1:7860")
True
>>> policy.allowed("http://127.0.0.1:9999", "http", "127.0.0.1:7860")
False
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = {"content-type", "accept", "last-event-id", "cache-control"}


class OriginPolicy:
    def __init__(self, origins: list[str] | None = None) -> None:
        self.origins = {o.rstrip("/").lower() for o in origins or []}
        self.any = "*" in self.origins

    def listed(self, origin: str) -> bool:
        return self.any or origin.rstrip("/").lower() in self.origins

    @staticmethod
    def same_host(origin: str, scheme: str, host: str) -> bool:
        return bool(host) and origin.rstrip("/").lower() == f"{scheme}://{host}".lower()

    def allowed(self, origin: str, scheme: str, host: str) -> bool:
        return self.same_host(origin, scheme, host) or self.listed(origin)


class ApiOriginMiddleware:
    """Pure ASGI middleware guarding ``prefixes``: preflights, CORS headers, 403 for strangers.

    The app guards ``/api`` and Gradio's ``/gradio_api`` (the chat's queue): Gradio alone answers any
    origin with ``Access-Control-Allow-Origin`` and credentials once the host is not localhost, which
    would let every web page use the chat where the widget's allowlist refuses it.
    """

    def __init__(self, app: ASGIApp, policy: OriginPolicy, prefix: str | tuple[str, ...] = "/api") -> None:
        self.app = app
        self.policy = policy
        self.prefixes = (prefix,) if isinstance(prefix, str) else tuple(prefix)

    def guards(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.guards(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        scheme = scope.get("scheme", "http")
        if not self.policy.allowed(origin, scheme, headers.get("host", "")):
            await _json(send, 403, {
                "error": "origin_not_allowed",
                "message": f"来源 {origin[:200]} 未获授权使用本接口 (origin not allowed; ask the administrator to add it "
                           "to BULLETIN_CORS_ORIGINS)",
            })
            return
        cross = not self.policy.same_host(origin, scheme, headers.get("host", ""))
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            requested = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
            bad = [h for h in requested if h not in ALLOWED_HEADERS]
            if bad:
                await _json(send, 403, {"error": "header_not_allowed",
                                        "message": f"不允许的请求头 (headers not allowed): {', '.join(bad)[:200]}"})
                return
            await _send(send, 204, b"", [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ", ".join(sorted(ALLOWED_HEADERS)).encode()),
                (b"access-control-max-age", b"600"),
                (b"vary", b"Origin"),
            ])
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and cross:
                h = MutableHeaders(scope=message)
                h["Access-Control-Allow-Origin"] = origin
                h["Access-Control-Expose-Headers"] = "Retry-After"
                h.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    await _send(send, status, body, [(b"content-type", b"application/json"),
                                     (b"content-length", str(len(body)).encode()), (b"vary", b"Origin")])
