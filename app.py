"""The web app: Gradio chat at ``/``, JSON API under ``/api``, widget at ``/widget.js``.

    python app.py [--host 127.0.0.1] [--port 7860]

builds the index on first start (progress on stderr), then serves:

- ``/``              the chat (Gradio)
- ``/api/ask``       POST, JSON answer;  ``/api/ask/stream`` POST, Server-Sent Events
- ``/api/sources/{chunk_id}``  a cited passage with its article context
- ``/api/health``    readiness (503 when not healthy)
- ``/widget.js``     the embeddable widget;  ``/widget/demo`` a page embedding it
- ``/docs``          OpenAPI docs (Swagger UI served from web/static/swagger-ui, no CDN)

Settings are read once, in ``main()``; tests call ``create_app(settings, assistant)``.
"""

from __future__ import annotations

import argparse
import logging
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
    from web.ratelimit import SlidingWindowLimiter

    if assistant is None:
        assistant = build_assistant(settings, build_index=build_index, show_progress=False)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answer")
    services = Services(settings, assistant, SlidingWindowLimiter(settings.rate_limit_per_minute), executor)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
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
    return p


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from index.errors import BulletinIndexError
    from settings import SettingsError, load_settings

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        assistant = build_assistant(settings, build_index=True, show_progress=True)
        if not args.no_warmup:
            print("Loading the models (first answer)…", file=sys.stderr, flush=True)
            assistant.ask("开发区签约投资额是多少？")
    except (BulletinIndexError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, assistant)
    print(f"Serving on http://{settings.host}:{settings.port}/  (API docs: /docs, widget: /widget/demo)",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
