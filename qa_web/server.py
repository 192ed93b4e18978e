"""One FastAPI process: the JSON API at /api, the chat at "/", the embed at "/embed".

`create_app` wires an already-loaded assistant into FastAPI, mounts the two
Gradio views with every optional feature off (no share link, analytics, run
history, flagging, uploads, monitoring, PWA, MCP or SSR) and adds CORS only
for an explicit allow-list. `serve` runs it under uvicorn. Loading the model
is the caller's job (see app.py); this module does not parse flags.
"""

from __future__ import annotations

import os

# Set before Gradio is imported anywhere: no telemetry, no version check.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402

from . import api, ui  # noqa: E402
from .hardening import HardeningMiddleware  # noqa: E402
from .settings import Settings  # noqa: E402

EMBED_PATH = "/embed"


def _mount(app: FastAPI, blocks: gr.Blocks, *, path: str, settings: Settings, footer: list, css: str) -> None:
    # api_open=False closes /gradio_api/run/* (the route that skips the queue);
    # the middleware refuses it as well.
    blocks.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size, api_open=False)
    public_path = settings.root_path + (path if path != "/" else "")
    gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        root_path=public_path or None,
        footer_links=footer,
        run_history=False,
        show_error=False,
        max_file_size=1,
        ssr_mode=False,
        enable_monitoring=False,
        pwa=False,
        mcp_server=False,
        theme=ui.theme(),
        css=css,
        js=ui.ACCESSIBLE_NAMES_JS,
    )


def create_app(assistant, settings: Settings | None = None, *, max_chars: int | None = None) -> FastAPI:
    """The whole web app around a loaded assistant (anything with ask/manifest/corpus_markdown)."""
    settings = settings or Settings()
    if max_chars is None:
        from qa import MAX_QUESTION_CHARS as max_chars  # noqa: N811
    app = FastAPI(
        title="Hip injection FAQ API",
        version="1",
        description=(
            "Answers patients' questions about hip injections by quoting the clinic's document. "
            "Not medical advice. Use POST /api/ask from the clinic's website."
        ),
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        root_path=settings.root_path,
    )
    # CORS is off unless origins are configured; Gradio also defers to this
    # middleware instead of adding its own permissive localhost rules.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        allow_credentials=False,
    )
    app.add_middleware(
        HardeningMiddleware,
        max_body_bytes=settings.max_body_bytes,
        embed_prefix=EMBED_PATH,
        embed_origins=settings.embed_origins,
    )
    api.install_error_handlers(app, max_chars=max_chars)
    gate = api.Gate(settings.concurrency, settings.queue_size)
    app.include_router(api.build_router(assistant, max_chars=max_chars, gate=gate))

    service = ui.ChatService(assistant, max_chars=max_chars)
    # The embed is mounted first: the chat at "/" would otherwise swallow /embed.
    _mount(app, ui.build_blocks(service, compact=True), path=EMBED_PATH, settings=settings, footer=[], css=ui.CSS + ui.EMBED_CSS)
    _mount(app, ui.build_blocks(service, compact=False), path="/", settings=settings, footer=[], css=ui.CSS)
    return app


def serve(app: FastAPI, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        root_path=settings.root_path,
        access_log=settings.access_log,
        server_header=False,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
