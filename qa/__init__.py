"""Clinic FAQ assistant: answers hip-injection questions by quoting the clinic's document.

One job: turn a patient's message into an ``Answer`` built only from verbatim
passages of ``corpus/`` (or a plain "not covered"), with its urgency decided.
This package is the core; the app, the CLI, the evaluation and the benchmarks
are shells over it.

Public API::

    from qa import Assistant, preload_encoder
    preload_encoder()                     # optional, first thing: the model loads while the rest imports
    assistant = Assistant.load()          # builds the index on first use
    answer = assistant.ask("will the shot hurt?", k=3, history=[])
    answer.to_dict()

Subpackages, each with its own rule: ``qa.encoder`` (texts to vectors),
``qa.decisions`` (urgent? covered? which part asks?), ``qa.feedback`` (the
opt-in feedback store). The modules at this level are retrieval, the index,
the reading of a message, training and the answer.

May import: the standard library and the numeric and search libraries
(numpy, faiss, bm25s, onnxruntime, torch, scikit-learn at build time);
argparse only in ``cli`` modules. Never ``qa_web``, Gradio, FastAPI,
Starlette, uvicorn, ``eval`` or ``bench`` (tests/test_architecture.py).
Importing ``qa`` is cheap: no model is loaded and no index is read until
``Assistant.load()``.
"""

from __future__ import annotations

from importlib import import_module

from .config import MAX_QUESTION_CHARS
from .errors import CorpusError, IndexCorrupt, IndexNotFound, IndexStale, ModelNotFound, QAError

__all__ = [
    "Answer", "Assistant", "Hit", "preload_encoder", "Passage", "QuotedPassage", "RetrievalSettings", "retrieval_variants",
    "MAX_QUESTION_CHARS", "HEADING_SEPARATOR", "QAError", "CorpusError", "IndexCorrupt", "IndexNotFound", "IndexStale", "ModelNotFound",
]

_LAZY = {
    "Assistant": "assistant", "Answer": "answer", "QuotedPassage": "answer", "Passage": "passages",
    "Hit": "retriever", "RetrievalSettings": "retriever", "retrieval_variants": "retriever",
    "preload_encoder": "encoder.embedder", "HEADING_SEPARATOR": "passages",
}


def __getattr__(name: str):
    """Import heavy modules (FAISS, bm25s, torch) only when first needed."""
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
