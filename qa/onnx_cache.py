"""Find, check or make the ONNX file of a model: exported once, then reused.

Layout, one folder per model and exporter::

    <cache>/<model fingerprint>-<hash of export format and torch version>/
        model-<sha256 prefix>.onnx   graph and weights, named by their content
        export.json                  what made the file, its size and sha256,
                                     and PyTorch's vectors of PROBE_TEXTS

``export.json`` is the pointer and is written last: the export goes to a
temporary file in the same folder, is checked against PyTorch on the probe
texts, fsynced and renamed to its content name, and only then is
``export.json`` replaced by an atomic rename. A crash leaves the previous
export (or none), never half a file in use; two processes exporting at once
both write complete files and the last rename wins. Every load checks size,
sha256 (about 60 ms for the 87 MB file, hashed while onnxruntime loads it) and the probe vectors; a file that
fails is exported again. The cache lives in ``<repo>/index/encoders`` unless
``QA_ENCODER_CACHE`` names another folder.

This module does not choose between ONNX and PyTorch (``embedder`` does).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .config import PROJECT_ROOT
from .errors import ModelNotFound
from .onnx_encoder import EXPORT_PROBE_TEXTS, PROBE_TEXTS, OnnxEncoder, OnnxUnavailable, open_onnx_encoder, probe_error
from .onnx_export import EXPORT_FORMAT, unsupported_reason

ENV_ENCODER_CACHE = "QA_ENCODER_CACHE"
RECORD = "export.json"
STALE_TEMP_SECONDS = 3600  # temp files this old are a crashed export's debris
log = logging.getLogger("qa.encoder")
_lock = threading.Lock()  # one export at a time in a process


@dataclass(frozen=True)
class ExportRecord:
    """The contents of ``export.json``."""

    format: str
    fingerprint: str
    torch: str
    file: str
    size: int
    sha256: str
    dimension: int
    probe_texts: tuple[str, ...]
    probe: tuple[tuple[float, ...], ...]  # PyTorch's vectors of probe_texts


class _Damaged(Exception):
    """The cached export cannot be trusted; export again."""


def default_cache_dir() -> Path:
    return Path(os.environ.get(ENV_ENCODER_CACHE) or PROJECT_ROOT / "index" / "encoders")


def cache_key(fingerprint: str, torch_version: str) -> str:
    """Folder name: the model, plus everything that changes the exported graph."""
    exporter = hashlib.sha256(f"{EXPORT_FORMAT}|torch {torch_version}".encode()).hexdigest()[:8]
    return f"{fingerprint}-{exporter}"


def torch_version() -> str:
    """Read from package metadata: importing torch would cost seconds."""
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "absent"


def cached_onnx_file(fingerprint: str, *, cache_dir: Path | None = None) -> Path:
    """The exported file of a model as ``export.json`` names it (FileNotFoundError when none)."""
    folder = (cache_dir or default_cache_dir()) / cache_key(fingerprint, torch_version())
    return folder / json.loads((folder / RECORD).read_text())["file"]


def load_onnx_encoder(model_path: Path, fingerprint: str, *, threads: int, cache_dir: Path | None = None) -> OnnxEncoder:
    """The checked ONNX encoder of ``model_path``, exporting it first when needed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailable("onnxruntime is not installed: run `pip install -r requirements.txt`.") from exc
    folder = (cache_dir or default_cache_dir()) / cache_key(fingerprint, torch_version())
    with _lock:
        try:
            return _open_checked(folder, fingerprint, model_path, threads)
        except FileNotFoundError:
            pass
        except _Damaged as exc:
            log.warning("The cached ONNX encoder in %s is unusable (%s); exporting it again.", folder, exc)
        return _export(folder, fingerprint, model_path, threads)


