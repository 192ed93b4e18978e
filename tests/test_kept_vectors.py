"""The remembering encoder and the labelled messages' vectors a build keeps between builds
(qa.encoder.remembering, qa.encoder.kept_vectors): each text encoded once, the same vectors,
nothing kept that cannot be trusted, no words on disk. A whole build reading the kept
vectors is in test_cli.py (test_build_then_check)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qa.encoder.kept_vectors import kept_vectors_path, load_kept, save_kept
from qa.encoder.remembering import RememberingEmbedder, text_key

DIM = 8


def vectors(n: int, seed: int = 0) -> dict[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {text_key("query", f"message {seed} {i}"): rng.standard_normal(DIM).astype(np.float32) for i in range(n)}


def test_the_remembering_encoder_encodes_each_text_once_and_gives_the_same_vectors(assistant):
    import numpy as np

    from qa.encoder.remembering import RememberingEmbedder

    asked: list[list[str]] = []

    class Counting:  # the real encoder, with the texts it was asked for written down
        def __getattr__(self, name):
            return getattr(assistant.embedder, name)

        def encode(self, texts, **options):
            asked.append(list(texts))
            return assistant.embedder.encode(texts, **options)

        def encode_queries(self, texts):
            asked.append(list(texts))
            return assistant.embedder.encode_queries(texts)

    remembering = RememberingEmbedder(Counting())
    texts = ["is it normal to be sore after the jab?", "can I drive home?", "is it normal to be sore after the jab?"]
    first = remembering.encode_queries(texts)
    again = remembering.encode_queries(texts[::-1])
    assert asked == [texts[:2]]  # each text once, the repeat inside one call too
    assert np.allclose(first, assistant.embedder.encode_queries(texts), atol=1e-6)
    assert np.array_equal(again, first[::-1])
    batch = remembering.encode(texts[:2])  # the batch encoder's vectors are kept apart from the queries'
    assert asked[-1] == texts[:2] and np.allclose(batch, first[:2], atol=1e-5)
    assert remembering.fingerprint == assistant.embedder.fingerprint
    assert remembering.encode_queries([]).shape == (0, assistant.embedder.dimension)


class Fake:
    """Stands in for an encoder where only the bookkeeping is under test: counts the texts it encodes."""

    dimension = DIM

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode_queries(self, texts):
        self.asked += texts
        return np.stack([np.full(DIM, len(t), np.float32) for t in texts])


def test_a_seeded_encoder_encodes_only_new_texts_and_reports_what_was_used_in_order():
    known = {text_key("query", "old one"): np.ones(DIM, np.float32), text_key("query", "unused"): np.zeros(DIM, np.float32)}
    fake = Fake()
    remembering = RememberingEmbedder(fake, known)
    out = remembering.encode_queries(["new words", "old one", "new words"])
    assert fake.asked == ["new words"]
    assert np.array_equal(out[1], np.ones(DIM)) and np.array_equal(out[0], out[2])
    assert list(remembering.used()) == [text_key("query", "new words"), text_key("query", "old one")]


def test_primed_questions_are_encoded_in_one_batch_and_kept_only_once_asked():
    class Batching(Fake):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[str]] = []

        def encode(self, texts, **options):
            self.batches.append(list(texts))
            return np.stack([np.full(DIM, 100 + len(t), np.float32) for t in texts])

    fake = Batching()
    remembering = RememberingEmbedder(fake, {text_key("query", "old one"): np.ones(DIM, np.float32)})
    remembering.prime_queries(["first", "old one", "second one", "first"])
    assert fake.batches == [["first", "second one"]] and remembering.used() == {}
    out = remembering.encode_queries(["second one", "third"])  # only the unprimed text is asked of the encoder
    assert fake.asked == ["third"] and np.array_equal(out[0], np.full(DIM, 110, np.float32))
    assert list(remembering.used()) == [text_key("query", "second one"), text_key("query", "third")]
    assert remembering.known_share(["first", "third", "never seen", "old one"]) == 0.75
    assert remembering.known_share([]) == 1.0


def test_kept_vectors_come_back_as_saved_and_hold_no_words(tmp_path):
    path = kept_vectors_path(tmp_path / "cache", "abc123", "onnx")
    saved = vectors(50)
    save_kept(path, saved, dimension=DIM)
    loaded = load_kept(path, dimension=DIM)
    assert loaded.keys() == saved.keys() and all(np.array_equal(loaded[k], saved[k]) for k in saved)
    assert b"message 0" not in path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # nothing left aside


@pytest.mark.parametrize("damage", ["flipped", "truncated", "not npz", "other width"])
def test_kept_vectors_that_cannot_be_trusted_are_ignored(tmp_path, caplog, damage):
    path = tmp_path / "kept.npz"
    save_kept(path, vectors(20), dimension=DIM)
    data = bytearray(path.read_bytes())
    if damage == "flipped":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "not npz":
        data = bytearray(b"not a numpy archive")
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.INFO, logger="qa.encoder"):
        assert load_kept(path, dimension=DIM * 2 if damage == "other width" else DIM) == {}
    assert "Ignoring the kept vectors" in caplog.text
    assert load_kept(tmp_path / "missing.npz", dimension=DIM) == {}


def test_a_save_keeps_this_builds_vectors_then_the_newest_others_up_to_the_limit(tmp_path, monkeypatch):
    import qa.encoder.kept_vectors as kept_vectors

    monkeypatch.setattr(kept_vectors, "MAX_KEPT", 30)
    path = tmp_path / "kept.npz"
    older, newer, this_build = vectors(20, seed=1), vectors(10, seed=2), vectors(15, seed=3)
    save_kept(path, older, dimension=DIM)
    save_kept(path, newer, dimension=DIM)
    save_kept(path, this_build, dimension=DIM)
    kept = load_kept(path, dimension=DIM)
    assert len(kept) == 30
    assert this_build.keys() <= kept.keys() and newer.keys() <= kept.keys()
    assert len(kept.keys() & older.keys()) == 5  # the last five written of the oldest build


def test_an_unwritable_cache_folder_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="qa.encoder"):
        save_kept(blocker / "kept.npz", vectors(3), dimension=DIM)
    assert "next build encodes them again" in caplog.text
