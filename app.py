"""Serve the hip-injection FAQ: chat at "/", embed at "/embed", JSON API at "/api".

    python app.py [--host 127.0.0.1] [--port 7860] [--root-path /faq]
                  [--forwarded-allow-ips 127.0.0.1] [--header-timeout 10]
                  [--keep-alive-timeout 5] [--max-connections 1000] [--graceful-timeout 10]
                  [--collect-feedback] [--data-dir data] [--database-url URL] [--retention-days 30]

Flags fall back to environment variables of the same name (HOST, PORT,
ROOT_PATH, CORS_ORIGINS, EMBED_ORIGINS, FORWARDED_ALLOW_IPS, HEADER_TIMEOUT,
KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS, GRACEFUL_TIMEOUT; `--help` lists them all;
docs/security.md says what they protect). Importing this module is cheap: the
model and the index are loaded once, in `main()` (or by whoever calls `create_app`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# The server's parallelism is several questions at once, one core each; thread
# pools inside every library (OpenMP, BLAS, tokenizers) would fight them for the
# two cores (bench/RESULTS.md, "Threads"). Set before numpy/torch are imported;
# an operator's own value wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def create_app(assistant=None, settings=None):
    """The FastAPI app with Gradio mounted; loads the assistant if none is given."""
    from qa_web.server import create_app as build

    if assistant is None:
        from qa import Assistant

        assistant = Assistant.load()  # builds the index on first start if it is missing
    return build(assistant, settings)


def main(argv: Sequence[str] | None = None) -> int:
    from qa_web.settings import parse_settings

    settings = parse_settings(argv)
    from qa import preload_encoder

    preload_encoder()  # the model loads on another core while Gradio and the retrieval libraries import
    from qa_web.server import serve

    from qa import Assistant
    from qa.errors import QAError

    try:
        assistant = Assistant.load()
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(assistant, settings)  # with --collect-feedback this opens (and migrates) the store
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Serving the hip-injection FAQ at http://{settings.host}:{settings.port}{settings.root_path}/", flush=True)
    serve(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
