"""The JSON API under ``/api``: ask, streamed ask (SSE), cited passages, health.

Every error is JSON ``{"error": code, "message": text}`` (see ``web.errors``);
questions are limited in length, clients in rate (``web.ratelimit``) and
requests in time (``settings.request_timeout_s``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.chain import BulletinAssistant
from assistant.turn import InvalidQuestionError, QuestionTooLongError, validate_question
from index.errors import BulletinIndexError, IndexNotBuiltError, StoreUnavailableError
from web.errors import ApiError, error_response
from web.feedback import record_feedback
from web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_HISTORY_TURNS = 40
MAX_TURN_CHARS = 4000
MAX_CHUNK_ID_CHARS = 200
SEED_EXAMPLE = "吕梁市“三个一批”活动签约投资额是多少？"


@dataclass
class Services:
    """What the routes share: built once per process in ``create_app``."""

    settings: Any
    assistant: BulletinAssistant
    limiter: RateLimiter
    executor: ThreadPoolExecutor


# --- models (they make /docs useful) -----------------------------------------------
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _unicode_text(value: str) -> str:
    """JSON may spell lone surrogates (``"\\ud800"``); they are not text and cannot be encoded back out."""
    if LONE_SURROGATE.search(value):
        raise ValueError("不是合法的 Unicode 文本（含孤立的代理字符）(invalid Unicode: lone surrogate)")
    return value


Text = Annotated[str, AfterValidator(_unicode_text)]


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant", "system"] = Field("user", description="who said it")
    content: Text = Field(..., max_length=MAX_TURN_CHARS)


# A document date or its prefix, as the index stores dates: 2024, 2024-05, 2024-05-20 (or empty).
DATE_PREFIX = r"^(\d{4}(-\d{2}(-\d{2})?)?)?$"


class AskRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"question": SEED_EXAMPLE}, {
            "question": "那开工了多少个？", "history": [SEED_EXAMPLE], "city": "吕梁市", "k": 5}]}
    )

    question: Text = Field(..., description="问题 (the question, in Chinese or English)")
    history: list[Text | HistoryTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS,
        description="earlier turns, oldest first: plain strings (previous questions) or {role, content} dicts",
    )
    city: Text | None = Field(None, max_length=40, description="only passages of this city, e.g. 吕梁市")
    k: int | None = Field(None, ge=1, le=20, description="how many passages to use (default: settings.top_k)")
    date_from: str | None = Field(None, alias="from", pattern=DATE_PREFIX,
                                  description="only documents dated on or after (YYYY[-MM[-DD]])")
    date_to: str | None = Field(None, alias="to", pattern=DATE_PREFIX,
                                description="only documents dated up to (YYYY[-MM[-DD]], inclusive)")


class FeedbackCitation(BaseModel):
    n: int | None = None
    chunk_id: str = Field("", max_length=80)
    text: Text = Field("", max_length=MAX_TURN_CHARS)


class FeedbackIn(BaseModel):
    """「答案有误」 from the widget: what was asked, what was answered, and optionally the right answer."""

    question: Text = Field(..., description="the question the answer was for")
    history: list[Text | HistoryTurn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    answer: Text = Field("", max_length=MAX_TURN_CHARS, description="the answer text that was wrong")
    refused: bool = False
    citations: list[FeedbackCitation] = Field(default_factory=list, max_length=20)
    correction: Text | None = Field(None, max_length=2000, description="the right answer, if the reader knows it")


class FeedbackOut(BaseModel):
    ok: bool = True
    message: str = "已记录，谢谢指正 (recorded)"


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    text: str = Field(description="cleaned passage text (figures written as in the answer)")
    original: str = Field("", description="the passage as printed")
    source: str
    title: str = Field(description="article title")
    city: str
    section: str
    start: int = 0
    end: int = 0
    score: float = 0.0
    date: str = Field("", description="the document's date (ISO; \"\" when unknown)")
    date_source: str = Field("", description="where the date came from: manifest | header | text | mtime")
    issue: str = Field("", description="the issue label as printed (期号), \"\" when none")


class AnswerOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    question: str
    answer: str = Field(description="answer text with [n] citation markers; starts with 简报中未找到 when refused")
    refused: bool
    citations: list[CitationOut] = []
    nearest: list[CitationOut] = Field([], description="for a refusal: the nearest passages")
    unsupported_figures: list[str] = Field([], description="figures of the answer found in no cited passage")
    backend: str = "extractive"
    fallback_reason: str | None = None
    condensed_question: str = ""
    timings_ms: dict[str, float] = {}
    retrieved: list[str] = []
    table: list[dict[str, Any]] = Field([], description="for a sum / comparison / list / trend answer: the figure-table "
                                        "rows it was computed from (fields as GET /api/figures), each cited")
    table_kind: str = Field("", description="sum | difference | compare | list | trend | latest | previous; \"\" for a passage answer")


class ErrorOut(BaseModel):
    error: str = Field(description="machine-readable code, e.g. question_too_long, rate_limited, timeout")
    message: str = Field(description="human-readable message (Chinese, with English)")


class ContextPassage(BaseModel):
    chunk_id: str
    text: str
    original: str
    section: str
    item: str
    start: int
    end: int
    cited: bool = Field(description="true for the requested passage")


class SourceOut(BaseModel):
    chunk_id: str
    text: str
    original: str
    city: str
    article_title: str
    article_index: int
    section: str
    item: str
    source: str = Field(description="source file in the corpus")
    issue_title: str
    start: int
    end: int
    context: list[ContextPassage] = Field(description="passages of the same article, in order")


class FigureOut(BaseModel):
    entity: str = Field(description="place or zone the figure is about (the article's city when the sentence names none)")
    metric: str = Field(description="what it measures, as written: 签约投资额")
    value: str = Field(description="number and multiplier as printed: 24.07亿")
    unit: str
    normalised: float = Field(description="value in the base unit (元, %, 千瓦 …)")
    base: str
    kind: str
    period: str = Field(description="the period its sentence states (\"\" when none)")
    date: str = Field(description="the document's date (ISO; \"\" when unknown)")
    source: str
    chunk_id: str = Field(description="the passage it is quoted from (GET /api/sources/{chunk_id})")
    start: int
    end: int
    text: str = Field(description="the figure as printed: 24.07亿元")


class FiguresOut(BaseModel):
    total: int = Field(description="rows matching the filters")
    rows: list[FigureOut]


class HealthDetails(BaseModel):
    """Only for a request carrying the admin token: paths, models and backends are not public."""

    store: str
    data_dir: str
    embed_model: str | None
    selector: str | None
    llm_model: str | None = None
    worker: int = Field(0, description="process id of the worker that answered (python app.py --workers N)")
    rate_limit_storage: str = ""
    problems: list[str] = []


class HealthOut(BaseModel):
    ok: bool = Field(..., description="ready to answer: index built and readable, store reachable, models warm")
    ready: bool = Field(..., description="the models are loaded (the first answer is as fast as the tenth)")
    index_built: bool
    chunks: int
    sources: int
    generation: int
    store_reachable: bool
    llm_configured: bool
    problems: int = Field(0, description="how many problems were found (their text: with the admin token)")
    details: HealthDetails | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        400: "body is not valid JSON",
        403: "cross-origin request from an origin not allowed",
        413: "question (or body) too long",
        422: "invalid request (empty question, bad field)",
        429: "rate limited (see Retry-After)",
        503: "index not built or store unavailable",
        504: "the answer took longer than request_timeout_s",
    }.items()
}


# --- helpers ---------------------------------------------------------------------------
def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check_question(question: str, max_chars: int) -> str:
    try:
        return validate_question(question, max_chars)
    except QuestionTooLongError as exc:
        raise ApiError(exc.status, exc.code, str(exc), limit=exc.limit, length=exc.length) from None
    except InvalidQuestionError as exc:
        raise ApiError(exc.status, exc.code, str(exc)) from None


def _error_for(exc: BaseException, admin: bool = False) -> ApiError:
    """The JSON error of an exception.  Index and store errors name paths and URLs: those details
    go only to a request carrying the admin token."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidQuestionError):
        return ApiError(exc.status, exc.code, str(exc))
    detail = f": {exc}" if admin else ""
    if isinstance(exc, IndexNotBuiltError):
        return ApiError(503, "index_not_built", f"索引尚未建立 (the index is not built){detail}")
    if isinstance(exc, StoreUnavailableError):
        return ApiError(503, "store_unavailable", f"向量库暂时不可用，请稍后再试 (the vector store is unavailable){detail}")
    if isinstance(exc, BulletinIndexError):
        return ApiError(503, "index_error", f"索引暂时不可用 (the index is unavailable){detail}")
    log.exception("answering failed", exc_info=exc)
    return ApiError(500, "internal_error", "回答时出错，请稍后再试 (internal error while answering)")


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _unknown_passage(chunk_id: str) -> ApiError:
    return ApiError(404, "unknown_passage", f"找不到段落 {chunk_id[:80]} (unknown passage id)")


