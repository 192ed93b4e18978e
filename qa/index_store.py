"""Build, save and load the index folder, atomically and verifiably.

Layout: ``<index_dir>/current`` is a symlink to ``builds/<id>/``, a folder
of plain files (``manifest.json``, ``passages.jsonl``, ``views.jsonl``,
``dense.faiss``, ``bm25/``). A build writes a fresh ``builds/tmp-*`` folder,
renames it, then swaps the ``current`` link with one atomic ``os.replace``:
a crash at any point leaves the previous index in place, and half-written
folders are never pointed to. Every file's sha256 is in the manifest and is
checked before FAISS or bm25s reads it, so a damaged or crafted file gives
``IndexCorrupt`` rather than a crash. This module does not search.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import weakref
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import faiss
import numpy as np

from .alternates import Alternate, alternate_views
from .corpus import CorpusFile
from .dense import View, apply_search_settings, make_index, passage_views
from .encoder.embedder import Embedder
from .errors import IndexCorrupt, IndexNotFound, IndexStale
from .lexical import LexicalIndex, lexical_tokens
from .passages import ChunkingSettings, Passage, build_passages

#: Bumped whenever what is stored changes meaning (2: BM25 tokens drop the
#: grammar words of qa.decisions.function_words), so an older index is rebuilt, not misread.
FORMAT_VERSION = 2
CURRENT = "current"
BUILDS = "builds"
log = logging.getLogger("qa.index")


@dataclass(frozen=True)
class Index:
    """Everything retrieval needs, loaded in memory."""

    folder: Path
    manifest: dict
    passages: tuple[Passage, ...]
    views: tuple[View, ...]
    dense: faiss.Index
    lexical: LexicalIndex


def lexical_document(passage: Passage) -> list[str]:
    """BM25 tokens of a passage: its heading path counts as part of its text."""
    return lexical_tokens(f"{passage.heading}\n{passage.plain_text}")


def expected_manifest(files: list[CorpusFile], embedder: Embedder, chunking: ChunkingSettings,
                      alternates: tuple[Alternate, ...] = ()) -> dict:
    """The fields that must match for an index to be current."""
    rows = json.dumps([[a.question, a.quote] for a in alternates], ensure_ascii=False).encode()
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": embedder.name, "fingerprint": embedder.fingerprint},
        "chunking": dataclasses.asdict(chunking),
        "corpus": [{"name": f.name, "sha256": f.sha256} for f in files],
        "alternate_questions": hashlib.sha256(rows).hexdigest(),
    }


def staleness(manifest: dict, expected: dict) -> str | None:
    """Why ``manifest`` does not match ``expected``, or None when current."""
    for key, want in expected.items():
        have = manifest.get(key)
        if key == "model" and isinstance(have, dict):
            have = {k: have.get(k) for k in want}
        if have != want:
            return f"{key} changed"
    return None


#: Vectors of texts this process has embedded for an index, per encoder object. A
#: build re-encodes only what changed since the last one in this process: a
#: content edit, or leave-one-set-out evaluation, which builds one index per
#: held-out set from mostly the same alternate questions. Memory only, never
#: written; the texts are the document's and the alternate questions, never a
#: message being answered.
_VIEW_VECTORS: "weakref.WeakKeyDictionary[object, dict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
VIEW_VECTORS_KEPT = 50_000


def _view_vectors(embedder: Embedder, texts: list[str], *, progress: bool) -> np.ndarray:
    known = _VIEW_VECTORS.setdefault(embedder, {})
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    fresh = dict(zip(missing, embedder.encode(missing, progress=progress))) if missing else {}
    if len(known) + len(fresh) > VIEW_VECTORS_KEPT:
        known.clear()
    known.update(fresh)
    return np.stack([fresh[t] if t in fresh else known[t] for t in texts]).astype(np.float32)


def build_index(
    files: list[CorpusFile],
    embedder: Embedder,
    index_dir: Path,
    *,
    chunking: ChunkingSettings = ChunkingSettings(),
    progress: bool = False,
    alternates: tuple[Alternate, ...] = (),
) -> Path:
    """Build a new index from the corpus and make it current; return its folder.

    ``alternates``: the clinic's alternate questions, embedded as extra views.
    """
    passages = build_passages(files, settings=chunking)
    views = passage_views(passages) + alternate_views(passages, alternates)
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    tmp = builds / f"tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        vectors = _view_vectors(embedder, [v.text for v in views], progress=progress)
        _write_jsonl(tmp / "passages.jsonl", (dataclasses.asdict(p) for p in passages))
        _write_jsonl(tmp / "views.jsonl", (dataclasses.asdict(v) for v in views))
        faiss.write_index(make_index(vectors), str(tmp / "dense.faiss"))
        LexicalIndex.build([lexical_document(p) for p in passages]).save(tmp / "bm25")
        manifest = {
            **expected_manifest(files, embedder, chunking, alternates),
            "model": {
                "name": embedder.name,
                "fingerprint": embedder.fingerprint,
                "path": str(embedder.path),
                "dimension": int(vectors.shape[1]),
            },
            "passage_count": len(passages),
            "view_count": len(views),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "libraries": _library_versions(),
            "files": {rel: _sha256(tmp / rel) for rel in _relative_files(tmp)},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        _fsync_tree(tmp)
        final = builds / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
        os.replace(tmp, final)
        current = index_dir / CURRENT
        if current.is_dir() and not current.is_symlink():
            # An index copied without its symlink (cp -r, zip): keep it as a build.
            os.replace(current, builds / f"copied-{uuid.uuid4().hex[:8]}")
        link_tmp = index_dir / f".{CURRENT}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.symlink(Path(BUILDS) / final.name, link_tmp)
        os.replace(link_tmp, current)  # the atomic switch
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_builds(index_dir, keep=final.name)
    return final


def current_folder(index_dir: Path) -> Path:
    """The folder ``current`` points to, or IndexNotFound."""
    link = index_dir / CURRENT
    folder = link.resolve() if link.is_symlink() else link
    if not (folder / "manifest.json").is_file():
        raise IndexNotFound(f"No index in {index_dir}: run `python -m qa build`.")
    return folder


def read_manifest(index_dir: Path) -> dict:
    """The manifest of the current index."""
    return _read_manifest(current_folder(index_dir))


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"The index manifest in {folder} is unreadable: run `python -m qa build`.") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IndexCorrupt(f"The index manifest in {folder} is malformed: run `python -m qa build`.")
    return manifest


def load_index(index_dir: Path, *, expected: dict | None = None, dimension: int | None = None,
               attempts: int = 3) -> Index:
    """Load the current index after checking every file against the manifest.

    Raises IndexNotFound, IndexStale (when ``expected`` differs, or the vectors
    are not of the model's ``dimension``) or IndexCorrupt.
    A build that finishes (and cleans up) while we read makes the read fail; if
    ``current`` has moved meanwhile, the new index is read instead.
    """
    for attempt in range(attempts):
        folder = current_folder(index_dir)
        try:
            index = _load_folder(folder, index_dir, expected=expected)
            if dimension is not None and index.dense.d != dimension:
                raise IndexStale(
                    f"The index in {index_dir} holds {index.dense.d}-dimensional vectors but the model makes "
                    f"{dimension}: run `python -m qa build`."
                )
            return index
        except IndexCorrupt:
            if attempt + 1 == attempts or current_folder(index_dir) == folder:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _load_folder(folder: Path, index_dir: Path, *, expected: dict | None) -> Index:
    manifest = _read_manifest(folder)
    if expected is not None and (reason := staleness(manifest, expected)):
        raise IndexStale(f"The index in {index_dir} is out of date ({reason}): run `python -m qa build`.")
    for rel, digest in manifest["files"].items():
        path = folder / rel
        if ".." in Path(rel).parts or not path.is_file() or _sha256(path) != digest:
            raise IndexCorrupt(f"Index file {rel} is missing or damaged: run `python -m qa build`.")
    try:
        passages = tuple(Passage(**row) for row in _read_jsonl(folder / "passages.jsonl"))
        views = tuple(View(**row) for row in _read_jsonl(folder / "views.jsonl"))
        dense = apply_search_settings(faiss.read_index(str(folder / "dense.faiss")))
        lexical = LexicalIndex.load(folder / "bm25")
    except Exception as exc:  # checksums passed, so this is a format mismatch
        raise IndexCorrupt(f"Index in {folder} cannot be read ({type(exc).__name__}): run `python -m qa build`.") from exc
    passages = tuple(dataclasses.replace(p, heading_path=tuple(p.heading_path)) for p in passages)
    dimension = (manifest.get("model") or {}).get("dimension")
    if dense.ntotal != len(views) or len(passages) != manifest.get("passage_count") or dense.d != dimension:
        raise IndexCorrupt(f"Index in {folder} is inconsistent with its manifest: run `python -m qa build`.")
    return Index(folder, manifest, passages, views, dense, lexical)


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _library_versions() -> dict:
    versions = {}
    for name in ("sentence-transformers", "faiss-cpu", "bm25s", "torch", "numpy", "transformers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _remove_old_builds(index_dir: Path, *, keep: str) -> None:
    """Delete finished builds but the newest two, and temp folders of dead builds."""
    builds = index_dir / BUILDS
    finished = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("tmp-")), key=lambda p: p.name)
    for old in [p for p in finished if p.name != keep][:-1]:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in builds.glob("tmp-*"):
        pid = tmp.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
    for link in index_dir.glob(f".{CURRENT}-*"):  # half-made links of killed builds
        pid = link.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            link.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
