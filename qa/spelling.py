"""Gentle spelling correction for patient questions ("injecton" -> "injection").

A word is left alone when it is a known English word (the model's own
WordPiece vocabulary is the dictionary), a corpus/glossary word, or another
form of one (same stem: "inject" beside the corpus's "injection"); otherwise
it is replaced by the closest corpus or glossary word when one is close enough
(difflib ratio >= ``CUTOFF``). Words shorter than ``MIN_LENGTH`` are never
touched. Pure once built; it does not expand synonyms.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .lexical import lexical_tokens

CUTOFF = 0.8
MIN_LENGTH = 4


# eq=False: identity, not value, is the key of the correction cache below.
# Compared by value, two correctors of equal vocabularies (an index and its
# rebuild, or several corpora in one process) made every cache probe compare
# 20,000-word sets: 4-6 ms per question (bench/RESULTS.md, section 6).
@dataclass(frozen=True, eq=False)
class SpellingCorrector:
    targets: tuple[str, ...]  # corpus and glossary words: what a typo may become
    dictionary: frozenset[str] = field(default_factory=frozenset)  # words never corrected
    known_stems: frozenset[str] = field(default_factory=frozenset)  # stems of the targets

    def correct_word(self, word: str) -> str:
        return _correct(self, word)

    def correct(self, text: str) -> str:
        """``text`` with unknown words replaced by their closest known spelling."""
        return re.sub(r"[A-Za-z]+", lambda m: self.correct_word(m.group()), text)


@lru_cache(maxsize=4096)
def _correct(corrector: SpellingCorrector, word: str) -> str:
    lower = word.lower()
    if len(lower) < MIN_LENGTH or lower in corrector.dictionary or lower in corrector.targets:
        return word
    if corrector.known_stems and set(lexical_tokens(lower)) & corrector.known_stems:
        return word
    match = difflib.get_close_matches(lower, corrector.targets, n=1, cutoff=CUTOFF)
    return match[0] if match else word


def build_corrector(corpus_words: set[str], glossary_words: set[str], dictionary: set[str]) -> SpellingCorrector:
    targets = tuple(sorted(w for w in corpus_words | glossary_words if len(w) >= MIN_LENGTH and w.isalpha()))
    stems = frozenset(lexical_tokens(" ".join(targets)))
    return SpellingCorrector(targets=targets, dictionary=frozenset(dictionary), known_stems=stems)


def wordpiece_dictionary(vocab_text: str) -> set[str]:
    """Whole words (no ``##`` pieces, letters only) of a BERT ``vocab.txt``."""
    return {line for line in vocab_text.split() if line.isalpha() and line.islower()}