def _timeout_error(seconds: float) -> ApiError:
    return ApiError(504, "timeout", f"回答超时（超过 {seconds:g} 秒），请稍后再试或换个问法 (the answer took too long)")


# --- router ---------------------------------------------------------------------------------
def build_router(svc: Services) -> APIRouter:
    settings = svc.settings
    router = APIRouter(prefix="/api", tags=["api"])

    async def rate_limit(request: Request) -> None:
        wait = svc.limiter.hit(client_key(request))
        if wait:
            seconds = math.ceil(wait)
            raise ApiError(
                429, "rate_limited",
                f"请求过于频繁（每分钟最多 {svc.limiter.limit} 次），请 {seconds} 秒后再试 (too many requests; retry in {seconds} s)",
                headers={"Retry-After": str(seconds)}, retry_after=seconds,
            )

    def prepare(body: AskRequest) -> dict[str, Any]:
        question = check_question(body.question, settings.max_question_chars)
        history = [t if isinstance(t, str) else t.model_dump() for t in body.history]
        city = (body.city or "").strip()
        if city and city not in ("全部", "all"):
            known = svc.assistant.known_cities()
            if city not in known and f"{city}市" in known:
                city = f"{city}市"
            if city not in known:
                raise ApiError(422, "unknown_city", f"简报中没有城市「{city}」(unknown city); 可选 (known): {'、'.join(known)}")
        else:
            city = ""
        args = {"question": question, "history": history, "city": city, "k": body.k}
        if body.date_from or body.date_to:  # only then: assistants without a date filter still work
            if body.date_from and body.date_to and body.date_to < body.date_from[: len(body.date_to)]:
                raise ApiError(422, "bad_date_range", f"日期范围有误：from {body.date_from} 晚于 to {body.date_to}")
            args.update(date_from=body.date_from or "", date_to=body.date_to or "")
        return args

    @router.post("/ask", response_model=AnswerOut, responses=ERRORS, summary="Answer a question (JSON)",
                 dependencies=[Depends(rate_limit)])
    async def ask(body: AskRequest, request: Request) -> JSONResponse:
        args = prepare(body)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(svc.executor, lambda: svc.assistant.ask(**args))
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), settings.request_timeout_s)
        except TimeoutError:
            raise _timeout_error(settings.request_timeout_s) from None
        except Exception as exc:
            raise _error_for(exc, is_admin(request, settings)) from exc
        return JSONResponse(answer.to_json())

    @router.post(
        "/ask/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": (
            "Server-Sent Events: `segment` {text} as the answer streams; `reset` {reason} when the streamed "
            "text is replaced by the fallback answer; then `answer` (the Answer JSON) or `error` {error, message}.")}},
        summary="Answer a question as a stream of Server-Sent Events",
        dependencies=[Depends(rate_limit)],
    )
    async def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
        args = prepare(body)
        deadline = time.monotonic() + settings.request_timeout_s
        stream = _ThreadedStream(svc, args)
        # The first event decides the status: an early failure or timeout is a plain JSON error.
        try:
            first = await stream.next(deadline)
        except TimeoutError:
            stream.cancel()
            raise _timeout_error(settings.request_timeout_s) from None
        except Exception as exc:
            raise _error_for(exc, is_admin(request, settings)) from exc

        async def events() -> AsyncIterator[bytes]:
            item = first
            try:
                while item is not None:
                    for event in _chunk_events(item):
                        yield event
                    if item.answer is not None:
                        return
                    while True:  # the next piece; a comment every sse_keepalive_s so proxies keep the stream open
                        if await request.is_disconnected():
                            return
                        try:
                            item = await stream.next(min(deadline, time.monotonic() + settings.sse_keepalive_s))
                            break
                        except TimeoutError:
                            if time.monotonic() < deadline:
                                yield b": keep-alive\n\n"
                                continue
                            err = _timeout_error(settings.request_timeout_s)
                            yield sse("error", {"error": err.code, "message": err.message})
                            return
                        except Exception as exc:
                            err = _error_for(exc, is_admin(request, settings))
                            yield sse("error", {"error": err.code, "message": err.message})
                            return
                yield sse("error", {"error": "internal_error", "message": "回答中断 (the answer stream ended early)"})
            finally:
                stream.cancel()

        return StreamingResponse(events(), media_type="text/event-stream; charset=utf-8",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.post("/feedback", response_model=FeedbackOut, responses=ERRORS, summary="Report a wrong answer (「答案有误」)",
                 dependencies=[Depends(rate_limit)])
    async def feedback(body: FeedbackIn) -> FeedbackOut:
        # The same file as the chat's button; `python -m evals import-feedback` turns it into eval cases.
        question = check_question(body.question, settings.max_question_chars)
        history = [t if isinstance(t, str) else t.model_dump() for t in body.history]
        answer = {"answer": body.answer, "refused": body.refused, "citations": [c.model_dump() for c in body.citations]}
        await asyncio.get_running_loop().run_in_executor(
            None, record_feedback, settings.feedback_path, question, history, answer, body.correction)
        return FeedbackOut()

    @router.get("/sources/{chunk_id}", response_model=SourceOut, responses={404: {"model": ErrorOut}},
                summary="A cited passage with its article context")
    async def source(
        chunk_id: str = Path(..., description="chunk id from a citation, e.g. c-c2dea6cb38abd75a"),
        window: int = Query(0, ge=0, le=100, description="neighbours on each side (0: the whole article)"),
    ) -> SourceOut:
        # Ids are looked up in the committed chunks of this index (never used as a file path): anything
        # else — another collection's id, a path, a 10k-character string — is simply not there.
        index = svc.assistant.index
        chunk = index.chunk(chunk_id) if len(chunk_id) <= MAX_CHUNK_ID_CHARS else None
        if chunk is None:
            raise _unknown_passage(chunk_id)
        article = index.article(chunk_id)  # a lookup (grouped once per index generation), not a scan
        if window:
            pos = next(i for i, c in enumerate(article) if c.id == chunk.id)
            article = article[max(pos - window, 0): pos + window + 1]
        return SourceOut(
            chunk_id=chunk.id, text=chunk.text, original=chunk.display_text, city=chunk.city,
            article_title=chunk.article_title, article_index=chunk.article_index, section=chunk.section,
            item=chunk.item, source=chunk.source, issue_title=chunk.issue_title, start=chunk.start, end=chunk.end,
            context=[ContextPassage(chunk_id=c.id, text=c.text, original=c.display_text, section=c.section,
                                    item=c.item, start=c.start, end=c.end, cited=c.id == chunk.id) for c in article],
        )

    @router.get("/figures", response_model=FiguresOut, responses={422: {"model": ErrorOut}},
                summary="The figure table, filtered", dependencies=[Depends(rate_limit)])
    async def figures(
        place: str = Query("", max_length=50, description="place or zone, e.g. 吕梁市"),
        metric: str = Query("", max_length=50, description="a word of the metric, e.g. 签约投资额"),
        date_from: str = Query("", alias="from", pattern=DATE_PREFIX, description="documents dated on or after (YYYY[-MM[-DD]])"),
        date_to: str = Query("", alias="to", pattern=DATE_PREFIX, description="documents dated up to (YYYY[-MM[-DD]])"),
        limit: int = Query(200, ge=1, le=2000),
        offset: int = Query(0, ge=0),
    ) -> FiguresOut:
        loop = asyncio.get_running_loop()
        rows, total = await loop.run_in_executor(
            None, lambda: svc.assistant.index.figures(place, metric, date_from, date_to, limit=limit, offset=offset))
        return FiguresOut(total=total, rows=[FigureOut(**r.to_dict()) for r in rows])

    @router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}}, summary="Readiness")
    async def health(request: Request) -> JSONResponse:
        admin = is_admin(request, settings)
        loop = asyncio.get_running_loop()
        try:
            report = await asyncio.wait_for(loop.run_in_executor(None, health_report, svc, admin), 10)
        except TimeoutError:
            report = HealthOut(ok=False, ready=svc.assistant.ready, index_built=False, chunks=0, sources=0, generation=0,
                               store_reachable=False, llm_configured=settings.llm_enabled, problems=1)
        return JSONResponse(report.model_dump(exclude_none=True), status_code=200 if report.ok else 503)

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unknown(rest: str, request: Request) -> JSONResponse:
        if request.method == "GET" and rest.startswith("sources/"):
            # An id holding "/" (「../../etc/passwd」, 「..%2F..」) misses the {chunk_id} route: no such passage either.
            exc = _unknown_passage(rest[len("sources/"):])
            return error_response(exc.status, exc.code, exc.message)
        if rest.strip("/") in ("ask", "ask/stream", "health", "feedback") or rest.startswith("sources/"):
            return error_response(405, "method_not_allowed", f"/api/{rest} 不支持 {request.method} 方法 (method not allowed)")
        return error_response(404, "not_found", f"没有这个接口 /api/{rest[:100]} (no such endpoint); see /docs")

    return router


