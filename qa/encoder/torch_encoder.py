"""The PyTorch encoder: the sentence-transformers model run by PyTorch.

It is the fallback when ONNX Runtime is missing or its file cannot be made,
the reference the ONNX export is checked against, and the source of that
export. Importing this module is cheap; ``load_sentence_transformer`` is
where torch and sentence-transformers (about 4.5 s of imports) are loaded.
This module does not choose a backend (``embedder`` does) and does not export.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelNotFound


def load_sentence_transformer(path: Path, *, threads: int):
    """The SentenceTransformer in ``path`` on the CPU, offline, ``threads`` torch threads."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    try:  # a progress bar per model load is noise in a server log and the CLI
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
        pass
    try:
        return SentenceTransformer(str(path), device="cpu")
    except Exception as exc:  # the library raises many kinds; all mean "unusable"
        raise ModelNotFound(
            f"Cannot load the model at {path} ({type(exc).__name__}). "
            "Point QA_MODEL_PATH at a sentence-transformers model folder."
        ) from exc


#: Texts per forward pass: the corpus's 135 views built in 1.53 s in batches
#: of 8 on one thread, 1.62 s in 4 and 2.2 s in sentence-transformers' 32
#: (sorted by length, small batches pad little).
BATCH_SIZE = 8


class TorchEncoder:
    """Texts to L2-normalised float32 vectors with ``SentenceTransformer.encode``."""

    name = "torch"

    def __init__(self, model) -> None:
        self.model = model  # the SentenceTransformer, for callers that need it (the ONNX export)

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], *, batch_size: int = BATCH_SIZE, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_torch_encoder(path: Path, *, threads: int) -> TorchEncoder:
    return TorchEncoder(load_sentence_transformer(path, threads=threads))
