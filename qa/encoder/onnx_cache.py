"""Find, check or make the ONNX export of a model: exported once, then reused.

Layout, one folder per model, exporter and onnxruntime version::

    <cache>/<model fingerprint>-<hash of export format, torch and onnxruntime versions>/
        export-<crc32s>-<random>/    named by its content
            model.onnx               the graph as onnxruntime optimises it
            weights.bin              its weights
        export.json                  what made the export, each file's size
                                     and CRC-32, and PyTorch's vectors of
                                     PROBE_TEXTS

``export.json`` is the pointer and is written last: the export goes to a
temporary folder beside it, is checked against PyTorch on the probe texts,
fsynced and renamed to its content name, and only then is ``export.json``
replaced by an atomic rename. A crash leaves the previous export (or none),
never half a folder in use; two processes exporting at once both write
complete folders and the last rename wins. Every load checks sizes, CRC-32
checksums and the probe vectors; an export that fails is made again. The
checksums guard against accidental damage (a crash, a disk error, a cache
copied halfway), not tampering: whoever can write the weights can write
``export.json`` too. CRC-32 is made for exactly that, and it reads the 87 MB
of weights in about 22 ms against sha256's 51 ms, so it finishes on another
core while onnxruntime builds its session (about 30 ms) instead of making
every start wait. An export also deletes exports of the same model in an
older export format. The cache lives in ``<repo>/index/encoders`` unless
``QA_ENCODER_CACHE`` names another folder.

This module does not choose between ONNX and PyTorch (``embedder`` does).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import mmap
import os
import shutil
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..config import PROJECT_ROOT
from ..errors import ModelNotFound
from .onnx_encoder import EXPORT_PROBE_TEXTS, PROBE_TEXTS, OnnxEncoder, OnnxUnavailable, open_onnx_encoder, probe_error
from .onnx_export import EXPORT_FORMAT, GRAPH_FILE, WEIGHTS_FILE, unsupported_reason

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
    onnxruntime: str
    folder: str  # export-<CRC-32s>-<random>, beside export.json
    files: tuple[tuple[str, int, str], ...]  # (name, size in bytes, CRC-32 in hex) of each file in it
    dimension: int
    probe_texts: tuple[str, ...]
    probe: tuple[tuple[float, ...], ...]  # PyTorch's vectors of probe_texts


class _Damaged(Exception):
    """The cached export cannot be trusted; export again."""


def default_cache_dir() -> Path:
    return Path(os.environ.get(ENV_ENCODER_CACHE) or PROJECT_ROOT / "index" / "encoders")


def cache_key(fingerprint: str, torch_version: str, onnxruntime_version: str) -> str:
    """Folder name: the model, plus everything that changes the exported graph
    (the optimised graph uses onnxruntime's own fused operators)."""
    exporter = hashlib.sha256(f"{EXPORT_FORMAT}|torch {torch_version}|onnxruntime {onnxruntime_version}".encode())
    return f"{fingerprint}-{exporter.hexdigest()[:8]}"


def package_version(name: str) -> str:
    """Read from package metadata: importing torch would cost seconds."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def cache_folder(fingerprint: str, cache_dir: Path | None = None) -> Path:
    """Where the export of a model lives (whether or not it exists yet)."""
    key = cache_key(fingerprint, package_version("torch"), package_version("onnxruntime"))
    return (cache_dir or default_cache_dir()) / key


def cached_onnx_file(fingerprint: str, *, cache_dir: Path | None = None) -> Path:
    """The graph file of a model's export as ``export.json`` names it (FileNotFoundError when none)."""
    folder = cache_folder(fingerprint, cache_dir)
    return folder / json.loads((folder / RECORD).read_text())["folder"] / GRAPH_FILE


def load_onnx_encoder(model_path: Path, fingerprint: str, *, threads: int, cache_dir: Path | None = None) -> OnnxEncoder:
    """The checked ONNX encoder of ``model_path``, exporting it first when needed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailable("onnxruntime is not installed: run `pip install -r requirements.txt`.") from exc
    folder = cache_folder(fingerprint, cache_dir)
    with _lock:
        try:
            return _open_checked(folder, fingerprint, model_path, threads)
        except FileNotFoundError:
            pass
        except _Damaged as exc:
            log.warning("The cached ONNX encoder in %s is unusable (%s); exporting it again.", folder, exc)
        return _export(folder, fingerprint, model_path, threads)


def file_crc32(path: Path) -> str:
    """CRC-32 of a file's bytes, in hex; read through a memory map, without copying."""
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return f"{0:08x}"
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return f"{zlib.crc32(data):08x}"


class _Checksums:
    """CRC-32 of files, computed on a background thread; ``result()`` waits for them.
    A file that cannot be read gives a digest that matches nothing."""

    def __init__(self, paths: list[Path]) -> None:
        self._digests: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(paths,), name="qa-onnx-checksum", daemon=True)
        self._thread.start()

    def _run(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                self._digests.append(file_crc32(path))
            except OSError:
                self._digests.append("unreadable")

    def result(self) -> list[str]:
        self._thread.join()
        return self._digests


def _open_checked(folder: Path, fingerprint: str, model_path: Path, threads: int) -> OnnxEncoder:
    try:
        raw = json.loads((folder / RECORD).read_text())
        record = ExportRecord(**{**raw, "files": tuple(map(tuple, raw["files"])),
                                 "probe_texts": tuple(raw["probe_texts"]), "probe": tuple(map(tuple, raw["probe"]))})
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise _Damaged(f"unreadable {RECORD}: {type(exc).__name__}") from exc
    if (record.format, record.fingerprint, record.probe_texts) != (EXPORT_FORMAT, fingerprint, PROBE_TEXTS):
        raise _Damaged("made for another model, exporter or probe texts")
    export = folder / record.folder
    paths = [export / name for name, _, _ in record.files]
    for path, (name, size, _) in zip(paths, record.files):
        try:
            found = path.stat().st_size
        except OSError as exc:
            raise _Damaged(f"cannot read {record.folder}/{name}: {exc.strerror or exc}") from exc
        if found != size:
            raise _Damaged(f"{record.folder}/{name} has {found} bytes, not the {size} recorded")
    # The checksums (about 22 ms) run on another core while onnxruntime builds
    # its session (about 30 ms); zlib releases the GIL while it sums.
    digests = _Checksums(paths)
    try:
        encoder = open_onnx_encoder(export / GRAPH_FILE, model_path, threads=threads)
    except OnnxUnavailable:
        raise  # the tokenizer files, not the cache: exporting again would not help
    except Exception as exc:  # onnxruntime raises its own exception types
        raise _Damaged(f"onnxruntime cannot load it: {exc}") from exc
    if digests.result() != [crc for _, _, crc in record.files]:
        raise _Damaged(f"{record.folder} holds other bytes than recorded (checksum)")
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
    _remove_obsolete_formats(folder)
    tmp = folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    log.info("Exporting the model at %s to ONNX, once (about 10 s).", model_path)
    try:
        from .onnx_export import export_onnx, optimise_onnx
        from .torch_encoder import TorchEncoder, load_sentence_transformer

        tmp.mkdir()
        model = load_sentence_transformer(model_path, threads=threads)
        export_onnx(model, tmp / "plain.onnx")
        optimise_onnx(tmp / "plain.onnx", tmp)
        (tmp / "plain.onnx").unlink()
        reference = TorchEncoder(model).encode(list(EXPORT_PROBE_TEXTS))
        error = probe_error(open_onnx_encoder(tmp / GRAPH_FILE, model_path, threads=threads), reference,
                            EXPORT_PROBE_TEXTS)
        if error:
            raise OnnxUnavailable(f"The exported ONNX file does not reproduce PyTorch ({error}).")
        files = tuple((name, (tmp / name).stat().st_size, file_crc32(tmp / name)) for name in (GRAPH_FILE, WEIGHTS_FILE))
        # Named by content, plus a unique part: a damaged export of the same bytes is never reused.
        name = f"export-{''.join(crc for _, _, crc in files)}-{uuid.uuid4().hex[:6]}"
        for file in (*(tmp / n for n, _, _ in files), tmp):
            _fsync(file)
        os.replace(tmp, folder / name)
        _fsync(folder)
        probe = tuple(map(tuple, reference[: len(PROBE_TEXTS)].tolist()))
        record = ExportRecord(format=EXPORT_FORMAT, fingerprint=fingerprint, torch=package_version("torch"),
                              onnxruntime=package_version("onnxruntime"), folder=name, files=files,
                              dimension=len(probe[0]), probe_texts=PROBE_TEXTS, probe=probe)
        _write_atomically(folder / RECORD, json.dumps(dataclasses.asdict(record), indent=1))
        for previous in folder.glob("export-*"):  # replaced exports: sessions that use them keep their copy
            if previous.name != name:
                shutil.rmtree(previous, ignore_errors=True)
        encoder = open_onnx_encoder(folder / name / GRAPH_FILE, model_path, threads=threads)
    except ModelNotFound:
        raise  # OnnxUnavailable, or a model PyTorch cannot load either
    except OSError as exc:
        raise OnnxUnavailable(f"Cannot write the ONNX encoder to {folder} ({exc.strerror or exc}): "
                              f"set {ENV_ENCODER_CACHE} to a writable folder.") from exc
    except Exception as exc:  # torch.onnx raises many kinds; all mean "no ONNX here"
        raise OnnxUnavailable(f"The ONNX export failed ({type(exc).__name__}: {exc}).") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
        except OSError:
            pass


def _remove_obsolete_formats(folder: Path) -> None:
    """Delete exports of the same model in an export format this code no longer
    reads (87 MB each). Exports in the current format for other torch or
    onnxruntime versions stay: another environment may share this cache."""
    for sibling in folder.parent.glob(f"{folder.name.split('-')[0]}-*"):
        if sibling == folder or not sibling.is_dir():
            continue
        try:
            current = json.loads((sibling / RECORD).read_text()).get("format") == EXPORT_FORMAT
        except (OSError, ValueError, AttributeError):
            current = False  # no readable record: an unfinished or pre-record export
        if not current:
            shutil.rmtree(sibling, ignore_errors=True)
