"""app.py as a program: cheap to import, --help without loading anything, and
the Gradio settings that keep the app private (checked in-process on the real
app object, with a stand-in assistant since no question is asked here)."""

from __future__ import annotations

import subprocess
import sys

from web_fixtures import REPO


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_app_loads_no_model_gradio_or_index():
    out = run_python("import sys, app; print(sorted(m for m in ('torch', 'gradio', 'faiss', 'sentence_transformers') if m in sys.modules))")
    assert out.strip() == "[]"


def test_help_lists_the_flags():
    result = subprocess.run([sys.executable, "app.py", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--root-path", "--cors-origins"):
        assert flag in result.stdout


class StandInAssistant:
    """Just enough for create_app to build the pages; never asked a question."""

    manifest = {"passage_count": 1, "corpus": [{"name": "hip_injections.md"}]}

    def corpus_markdown(self, source: str) -> str:
        return (REPO / "corpus" / source).read_text(encoding="utf-8")

    def ask(self, question, k=3):
        raise AssertionError("not used in this test")


def test_gradio_is_configured_private_and_bounded():
    import gradio as gr

    from qa_web.server import create_app
    from qa_web.settings import Settings

    app = create_app(StandInAssistant(), Settings(concurrency=3, queue_size=7), max_chars=1000)
    mounted = [route.app for route in app.routes if hasattr(route, "app") and hasattr(route.app, "get_blocks")]
    assert len(mounted) == 2  # "/embed" and "/"
    for gradio_app in mounted:
        blocks: gr.Blocks = gradio_app.get_blocks()
        assert blocks.analytics_enabled is False
        assert blocks.api_open is False  # the run-without-queue route is closed
        assert blocks._queue.max_size == 7
        assert blocks._queue.default_concurrency_limit == 3
        assert blocks.run_history is False
        assert blocks.enable_monitoring is False
        assert blocks.share is False
        assert not blocks.show_error  # no exception text reaches the browser
        for component in blocks.blocks.values():
            assert not isinstance(component, (gr.File, gr.UploadButton, gr.Image, gr.MultimodalTextbox))
            if isinstance(component, gr.Chatbot):
                assert component.sanitize_html and not component.render_markdown
                assert component.feedback_options is None and component.buttons == ["copy"]
        # Only the documented "ask" endpoint is public.
        public = [fn.api_name for fn in blocks.fns.values() if fn.api_visibility == "public"]
        assert public in ([], ["ask"])
