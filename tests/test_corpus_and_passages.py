"""The corpus is faithful to the seed, and passages obey the chunking rules."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from qa.corpus import CorpusFile, parse_sections, read_corpus
from qa.errors import CorpusError
from qa.passages import MAX_WORDS, ChunkingSettings, build_passages
from qa.text import fold, sentence_spans, sentences, strip_markdown

from conftest import CORPUS_DIR, CORPUS_FILE, SEED_FILE


def _file(text: str, name: str = "doc.md") -> CorpusFile:
    return CorpusFile(name=name, text=text, sha256="x")


@pytest.fixture(scope="module")
def corpus_text() -> str:
    return CORPUS_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def passages():
    return build_passages(read_corpus(CORPUS_DIR))


def _seed_sentences() -> list[str]:
    if not SEED_FILE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"seed text missing at {SEED_FILE}")
        pytest.skip(f"seed text not found at {SEED_FILE}")
    lines = [line.strip().lstrip("•").strip() for line in SEED_FILE.read_text(encoding="utf-8").splitlines()]
    return [s for line in lines if line and not line.startswith("By Hart") for s in sentences(line)]


def test_every_seed_sentence_is_in_the_corpus_word_for_word(corpus_text):
    corpus = fold(strip_markdown(corpus_text))
    missing = [s for s in _seed_sentences() if fold(s) not in corpus]
    assert missing == []


def test_byline_is_dropped_and_structure_is_markdown(corpus_text):
    assert "By Hart" not in corpus_text
    assert corpus_text.count("\n# ") + corpus_text.startswith("# ") == 1
    assert "## Frequently Asked Questions" in corpus_text
    assert re.search(r"^### What should I expect after receiving a hip injection\?$", corpus_text, re.M)
    assert re.search(r"^  - ", corpus_text, re.M), "procedure steps keep their nested sub-items"


def test_offsets_round_trip(passages, corpus_text):
    for p in passages:
        assert corpus_text[p.start : p.end] == p.text
        assert p.plain_text == strip_markdown(p.text)


def test_no_passage_crosses_a_heading(passages):
    for p in passages:
        lines = p.text.splitlines()
        # a question heading may open its own answer passage; no heading inside
        assert not any(line.lstrip().startswith("#") for line in lines[1:]), p.id


def test_passages_are_bounded(passages):
    assert all(p.words <= MAX_WORDS for p in passages)


def test_every_corpus_sentence_is_in_exactly_one_passage(passages, corpus_text):
    """Each sentence of body text (by its offset in the file) lies in one passage.

    Headings and lone labels of under three words ("Pain Management") are not
    sentences a patient could be quoted.
    """
    offset = 0
    for line in corpus_text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            for s, e in sentence_spans(line):
                if len(line[s:e].split()) < 3:
                    continue
                start, end = offset + s, offset + e
                owners = [p.id for p in passages if p.start <= start and end <= p.end]
                assert len(owners) == 1, (line[s:e], owners)
        offset += len(line)


def test_heading_path_and_faq_units(passages):
    risks = [p for p in passages if p.heading == "Potential Benefits and Risks › Risks"]
    assert risks and "Nerve Damage" in risks[0].plain_text
    faq = [p for p in passages if p.heading_path[:1] == ("Frequently Asked Questions",)]
    assert len(faq) == 5
    assert all(p.plain_text.splitlines()[0].endswith("?") for p in faq), "a FAQ passage holds its question"


def test_short_list_kept_whole_long_list_split(passages):
    # The five specialists are a short list: one passage with its lead-in.
    who = [p for p in passages if "Orthopedic surgeons" in p.plain_text and "Rheumatologists" in p.plain_text]
    assert len(who) == 1 and "including:" in who[0].plain_text
    # The procedure steps are long: one passage per step, sub-items included.
    steps = [p for p in passages if p.plain_text.startswith("Local Anesthesia:")]
    assert len(steps) == 1 and "lidocaine" in steps[0].plain_text


def test_ids_are_unique_and_stable_under_unrelated_edits(corpus_text):
    before = {p.plain_text: p.id for p in build_passages([_file(corpus_text)])}
    edited = corpus_text.replace("Ice packs can also be helpful.", "Ice packs can also be quite helpful.")
    after = {p.plain_text: p.id for p in build_passages([_file(edited)])}
    assert len(set(before.values())) == len(before)
    unchanged = set(before) & set(after)
    assert len(unchanged) == len(before) - 1
    assert all(before[t] == after[t] for t in unchanged)


def test_long_paragraph_splits_at_sentence_boundaries():
    sentence = "This sentence has exactly eight words in it."
    text = "# T\n\n" + " ".join([sentence] * 40) + "\n"
    parts = build_passages([_file(text)], settings=ChunkingSettings(max_words=30))
    assert len(parts) > 1
    for p in parts:
        assert p.words <= 30
        assert p.plain_text.startswith("This") and p.plain_text.endswith("it.")


@pytest.mark.parametrize(
    "text",
    ["", "no headings at all, just a sentence here.", "# Ünïcödé 😀\n\nÉmoji 😀 text here ok.\n", "#\n\n-\n", "x" * 5000],
)
def test_awkward_documents_never_crash(text):
    for p in build_passages([_file(text)]):
        assert text[p.start : p.end] == p.text


def test_sources_are_recorded_for_several_files(tmp_path, corpus_text):
    (tmp_path / "a.md").write_text("# A\n\nFirst file sentence one here.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n\nSecond file sentence two here.\n", encoding="utf-8")
    sources = {p.source for p in build_passages(read_corpus(tmp_path))}
    assert sources == {"a.md", "b.md"}


@pytest.mark.parametrize("setup", ["missing", "empty_folder", "empty_file"])
def test_bad_corpus_folder_gives_a_clear_error(tmp_path, setup):
    folder = tmp_path / "corpus"
    if setup != "missing":
        folder.mkdir()
    if setup == "empty_file":
        (folder / "x.md").write_text("  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"\.md|corpus|Corpus"):
        read_corpus(folder)


def test_sections_follow_heading_levels(corpus_text):
    paths = [s.heading_path for s in parse_sections(corpus_text)]
    assert ("Potential Benefits and Risks", "Risks") in paths
    assert ("Frequently Asked Questions", "Who is qualified to perform a hip injection?") in paths
