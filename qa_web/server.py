"""One FastAPI process: the JSON API at /api, the chat at "/", the embed at "/embed".

`create_app` wires an already-loaded assistant into FastAPI, mounts the two
Gradio views with every optional feature off (no share link, analytics, run
history, flagging, uploads, monitoring, PWA, MCP or SSR), puts the allow-list
gate in front of them and adds CORS only for an explicit allow-list. `serve`
runs it under uvicorn with the connection limits of `qa_web.connections`.
Loading the model is the caller's job (see app.py); this module does not
parse flags. docs/security.md says what the layers guarantee.
"""

from __future__ import annotations

import gc
import os

# Set before Gradio is imported anywhere: no telemetry, no version check.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402

from . import api, feedback_api, ui  # noqa: E402
from .backstop import Backstop  # noqa: E402
from .forwarded import ForwardedHeaders  # noqa: E402
from .gradio_gate import GradioGate  # noqa: E402
from .gradio_surface import surface_of  # noqa: E402
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
    # Gradio checks a FileData path named in a request (only files it was sent
    # may be read) only once `launch()` has set this flag; `mount_gradio_app`
    # never sets it, so a mounted app hashes and copies any path it is given
    # (docs/security.md, "Upstream"). The gate refuses FileData outright; this
    # turns Gradio's own check on as a second line. Nothing else reads the flag.
    blocks.has_launched = True


def create_app(assistant, settings: Settings | None = None, *, max_chars: int | None = None) -> FastAPI:
    """The whole web app around a loaded assistant (anything with ask/manifest/corpus_markdown).

    Middleware, outermost first: Backstop (no traceback escapes), ForwardedHeaders
    (X-Forwarded-* only from --forwarded-allow-ips), HardeningMiddleware (body
    cap, security headers, no-store), GradioGate (the allow-list), CORS.
    """
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
        swagger_ui_oauth2_redirect_url=None,  # no OAuth here; FastAPI would serve it at /docs/...
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
    api.install_error_handlers(app, max_chars=max_chars)
    assistant = feedback_api.install(app, assistant, settings)  # only with --collect-feedback: /api/feedback, /admin/
    gate = api.Gate(settings.concurrency, settings.queue_size)
    service = ui.ChatService(assistant, max_chars=max_chars)
    app.include_router(api.build_router(assistant, max_chars=max_chars, gate=gate, contact=service.clinic.to_dict()))
    embed, chat = ui.build_blocks(service, compact=True), ui.build_blocks(service, compact=False)
    # The embed is mounted first: the chat at "/" would otherwise swallow /embed.
    _mount(app, embed, path=EMBED_PATH, settings=settings, footer=[], css=ui.CSS + ui.EMBED_CSS)
    _mount(app, chat, path="/", settings=settings, footer=[], css=ui.CSS)
    # Added innermost first. The gate checks payloads against the events each page registered.
    pages = {EMBED_PATH: (embed, surface_of(embed)), "": (chat, surface_of(chat))}
    # The staff page exists only with --collect-feedback; otherwise /admin is Gradio's path and gated like any other.
    own = ("/api", "/admin") if settings.collect_feedback else ("/api",)
    app.add_middleware(GradioGate, pages=pages, own_prefixes=own)
    app.add_middleware(
        HardeningMiddleware,
        max_body_bytes=settings.max_body_bytes,
        embed_prefix=EMBED_PATH,
        embed_origins=settings.embed_origins,
    )
    if settings.collect_feedback:  # outside the app-wide headers: the staff page is never framed or cached
        from .admin_guard import AdminHeaders

        app.add_middleware(AdminHeaders)
    app.add_middleware(ForwardedHeaders, trusted=settings.forwarded_allow_ips)
    app.add_middleware(Backstop)
    return app


def settle_heap() -> None:
    """Move everything alive now (the loaded index, Gradio, FastAPI: about 250,000
    objects) out of the garbage collector's sight. A full collection otherwise
    walks all of them while holding the GIL, and every request waits: 159 and
    168 ms under the bench's open loop, against 65 ms frozen (one each, busy
    machine); it then walks only what requests made since, mostly the answer
    cache. Nothing frozen is ever freed, which is what a serving process wants
    of its start-up objects."""
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, settings: Settings) -> None:
    import uvicorn

    from .connections import guarded_protocol

    settle_heap()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        root_path=settings.root_path,
        access_log=settings.access_log,
        server_header=False,
        log_level="info",
        # Forwarded headers are handled in the app (qa_web.forwarded), which
        # also drops X-Forwarded-Host from untrusted peers.
        proxy_headers=False,
        http=guarded_protocol(
            header_timeout=settings.header_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_connections,
        ),
        ws="none",  # Gradio 6 talks over HTTP and server-sent events only
        timeout_keep_alive=settings.keep_alive_timeout,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=settings.graceful_timeout,
    )
