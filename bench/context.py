"""What every section shares: options, the question texts, one loaded assistant.

The assistant is loaded once, lazily, with its index built into the bench's
own work folder (never the repository's ``index/``). This module measures
nothing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    out_dir: Path
    work_dir: Path
    quick: bool = False
    max_questions: int | None = None
    scale_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    vectors: int = 1_000_000
    encode_limit: int | None = None
    _assistant: object = field(default=None, repr=False)
    _questions: list[str] | None = field(default=None, repr=False)

    @property
    def index_dir(self) -> Path:
        return self.work_dir / "index"

    @property
    def questions(self) -> list[str]:
        """Eval question texts (duplicates removed, order kept), capped by --questions."""
        if self._questions is None:
            from eval.dataset import load_questions

            texts = list(dict.fromkeys(q.question for q in load_questions()))
            self._questions = texts[: self.max_questions] if self.max_questions else texts
        return self._questions

    @property
    def assistant(self):
        if self._assistant is None:
            from qa import Assistant

            self._assistant = Assistant.load(index_dir=self.index_dir)
        return self._assistant

    def child_env(self, **extra: str) -> dict[str, str]:
        """Environment for subprocesses: offline, this repo importable, the bench index."""
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "GRADIO_ANALYTICS_ENABLED": "False", "QA_INDEX_DIR": str(self.index_dir),
               "PYTHONPATH": str(REPO)}
        env.update(extra)
        return env


PYTHON = sys.executable


def clear_cache(assistant) -> None:
    """Empty the answer cache so the next ask() is a real one."""
    assistant.clear_cache()
