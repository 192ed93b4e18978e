"""Regenerate the README's screenshots of the chat from a real server.

    .venv/bin/python scripts/screenshots.py                  # starts app.py on a free port
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:7860

Writes docs/screenshot-chat.png (desktop, 1280x800) and docs/screenshot-phone.png
(phone, 390x844), each after asking the same question, in Debian's headless
Chromium (/usr/bin/chromium). Started by this script, the server builds or
reuses the index as `python app.py` does and is stopped at the end. This
script does not run in the test suite and writes nothing but the two images.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUESTION = "What are the risks of a hip injection?"
SHOTS = (
    ("screenshot-chat.png", {"width": 1280, "height": 800}),
    ("screenshot-phone.png", {"width": 390, "height": 844}),
)
START_TIMEOUT_S = 300


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_server(url: str | None):
    """The given server, or app.py started on a free loopback port and stopped afterwards."""
    if url:
        if not _healthy(url):
            sys.exit(f"error: no healthy server at {url} (GET /api/health failed)")
        yield url.rstrip("/")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "HOST": "127.0.0.1", "PORT": str(port)}
    process = subprocess.Popen([sys.executable, str(REPO / "app.py")], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                sys.exit(f"error: app.py exited with {process.returncode}:\n{process.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                sys.exit(f"error: app.py was not healthy after {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def take(url: str, out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, viewport in SHOTS:
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(url + "/")
            box = page.get_by_label("Your question")
            box.fill(QUESTION)
            box.press("Enter")
            page.locator("#qa-chat article.qa-answer").wait_for(timeout=60_000)
            page.locator("#qa-chat .qa-pending").wait_for(state="detached")
            # The page scrolls the new question to the top after two frames; then Gradio's fonts and layout are still.
            page.wait_for_timeout(500)
            path = out_dir / name
            page.screenshot(path=str(path))
            written.append(path)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start app.py on a free port)")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the images (default: docs/)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with running_server(args.url) as url:
        for path in take(url, args.out):
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
