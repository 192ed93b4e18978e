"""Vectors a build encoded, kept on disk from one build to the next.

A build reads each of the ~2,000 labelled messages as a patient's question to fit
its decisions, encoding one or two texts per message: three quarters of the
build's half minute on 2 cores; and it embeds the index's views, most of which are
the same messages as alternate questions. The content team rebuilds after every
edit of a table or a set, and most texts are the same as last time, so the build
keeps their vectors in the encoder cache (``onnx_cache.default_cache_dir()``, the folder
``QA_ENCODER_CACHE`` names) and the next one encodes only new wordings.

It is a cache, not an input: a missing, damaged or foreign file (another model or
backend) is ignored and the build encodes everything, as without it. The file
holds a sha256 per text (``remembering.text_key``), never the text, and only what
an index holds goes through it (the document, the clinic's alternate questions, the
labelled sets' messages: ``qa.assistant.build``), never a message being answered.
Written aside and renamed over the old one, so a reader never sees half a file; two
builds at once each write a whole file and the last one wins.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
import zipfile
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

import numpy as np

log = logging.getLogger("qa.encoder")

#: Vectors kept at most (1.5 KB each): this build's, then the newest of the others
#: (another training folder's, a test's cut-down sets) up to the limit.
MAX_KEPT = 30_000
KEY_BYTES = 32


def kept_vectors_path(cache_dir: Path, fingerprint: str, backend: str) -> Path:
    """One file per model and backend (their vectors differ by about 1e-6)."""
    return cache_dir / f"labelled-vectors-{fingerprint}-{backend}.npz"


def _checksum(keys: np.ndarray, vectors: np.ndarray) -> str:
    return hashlib.sha256(keys.tobytes() + vectors.tobytes()).hexdigest()


def load_kept(path: Path, *, dimension: int) -> dict[bytes, np.ndarray]:
    """The kept vectors by text key; empty when there are none or they cannot be trusted."""
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, vectors, checksum = data["keys"], data["vectors"], str(data["checksum"])
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # truncated, not an npz, other layout
        log.info("Ignoring the kept vectors in %s (%s): encoding every labelled message.", path, exc)
        return {}
    if (keys.dtype != np.uint8 or keys.shape != (len(keys), KEY_BYTES) or vectors.dtype != np.float32
            or vectors.shape != (len(keys), dimension) or _checksum(keys, vectors) != checksum):
        log.info("Ignoring the kept vectors in %s (damaged or another layout): encoding every labelled message.",
                 path)
        return {}
    return {bytes(key): vector for key, vector in zip(keys, vectors)}


def save_kept(path: Path, used: Mapping[bytes, np.ndarray], *, dimension: int) -> None:
    """Keep ``used`` (this build's vectors) and as many of the file's others as fit under ``MAX_KEPT``.

    An unwritable cache folder is logged and skipped: the next build encodes again.
    """
    others = {k: v for k, v in load_kept(path, dimension=dimension).items() if k not in used}
    room = max(0, MAX_KEPT - len(used))
    kept = {**dict(list(others.items())[len(others) - min(room, len(others)):]), **used}  # newest last
    if not kept:
        return
    keys = np.frombuffer(b"".join(kept), np.uint8).reshape(len(kept), KEY_BYTES)  # raw: "S32" drops trailing NULs
    vectors = np.stack([np.asarray(v, np.float32) for v in kept.values()])
    tmp = path.with_name(f".{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors, checksum=np.array(_checksum(keys, vectors)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("Cannot keep the labelled messages' vectors in %s (%s); the next build encodes them again.",
                    path.parent, exc.strerror or exc)
    finally:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
