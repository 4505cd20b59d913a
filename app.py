"""The web app: Gradio chat at ``/``, JSON API under ``/api``, widget at ``/widget.js``.

    python app.py [--host 127.0.0.1] [--port 7860] [--workers N]

builds the index on first start (progress on stderr), then serves (with ``--workers N``, N
processes sharing the rate limit through BULLETIN_RATE_LIMIT_STORAGE, e.g. Redis):

- ``/``              the chat (Gradio)
- ``/api/ask``       POST, JSON answer;  ``/api/ask/stream`` POST, Server-Sent Events
- ``/api/sources/{chunk_id}``  a cited passage with its article context
- ``/api/feedback``  POST, 「答案有误」 from the widget (the same file as the chat's button)
- ``/api/health``    readiness (503 when not healthy)
- ``/widget.js``     the embeddable widget;  ``/widget/demo`` a page embedding it
- ``/docs``          OpenAPI docs (Swagger UI served from web/static/swagger-ui, no CDN)

Settings are read once, in ``main()``; tests call ``create_app(settings, assistant)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from assistant.chain import BulletinAssistant
    from settings import Settings

STATIC = Path(__file__).resolve().parent / "web" / "static"
log = logging.getLogger("app")


def create_app(settings: Settings, assistant: BulletinAssistant | None = None, build_index: bool = True) -> FastAPI:
    """The FastAPI app (API, widget, Gradio chat).  Builds the assistant (and a missing index) when not given."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
    from fastapi.staticfiles import StaticFiles

    from index.loaders import max_file_bytes
    from web.api import BodyLimitMiddleware, Services, build_router
    from web.chat_ui import CSS, HEAD, build_chat_ui
    from web.cors import ApiOriginMiddleware, OriginPolicy
    from web.errors import install_error_handlers
    from web.ratelimit import RateLimiter

    if assistant is None:
        assistant = build_assistant(settings, build_index=build_index, show_progress=False)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answer")
    services = Services(settings, assistant, RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_storage), executor)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not getattr(assistant, "ready", True):
            # Serve at once; /api/health says "ready" when the first answer's loading is done.
            executor.submit(assistant.warm_up)
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="开发区工作简报助手 API",
        description=(
            "Ask questions over the development-zone bulletins (开发区工作简报). Answers cite passages as [n]; "
            "every error is JSON `{error, message}`. Streaming: `POST /api/ask/stream` (Server-Sent Events)."
        ),
        version="1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: FastAPI's default page loads Swagger UI from a CDN
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ApiOriginMiddleware, policy=OriginPolicy(settings.cors_origins),  # outermost: 403 first
                       prefix=("/api", "/gradio_api"))
    app.include_router(build_router(services))

    app.mount("/docs-assets", StaticFiles(directory=STATIC / "swagger-ui"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} · 接口文档",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js", swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js", media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @app.get("/widget/demo", include_in_schema=False, response_class=HTMLResponse)
    async def widget_demo() -> HTMLResponse:
        return HTMLResponse((STATIC / "demo.html").read_text(encoding="utf-8"))

    @app.get("/widget", include_in_schema=False)
    async def widget_root() -> RedirectResponse:
        return RedirectResponse("/widget/demo")

    demo, _ = build_chat_ui(settings, assistant, services.limiter)
    theme = gr.themes.Soft(
        font=["PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    app = gr.mount_gradio_app(
        app, demo, path="/", footer_links=[], run_history=False, theme=theme, css=CSS, head=HEAD,
        max_file_size=max_file_bytes(settings.max_file_mb), ssr_mode=False, server_name=settings.host, server_port=settings.port,
    )
    # Gradio checks that a file handed to an event (the admin upload) was uploaded through it only once
    # the Blocks "launched"; a mounted Blocks never does, and would then copy any server path a client
    # names (``{"path": "/etc/…"}``) into its cache before the admin token is even looked at.
    demo.has_launched = True
    return app


def build_assistant(settings: Settings, build_index: bool = True, show_progress: bool = True) -> BulletinAssistant:
    """The one assistant of the process; builds the index first when it is missing."""
    from assistant.chain import BulletinAssistant
    from index.store import BulletinIndex
    from web.indexing import ensure_index

    index = BulletinIndex(settings)
    if build_index:
        ensure_index(index, settings.corpus_dir, show_progress=show_progress,
                     log=lambda m: print(m, file=sys.stderr, flush=True))
    return BulletinAssistant(settings, index=index)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Serve the bulletin assistant (chat, API, widget).")
    p.add_argument("--host", help="interface to listen on (default: BULLETIN_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: BULLETIN_PORT or 7860)")
    p.add_argument("--no-warmup", action="store_true", help="do not answer a first question before serving")
    p.add_argument("--workers", type=int, help="processes serving requests (default: BULLETIN_WORKERS or 1); more "
                   "than one needs a shared rate-limit storage (BULLETIN_RATE_LIMIT_STORAGE=redis://HOST:PORT)")
    return p


def worker_app() -> FastAPI:
    """The app of one worker process of ``--workers N`` (uvicorn imports it by name in each process).
    The parent built the index; each worker warms its models in the background and reports ready
    on /api/health when done."""
    from settings import load_settings

    settings = load_settings()
    return create_app(settings, build_assistant(settings, build_index=False))


def check_workers(settings: Settings) -> str | None:
    """Why ``settings.workers`` processes cannot serve as configured (None: they can)."""
    from web.ratelimit import RateLimiter, RateLimitStorageError

    if settings.workers > 1 and settings.rate_limit_per_minute > 0:
        limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_storage)
        if not limiter.shared:
            return (f"{settings.workers} workers with BULLETIN_RATE_LIMIT_STORAGE={settings.rate_limit_storage} would each "
                    f"count their own quota ({settings.rate_limit_per_minute}/min per worker, not per client): set "
                    "BULLETIN_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379 (e.g. Debian's redis-server), or "
                    "BULLETIN_RATE_LIMIT_PER_MINUTE=0 to serve without a limit")
        try:
            limiter.check()
        except RateLimitStorageError as exc:
            return f"{exc}: start it, or point BULLETIN_RATE_LIMIT_STORAGE at a running one"
    return None


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from assistant.selector import SelectorError
    from index.errors import BulletinIndexError
    from settings import SettingsError, load_settings

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = check_workers(settings)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if settings.workers > 1:
        try:
            build_assistant(settings, build_index=True, show_progress=True)  # once, before the workers start
        except (BulletinIndexError, SelectorError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        # The workers read their settings from the environment: hand them what the command line changed.
        os.environ.update({f"BULLETIN_{k.upper()}": str(v) for k, v in overrides.items()})
        print(f"Serving on http://{settings.host}:{settings.port}/ with {settings.workers} workers "
              f"(rate limit shared in {settings.rate_limit_storage})", file=sys.stderr, flush=True)
        uvicorn.run("app:worker_app", factory=True, workers=settings.workers, host=settings.host, port=settings.port,
                    log_level="info", timeout_graceful_shutdown=5)
        return 0
    try:
        assistant = build_assistant(settings, build_index=True, show_progress=True)
        if not args.no_warmup:
            print("Loading the models (first answer)…", file=sys.stderr, flush=True)
            print(f"ready after {assistant.warm_up():.1f} s of warm-up", file=sys.stderr, flush=True)
    except (BulletinIndexError, SelectorError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, assistant)
    print(f"Serving on http://{settings.host}:{settings.port}/  (API docs: /docs, widget: /widget/demo)",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
