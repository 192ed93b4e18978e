"""Server settings for the web layer: flags first, then environment, then defaults.

This module only resolves values; it starts nothing and imports neither Gradio
nor the `qa` library, so `python app.py --help` stays instant.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: Questions a single worker answers at once (the model is CPU-bound).
DEFAULT_CONCURRENCY = 16  # questions in flight; the model encodes them in shared batches (qa/batching.py)
#: Requests allowed to wait in Gradio's queue before new ones get "queue full".
DEFAULT_QUEUE_SIZE = 32
#: Largest request body accepted, in bytes; a question is at most 1000 characters.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Seconds a client has, once its connection is ready for a request, to send
#: that request's headers and body; idle and slow (slowloris) clients are closed.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open after a response (uvicorn's default).
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
#: Open connections at once; beyond this a new one gets 503 and is closed. Each
#: open chat tab holds one (Gradio's heartbeat stream), plus one per answer in progress.
DEFAULT_MAX_CONNECTIONS = 1000
#: Largest request head (request line and headers), in bytes; over it: 431.
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
#: Seconds a stopping server waits for open streams before cutting them.
DEFAULT_GRACEFUL_TIMEOUT = 10.0
#: Peers whose X-Forwarded-For/-Proto/-Host headers are believed: the reverse proxy.
DEFAULT_FORWARDED_ALLOW_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    root_path: str = ""
    #: Origins allowed to call the API from a browser (CORS); empty means none.
    cors_origins: tuple[str, ...] = ()
    #: Origins allowed to frame the /embed page; empty means any site may embed it.
    embed_origins: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    queue_size: int = DEFAULT_QUEUE_SIZE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    access_log: bool = True
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT
    #: IP addresses or networks ("10.0.0.0/8", "*" for any) of trusted proxies; empty trusts none.
    forwarded_allow_ips: tuple[str, ...] = DEFAULT_FORWARDED_ALLOW_IPS
    #: Keep redacted unanswered/disliked messages for the content team (qa_web.feedback_api); off by default.
    collect_feedback: bool = False
    data_dir: str | None = None  # None: QA_DATA_DIR or data/ (resolved by qa.feedback.config)
    database_url: str | None = None
    retention_days: int | None = None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip().rstrip("/") for part in (value or "").split(",") if part.strip())


def _normalise_root(path: str) -> str:
    path = path.strip()
    if not path or path == "/":
        return ""
    return "/" + path.strip("/")


def _bad_proxies(entries: Sequence[str]) -> list[str]:
    bad = []
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            bad.append(entry)
    return bad


def parse_settings(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from command-line flags, falling back to environment variables."""
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="Serve the hip-injection FAQ chat, its /embed view and the JSON API.",
    )
    parser.add_argument("--host", default=env.get("HOST", DEFAULT_HOST), help="interface to bind (env HOST; default %(default)s)")
    parser.add_argument("--port", type=int, default=int(env.get("PORT", DEFAULT_PORT)), help="port (env PORT; default %(default)s)")
    parser.add_argument(
        "--root-path",
        default=env.get("ROOT_PATH", ""),
        help="public path prefix when served behind a reverse proxy that strips it, e.g. /faq (env ROOT_PATH)",
    )
    parser.add_argument(
        "--cors-origins",
        default=env.get("CORS_ORIGINS", ""),
        help="comma-separated origins allowed to call the API from a browser (env CORS_ORIGINS; default: none)",
    )
    parser.add_argument(
        "--embed-origins",
        default=env.get("EMBED_ORIGINS", ""),
        help="comma-separated origins allowed to frame /embed (env EMBED_ORIGINS; default: any)",
    )
    parser.add_argument("--concurrency", type=int, default=int(env.get("CONCURRENCY", DEFAULT_CONCURRENCY)), help="questions answered at once (env CONCURRENCY)")
    parser.add_argument("--queue-size", type=int, default=int(env.get("QUEUE_SIZE", DEFAULT_QUEUE_SIZE)), help="waiting requests before 'busy' (env QUEUE_SIZE)")
    parser.add_argument("--no-access-log", action="store_true", help="turn off uvicorn's access log (it never holds questions, only paths)")
    parser.add_argument(
        "--forwarded-allow-ips",
        default=env.get("FORWARDED_ALLOW_IPS", ",".join(DEFAULT_FORWARDED_ALLOW_IPS)),
        help="comma-separated IPs or networks of the reverse proxy, whose X-Forwarded-* headers are believed; "
        "from anyone else they are dropped (env FORWARDED_ALLOW_IPS; default %(default)s; '' trusts none)",
    )
    parser.add_argument(
        "--header-timeout", type=float, default=float(env.get("HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)),
        help="seconds a client has to send a request's headers and body; idle and slow connections are closed "
        "(env HEADER_TIMEOUT; default %(default)s)",
    )
    parser.add_argument(
        "--keep-alive-timeout", type=float, default=float(env.get("KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_TIMEOUT)),
        help="seconds an idle connection stays open after a response (env KEEP_ALIVE_TIMEOUT; default %(default)s)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=int(env.get("MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS)),
        help="open connections at once; more get 503 and are closed (env MAX_CONNECTIONS; default %(default)s)",
    )
    parser.add_argument(
        "--graceful-timeout", type=float, default=float(env.get("GRACEFUL_TIMEOUT", DEFAULT_GRACEFUL_TIMEOUT)),
        help="seconds a stopping server waits for open requests and streams (env GRACEFUL_TIMEOUT; default %(default)s)",
    )
    parser.add_argument("--collect-feedback", action="store_true", default=env.get("QA_COLLECT_FEEDBACK", "").strip().lower()
                        in ("1", "true", "yes", "on"), help="keep redacted unanswered and disliked messages for the content "
                        "team's /admin/ page (env QA_COLLECT_FEEDBACK=1; default off: nothing is kept)")
    parser.add_argument("--data-dir", default=env.get("QA_DATA_DIR"), help="folder of the feedback store (env QA_DATA_DIR; default data/)")
    parser.add_argument("--database-url", default=env.get("QA_DATABASE_URL"), help="SQLAlchemy URL of a shared store, e.g. "
                        "postgresql+psycopg://user@host/db (env QA_DATABASE_URL; default SQLite in --data-dir)")
    parser.add_argument("--retention-days", type=int, default=env.get("QA_RETENTION_DAYS"), help="days kept feedback is "
                        "deleted after (env QA_RETENTION_DAYS; default 30)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error("--port must be between 1 and 65535")
    if args.concurrency < 1 or args.queue_size < 1:
        parser.error("--concurrency and --queue-size must be at least 1")
    if min(args.header_timeout, args.keep_alive_timeout) <= 0 or args.graceful_timeout < 0:
        parser.error("--header-timeout and --keep-alive-timeout must be above 0, --graceful-timeout at least 0")
    if args.max_connections < 1:
        parser.error("--max-connections must be at least 1")
    proxies = _split(args.forwarded_allow_ips)
    if bad := _bad_proxies(proxies):
        parser.error(f"--forwarded-allow-ips: {', '.join(bad)} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, *)")
    return Settings(
        host=args.host,
        port=args.port,
        root_path=_normalise_root(args.root_path),
        cors_origins=_split(args.cors_origins),
        embed_origins=_split(args.embed_origins),
        concurrency=args.concurrency,
        queue_size=args.queue_size,
        access_log=not args.no_access_log,
        header_timeout=args.header_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
        graceful_timeout=args.graceful_timeout,
        forwarded_allow_ips=proxies,
        collect_feedback=args.collect_feedback,
        data_dir=args.data_dir,
        database_url=args.database_url,
        retention_days=int(args.retention_days) if args.retention_days is not None else None,
    )