def health_report(svc: Services, admin: bool = False) -> HealthOut:
    settings = svc.settings
    h = svc.assistant.index.health()
    problems = list(h.problems)
    if not svc.assistant.ready:
        problems.append("warming up: the models are loading")
    details = None
    if admin:
        selector = getattr(getattr(svc.assistant, "extractive", None), "selector", None)
        details = HealthDetails(store=h.store, data_dir=str(settings.data_dir), embed_model=h.embed_model,
                                selector=getattr(selector, "version", None),
                                llm_model=settings.llm_model if settings.llm_enabled else None, worker=os.getpid(),
                                rate_limit_storage=settings.rate_limit_storage, problems=problems)
    return HealthOut(
        ok=not problems, ready=svc.assistant.ready, index_built=h.built, chunks=h.chunks, sources=h.sources,
        generation=h.generation, store_reachable=h.store_reachable, llm_configured=bool(settings.llm_enabled),
        problems=len(problems), details=details,
    )


def is_admin(request: Request, settings: Any) -> bool:
    """Does the request carry the admin token (``X-Admin-Token`` or ``Authorization: Bearer``)?"""
    token = settings.admin_token
    if not token:
        return False
    given = request.headers.get("x-admin-token") or ""
    auth = request.headers.get("authorization") or ""
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _chunk_events(chunk: Any) -> Iterator[bytes]:
    if chunk.reset is not None:
        yield sse("reset", {"reason": chunk.reset.reason})
    if chunk.text:
        yield sse("segment", {"text": chunk.text})
    if chunk.answer is not None:
        yield sse("answer", chunk.answer.to_json())