class _Checksum:
    """sha256 of a file, computed on a background thread; ``result()`` waits for it.
    A file that cannot be read gives a digest that matches nothing."""

    def __init__(self, path: Path) -> None:
        self._digest = ""
        self._thread = threading.Thread(target=self._run, args=(path,), name="qa-onnx-checksum", daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            with path.open("rb") as f:
                self._digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            self._digest = "unreadable"

    def result(self) -> str:
        self._thread.join()
        return self._digest


def _open_checked(folder: Path, fingerprint: str, model_path: Path, threads: int) -> OnnxEncoder:
    try:
        raw = json.loads((folder / RECORD).read_text())
        record = ExportRecord(**{**raw, "probe_texts": tuple(raw["probe_texts"]), "probe": tuple(map(tuple, raw["probe"]))})
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise _Damaged(f"unreadable {RECORD}: {type(exc).__name__}") from exc
    if (record.format, record.fingerprint, record.probe_texts) != (EXPORT_FORMAT, fingerprint, PROBE_TEXTS):
        raise _Damaged("made for another model, exporter or probe texts")
    path = folder / record.file
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _Damaged(f"cannot read {record.file}: {exc.strerror or exc}") from exc
    if size != record.size:
        raise _Damaged(f"{record.file} has {size} bytes, not the {record.size} recorded")
    # The checksum (about 60 ms) runs on another core while onnxruntime builds
    # its session (about 110 ms); hashlib releases the GIL while it hashes.
    digest = _Checksum(path)
    try:
        encoder = open_onnx_encoder(path, model_path, threads=threads)  # a path loads faster than bytes
    except OnnxUnavailable:
        raise  # the tokenizer files, not the cache: exporting again would not help
    except Exception as exc:  # onnxruntime raises its own exception types
        raise _Damaged(f"onnxruntime cannot load it: {exc}") from exc
    if digest.result() != record.sha256:
        raise _Damaged(f"{record.file} has another checksum than recorded")
    error = probe_error(encoder, np.asarray(record.probe, dtype=np.float32))
    if error:
        raise _Damaged(error)
    return encoder


def _export(folder: Path, fingerprint: str, model_path: Path, threads: int) -> OnnxEncoder:
    reason = unsupported_reason(model_path)
    if reason:
        raise OnnxUnavailable(f"The ONNX export cannot reproduce the model at {model_path}: {reason}.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OnnxUnavailable(f"Cannot write the ONNX encoder to {folder} ({exc.strerror or exc}): "
                              f"set {ENV_ENCODER_CACHE} to a writable folder.") from exc
    _remove_stale_temps(folder)
    tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}.onnx"
    started = time.perf_counter()
    log.info("Exporting the model at %s to ONNX, once (about 10 s).", model_path)
    try:
        from .onnx_export import export_onnx
        from .torch_encoder import TorchEncoder, load_sentence_transformer

        model = load_sentence_transformer(model_path, threads=threads)
        export_onnx(model, tmp)
        reference = TorchEncoder(model).encode(list(EXPORT_PROBE_TEXTS))
        encoder = open_onnx_encoder(tmp, model_path, threads=threads)
        error = probe_error(encoder, reference, EXPORT_PROBE_TEXTS)
        if error:
            raise OnnxUnavailable(f"The exported ONNX file does not reproduce PyTorch ({error}).")
        with tmp.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        probe = tuple(map(tuple, reference[: len(PROBE_TEXTS)].tolist()))
        record = ExportRecord(format=EXPORT_FORMAT, fingerprint=fingerprint, torch=torch_version(),
                              file=f"model-{digest[:16]}.onnx", size=tmp.stat().st_size, sha256=digest,
                              dimension=encoder.dimension, probe_texts=PROBE_TEXTS, probe=probe)
        _fsync(tmp)
        os.replace(tmp, folder / record.file)
        _write_atomically(folder / RECORD, json.dumps(dataclasses.asdict(record), indent=1))
    except ModelNotFound:
        raise  # OnnxUnavailable, or a model PyTorch cannot load either
    except OSError as exc:
        raise OnnxUnavailable(f"Cannot write the ONNX encoder to {folder} ({exc.strerror or exc}): "
                              f"set {ENV_ENCODER_CACHE} to a writable folder.") from exc
    except Exception as exc:  # torch.onnx raises many kinds; all mean "no ONNX here"
        raise OnnxUnavailable(f"The ONNX export failed ({type(exc).__name__}: {exc}).") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("Exported the ONNX encoder to %s in %.1f s.", folder, time.perf_counter() - started)
    return encoder


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        tmp.write_text(text)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync(path.parent)  # the renames themselves reach the disk


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(folder: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for tmp in folder.glob(".tmp-*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
        except OSError:
            pass
