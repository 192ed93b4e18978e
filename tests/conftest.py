"""Shared fixtures: one real index and one real Assistant per test session.

The index is built with the real model into a temporary folder, so no test
writes into the repository. Tests that damage an index copy it first. The
ONNX export of the model (about 9 s) goes to a per-session temporary folder
too, made once by the first encoder and reused by every test and every
subprocess a test starts; set QA_ENCODER_CACHE to keep one across sessions.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO / "corpus"
CORPUS_FILE = CORPUS_DIR / "hip_injections.md"
SEED_FILE = REPO.parent / "shared" / "seed" / "000_d9de166806160c3a.txt"


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: long load test (deselect with -m 'not soak')")
    config.addinivalue_line("markers", "browser: drives headless Chromium")


@pytest.fixture(scope="session", autouse=True)
def encoder_cache(tmp_path_factory) -> Iterator[Path]:
    """QA_ENCODER_CACHE for the session (kept when already set), so no export lands in the repo."""
    folder = os.environ.get("QA_ENCODER_CACHE")
    if folder:
        yield Path(folder)
        return
    folder = tmp_path_factory.mktemp("encoders")
    os.environ["QA_ENCODER_CACHE"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("QA_ENCODER_CACHE", None)


@pytest.fixture(scope="session")
def built_index_dir(tmp_path_factory) -> Path:
    """A real index of the real corpus, built once per session."""
    from qa.assistant import build
    from qa.config import resolve_paths
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder

    folder = tmp_path_factory.mktemp("index")
    build(read_corpus(CORPUS_DIR), Embedder(), resolve_paths(corpus_dir=CORPUS_DIR, index_dir=folder))
    return folder


@pytest.fixture(scope="session")
def assistant(built_index_dir):
    """The real Assistant (real model, FAISS, BM25) over the session index."""
    from qa import Assistant

    return Assistant.load(corpus_dir=CORPUS_DIR, index_dir=built_index_dir, rebuild="never")


@pytest.fixture
def index_copy(built_index_dir, tmp_path) -> Path:
    """A private copy of the session index that a test may damage."""
    target = tmp_path / "index"
    shutil.copytree(built_index_dir, target, symlinks=True)
    return target