TOO_LARGE = f"请求体过大（上限 {MAX_BODY_BYTES // 1024} KB）(request body too large)"


class BodyLimitMiddleware:
    """413 JSON for API request bodies over ``max_bytes`` (declared or streamed), before JSON parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, prefix: str = "/api") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await error_response(413, "payload_too_large", TOO_LARGE)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # An HTTPException passes through FastAPI's body parsing and becomes a JSON 413.
                raise StarletteHTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, limited, send)


class _ThreadedStream:
    """Runs ``assistant.stream`` in a worker thread; the event loop awaits its chunks."""

    _END = object()

    def __init__(self, svc: Services, args: dict[str, Any]) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._stop = threading.Event()
        svc.executor.submit(self._run, svc.assistant, args)

    def _put(self, item: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # loop closed: nobody is listening any more
            self._stop.set()

    def _run(self, assistant: BulletinAssistant, args: dict[str, Any]) -> None:
        try:
            for chunk in assistant.stream(**args):
                if self._stop.is_set():
                    return
                self._put(chunk)
        except BaseException as exc:
            self._put(exc)
        finally:
            self._put(self._END)

    def cancel(self) -> None:
        self._stop.set()

    async def next(self, deadline: float) -> Any:
        """The next chunk, None at the end; raises the worker's exception or TimeoutError."""
        item = await asyncio.wait_for(self._queue.get(), max(deadline - time.monotonic(), 0.001))
        if item is self._END:
            return None
        if isinstance(item, BaseException):
            raise item
        return item
