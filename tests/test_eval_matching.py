"""Quote matching: Markdown stripped, case and whitespace folded, any quote suffices."""

from __future__ import annotations

import pytest

from eval.matching import first_hit, fold, hit_ranks, is_hit, split_quotes, strip_markdown


def test_strip_markdown_drops_headings_bullets_and_bold():
    md = "## Risks\n\n- **Infection:** Though rare,\n  - nested item\n1. first"
    assert strip_markdown(md) == "Risks\n\nInfection: Though rare,\nnested item\nfirst"


def test_fold_collapses_whitespace_and_case():
    assert fold("  Contact   your\nDOCTOR\t immediately ") == "contact your doctor immediately"


def test_hit_needs_markdown_stripped_and_folded_text():
    passage = "- **Nerve Damage:**  Very rare\nwith imaging guidance."
    assert is_hit(passage, ["nerve damage: very rare with IMAGING guidance"])
    assert not is_hit(passage, ["nerve damage is common"])


def test_split_quotes_ignores_blank_pieces():
    assert split_quotes(" a || b ||  || ") == ("a", "b")
    assert split_quotes("") == ()


def test_hit_ranks_are_one_based_and_any_quote_counts():
    passages = ["about PRP", "gel shots lubricate", "nothing", "steroid flare lasts a day"]
    # passage 2 contains quote "gel shots", passage 4 contains "steroid flare": ranks {2, 4}
    assert hit_ranks(passages, ["Gel shots", "steroid flare"]) == {2, 4}
    assert first_hit({2, 4}) == 2
    assert first_hit(set()) is None


@pytest.mark.parametrize("text", ["", "é naïve façade", "shot 💉 hurts", "word " * 20_000])
def test_awkward_passages_never_raise_and_empty_quotes_never_hit(text):
    assert is_hit(text, []) is False
    assert is_hit(text, ["", "   "]) is False
    assert is_hit(text, [text.strip()]) is bool(text.strip())
